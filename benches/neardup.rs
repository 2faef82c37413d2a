//! Near-duplicate lookup cost as the store grows: 10k, 100k and 1M stored
//! items (each with its fingerprint and its band rows in SQLite), then 1,000
//! lookups (half copies of stored items with a tenth of their words
//! changed, half new texts) after 200 untimed ones that warm the page cache. Also reports the store size per item.
//! Run with `cargo bench --bench neardup` (about three minutes; set
//! NEARDUP_MAX=100000 for a shorter run).

use std::time::Instant;

use storywatch::dedup::ExactKeys;
use storywatch::feeds::normalize::Item;
use storywatch::neardup::{containment_threshold, fingerprint};
use storywatch::store::Store;

#[path = "common/synth.rs"]
mod synth;
use synth::{text, vocabulary, Rng};

fn main() {
    let max: usize = std::env::var("NEARDUP_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // NEARDUP_DB=PATH keeps the filled store there and reuses it on the next
    // run (only sizes not yet reached are filled and measured).
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("NEARDUP_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let mut store = Store::open(&path).unwrap();
    let feed = synth::feed("bench");
    let vocab = vocabulary();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let threshold = containment_threshold(storywatch::config::DEFAULT_SIMILARITY);
    let now = 1_800_000_000;
    let mut stored: Vec<Vec<String>> = Vec::new(); // a sample of stored texts, for copies
    let mut n = store.count_items().unwrap() as usize;
    if n > 0 {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT text FROM items WHERE id % 200 = 1 LIMIT 5000")
            .unwrap();
        for t in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            stored.push(t.unwrap().split(' ').map(String::from).collect());
        }
    }
    println!(
        "{:>9}  {:>12}  {:>12}  {:>10}  {:>12}  {:>12}",
        "stored", "lookup µs", "candidates", "copies hit", "bytes/item", "filter KiB"
    );
    let reused = n;
    for target in [10_000usize, 100_000, 1_000_000]
        .into_iter()
        .filter(|t| *t <= max && (*t >= reused || reused == 0))
    {
        while n < target {
            let batch = (target - n).min(10_000);
            let texts: Vec<Vec<String>> = (0..batch).map(|_| text(&mut rng, &vocab, 120)).collect();
            store
                .write(true, |tx| {
                    let feed_id = tx.upsert_feed(&feed, now)?;
                    for (k, words) in texts.iter().enumerate() {
                        let item = Item {
                            guid: format!("g{}", n + k),
                            link: None,
                            canonical_url: None,
                            title: String::new(),
                            text: words.join(" "),
                            published: None,
                            authors: Vec::new(),
                            categories: Vec::new(),
                            page_url: None,
                        };
                        let id = tx.insert_item(feed_id, &item, &ExactKeys::of(&item), now)?;
                        tx.attach_cluster(id, id, fingerprint("", &item.text).as_ref())?;
                    }
                    Ok(())
                })
                .unwrap();
            for words in texts.iter().step_by(100) {
                if stored.len() < 5_000 {
                    stored.push(words.clone());
                } else {
                    let slot = rng.below(stored.len());
                    stored[slot] = words.clone();
                }
            }
            n += batch;
        }
        // 1,000 lookups: copies (10% of words changed) and new texts, from
        // their own generator so a reused store sees the same kind of queries.
        let mut rng = Rng(0x5151_7e57_0000_0000 ^ target as u64);
        let queries: Vec<(bool, String)> = (0..1000)
            .map(|i| {
                if i % 2 == 0 {
                    let mut w = stored[rng.below(stored.len())].clone();
                    for _ in 0..12 {
                        let at = rng.below(w.len());
                        w[at] = vocab[rng.below(vocab.len())].clone();
                    }
                    (true, w.join(" "))
                } else {
                    (false, text(&mut rng, &vocab, 120).join(" "))
                }
            })
            .collect();
        // Warm the page cache first, as a running service's is: 200 lookups
        // of other new texts, not timed.
        store
            .write(false, |tx| {
                for _ in 0..200 {
                    let fp = fingerprint("", &text(&mut rng, &vocab, 120).join(" ")).unwrap();
                    tx.near_duplicate_candidates(&fp.band_keys(), now - 30 * 86400)?;
                }
                Ok(())
            })
            .unwrap();
        let (mut candidates, mut hits) = (0usize, 0usize);
        let start = Instant::now();
        store
            .write(false, |tx| {
                for (copy, q) in &queries {
                    let fp = fingerprint("", q).unwrap();
                    let found = tx.near_duplicate_candidates(&fp.band_keys(), now - 30 * 86400)?;
                    candidates += found.len();
                    if *copy
                        && found
                            .iter()
                            .any(|(_, other)| fp.containment(other) >= threshold)
                    {
                        hits += 1;
                    }
                }
                Ok(())
            })
            .unwrap();
        let per = start.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
        let filter_kib = store.band_filter_bytes() / 1024;
        drop(store);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(path.with_extension("db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        store = Store::open(&path).unwrap();
        println!(
            "{:>9}  {:>12.1}  {:>12.2}  {:>9}/500  {:>12}  {:>12}",
            n,
            per,
            candidates as f64 / queries.len() as f64,
            hits,
            size / n as u64,
            filter_kib
        );
    }
}
