//! Two costs of the poll cycle's hot path, single-threaded:
//!
//! - feed parse + normalise (repair, decode, feed-rs, HTML to text, dates,
//!   canonical URLs, GUIDs) over the real-world feeds in
//!   ../shared/fixtures/feeds, in MB of feed per second and items per second;
//! - SQLite insert per item, in transactions of 50 items (one feed's poll) on
//!   a WAL store in a temporary folder: the item row with its exact dedup
//!   keys, then the same with its fingerprint and 32 band rows.
//!
//! Run with `cargo bench --bench feed_store` (FEED_ROUNDS=N, default 10;
//! STORE_ITEMS=N, default 20000; TMPDIR picks the store's file system).

#[path = "common/synth.rs"]
mod synth;

use std::time::Instant;

use storywatch::dedup::ExactKeys;
use storywatch::feeds::normalize::{normalize_feed, Item};
use storywatch::feeds::parse::parse_feed;
use storywatch::neardup::fingerprint;
use storywatch::store::Store;
use synth::{text, vocabulary, Rng};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn parse_bench() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feeds");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("parse: skipping, {} not found", dir.display());
        return;
    };
    let mut feeds: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| {
            let p = e.ok()?.path();
            Some((p.display().to_string(), std::fs::read(&p).ok()?))
        })
        .collect();
    feeds.sort();
    let base = url::Url::parse("https://feeds.example/rss").unwrap();
    let now = chrono::Utc::now();
    let run = |bytes: &[u8]| -> usize {
        parse_feed(bytes, None, &base)
            .map(|p| normalize_feed(&p.feed, &base, now).len())
            .unwrap_or(0)
    };
    // One untimed round: also tells which files are feeds at all.
    let parsed: Vec<&(String, Vec<u8>)> = feeds.iter().filter(|(_, b)| run(b) > 0).collect();
    let bytes: usize = parsed.iter().map(|(_, b)| b.len()).sum();
    let rounds = env_usize("FEED_ROUNDS", 10);
    let start = Instant::now();
    let mut items = 0;
    for _ in 0..rounds {
        for (_, b) in &parsed {
            items += std::hint::black_box(run(b));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "parse + normalise: {} feeds, {:.1} MB, {} rounds: {:.1} MB/s, {:.0} items/s, {:.1} ms per MB",
        parsed.len(),
        bytes as f64 / 1e6,
        rounds,
        (bytes * rounds) as f64 / 1e6 / secs,
        items as f64 / secs,
        secs * 1e3 / ((bytes * rounds) as f64 / 1e6)
    );
}

fn store_bench() {
    let n = env_usize("STORE_ITEMS", 20_000);
    let vocab = vocabulary();
    let mut rng = Rng(0x0000_ddb1_a5e5);
    let items: Vec<Item> = (0..n)
        .map(|k| {
            let words = 120 + rng.below(121);
            let title = text(&mut rng, &vocab, 8).join(" ");
            let link = format!("https://site-{}.example/news/{k}", k % 50);
            Item {
                guid: format!("bench-{k}"),
                link: Some(link.clone()),
                canonical_url: Some(link),
                title,
                text: text(&mut rng, &vocab, words).join(" "),
                published: None,
                authors: Vec::new(),
                categories: Vec::new(),
                page_url: None,
            }
        })
        .collect();
    let feed = synth::feed("bench");
    let prints: Vec<_> = items
        .iter()
        .map(|i| fingerprint(&i.title, &i.text))
        .collect();
    for with_bands in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("bench.db")).unwrap();
        let now = 1_800_000_000;
        let start = Instant::now();
        for (chunk, chunk_prints) in items.chunks(50).zip(prints.chunks(50)) {
            store
                .write(true, |tx| {
                    let feed_id = tx.upsert_feed(&feed, now)?;
                    for (item, print) in chunk.iter().zip(chunk_prints) {
                        let keys = ExactKeys::of(item);
                        if tx.find_duplicate(feed_id, &keys)?.is_some() {
                            continue;
                        }
                        let id = tx.insert_item(feed_id, item, &keys, now)?;
                        if with_bands {
                            tx.attach_cluster(id, id, print.as_ref())?;
                        }
                    }
                    Ok(())
                })
                .unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sqlite insert{}: {n} items in transactions of 50: {:.1} µs per item, {:.0} items/s",
            if with_bands {
                " + fingerprint and 32 band rows"
            } else {
                " (dedup lookup, item row and keys)"
            },
            secs * 1e6 / n as f64,
            n as f64 / secs
        );
    }
}

fn main() {
    parse_bench();
    store_bench();
}
