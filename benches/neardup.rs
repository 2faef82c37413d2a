//! Near-duplicate lookup cost as the store grows (divan): a store of 10k,
//! 100k (and, with NEARDUP_MAX=1000000, 1M) items, each with its fingerprint
//! and band rows in SQLite, filled before timing; then one lookup at a time,
//! half copies of stored items with a tenth of their words changed, half
//! new texts, after 200 untimed ones that warm the page cache.
//! Run with `cargo bench --bench neardup` (TMPDIR picks the store's file system).

#[path = "common/synth.rs"]
mod synth;

use std::cell::RefCell;

use divan::Bencher;
use storywatch::dedup::ExactKeys;
use storywatch::feeds::normalize::Item;
use storywatch::neardup::fingerprint;
use storywatch::store::Store;
use synth::{text, vocabulary, Rng};

fn main() {
    divan::main();
}

/// Store sizes to measure: 10k and 100k, up to `NEARDUP_MAX` more by tens.
fn sizes() -> Vec<usize> {
    let max: usize = std::env::var("NEARDUP_MAX")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    [10_000, 100_000, 1_000_000]
        .into_iter()
        .filter(|n| *n <= max.max(10_000))
        .collect()
}

const NOW: i64 = 1_800_000_000;

/// A store of `n` items and a sample of their texts, for copies.
fn filled(n: usize, path: &std::path::Path) -> (Store, Vec<Vec<String>>) {
    let mut store = Store::open(path).unwrap();
    let feed = synth::feed("bench");
    let vocab = vocabulary();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sample = Vec::new();
    let mut stored = 0;
    while stored < n {
        let batch = (n - stored).min(10_000);
        let texts: Vec<Vec<String>> = (0..batch).map(|_| text(&mut rng, &vocab, 120)).collect();
        store
            .write(true, |tx| {
                let feed_id = tx.upsert_feed(&feed, NOW)?;
                for (k, words) in texts.iter().enumerate() {
                    let item = Item {
                        guid: format!("g{}", stored + k),
                        link: None,
                        canonical_url: None,
                        title: String::new(),
                        text: words.join(" "),
                        published: None,
                        authors: Vec::new(),
                        categories: Vec::new(),
                        page_url: None,
                    };
                    let id = tx.insert_item(feed_id, &item, &ExactKeys::of(&item), NOW)?;
                    tx.attach_cluster(id, id, fingerprint("", &item.text).as_ref())?;
                }
                Ok(())
            })
            .unwrap();
        sample.extend(
            texts
                .into_iter()
                .step_by(100)
                .take(5_000 - sample.len().min(5_000)),
        );
        stored += batch;
    }
    (store, sample)
}

#[divan::bench(args = sizes(), sample_count = 1000, sample_size = 1)]
fn lookup(bencher: Bencher, stored: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, sample) = filled(stored, &dir.path().join("bench.db"));
    let vocab = vocabulary();
    let rng = RefCell::new(Rng(0x5151_7e57_0000_0000 ^ stored as u64));
    let query = || {
        let mut rng = rng.borrow_mut();
        let words = if rng.below(2) == 0 {
            let mut w = sample[rng.below(sample.len())].clone();
            for _ in 0..12 {
                let at = rng.below(w.len());
                w[at] = vocab[rng.below(vocab.len())].clone();
            }
            w
        } else {
            text(&mut rng, &vocab, 120)
        };
        fingerprint("", &words.join(" ")).unwrap()
    };
    let since = NOW - 30 * 86400;
    // All lookups in one read of the store, as a poll makes them inside its
    // transaction.
    store
        .write(false, |tx| {
            for _ in 0..200 {
                tx.near_duplicate_candidates(&query().band_keys(), since)?;
            }
            bencher.with_inputs(query).bench_local_values(|fp| {
                tx.near_duplicate_candidates(&fp.band_keys(), since)
                    .unwrap()
                    .len()
            });
            Ok(())
        })
        .unwrap();
}
