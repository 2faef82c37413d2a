//! Near-duplicate detection on real news: the labelled duplicates of the
//! development set (`duplicate_of:<id>`) against their originals, and every
//! pair of distinct follow-ups (which must never look like copies).

mod common;

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
    let sim = |a: &str, b: &str| match (&fp[a], &fp[b]) {
        (Some(x), Some(y)) => x.containment(y),
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
            if s > max.0 {
                max = (s, a, b);
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
