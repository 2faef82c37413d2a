//! Article extraction measured on real news pages (../shared/fixtures/articles).
//!
//! Pages with `*.expected.html` (Readability's expected output) are scored by
//! word precision, recall and F1 against that text; pages with
//! `*.expected.json` (trafilatura's evaluation data) by its snippet measure:
//! a `with` snippet found is a true positive, missed a false negative; a
//! `without` snippet found is a false positive. `benches/article-eval.py`
//! scores trafilatura on the same pages with the same measures.
//!
//! Held to: mean word F1 ≥ 0.90, no page below 0.6.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use storywatch::article::{self, body::Steps, Article};

/// Lower-cased word tokens; each CJK character is a token of its own, as
/// those scripts do not separate words with spaces.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_cjk(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af | 0xf900..=0xfaff)
}

#[derive(Debug, Clone, Copy, Default)]
struct Prf {
    p: f64,
    r: f64,
    f1: f64,
}

impl Prf {
    fn new(tp: f64, got: f64, want: f64) -> Prf {
        let p = if got > 0.0 { tp / got } else { 0.0 };
        let r = if want > 0.0 { tp / want } else { 0.0 };
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        Prf { p, r, f1 }
    }
}

/// Bag-of-words overlap of `got` against `want`.
fn word_prf(got: &str, want: &str) -> Prf {
    let count = |t: &str| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for w in tokens(t) {
            *m.entry(w).or_default() += 1;
        }
        m
    };
    let (g, w) = (count(got), count(want));
    let tp: usize = g
        .iter()
        .map(|(k, n)| (*n).min(w.get(k).copied().unwrap_or(0)))
        .sum();
    Prf::new(
        tp as f64,
        g.values().sum::<usize>() as f64,
        w.values().sum::<usize>() as f64,
    )
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// trafilatura's measure: (true positives, false negatives, false positives).
fn snippets(got: &str, with: &[String], without: &[String]) -> (usize, usize, usize) {
    let got = squash(got);
    let tp = with.iter().filter(|s| got.contains(&squash(s))).count();
    let fp = without.iter().filter(|s| got.contains(&squash(s))).count();
    (tp, with.len() - tp, fp)
}

enum Expected {
    Text(String),
    Snippets {
        with: Vec<String>,
        without: Vec<String>,
    },
}

struct Page {
    name: String,
    source: PathBuf,
    expected: Expected,
    metadata: serde_json::Value,
}

fn pages(dir: &Path) -> Vec<Page> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".source.html").map(str::to_string)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let html = dir.join(format!("{name}.expected.html"));
            let (expected, metadata) = if html.exists() {
                let meta =
                    std::fs::read_to_string(dir.join(format!("{name}.expected-metadata.json")))
                        .map(|s| serde_json::from_str(&s).unwrap())
                        .unwrap_or(serde_json::Value::Null);
                let text =
                    storywatch::extract::html_to_text(&std::fs::read_to_string(html).unwrap());
                (Expected::Text(text), meta)
            } else {
                let j: serde_json::Value = serde_json::from_str(
                    &std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
                )
                .unwrap();
                let list = |k: &str| -> Vec<String> {
                    j[k].as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect()
                };
                (
                    Expected::Snippets {
                        with: list("with"),
                        without: list("without"),
                    },
                    j.clone(),
                )
            };
            Page {
                source: dir.join(format!("{name}.source.html")),
                name,
                expected,
                metadata,
            }
        })
        .collect()
}

/// The page's F1: word F1 for full expected texts, snippet F1 otherwise.
fn score(page: &Page, text: &str) -> (Prf, String) {
    match &page.expected {
        Expected::Text(want) => {
            let s = word_prf(text, want);
            (s, format!("words  P {:.3} R {:.3}", s.p, s.r))
        }
        Expected::Snippets { with, without } => {
            let (tp, fn_, fp) = snippets(text, with, without);
            let s = Prf::new(tp as f64, (tp + fp) as f64, (tp + fn_) as f64);
            (s, format!("snips tp {tp} fn {fn_} fp {fp}"))
        }
    }
}

fn extract(page: &Page, steps: Steps) -> Article {
    let bytes = std::fs::read(&page.source).unwrap();
    let url = page.metadata["url"]
        .as_str()
        .and_then(|u| url::Url::parse(u).ok());
    let decoded = storywatch::feeds::charset::decode(&bytes, None);
    let mut a = article::extract_html_with(&decoded.text, url.as_ref(), steps);
    a.encoding = decoded.encoding.name();
    a
}

