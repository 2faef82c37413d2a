//! Hostile feeds and pages, each polled beside a healthy feed: a loopback
//! server resets, hangs, drips, lies about charsets, sends bombs and junk.
//! Each poll runs the real binary; the test reads its peak memory from
//! /proc and times it. The healthy feed's items must be stored and their
//! alerts delivered, the faulty feed's error recorded with its reason, and
//! nothing may panic. `cargo test --test faults -- --nocapture` prints the
//! table.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::common::faults::{reset_mid_body, respond, stream_body, FaultServer};
use crate::common::http::{Response, TestServer};
use crate::common::news::{now_rfc2822, three_followups, REFERENCE};
use crate::common::proc::{measure, Measured};

/// Peak resident memory allowed for one poll.
const RSS_LIMIT_KIB: u64 = 150 * 1024;
/// The poll timeout in these configs; a hanging or dripping server costs this.
const TIMEOUT_SECS: u64 = 3;
/// Wall time allowed for one poll (a debug build, on a busy machine).
const WALL_LIMIT: Duration = Duration::from_secs(60);
const MIB: usize = 1024 * 1024;

fn rss_doc(items: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Other news</title><link>http://other.example/</link>{items}</channel></rss>")
}

fn other_item(guid: &str, title: &str, date: &str) -> String {
    format!("<item><title>{title}</title><link>http://other.example/{guid}</link><guid>{guid}</guid><pubDate>{date}</pubDate><description>The council met on Tuesday to discuss {title}.</description></item>")
}

fn two_items() -> String {
    let now = now_rfc2822();
    rss_doc(&(other_item("o1", "bus timetables", &now) + &other_item("o2", "library hours", &now)))
}

/// What the faulty feed must come to.
enum Expect {
    /// The feed fails with an error containing this.
    Fails(&'static str),
    /// The feed is read and this many of its items are stored.
    Stores(u64),
    /// Full text: this many items stored, every article page failed.
    PagesFail(u64),
}

fn gzip_bomb() -> impl FnMut() -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; MIB];
    let mut left = 4096; // 4 GiB inflated
    move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        enc.write_all(&zeros).ok()?;
        enc.flush().ok()?;
        Some(std::mem::take(enc.get_mut()))
    }
}

fn brotli_bomb() -> impl FnMut() -> Option<Vec<u8>> {
    let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 9, 22);
    let zeros = vec![0u8; MIB];
    let mut left = 4096;
    move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        enc.write_all(&zeros).ok()?;
        enc.flush().ok()?;
        Some(std::mem::take(enc.get_mut()))
    }
}

/// 200 MB without a Content-Length: only counting the bytes stops it.
fn endless(total: usize) -> impl FnMut() -> Option<Vec<u8>> {
    let mut sent = 0;
    move || {
        if sent >= total {
            return None;
        }
        let chunk = if sent == 0 {
            let mut c = b"<rss version=\"2.0\"><channel><title>t</title>".to_vec();
            c.resize(64 * 1024, b' ');
            c
        } else {
            vec![b' '; 64 * 1024]
        };
        sent += chunk.len();
        Some(chunk)
    }
}

