//! Matching throughput (divan): bytes of news text per second through fold,
//! the automaton scan and a full `explain`, against a story whose watchlist
//! has 10,000 aliases on top of what its reference article gives.
//! Run with `cargo bench --bench matching`. Single-threaded.

use std::hint::black_box;
use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::Bencher;
use storywatch::matching::entities::Kind;
use storywatch::matching::watchlist::{derive, Origin, WatchEntity};
use storywatch::matching::{Matcher, UniformCorpus};

const REFERENCE: &str = include_str!("../config/demo/stories/ceasefire-talks.txt");

fn main() {
    divan::main();
}

/// Items of a feed file as (title, text).
fn items_of(path: &std::path::Path) -> Vec<(String, String)> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let base = url::Url::parse("https://bench.example/").unwrap();
    match storywatch::feeds::parse::parse_feed(&bytes, None, &base) {
        Ok(parsed) => {
            storywatch::feeds::normalize::normalize_feed(&parsed.feed, &base, chrono::Utc::now())
                .into_iter()
                .map(|it| (it.title, it.text))
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// A realistic stream: the real-world fixture feeds in ../shared (news,
/// podcasts, blogs: almost none about the story) plus the demo feeds (our own
/// writing, mostly about it), so that follow-ups are a small share.
static ITEMS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let mut items = Vec::new();
    for f in ["world-wire.xml", "europe-desk.atom", "briefing.json"] {
        items.extend(items_of(std::path::Path::new(&format!("config/demo/{f}"))));
    }
    if let Ok(dir) = std::fs::read_dir("../shared/fixtures/feeds") {
        let mut paths: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            items.extend(items_of(&p));
        }
    } else {
        eprintln!("../shared not found: measuring on the demo feeds alone");
    }
    items
});

/// The story's own names plus 10,000 plausible, rarely occurring aliases.
static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let mut wl = derive(&[REFERENCE]);
    let syllables = [
        "ka", "lo", "mir", "sen", "tov", "ra", "vik", "den", "sho", "bel", "gru", "zan",
    ];
    for i in 0..5_000usize {
        let a = syllables[i % 12];
        let b = syllables[(i / 12) % 12];
        let c = syllables[(i / 144) % 12];
        wl.entities.push(WatchEntity {
            name: format!("{}{}{} {}{}", a.to_uppercase(), b, c, c, i),
            kind: Kind::Person,
            aliases: vec![format!("{b}{c}{a}{i}")],
            weight: 0.5,
            origin: Origin::Config,
            mentions: 0,
        });
    }
    Matcher::new("bench", 0.5, &wl, &[REFERENCE])
});

fn corpus_bytes() -> BytesCount {
    BytesCount::new(ITEMS.iter().map(|(t, x)| t.len() + x.len()).sum::<usize>())
}

#[divan::bench]
fn explain(bencher: Bencher) {
    let m = &*MATCHER;
    bencher.counter(corpus_bytes()).bench(|| {
        ITEMS
            .iter()
            .filter(|(t, x)| {
                m.explain(black_box(t), black_box(x), None, &UniformCorpus)
                    .is_match()
            })
            .count()
    });
}

#[divan::bench]
fn fold(bencher: Bencher) {
    bencher.counter(corpus_bytes()).bench(|| {
        ITEMS
            .iter()
            .map(|(t, x)| {
                storywatch::matching::text::fold(black_box(t)).len()
                    + storywatch::matching::text::fold(black_box(x)).len()
            })
            .sum::<usize>()
    });
}

/// Fold and scan: the part whose cost the alias count could affect.
#[divan::bench]
fn fold_and_scan(bencher: Bencher) {
    let m = &*MATCHER;
    bencher.counter(corpus_bytes()).bench(|| {
        ITEMS
            .iter()
            .map(|(t, x)| m.scan_count(black_box(t)) + m.scan_count(black_box(x)))
            .sum::<usize>()
    });
}

#[divan::bench]
fn scan_folded(bencher: Bencher) {
    let m = &*MATCHER;
    let folded: Vec<(String, String)> = ITEMS
        .iter()
        .map(|(t, x)| {
            (
                storywatch::matching::text::fold(t),
                storywatch::matching::text::fold(x),
            )
        })
        .collect();
    bencher.counter(corpus_bytes()).bench(|| {
        folded
            .iter()
            .map(|(t, x)| m.scan_folded_count(black_box(t)) + m.scan_folded_count(black_box(x)))
            .sum::<usize>()
    });
}

/// Compiling the story's matcher: once per config load.
#[divan::bench(sample_count = 10)]
fn build_matcher() -> usize {
    let wl = derive(&[REFERENCE]);
    Matcher::new("bench", 0.5, &wl, &[REFERENCE]).automaton_bytes()
}

/// What each item adds to the story (the novelty of an alert), against the
/// reference article.
#[divan::bench]
fn novelty(bencher: Bencher) {
    use storywatch::matching::novelty::{novelty, Known};
    let known = Known::of([REFERENCE]);
    bencher.counter(corpus_bytes()).bench(|| {
        ITEMS
            .iter()
            .map(|(t, x)| novelty(black_box(t), black_box(x), &known).names.len())
            .sum::<usize>()
    });
}

/// What each item adds, each then part of what the story said: the cost
/// per alert in a poll.
#[divan::bench]
fn novelty_learn(bencher: Bencher) {
    use storywatch::matching::novelty::Known;
    bencher.counter(corpus_bytes()).bench(|| {
        let mut known = Known::of([REFERENCE]);
        ITEMS
            .iter()
            .map(|(t, x)| known.learn(black_box(t), black_box(x)).names.len())
            .sum::<usize>()
    });
}
