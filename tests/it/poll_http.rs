//! `storywatch poll` against real HTTP servers on 127.0.0.1 and a real
//! SQLite file: conditional GET, failures that stay local to their feed,
//! size limits, compression, the fixture set end to end, and the demo.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::common::http::{Response, TestServer};
use crate::common::{poll_json, run, stderr, stdout};

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Loopback</title><link>http://example.org/</link>
<item><title>Witkoff meets Putin in St Petersburg</title><link>http://example.org/a/1?utm_source=rss</link>
<guid>a1</guid><pubDate>Fri, 11 Apr 2025 10:00:00 GMT</pubDate><description>The envoy met the president for four hours.</description></item>
<item><title>Prisoner swap frees Ksenia Karelina</title><link>http://example.org/a/2</link>
<guid>a2</guid><pubDate>Thu, 10 Apr 2025 08:00:00 GMT</pubDate><description>The exchange took place in Abu Dhabi.</description></item>
</channel></rss>"#;

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("storywatch.toml");
    std::fs::write(&path, body).unwrap();
    path
}

fn feed_table(name: &str, url: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n\n")
}

/// A server without validators answers 200 every time: a body identical to
/// the last one is not parsed again (and says so), a changed one is, and the
/// digest only moves on when the feed's items were stored.
#[test]
fn an_unchanged_body_is_not_parsed_again() {
    let body = Arc::new(std::sync::Mutex::new(RSS.to_string()));
    let served = body.clone();
    let server = TestServer::start(move |_| {
        Response::new(200, served.lock().unwrap().as_str())
            .header("Content-Type", "application/rss+xml")
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &feed_table("plain", &server.url("/rss")));

    let first = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(
        (first["fetched"].as_u64(), first["items_new"].as_u64()),
        (Some(1), Some(2)),
        "{first}"
    );
    let second = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(second["unchanged"], 1, "{second}");
    assert_eq!(
        (
            second["fetched"].as_u64(),
            second["items_duplicate"].as_u64()
        ),
        (Some(0), Some(0)),
        "{second}"
    );
    let human = stdout(&run(&cfg, &["poll"]));
    assert!(
        human.contains("unchanged") && human.contains("same body as last time"),
        "{human}"
    );

    // One new entry on top: parsed, one new item, the two others duplicates.
    let changed = RSS.replacen(
        "<item>",
        "<item><title>Kremlin on normalising relations</title><guid>a0</guid><description>Peskov spoke.</description></item><item>",
        1,
    );
    *body.lock().unwrap() = changed;
    let third = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(
        (
            third["fetched"].as_u64(),
            third["items_new"].as_u64(),
            third["items_duplicate"].as_u64()
        ),
        (Some(1), Some(1), Some(2)),
        "{third}"
    );
    // A dry run stores nothing, the digest included: the next poll parses.
    *body.lock().unwrap() = RSS.to_string();
    let dry = poll_json(&run(&cfg, &["poll", "--json", "--dry-run"]));
    assert_eq!(dry["fetched"], 1, "{dry}");
    let after = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(
        (after["fetched"].as_u64(), after["items_duplicate"].as_u64()),
        (Some(1), Some(2)),
        "{after}"
    );
    assert_eq!(poll_json(&run(&cfg, &["poll", "--json"]))["unchanged"], 1);
}

#[test]
fn second_poll_sends_validators_and_stores_nothing() {
    let server = TestServer::start(|req| {
        let fresh = req.header("if-none-match") == Some("\"v1\"")
            || req.header("if-modified-since") == Some("Fri, 11 Apr 2025 10:00:00 GMT");
        if fresh {
            Response::new(304, "")
        } else {
            Response::new(200, RSS)
                .header("Content-Type", "application/rss+xml")
                .header("ETag", "\"v1\"")
                .header("Last-Modified", "Fri, 11 Apr 2025 10:00:00 GMT")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &feed_table("loop", &server.url("/rss")));

    let first = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(first["fetched"], 1);
    assert_eq!(first["items_new"], 2);
    let reqs = server.requests_to("/rss");
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0].header("if-none-match").is_none());
    assert!(reqs[0]
        .header("user-agent")
        .unwrap()
        .starts_with("storywatch/"));

    let second = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(second["not_modified"], 1, "{second}");
    assert_eq!(second["items_new"], 0);
    let reqs = server.requests_to("/rss");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(
        reqs[1].header("if-modified-since"),
        Some("Fri, 11 Apr 2025 10:00:00 GMT")
    );
    assert_eq!(count_items(&dir.path().join("storywatch.db")), 2);
}

#[test]
fn a_broken_feed_fails_alone_with_its_reason() {
    let big = format!(
        "<rss version=\"2.0\"><channel><title>x</title>{}</channel></rss>",
        "<item><title>padding</title></item>".repeat(4000)
    );
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/good" => Response::new(200, RSS),
        "/500" => Response::new(500, "oops"),
        "/garbage" => Response::new(200, vec![0u8, 159, 146, 150, 1, 2, 3, 255]),
        "/html" => Response::new(
            200,
            "<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>",
        ),
        "/big" => Response::new(200, big.clone()),
        "/gzip-big" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&vec![b' '; 4 * 1024 * 1024]).unwrap();
            Response::new(200, enc.finish().unwrap()).header("Content-Encoding", "gzip")
        }
        "/gone" => Response::new(404, "no"),
        _ => Response::new(404, ""),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("[poll]\nmax_body = \"64KiB\"\n\n");
    for (name, path) in [
        ("good", "/good"),
        ("e500", "/500"),
        ("garbage", "/garbage"),
        ("html", "/html"),
        ("big", "/big"),
        ("bomb", "/gzip-big"),
        ("gone", "/gone"),
    ] {
        cfg.push_str(&feed_table(name, &server.url(path)));
    }
    // Nothing listens on this port once the listener is dropped.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    cfg.push_str(&feed_table("refused", &format!("http://{refused}/rss")));
    let cfg = write_config(dir.path(), &cfg);

    let out = run(&cfg, &["poll", "--json"]);
    let j = poll_json(&out);
    assert_eq!(j["feeds"], 8);
    assert_eq!(j["fetched"], 1);
    assert_eq!(j["failed"], 7);
    assert_eq!(j["items_new"], 2);
    let errors: std::collections::HashMap<String, String> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["feed"].as_str().unwrap().to_string(),
                e["error"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("e500", "HTTP 500"),
        ("garbage", "not a feed"),
        ("html", "HTML page"),
        ("big", "larger than the 65536-byte limit"),
        ("bomb", "larger than the 65536-byte limit"),
        ("gone", "HTTP 404"),
        ("refused", "connection failed"),
    ];
    for (feed, needle) in expect {
        let e = errors
            .get(feed)
            .unwrap_or_else(|| panic!("no error for {feed}: {j}"));
        assert!(e.contains(needle), "{feed}: {e:?} lacks {needle:?}");
    }

    // The human summary names the same reasons.
    let out = run(&cfg, &["poll", "--feed", "e500"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("e500") && text.contains("failed") && text.contains("HTTP 500"),
        "{text}"
    );
}

