//! Article extraction throughput (divan) over the real news pages in
//! ../shared/fixtures/articles: decode, parse, metadata, Readability and
//! storywatch's own steps, as the pipeline runs them, beside Readability
//! alone, to show what the own steps cost. Single-threaded.
//! Run with `cargo bench --bench extract`.

use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::Bencher;
use storywatch::article::{self, body::Steps};

fn main() {
    divan::main();
}

static PAGES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/articles");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("{} not found: nothing to measure", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".source.html"))
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
});

fn run(steps: Steps) -> usize {
    PAGES
        .iter()
        .map(|b| {
            let decoded = storywatch::feeds::charset::decode(b, None);
            article::extract_html_with(&decoded.text, None, steps)
                .text
                .len()
        })
        .sum()
}

fn html_bytes() -> BytesCount {
    BytesCount::new(PAGES.iter().map(Vec::len).sum::<usize>())
}

#[divan::bench(sample_count = 20)]
fn all_steps(bencher: Bencher) {
    bencher
        .counter(html_bytes())
        .bench(|| run(Steps::default()));
}

#[divan::bench(sample_count = 20)]
fn readability_only(bencher: Bencher) {
    bencher
        .counter(html_bytes())
        .bench(|| run(Steps::READABILITY));
}
