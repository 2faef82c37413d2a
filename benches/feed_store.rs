//! Two costs of the poll cycle's hot path (divan), single-threaded:
//!
//! - feed parse + normalise (repair, decode, feed-rs, HTML to text, dates,
//!   canonical URLs, GUIDs) over the real-world feeds in
//!   ../shared/fixtures/feeds, in bytes of feed per second;
//! - one feed's transaction of 50 new items on a WAL store in a temporary
//!   folder (TMPDIR picks its file system): the dedup lookups, item rows and
//!   exact keys, then the same with fingerprints and 32 band rows each.
//!
//! Run with `cargo bench --bench feed_store`.

#[path = "common/synth.rs"]
mod synth;

use std::cell::{Cell, RefCell};
use std::sync::LazyLock;

use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;
use storywatch::dedup::ExactKeys;
use storywatch::feeds::normalize::{normalize_feed, Item};
use storywatch::feeds::parse::parse_feed;
use storywatch::neardup::fingerprint;
use storywatch::store::Store;
use synth::{text, vocabulary, Rng};

fn main() {
    divan::main();
}

/// The fixture files that parse as feeds with at least one entry.
static FEEDS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/feeds");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{} not found: nothing to parse", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| parse_and_normalise(b) > 0)
        .collect()
});

fn parse_and_normalise(bytes: &[u8]) -> usize {
    let base = url::Url::parse("https://feeds.example/rss").unwrap();
    parse_feed(bytes, None, &base)
        .map(|p| normalize_feed(&p.feed, &base, chrono::Utc::now()).len())
        .unwrap_or(0)
}

#[divan::bench(sample_count = 20)]
fn parse_normalise(bencher: Bencher) {
    let bytes = FEEDS.iter().map(Vec::len).sum::<usize>();
    bencher
        .counter(BytesCount::new(bytes))
        .bench(|| FEEDS.iter().map(|b| parse_and_normalise(b)).sum::<usize>());
}

/// One poll's worth of new items: news-sized texts from the synthetic
/// vocabulary, with links on 50 sites.
fn batch(rng: &mut Rng, vocab: &[String], next: &Cell<usize>) -> Vec<Item> {
    (0..50)
        .map(|_| {
            let k = next.replace(next.get() + 1);
            let words = 120 + rng.below(121);
            let link = format!("https://site-{}.example/news/{k}", k % 50);
            Item {
                guid: format!("bench-{k}"),
                link: Some(link.clone()),
                canonical_url: Some(link),
                title: text(rng, vocab, 8).join(" "),
                text: text(rng, vocab, words).join(" "),
                published: None,
                authors: Vec::new(),
                categories: Vec::new(),
                page_url: None,
            }
        })
        .collect()
}

/// 50 items in one transaction; `bands`: with their fingerprints and band rows.
#[divan::bench(args = [false, true], sample_count = 200, sample_size = 1)]
fn insert_50_items(bencher: Bencher, bands: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = RefCell::new(Store::open(&dir.path().join("bench.db")).unwrap());
    let feed = synth::feed("bench");
    let vocab = vocabulary();
    let rng = RefCell::new(Rng(0x0000_ddb1_a5e5));
    let next = Cell::new(0);
    let now = 1_800_000_000;
    bencher
        .counter(ItemsCount::new(50usize))
        .with_inputs(|| {
            let items = batch(&mut rng.borrow_mut(), &vocab, &next);
            let prints: Vec<_> = items
                .iter()
                .map(|i| fingerprint(&i.title, &i.text))
                .collect();
            (items, prints)
        })
        .bench_local_values(|(items, prints)| {
            store
                .borrow_mut()
                .write(true, |tx| {
                    let feed_id = tx.upsert_feed(&feed, now)?;
                    for (item, print) in items.iter().zip(&prints) {
                        let keys = ExactKeys::of(item);
                        if tx.find_duplicate(feed_id, &keys)?.is_some() {
                            continue;
                        }
                        let id = tx.insert_item(feed_id, item, &keys, now)?;
                        if bands {
                            tx.attach_cluster(id, id, print.as_ref())?;
                        }
                    }
                    Ok(())
                })
                .unwrap()
        });
}