/// Feeds that fail after their fetch (bodies that are no feed) give back
/// their places among the parsed feeds: with one feed at a time and ten
/// such failures first, the good feed after them is still polled. A lost
/// place would leave the poll waiting for ever; the guard kills it.
#[test]
fn feeds_that_fail_to_parse_do_not_hold_up_the_rest() {
    let server = TestServer::start(move |req| match req.path.as_str() {
        "/good" => Response::new(200, RSS),
        _ => Response::new(200, vec![0u8, 159, 146, 150, 1, 2, 3, 255]),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::from("[poll]\nconcurrency = 1\nper_host = 1\n\n");
    for i in 0..10 {
        cfg.push_str(&feed_table(
            &format!("bad{i}"),
            &server.url(&format!("/bad{i}")),
        ));
    }
    cfg.push_str(&feed_table("good", &server.url("/good")));
    let cfg = write_config(dir.path(), &cfg);

    let mut cmd = common::storywatch();
    cmd.arg("--config").arg(&cfg).args(["poll", "--json"]);
    let m = common::proc::measure(cmd, std::time::Duration::from_secs(60));
    assert!(
        !m.timed_out,
        "the poll never finished: a failed feed kept its place\n{}",
        m.stderr
    );
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    let j: serde_json::Value = serde_json::from_str(&m.stdout).expect("poll --json prints JSON");
    assert_eq!(j["failed"], 10, "{j}");
    assert_eq!(j["fetched"], 1, "{j}");
    assert_eq!(j["items_new"], 2, "{j}");
}

#[test]
fn gzip_and_brotli_bodies_are_decoded() {
    let server = TestServer::start(|req| {
        let accept = req.header("accept-encoding").unwrap_or("").to_string();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(RSS.as_bytes()).unwrap();
        assert!(accept.contains("gzip") && accept.contains("br"), "{accept}");
        Response::new(200, enc.finish().unwrap()).header("Content-Encoding", "gzip")
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &feed_table("gz", &server.url("/rss")));
    let j = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 2, "{j}");
}

#[test]
fn the_same_article_from_two_feeds_is_stored_once() {
    let server = TestServer::start(|req| {
        // Same link (other tracking parameters), other GUIDs.
        let body = RSS
            .replace("<guid>a1</guid>", &format!("<guid>{}-1</guid>", req.path))
            .replace("<guid>a2</guid>", &format!("<guid>{}-2</guid>", req.path))
            .replace("utm_source=rss", "utm_source=newsletter&fbclid=x");
        Response::new(200, body)
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &(feed_table("one", &server.url("/one")) + &feed_table("two", &server.url("/two"))),
    );
    let j = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 2, "{j}");
    assert_eq!(j["items_duplicate"], 2, "{j}");
}

#[test]
fn the_fixture_set_over_loopback_then_all_304() {
    let Some(fixtures) = common::fixture_feeds() else {
        return;
    };
    let hits = Arc::new(AtomicUsize::new(0));
    let root = fixtures.clone();
    let h = hits.clone();
    let server = TestServer::start(move |req| {
        h.fetch_add(1, Ordering::SeqCst);
        let name = req.path.trim_start_matches('/');
        let etag = format!("\"{name}\"");
        if req.header("if-none-match") == Some(etag.as_str()) {
            return Response::new(304, "");
        }
        match std::fs::read(root.join(name)) {
            Ok(bytes) => Response::new(200, bytes).header("ETag", &etag),
            Err(_) => Response::new(404, ""),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = String::new();
    let mut names: Vec<String> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for (i, name) in names.iter().enumerate() {
        cfg.push_str(&feed_table(
            &format!("fixture-{i}"),
            &server.url(&format!("/{name}")),
        ));
    }
    let cfg = write_config(dir.path(), &cfg);

    let first = poll_json(&run(&cfg, &["poll", "--json"]));
    let n = names.len() as u64;
    assert_eq!(first["feeds"], n);
    // The four documents that cannot be read (see feed_fixtures.rs) fail alone.
    assert_eq!(first["failed"], 4, "{first}");
    assert_eq!(first["fetched"], n - 4);
    let stored = first["items_new"].as_u64().unwrap();
    assert!(stored > 1000, "{first}");
    assert_eq!(count_items(&dir.path().join("storywatch.db")), stored);

    let second = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(second["not_modified"], n - 4, "{second}");
    assert_eq!(second["items_new"], 0);
    assert_eq!(hits.load(Ordering::SeqCst) as u64, 2 * n);
    // The 304s share transactions; every feed's row still says so.
    let db = rusqlite::Connection::open(dir.path().join("storywatch.db")).unwrap();
    let recorded: i64 = db
        .query_row(
            "SELECT count(*) FROM feeds WHERE last_status = 'not_modified' AND consecutive_errors = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recorded as u64, n - 4);
}

#[test]
fn the_demo_runs_offline_and_the_second_run_finds_nothing_new() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&demo.join("demo"), &dir.path().join("demo"));
    std::fs::copy(demo.join("demo.toml"), dir.path().join("demo.toml")).unwrap();
    let cfg = dir.path().join("demo.toml");

    let out = run(&cfg, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("3 feeds: 3 fetched"), "{text}");
    assert!(!text.contains(" 0 new items"), "{text}");

    let j = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 0, "{j}");
    assert_eq!(j["failed"], 0, "{j}");
}

#[test]
fn dry_run_writes_nothing() {
    let server = TestServer::start(|_| Response::new(200, RSS));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &feed_table("loop", &server.url("/rss")));
    let j = poll_json(&run(&cfg, &["poll", "--json", "--dry-run"]));
    assert_eq!(j["items_new"], 2);
    assert!(!dir.path().join("storywatch.db").exists());
    // With a database on disk, a dry run reports against it and leaves it as it was.
    poll_json(&run(&cfg, &["poll", "--json"]));
    let before = count_items(&dir.path().join("storywatch.db"));
    let j = poll_json(&run(&cfg, &["poll", "--json", "--dry-run"]));
    assert_eq!(j["unchanged"], 1, "{j}");
    assert_eq!(count_items(&dir.path().join("storywatch.db")), before);
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // 2: config error, with file, line, column and key.
    let bad = write_config(dir.path(), "[poll]\ninterval = \"soon\"\n");
    let out = run(&bad, &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:2:12: poll.interval", bad.display())),
        "{err}"
    );
    let out = run(&bad, &["poll"]);
    assert_eq!(out.status.code(), Some(2));
    // 2: unknown feed name.
    let good = write_config(dir.path(), &feed_table("a", "http://127.0.0.1:9/rss"));
    let out = run(&good, &["poll", "--feed", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // 1: the store cannot be opened (its path is a directory).
    std::fs::create_dir(dir.path().join("db-dir")).unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[storage]\npath = \"db-dir\"\n\n{}",
            feed_table("a", "http://127.0.0.1:9/rss")
        ),
    );
    let out = run(&cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot open database"),
        "{}",
        stderr(&out)
    );
    // 2: a missing config file.
    let out = run(&dir.path().join("missing.toml"), &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml"));
}

#[test]
fn config_comes_from_the_environment_when_no_flag_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &feed_table("env-feed", "https://example.org/rss"),
    );
    let out = common::storywatch()
        .env("STORYWATCH_CONFIG", &cfg)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("env-feed"));
}

fn count_items(db: &Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
