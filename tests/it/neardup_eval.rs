//! Near-duplicate detection on real news: the labelled duplicates of the
//! development set (`duplicate_of:<id>`) against their originals, and every
//! pair of distinct follow-ups (which must never look like copies).

use crate::common;

use std::collections::HashMap;

use serde_json::Value;
use storywatch::neardup::{fingerprint, Fingerprint};

fn threshold() -> f64 {
    storywatch::neardup::containment_threshold(storywatch::config::DEFAULT_SIMILARITY)
}

#[test]
fn labelled_copies_are_found_and_distinct_follow_ups_are_not_merged() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let raw = std::fs::read_to_string(shared.join("eval/dev.jsonl")).unwrap();
    let rows: Vec<Value> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fp: HashMap<&str, Option<Fingerprint>> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                fingerprint(
                    r["title"].as_str().unwrap_or(""),
                    r["text"].as_str().unwrap_or(""),
                ),
            )
        })
        .collect();
    // What the pipeline sees: the band index must offer the pair, then the
    // containment decides.
    let sim = |a: &str, b: &str| match (&fp[a], &fp[b]) {
        (Some(x), Some(y)) if x.is_candidate(y) => x.containment(y),
        _ => 0.0,
    };
    let mut found = Vec::new();
    let mut missed = Vec::new();
    for r in &rows {
        let label = r["label"].as_str().unwrap();
        if let Some(orig) = label.strip_prefix("duplicate_of:") {
            let id = r["id"].as_str().unwrap();
            let s = sim(id, orig);
            eprintln!("{id} ~ {orig}: containment {s:.2}");
            if s >= threshold() {
                found.push(id)
            } else {
                missed.push(id)
            }
        }
    }
    let followups: Vec<&str> = rows
        .iter()
        .filter(|r| r["label"] == "followup")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut merged = Vec::new();
    let mut pairs = 0;
    let mut max: (f64, &str, &str) = (0.0, "", "");
    for (i, a) in followups.iter().enumerate() {
        for b in &followups[i + 1..] {
            pairs += 1;
            let s = sim(a, b);
            let raw = match (&fp[*a], &fp[*b]) {
                (Some(x), Some(y)) => x.containment(y),
                _ => 0.0,
            };
            if raw > max.0 {
                max = (raw, a, b);
            }
            if s >= threshold() {
                merged.push((*a, *b));
            }
        }
    }
    eprintln!(
        "copies found {} of {}: {found:?}; missed {missed:?}; false merges {} of {pairs} follow-up pairs (closest {:.2}: {} ~ {})",
        found.len(),
        found.len() + missed.len(),
        merged.len(),
        max.0,
        max.1,
        max.2
    );
    assert!(merged.is_empty(), "distinct follow-ups merged: {merged:?}");
    // The copies of n024 reuse its text (retitled, trimmed): they must be found.
    for id in ["n025", "n026"] {
        assert!(found.contains(&id), "{id} not found as a copy");
    }
}

/// Syndicated copies built from the real fixture items: another headline,
/// the last paragraph (or sentence) trimmed, tracking parameters on another
/// outlet's URL. Every such copy must be found, and distinct items of one
/// feed must not look alike.
#[test]
fn copies_built_from_real_items_are_found() {
    let Some(dir) = common::fixture_feeds() else {
        return;
    };
    let base = url::Url::parse("https://fixtures.example/").unwrap();
    let mut items = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths {
        let bytes = std::fs::read(&p).unwrap();
        if let Ok(parsed) = storywatch::feeds::parse::parse_feed(&bytes, None, &base) {
            let feed = p.file_name().unwrap().to_string_lossy().into_owned();
            for it in storywatch::feeds::normalize::normalize_feed(
                &parsed.feed,
                &base,
                chrono::Utc::now(),
            ) {
                if it.text.split_whitespace().count() >= 60 {
                    items.push((feed.clone(), it));
                }
            }
        }
    }
    assert!(items.len() > 200, "{}", items.len());
    let (mut found, mut total) = (0, 0);
    for (_, it) in &items {
        let paragraphs: Vec<&str> = it.text.split("\n\n").collect();
        let trimmed = if paragraphs.len() > 2 {
            paragraphs[..paragraphs.len() - 1].join("\n\n")
        } else {
            let sentences: Vec<&str> = it.text.split(". ").collect();
            sentences[..sentences.len().saturating_sub(1).max(1)].join(". ")
        };
        let copy = fingerprint(
            &format!("{} (wire copy)", it.title.to_uppercase()),
            &trimmed,
        );
        let orig = fingerprint(&it.title, &it.text);
        if let (Some(c), Some(o)) = (copy, orig) {
            total += 1;
            if c.is_candidate(&o) && c.containment(&o) >= threshold() {
                found += 1;
            }
        }
    }
    // Distinct items within one feed (same boilerplate, same topics) stay
    // apart, fingerprinted per feed as the pipeline does.
    let mut batch = vec![None; items.len()];
    let feeds: std::collections::BTreeSet<&String> = items.iter().map(|(f, _)| f).collect();
    for feed in feeds {
        let idx: Vec<usize> = (0..items.len()).filter(|&i| &items[i].0 == feed).collect();
        let prints = storywatch::neardup::fingerprint_batch(
            idx.iter()
                .map(|&i| (items[i].1.title.as_str(), items[i].1.text.as_str())),
        );
        for (i, p) in idx.into_iter().zip(prints) {
            batch[i] = p;
        }
    }
    let (mut merged, mut pairs) = (0, 0);
    for (i, (fa, a)) in items.iter().enumerate() {
        for (j, (fb, b)) in items.iter().enumerate().skip(i + 1).take(40) {
            if fa != fb || a.text == b.text {
                continue;
            }
            if let (Some(x), Some(y)) = (&batch[i], &batch[j]) {
                pairs += 1;
                if x.is_candidate(y) && x.containment(y) >= threshold() {
                    merged += 1;
                    if std::env::var_os("NEARDUP_VERBOSE").is_some() {
                        eprintln!(
                            "merged in {fa}: {:?} ~ {:?} ({} / {} shingles)",
                            a.title, b.title, x.shingles, y.shingles
                        );
                    }
                }
            }
        }
    }
    eprintln!("built copies found {found} of {total}; distinct same-feed pairs merged {merged} of {pairs}");
    assert!(
        found as f64 >= 0.95 * total as f64,
        "found {found} of {total}"
    );
    assert!(
        (merged as f64) <= 0.01 * pairs as f64,
        "merged {merged} of {pairs}"
    );
}
