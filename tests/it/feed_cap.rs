//! A feed of 100,000 entries (about 7 MB) served on 127.0.0.1 in each
//! format: a poll reads the newest `[poll] max_entries` of them and drops
//! the rest. The child's peak memory is printed as a figure (run with
//! `--nocapture`); it is measured here, not asserted.

use crate::common;

use std::time::Duration;

use crate::common::http::{Response, TestServer};
use crate::common::proc::measure;

const ENTRIES: usize = 100_000;
/// Entry `i` was published `i` minutes after this (Unix seconds).
const BASE: i64 = 1_700_000_000;

fn date(i: usize) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(BASE + 60 * i as i64, 0).unwrap()
}

/// Oldest first, so that the newest are not simply the first in the file.
fn body(format: &str) -> String {
    let mut out = String::with_capacity(ENTRIES * 90);
    match format {
        "rss" => {
            out.push_str("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>big</title><link>http://big.example/</link>");
            for i in 0..ENTRIES {
                out.push_str(&format!(
                    "<item><title>Notice {i}</title><guid>e{i}</guid><pubDate>{}</pubDate></item>",
                    date(i).to_rfc2822()
                ));
            }
            out.push_str("</channel></rss>");
        }
        "atom" => {
            out.push_str("<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>big</title><id>urn:big</id><updated>2025-01-01T00:00:00Z</updated>");
            for i in 0..ENTRIES {
                out.push_str(&format!(
                    "<entry><title>Notice {i}</title><id>e{i}</id><updated>{}</updated></entry>",
                    date(i).to_rfc3339()
                ));
            }
            out.push_str("</feed>");
        }
        _ => {
            out.push_str(
                "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"big\",\"items\":[",
            );
            for i in 0..ENTRIES {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!(
                    "{{\"id\":\"e{i}\",\"title\":\"Notice {i}\",\"content_text\":\"n\",\"date_published\":\"{}\"}}",
                    date(i).to_rfc3339()
                ));
            }
            out.push_str("]}");
        }
    }
    out
}

#[test]
fn a_feed_of_100000_entries_is_read_to_its_newest_within_the_cap() {
    for format in ["rss", "atom", "json"] {
        let doc = body(format);
        let size = doc.len();
        let feed = TestServer::start(move |_| Response::new(200, doc.clone()));
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("storywatch.toml");
        let db = dir.path().join("big.db");
        std::fs::write(
            &cfg,
            format!(
                "[storage]\npath = \"{}\"\n\n[poll]\nmax_body = \"20MiB\"\n\n\
                 [[feed]]\nname = \"big\"\nurl = \"{}\"\n",
                db.display(),
                feed.url("/feed")
            ),
        )
        .unwrap();
        let mut cmd = common::storywatch();
        cmd.arg("--config").arg(&cfg).args(["poll", "--json"]);
        let m = measure(cmd, Duration::from_secs(300));
        assert_eq!(m.code, Some(0), "{format}: {}", m.stderr);
        let j: serde_json::Value = serde_json::from_str(m.stdout.trim()).unwrap();
        assert_eq!(j["items_new"], 1000, "{format}: {j}");
        assert!(
            m.stderr.contains("max_entries"),
            "{format}: the cut is logged: {}",
            m.stderr
        );
        let conn = rusqlite::Connection::open(&db).unwrap();
        let (newest, oldest): (i64, i64) = conn
            .query_row(
                "SELECT max(CAST(substr(guid, 2) AS INTEGER)), min(CAST(substr(guid, 2) AS INTEGER)) FROM items",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (newest, oldest),
            (ENTRIES as i64 - 1, ENTRIES as i64 - 1000),
            "{format}"
        );
        eprintln!(
            "{format}: {ENTRIES} entries, {:.1} MB body: peak RSS {:.1} MiB, {:.2} s",
            size as f64 / 1e6,
            m.peak_rss_kib as f64 / 1024.0,
            m.wall.as_secs_f64()
        );
    }
}
