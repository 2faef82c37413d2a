//! Article extraction throughput over the real news pages in
//! ../shared/fixtures/articles (decode, parse, metadata, Readability and
//! storywatch's own steps, all as the pipeline runs them), single-threaded:
//! pages per second, MB of HTML per second, the slowest page, and peak
//! memory. Readability alone is timed beside it, to show what the own steps
//! cost. Run with `cargo bench --bench extract` (EXTRACT_ROUNDS=N, default 20).

use std::time::{Duration, Instant};

use storywatch::article::{self, body::Steps};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/articles");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} not found", dir.display());
        return;
    };
    let mut pages: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p
                .file_name()?
                .to_str()?
                .strip_suffix(".source.html")?
                .to_string();
            Some((name, std::fs::read(&p).ok()?))
        })
        .collect();
    pages.sort();
    let rounds: usize = std::env::var("EXTRACT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let bytes: usize = pages.iter().map(|(_, b)| b.len()).sum();
    println!(
        "{} pages, {:.1} MB of HTML, {rounds} rounds after one untimed",
        pages.len(),
        bytes as f64 / 1e6
    );
    for (label, steps) in [
        ("storywatch (all steps)", Steps::default()),
        ("Readability only", Steps::READABILITY),
    ] {
        let run = |(_, b): &(String, Vec<u8>)| {
            let decoded = storywatch::feeds::charset::decode(b, None);
            let a = article::extract_html_with(&decoded.text, None, steps);
            std::hint::black_box(a.text.len())
        };
        pages.iter().for_each(|p| {
            run(p);
        });
        let mut slowest = (Duration::ZERO, String::new());
        let started = Instant::now();
        for _ in 0..rounds {
            for p in &pages {
                let t = Instant::now();
                run(p);
                let took = t.elapsed();
                if took > slowest.0 {
                    slowest = (took, p.0.clone());
                }
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let n = (pages.len() * rounds) as f64;
        println!(
            "{label:<24} {:>7.1} pages/s  {:>6.2} MB/s  mean {:>6.2} ms/page  slowest {:.2} ms ({})",
            n / secs,
            (bytes * rounds) as f64 / 1e6 / secs,
            secs * 1e3 / n,
            slowest.0.as_secs_f64() * 1e3,
            slowest.1
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
}
