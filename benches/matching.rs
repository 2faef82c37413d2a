//! Matching throughput: MB/s of news text against a story whose watchlist
//! has 10,000 aliases on top of what its reference article gives.
//! Run with `cargo bench --bench matching`. Single-threaded.

use std::hint::black_box;
use std::time::Instant;

use storywatch::matching::entities::Kind;
use storywatch::matching::watchlist::{derive, Origin, WatchEntity};
use storywatch::matching::{Matcher, UniformCorpus};

const REFERENCE: &str = include_str!("../config/demo/stories/ceasefire-talks.txt");

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
fn corpus() -> (Vec<(String, String)>, usize) {
    let mut items = Vec::new();
    for f in ["world-wire.xml", "europe-desk.atom", "briefing.json"] {
        items.extend(items_of(std::path::Path::new(&format!("config/demo/{f}"))));
    }
    let story_items = items.len();
    if let Ok(dir) = std::fs::read_dir("../shared/fixtures/feeds") {
        let mut paths: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            items.extend(items_of(&p));
        }
    } else {
        eprintln!("../shared not found: measuring on the demo feeds alone");
    }
    (items, story_items)
}

fn main() {
    let mut wl = derive(&[REFERENCE]);
    let own = Matcher::new("bench", 0.5, &wl, &[REFERENCE]);
    let own_patterns = own.automaton_bytes();
    // 10,000 more aliases: plausible name-like strings that rarely occur.
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
    let n_aliases: usize = wl.entities.iter().map(|e| 1 + e.aliases.len()).sum();
    let t = Instant::now();
    let matcher = Matcher::new("bench", 0.5, &wl, &[REFERENCE]);
    let build = t.elapsed();

    let (items, story_items) = corpus();
    println!(
        "corpus: {} items, {} of them from the story's demo feeds",
        items.len(),
        story_items
    );
    let bytes_per_round: usize = items.iter().map(|(t, x)| t.len() + x.len()).sum();
    let target = 32 * 1024 * 1024;
    let rounds = target / bytes_per_round + 1;
    // Warm up.
    for (t, x) in &items {
        black_box(matcher.explain(t, x, None, &UniformCorpus));
    }
    let start = Instant::now();
    let mut matched = 0usize;
    for _ in 0..rounds {
        for (t, x) in &items {
            if matcher
                .explain(black_box(t), black_box(x), None, &UniformCorpus)
                .is_match()
            {
                matched += 1;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = (bytes_per_round * rounds) as f64 / 1e6;
    println!("aliases (names + aliases): {n_aliases}");
    println!("automaton build: {:.1} ms", build.as_secs_f64() * 1e3);
    println!(
        "automaton memory: {:.2} MiB ({:.2} MiB for the story's own names)",
        matcher.automaton_bytes() as f64 / 1048576.0,
        own_patterns as f64 / 1048576.0
    );
    println!(
        "explain (full score): {:.1} MB in {:.2} s = {:.1} MB/s, {:.0} items/s ({} matched)",
        mb,
        secs,
        mb / secs,
        (items.len() * rounds) as f64 / secs,
        matched
    );

    let start = Instant::now();
    let mut len = 0usize;
    for _ in 0..rounds {
        for (t, x) in &items {
            len += storywatch::matching::text::fold(black_box(t)).len()
                + storywatch::matching::text::fold(black_box(x)).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("fold alone: {:.1} MB/s ({len} bytes out)", mb / secs);

    // The automaton alone: fold + scan, the part whose cost the alias count could affect.
    let start = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for (t, x) in &items {
            hits += matcher.scan_count(black_box(t)) + matcher.scan_count(black_box(x));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("fold + automaton scan: {:.1} MB/s ({hits} hits)", mb / secs);

    let folded: Vec<(String, String)> = items
        .iter()
        .map(|(t, x)| {
            (
                storywatch::matching::text::fold(t),
                storywatch::matching::text::fold(x),
            )
        })
        .collect();
    let start = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for (t, x) in &folded {
            hits +=
                matcher.scan_folded_count(black_box(t)) + matcher.scan_folded_count(black_box(x));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "automaton scan of folded text: {:.1} MB/s ({hits} hits)",
        mb / secs
    );
}