fn entity_bomb() -> String {
    let mut doc = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
    doc.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..=9 {
        let prev = format!("&lol{};", i - 1);
        doc.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    doc.push_str("]>\n");
    let now = now_rfc2822();
    doc.push_str(&format!("<rss version=\"2.0\"><channel><title>&lol9;</title><item><title>&lol9;</title><guid>b1</guid><pubDate>{now}</pubDate><description>&lol9;</description></item></channel></rss>"));
    doc
}

/// The fault server: one path per fault.
fn faults() -> FaultServer {
    let truncated = {
        let doc = rss_doc(
            &(0..6)
                .map(|i| other_item(&format!("t{i}"), &format!("road works {i}"), &now_rfc2822()))
                .collect::<String>(),
        );
        // Cut inside the fourth item's description: three whole items and
        // a readable start of the fourth.
        let cut = doc.match_indices("<description>").nth(3).unwrap().0 + 30;
        doc[..cut].to_string()
    };
    FaultServer::start(move |path, s| {
        let xml = [("Content-Type", "application/rss+xml")];
        match path {
            "/500" => respond(s, 500, &[], b"Internal Server Error"),
            "/503" => respond(s, 503, &[("Retry-After", "120")], b"busy"),
            "/429" => respond(s, 429, &[], b"slow down"),
            "/reset" => reset_mid_body(s, 100_000, two_items().as_bytes().split_at(60).0),
            "/hang" => {
                std::thread::sleep(Duration::from_secs(TIMEOUT_SECS * 4));
                drop(s);
            }
            "/drip" => {
                let body = two_items();
                let mut s = s;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for b in body.bytes() {
                    if s.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            "/truncated" => respond(s, 200, &xml, truncated.as_bytes()),
            "/garbage" => {
                let junk: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
                respond(s, 200, &[("Content-Type", "application/octet-stream")], &junk)
            }
            "/html" => respond(s, 200, &[("Content-Type", "text/html")], b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>Our site</h1><p>Nothing to see.</p></body></html>"),
            "/200mb" => stream_body(s, &xml, endless(200 * MIB)),
            "/gzip-bomb" => stream_body(s, &[("Content-Type", "application/rss+xml"), ("Content-Encoding", "gzip")], gzip_bomb()),
            "/brotli-bomb" => stream_body(s, &[("Content-Type", "application/rss+xml"), ("Content-Encoding", "br")], brotli_bomb()),
            "/loop-a" => respond(s, 302, &[("Location", "/loop-b")], b""),
            "/loop-b" => respond(s, 302, &[("Location", "/loop-a")], b""),
            "/charset-lie" => {
                // Declares windows-1252 twice, sends UTF-8.
                let now = now_rfc2822();
                let doc = format!("<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss version=\"2.0\"><channel><title>t</title>{}{}</channel></rss>",
                    other_item("c1", "Київ café reopens – “at last”", &now), other_item("c2", "Zürich’s trams run late", &now));
                respond(s, 200, &[("Content-Type", "text/xml; charset=windows-1252")], doc.as_bytes())
            }
            "/invalid-utf8" => {
                let mut doc = two_items().into_bytes();
                let at = doc.windows(3).position(|w| w == b"bus").unwrap();
                doc.splice(at..at, [0xff, 0xfe, 0xc3, 0x28]);
                respond(s, 200, &[("Content-Type", "application/rss+xml; charset=utf-8")], &doc)
            }
            "/entity-bomb" => respond(s, 200, &xml, entity_bomb().as_bytes()),
            "/50mb-item" | "/9mb-item" => {
                let size = if path == "/50mb-item" { 50 * MIB } else { 9 * MIB };
                let words = "the council met again to discuss the bus timetable and the library hours ";
                let text = words.repeat(size / words.len());
                let doc = rss_doc(&format!("<item><title>Long minutes</title><guid>l1</guid><description>{text}</description></item>"));
                respond(s, 200, &xml, doc.as_bytes())
            }
            "/100k-items" => {
                let items: String = (0..100_000).map(|i| format!("<item><title>Notice {i}</title><guid>n{i}</guid></item>")).collect();
                respond(s, 200, &xml, rss_doc(&items).as_bytes())
            }
            "/dup-guid" => {
                let now = now_rfc2822();
                let doc = rss_doc(&(other_item("d1", "park opening", &now) + &other_item("d1", "park opening (corrected)", &now)));
                respond(s, 200, &xml, doc.as_bytes())
            }
            "/dates" => {
                let doc = rss_doc(&(other_item("y1", "far future", "Tue, 01 Jan 2999 10:00:00 GMT")
                    + &other_item("y2", "before 1970", "Wed, 01 Jan 1920 10:00:00 GMT")
                    + &other_item("y3", "no date", "the day after tomorrow, probably")));
                respond(s, 200, &xml, doc.as_bytes())
            }
            "/empty-body" => respond(s, 200, &xml, b""),
            "/empty-feed" => respond(s, 200, &xml, rss_doc("").as_bytes()),
            "/pages.rss" => {
                // Entries naming the story, each linking to a fault.
                let now = now_rfc2822();
                let port = s.local_addr().unwrap().port();
                let items: String = PAGE_FAULTS
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!(
                        "<item><title>Witkoff and Putin: report {i}</title><link>http://127.0.0.1:{port}{p}</link><guid>p{i}</guid>\
                         <pubDate>{now}</pubDate><description>Steve Witkoff met Vladimir Putin, part {i} of the page faults.</description></item>"
                    ))
                    .collect();
                respond(s, 200, &xml, rss_doc(&items).as_bytes())
            }
            "/json-wrong-types" => respond(s, 200, &[("Content-Type", "application/feed+json")],
                br#"{"version":"https://jsonfeed.org/version/1.1","title":5,"items":[{"id":7,"title":["x"],"date_published":false}]}"#),
            _ => respond(s, 404, &[], b"no such fault"),
        }
    })
}

/// Article links a full-text feed leads to.
const PAGE_FAULTS: [&str; 7] = [
    "/hang",
    "/gzip-bomb",
    "/brotli-bomb",
    "/200mb",
    "/garbage",
    "/loop-a",
    "/reset",
];

struct Row {
    fault: &'static str,
    outcome: String,
    m: Measured,
}

/// The healthy feed and the alert receiver.
fn healthy() -> TestServer {
    let body = three_followups();
    TestServer::start(move |req| match req.path.as_str() {
        "/healthy.rss" => Response::new(200, body.clone()),
        "/hook" => Response::new(204, ""),
        _ => Response::new(404, ""),
    })
}

fn poll(dir: &Path, healthy: &TestServer, fault_feed: &str) -> Measured {
    // Article pages here are on 127.0.0.1, refused unless allowed.
    let fetch = if fault_feed.contains("full_text") {
        "[fetch]\nallow_private = true\n\n"
    } else {
        ""
    };
    std::fs::write(dir.join("reference.txt"), REFERENCE).unwrap();
    let cfg = dir.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "{fetch}[poll]\ntimeout = \"{TIMEOUT_SECS}s\"\n\n\
             [delivery]\nschedule = [\"200ms\"]\ntimeout = \"2s\"\n\n\
             [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
             [[feed]]\nname = \"healthy\"\nurl = \"{}\"\n\n{fault_feed}\n\
             [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"SW_TEST_SECRET\"\n",
            healthy.url("/healthy.rss"),
            healthy.url("/hook"),
        ),
    )
    .unwrap();
    let mut cmd = common::storywatch();
    cmd.env("SW_TEST_SECRET", crate::common::WEBHOOK_SECRET)
        .arg("--config")
        .arg(&cfg)
        .args(["poll", "--json"]);
    measure(cmd, WALL_LIMIT)
}

fn count(db: &rusqlite::Connection, sql: &str) -> u64 {
    db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// Checks what every poll must do, whatever the fault; returns the poll's
/// JSON and the store.
fn check_common(
    fault: &str,
    dir: &Path,
    m: &Measured,
) -> (serde_json::Value, rusqlite::Connection) {
    assert!(
        !m.timed_out,
        "{fault}: poll did not finish in {WALL_LIMIT:?}\n{}",
        m.stderr
    );
    assert!(
        !m.stderr.contains("panicked"),
        "{fault}: panic\n{}",
        m.stderr
    );
    assert_eq!(
        m.code,
        Some(0),
        "{fault}: exit code\n{}\n{}",
        m.stdout,
        m.stderr
    );
    assert!(
        m.peak_rss_kib < RSS_LIMIT_KIB,
        "{fault}: peak RSS {} MiB",
        m.peak_rss_kib / 1024
    );
    let j: serde_json::Value = serde_json::from_str(&m.stdout)
        .unwrap_or_else(|e| panic!("{fault}: bad JSON {e}: {}", m.stdout));
    let db = rusqlite::Connection::open(dir.join(storywatch::config::DEFAULT_DB_FILE)).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "{fault}");
    let healthy_items = count(
        &db,
        "SELECT count(*) FROM items i JOIN feeds f ON f.id = i.feed_id WHERE f.name = 'healthy'",
    );
    assert_eq!(healthy_items, 3, "{fault}: healthy items {j}");
    let delivered = count(
        &db,
        "SELECT count(*) FROM outbox o JOIN alerts a ON a.id = o.alert_id JOIN items i ON i.id = a.item_id \
         JOIN feeds f ON f.id = i.feed_id WHERE f.name = 'healthy' AND o.state = 'delivered'",
    );
    assert_eq!(delivered, 3, "{fault}: healthy alerts delivered {j}");
    (j, db)
}

fn feed_error(j: &serde_json::Value) -> Option<String> {
    j["errors"]
        .as_array()?
        .iter()
        .find(|e| e["feed"] == "faulty")
        .and_then(|e| e["error"].as_str())
        .map(str::to_string)
}

#[test]
fn every_fault_beside_a_healthy_feed() {
    let server = faults();
    let healthy = healthy();
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let table: Vec<(&str, String, Expect)> = vec![
        ("HTTP 500", server.url("/500"), Expect::Fails("HTTP 500")),
        (
            "HTTP 503 + Retry-After",
            server.url("/503"),
            Expect::Fails("HTTP 503 (retry after 120s)"),
        ),
        ("HTTP 429", server.url("/429"), Expect::Fails("HTTP 429")),
        (
            "connection refused",
            format!("http://{refused}/rss"),
            Expect::Fails("connection failed"),
        ),
        (
            "connection reset mid-body",
            server.url("/reset"),
            Expect::Fails("Connection reset"),
        ),
        (
            "accepts, never answers",
            server.url("/hang"),
            Expect::Fails("timed out after 3s"),
        ),
        (
            "drips 1 byte/s",
            server.url("/drip"),
            Expect::Fails("timed out after 3s"),
        ),
        ("truncated XML", server.url("/truncated"), Expect::Stores(4)),
        (
            "binary garbage",
            server.url("/garbage"),
            Expect::Fails("not a feed"),
        ),
        ("HTML page", server.url("/html"), Expect::Fails("HTML page")),
        (
            "200 MB body, no length",
            server.url("/200mb"),
            Expect::Fails("larger than the 10485760-byte limit"),
        ),
        (
            "gzip bomb (4 GiB inflated)",
            server.url("/gzip-bomb"),
            Expect::Fails("larger than the 10485760-byte limit"),
        ),
        (
            "brotli bomb (4 GiB inflated)",
            server.url("/brotli-bomb"),
            Expect::Fails("larger than the 10485760-byte limit"),
        ),
        (
            "redirect loop",
            server.url("/loop-a"),
            Expect::Fails("too many redirects"),
        ),
        (
            "declares windows-1252, sends UTF-8",
            server.url("/charset-lie"),
            Expect::Stores(2),
        ),
        (
            "invalid UTF-8",
            server.url("/invalid-utf8"),
            Expect::Stores(2),
        ),
        (
            "XML entity-expansion bomb",
            server.url("/entity-bomb"),
            Expect::Stores(1),
        ),
        (
            "one 50 MB item",
            server.url("/50mb-item"),
            Expect::Fails("larger than the 10485760-byte limit"),
        ),
        (
            "one 9 MB item (under the limit)",
            server.url("/9mb-item"),
            Expect::Stores(1),
        ),
        (
            "100,000 items (the first [poll] max_entries read, undated)",
            server.url("/100k-items"),
            Expect::Stores(storywatch::config::DEFAULT_MAX_ENTRIES as u64),
        ),
        (
            "same GUID twice",
            server.url("/dup-guid"),
            Expect::Stores(1),
        ),
        (
            "dates: 2999, 1920, unparseable",
            server.url("/dates"),
            Expect::Stores(3),
        ),
        (
            "empty body",
            server.url("/empty-body"),
            Expect::Fails("empty"),
        ),
        (
            "empty feed (no items)",
            server.url("/empty-feed"),
            Expect::Stores(0),
        ),
        (
            "JSON Feed with wrong types",
            server.url("/json-wrong-types"),
            Expect::Fails("JSON"),
        ),
        (
            "article pages: hang, gzip and brotli bombs, 200 MB, garbage, redirect loop, reset",
            server.url("/pages.rss"),
            Expect::PagesFail(PAGE_FAULTS.len() as u64),
        ),
    ];
    let mut rows = Vec::new();
    for (fault, url, expect) in table {
        let dir = tempfile::tempdir().unwrap();
        let full_text = if matches!(expect, Expect::PagesFail(_)) {
            "full_text = true\n"
        } else {
            ""
        };
        let m = poll(
            dir.path(),
            &healthy,
            &format!("[[feed]]\nname = \"faulty\"\nurl = \"{url}\"\n{full_text}"),
        );
        let (j, db) = check_common(fault, dir.path(), &m);
        let stored = count(
            &db,
            "SELECT count(*) FROM items i JOIN feeds f ON f.id = i.feed_id WHERE f.name = 'faulty'",
        );
        let recorded: Option<String> = db
            .query_row(
                "SELECT last_error FROM feeds WHERE name = 'faulty'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let outcome = match expect {
            Expect::Fails(needle) => {
                let e = feed_error(&j).unwrap_or_else(|| panic!("{fault}: no error reported: {j}"));
                assert!(e.contains(needle), "{fault}: {e:?} lacks {needle:?}");
                assert_eq!(
                    recorded.as_deref(),
                    Some(e.as_str()),
                    "{fault}: error not recorded"
                );
                assert_eq!(stored, 0, "{fault}");
                format!("error: {e}")
            }
            Expect::Stores(n) => {
                assert_eq!(feed_error(&j), None, "{fault}: {j}");
                assert_eq!(stored, n, "{fault}: items stored");
                format!("{stored} items stored")
            }
            Expect::PagesFail(n) => {
                assert_eq!(feed_error(&j), None, "{fault}: {j}");
                assert_eq!(stored, n, "{fault}: items stored");
                assert_eq!(j["pages_failed"], n, "{fault}: {j}");
                let errors: Vec<String> = db
                    .prepare("SELECT url || ': ' || error FROM article_pages ORDER BY url")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(errors.len() as u64, n, "{errors:?}");
                // Each item keeps the text its feed gave.
                let kept = count(
                    &db,
                    "SELECT count(*) FROM items WHERE text LIKE '%of the page faults.'",
                );
                assert_eq!(kept, n);
                format!(
                    "{stored} items stored with their feed text; pages: {}",
                    errors.join("; ")
                )
            }
        };
        check_details(fault, &db);
        rows.push(Row { fault, outcome, m });
    }
    println!("\n| fault | outcome | wall s | peak RSS MiB |\n|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.2} | {:.1} |",
            r.fault,
            r.outcome.replace('|', "/"),
            r.m.wall.as_secs_f64(),
            r.m.peak_rss_kib as f64 / 1024.0
        );
    }
}

/// What a fault that is read must leave in the store.
fn check_details(fault: &str, db: &rusqlite::Connection) {
    let title = |guid: &str| -> String {
        db.query_row("SELECT title FROM items WHERE guid = ?1", [guid], |r| {
            r.get(0)
        })
        .unwrap()
    };
    match fault {
        "declares windows-1252, sends UTF-8" => {
            assert_eq!(title("c1"), "Київ café reopens – “at last”");
            assert_eq!(title("c2"), "Zürich’s trams run late");
        }
        "one 9 MB item (under the limit)" => {
            let len = count(db, "SELECT length(text) FROM items WHERE guid = 'l1'");
            assert!(len > 1000 && len <= 256 * 1024, "text of {len} chars");
        }
        "same GUID twice" => assert_eq!(title("d1"), "park opening"),
        "dates: 2999, 1920, unparseable" => {
            let now = chrono::Utc::now().timestamp();
            let published = |g: &str| -> Option<i64> {
                db.query_row("SELECT published_at FROM items WHERE guid = ?1", [g], |r| {
                    r.get(0)
                })
                .unwrap()
            };
            // A date from the future and no date read alike: published
            // unknown, and the item counts from when it was first seen.
            assert_eq!(published("y1"), None, "2999 kept");
            assert_eq!(published("y2"), Some(-1_577_887_200), "1920 kept as it was");
            assert_eq!(published("y3"), None, "unparseable date kept");
            let seen = count(
                db,
                "SELECT min(first_seen_at) FROM items WHERE guid IN ('y1', 'y3')",
            ) as i64;
            assert!((now - seen).abs() < 600, "first seen {seen}");
        }
        _ => {}
    }
}