#[test]
fn extraction_quality_on_real_pages() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let pages = pages(&shared.join("fixtures/articles"));
    assert!(pages.len() >= 19, "expected the 19 fixture pages");
    let readability_only = Steps::READABILITY;
    println!(
        "{:<42} {:>7} {:>7}   storywatch detail",
        "page", "F1 rd", "F1 sw"
    );
    let (mut word_f1, mut word_f1_rd, mut snip_f1, mut snip_f1_rd) =
        (vec![], vec![], vec![], vec![]);
    let mut worst = (f64::MAX, String::new());
    for page in &pages {
        let base = extract(page, readability_only);
        let full = extract(page, Steps::default());
        let (rd, _) = score(page, &base.text);
        let (sw, detail) = score(page, &full.text);
        println!(
            "{:<42} {:>7.3} {:>7.3}   {detail}  [{:?}, {}]",
            page.name, rd.f1, sw.f1, full.method, full.encoding
        );
        match page.expected {
            Expected::Text(_) => {
                word_f1.push(sw.f1);
                word_f1_rd.push(rd.f1);
            }
            Expected::Snippets { .. } => {
                snip_f1.push(sw.f1);
                snip_f1_rd.push(rd.f1);
            }
        }
        if sw.f1 < worst.0 {
            worst = (sw.f1, page.name.clone());
        }
    }
    metadata(&pages);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "mean word F1 ({} pages): readability {:.3}, storywatch {:.3}",
        word_f1.len(),
        mean(&word_f1_rd),
        mean(&word_f1)
    );
    println!(
        "mean snippet F1 ({} pages): readability {:.3}, storywatch {:.3}",
        snip_f1.len(),
        mean(&snip_f1_rd),
        mean(&snip_f1)
    );
    println!("lowest page: {} at {:.3}", worst.1, worst.0);
    assert!(
        mean(&word_f1) >= 0.90,
        "mean word F1 {:.3} < 0.90",
        mean(&word_f1)
    );
    assert!(worst.0 >= 0.6, "{} scores {:.3} < 0.6", worst.1, worst.0);
}

/// Agreement with the expected metadata: (agreeing, expected) per field.
fn metadata(pages: &[Page]) {
    let squash_lc = |s: &str| squash(s).to_lowercase();
    let (mut title, mut lang, mut date, mut author) = ((0, 0), (0, 0), (0, 0), (0, 0));
    for page in pages {
        let a = extract(page, Steps::default());
        let m = &page.metadata;
        if let Some(t) = m["title"].as_str().filter(|t| !t.trim().is_empty()) {
            title.1 += 1;
            if a.title.as_deref().map(squash_lc) == Some(squash_lc(t)) {
                title.0 += 1;
            } else {
                println!("  title differs on {}: {:?} vs {t:?}", page.name, a.title);
            }
        }
        if let Some(l) = m["lang"].as_str() {
            lang.1 += 1;
            if a.language.as_deref().map(str::to_lowercase) == Some(l.to_lowercase()) {
                lang.0 += 1;
            }
        }
        // Readability's publishedTime, or trafilatura's date (a day).
        let want = m["publishedTime"].as_str().or(m["date"].as_str());
        if let Some(d) = want.filter(|d| !d.is_empty()) {
            date.1 += 1;
            let want = chrono::NaiveDate::parse_from_str(&d[..10], "%Y-%m-%d").unwrap();
            // A day either way: the expected dates are local days.
            if a.published
                .is_some_and(|p| (p.date_naive() - want).num_days().abs() <= 1)
            {
                date.0 += 1;
            } else {
                println!(
                    "  published differs on {}: {:?} vs {d}",
                    page.name, a.published
                );
            }
        }
        let names: Vec<String> = match (&m["byline"], &m["author"]) {
            (serde_json::Value::String(b), _) | (_, serde_json::Value::String(b)) => {
                vec![b.clone()]
            }
            (_, serde_json::Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        };
        let names: Vec<String> = names.into_iter().filter(|n| !n.trim().is_empty()).collect();
        if !names.is_empty() {
            author.1 += 1;
            let got = squash_lc(&a.authors.join(" "));
            if names.iter().all(|n| {
                let n = squash_lc(n);
                got.contains(n.strip_prefix("by ").unwrap_or(&n))
            }) {
                author.0 += 1;
            } else {
                println!(
                    "  authors differ on {}: {:?} vs {names:?}",
                    page.name, a.authors
                );
            }
        }
    }
    println!(
        "metadata agreeing: title {}/{}, language {}/{}, published {}/{}, authors {}/{}",
        title.0, title.1, lang.0, lang.1, date.0, date.1, author.0, author.1
    );
    assert!(title.0 * 10 >= title.1 * 9, "titles: {title:?}");
    assert_eq!(lang.0, lang.1, "languages");
    assert!(date.0 * 10 >= date.1 * 8, "published: {date:?}");
}
