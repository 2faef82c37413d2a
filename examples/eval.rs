//! Matching quality on the labelled development corpora of ../shared/eval,
//! by the protocols of its README: each story is derived from its reference
//! article alone, every other item of the corpus is scored against it, and
//! precision, recall and F1 are counted over (story, item) pairs (over
//! follow-up groups for the first story, whose duplicates count once). The
//! floor is a TF-IDF cosine to the reference.
//!
//! ```text
//! cargo run --profile eval --example eval [-- SHARED_DIR]
//! ```
//!
//! Document frequencies come from the whole corpus, as a store that has seen
//! it would hold them (for the first story's 48 items, with the ECB+
//! articles beside them as other news). Items are scored by the library's
//! matcher directly, without the store, so neither clusters nor names learned
//! from follow-ups take part: this measures what a story derived from its
//! article finds. Items carry their dates where the corpus gives them
//! (shootings, the first story's items); the first story's article has none.
//!
//! Environment:
//! - `EVAL_ONLY=gvc` (or `ecb`, `first`): one corpus;
//! - `EVAL_NO_DATES=1`: no dates at all;
//! - `EVAL_STORY_DATES=text`: items keep their dates, a story's date is the
//!   first its article's text states (what storywatch finds for a plain-text
//!   article, which has no metadata);
//! - `EVAL_COLD=48`: document frequencies from 48 items only (a new store);
//! - `EVAL_FIRST_ALONE=1`: the first story without other news beside it;
//! - `EVAL_DUMP=PREFIX`: every scored pair's signals as JSON lines in
//!   `PREFIX.CORPUS.FORM`, for calibrating the score;
//! - `EVAL_VERBOSE=1`: the first story's items with their components.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use storywatch::config::DEFAULT_THRESHOLD;
use storywatch::matching::terms::{reference_terms, Reference};
use storywatch::matching::{watchlist, CorpusStats, Matcher};

/// One item of a corpus, in the form it is scored in.
struct Doc {
    id: String,
    title: String,
    text: String,
    /// The story (incident, event) it belongs to.
    group: String,
    /// ECB+: the topic, whose other event is the twin.
    topic: String,
    /// Published, Unix seconds, where the corpus says.
    date: Option<i64>,
    terms: Reference,
}

/// Document frequencies of a whole corpus.
struct Df {
    n: u64,
    df: HashMap<String, u64>,
}

impl CorpusStats for Df {
    fn n_docs(&self) -> u64 {
        self.n
    }
    fn df(&self, term: &str) -> u64 {
        self.df.get(term).copied().unwrap_or(0)
    }
}

impl Df {
    fn of(docs: &[&Doc]) -> Df {
        let mut df = HashMap::new();
        for d in docs {
            for t in d.terms.terms() {
                *df.entry(t.to_string()).or_insert(0) += 1;
            }
        }
        Df {
            n: docs.len() as u64,
            df,
        }
    }

    fn idf(&self, t: &str) -> f64 {
        ((self.n as f64 + 1.0) / (self.df(t) as f64 + 1.0)).ln() + 1.0
    }
}

/// A corpus with its stories: (reference doc index, follow-up group).
struct Corpus {
    name: &'static str,
    docs: Vec<Doc>,
    /// Items that only count toward document frequencies (a store holds
    /// more news than one story's stream).
    background: Vec<Doc>,
    stories: Vec<usize>,
    twins: bool,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
    twin: usize,
}

impl Counts {
    /// Counts one (story, item) pair: its truth and whether it alerted.
    fn add(&mut self, t: Truth, hit: bool) {
        match (t, hit) {
            (Truth::FollowUp, true) => self.tp += 1,
            (Truth::FollowUp, false) => self.fn_ += 1,
            (Truth::Twin, true) => {
                self.fp += 1;
                self.twin += 1
            }
            (Truth::Other, true) => self.fp += 1,
            _ => {}
        }
    }

    fn p(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn r(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.p(), self.r());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn read_jsonl(path: &Path) -> Vec<Value> {
    let raw = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Title and the first ~300 characters of the text, cut at a word.
fn feed_like(text: &str) -> String {
    if text.chars().count() <= 300 {
        return text.to_string();
    }
    let cut: String = text.chars().take(300).collect();
    match cut.rfind(' ') {
        Some(i) => format!("{}…", &cut[..i]),
        None => cut,
    }
}

fn unix(date: Option<&str>) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date?.get(..10)?, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(12, 0, 0)?.and_utc().timestamp())
}

/// An item's date, unless EVAL_NO_DATES is set (as for a story whose
/// reference article says nothing of when it was published).
fn dated(date: Option<&str>) -> Option<i64> {
    if std::env::var_os("EVAL_NO_DATES").is_some() {
        return None;
    }
    unix(date)
}

fn doc(id: &str, title: &str, text: &str, group: &str, topic: &str, short: bool) -> Doc {
    let text = if short {
        feed_like(text)
    } else {
        text.to_string()
    };
    Doc {
        id: id.to_string(),
        terms: reference_terms(&[title, &text]),
        title: title.to_string(),
        text,
        group: group.to_string(),
        topic: topic.to_string(),
        date: None,
    }
}

fn gvc(shared: &Path, short: bool) -> Corpus {
    let rows = read_jsonl(&shared.join("eval/stories/gvc-dev.jsonl"));
    let mut rows: Vec<&Value> = rows.iter().collect();
    rows.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["date"].as_str().unwrap_or("").to_string(),
                v["id"].as_str().unwrap_or("").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    let docs: Vec<Doc> = rows
        .iter()
        .map(|r| {
            let group = r["gold_incident"]
                .as_str()
                .or(r["incident"].as_str())
                .unwrap_or("");
            let mut d = doc(
                r["id"].as_str().unwrap(),
                r["title"].as_str().unwrap_or(""),
                r["text"].as_str().unwrap_or(""),
                group,
                "",
                short,
            );
            d.date = dated(r["date"].as_str());
            d
        })
        .collect();
    // Stories: gold incidents with two or more articles; the earliest is the reference.
    let gold: HashSet<&str> = rows
        .iter()
        .filter_map(|r| r["gold_incident"].as_str())
        .collect();
    let mut first: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        if gold.contains(d.group.as_str()) {
            let e = first
                .entry(gold.get(d.group.as_str()).unwrap())
                .or_insert((i, 0));
            e.1 += 1;
        }
    }
    let stories = first
        .values()
        .filter(|(_, n)| *n >= 2)
        .map(|(i, _)| *i)
        .collect();
    Corpus {
        name: "gvc-dev",
        docs,
        background: Vec::new(),
        stories,
        twins: false,
    }
}

fn ecb(shared: &Path, short: bool) -> Corpus {
    let rows = read_jsonl(&shared.join("eval/stories/ecb-dev.jsonl"));
    let doc_number = |v: &Value| -> u32 {
        let d = v["doc"].as_str().unwrap_or("");
        d.split('_')
            .nth(1)
            .and_then(|s| {
                s.trim_end_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .ok()
            })
            .unwrap_or(u32::MAX)
    };
    let docs: Vec<Doc> = rows
        .iter()
        .map(|r| {
            doc(
                r["doc"].as_str().unwrap(),
                r["title"].as_str().unwrap_or(""),
                r["text"].as_str().unwrap_or(""),
                r["event"].as_str().unwrap_or(""),
                r["topic"].as_str().unwrap_or(""),
                short,
            )
        })
        .collect();
    let mut first: BTreeMap<&str, (u32, usize)> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let e = first
            .entry(r["event"].as_str().unwrap_or(""))
            .or_insert((u32::MAX, i));
        if doc_number(r) < e.0 {
            *e = (doc_number(r), i);
        }
    }
    Corpus {
        name: "ecb-dev",
        docs,
        background: Vec::new(),
        stories: first.values().map(|(_, i)| *i).collect(),
        twins: true,
    }
}

/// The first story: its reference article against dev.jsonl, where an item
/// and its labelled duplicates are one group and `related_background` counts
/// in neither precision nor recall.
fn first_story(shared: &Path, short: bool) -> Corpus {
    let rows = read_jsonl(&shared.join("eval/dev.jsonl"));
    let reference = std::fs::read_to_string(shared.join("story/reference-article.txt"))
        .expect("story/reference-article.txt");
    let (title, text) = storywatch::stories::article_from_text(&reference);
    let mut docs = vec![doc("reference", &title, &text, "followup", "", false)];
    for r in &rows {
        let label = r["label"].as_str().unwrap_or("");
        let group = match label.strip_prefix("duplicate_of:") {
            Some(orig) => rows
                .iter()
                .find(|o| o["id"] == orig)
                .and_then(|o| o["label"].as_str())
                .unwrap_or("")
                .to_string(),
            None => label.to_string(),
        };
        let mut d = doc(
            r["id"].as_str().unwrap(),
            r["title"].as_str().unwrap_or(""),
            r["text"].as_str().unwrap_or(""),
            &group,
            label,
            short,
        );
        d.date = dated(r["date"].as_str());
        docs.push(d);
    }
    // The first story's items are few: document frequencies also count the
    // ECB+ articles, as a store that has read other news would.
    let background = if std::env::var_os("EVAL_FIRST_ALONE").is_some() {
        Vec::new()
    } else {
        ecb(shared, short).docs
    };
    Corpus {
        name: "first story",
        docs,
        background,
        stories: vec![0],
        twins: false,
    }
}

/// TF-IDF vector (stem → weight) normalised to unit length.
fn tfidf(d: &Doc, df: &Df) -> HashMap<String, f64> {
    let mut v: HashMap<String, f64> = d
        .terms
        .counted()
        .map(|(t, n)| (t.to_string(), (1.0 + (n as f64).ln()) * df.idf(t)))
        .collect();
    let norm = v.values().map(|w| w * w).sum::<f64>().sqrt().max(1e-9);
    v.values_mut().for_each(|w| *w /= norm);
    v
}

fn cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    let (small, big) = if a.len() < b.len() { (a, b) } else { (b, a) };
    small
        .iter()
        .filter_map(|(t, w)| big.get(t).map(|v| v * w))
        .sum()
}

/// What one story/item pair is, for counting.
#[derive(Clone, Copy, PartialEq)]
enum Truth {
    FollowUp,
    Twin,
    Other,
    Neither,
}

fn truth(c: &Corpus, story: usize, item: usize) -> Truth {
    let (s, d) = (&c.docs[story], &c.docs[item]);
    if c.name == "first story" {
        return match d.group.as_str() {
            "followup" => Truth::FollowUp,
            "related_background" => Truth::Neither,
            _ => Truth::Other,
        };
    }
    if d.group == s.group {
        Truth::FollowUp
    } else if c.twins && d.topic == s.topic {
        Truth::Twin
    } else {
        Truth::Other
    }
}

/// One story's pairs, counted.
struct StoryResult {
    counts: Counts,
    alerts: usize,
    /// (floor score, truth) of every pair.
    floor: Vec<(f64, Truth)>,
}

struct Outcome {
    counts: Counts,
    alerts_per_story: Vec<usize>,
    /// (score, truth) of every pair, for the floor's thresholds.
    floor: Vec<(f64, Truth)>,
}

fn run(c: &Corpus, dump: Option<&std::sync::Mutex<std::fs::File>>) -> Outcome {
    let mut all: Vec<&Doc> = c.docs.iter().chain(c.background.iter()).collect();
    // EVAL_COLD=N: document frequencies from N items only, as in a store
    // that has just started (a spread of the corpus, every len/N-th item).
    if let Some(n) = std::env::var("EVAL_COLD")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let step = (all.len() / n.max(1)).max(1);
        all = all.into_iter().step_by(step).take(n).collect();
    }
    let df = Df::of(&all);
    let vectors: Vec<HashMap<String, f64>> = c.docs.iter().map(|d| tfidf(d, &df)).collect();
    let first = c.name == "first story";
    let per_story = |&s: &usize| -> StoryResult {
        let r = &c.docs[s];
        let article = format!("{}\n{}", r.title, r.text);
        let wl = watchlist::derive(&[&article]);
        // EVAL_STORY_DATES=text: the story's date as the product finds it
        // for a plain-text article (the first date its text states).
        let story_date = match std::env::var("EVAL_STORY_DATES").as_deref() {
            Ok("text") => {
                storywatch::feeds::dates::first_date_in_text(&article).map(|t| t.timestamp())
            }
            _ => r.date,
        };
        let m = Matcher::new(&r.id, DEFAULT_THRESHOLD, &wl, &[&article])
            .with_reference_time(story_date);
        let mut counts = Counts::default();
        let mut alerts = 0;
        let mut floor = Vec::new();
        // The first story counts groups: a group is found when any of its items alerts.
        let mut groups_hit: HashSet<&str> = HashSet::new();
        for (i, d) in c.docs.iter().enumerate() {
            if i == s {
                continue;
            }
            let t = truth(c, s, i);
            let draft = m.draft_with(&d.title, &d.text, Some(&d.terms));
            let ex = m.finish(&draft, d.date, &df);
            let hit = ex.is_match();
            if first && std::env::var_os("EVAL_VERBOSE").is_some() {
                eprintln!(
                    "{} {:?} {:.3} {:?}",
                    d.id,
                    t == Truth::FollowUp,
                    ex.score,
                    ex.components
                );
            }
            if let Some(out) = dump {
                if let Some(sig) = m.signals(&draft, d.date, &df) {
                    let ents: Vec<Value> = sig
                        .entities
                        .iter()
                        .map(|f| {
                            serde_json::json!([
                                f.weight,
                                f.idf,
                                f.in_title,
                                f.count,
                                f.kind.as_str()
                            ])
                        })
                        .collect();
                    let line = serde_json::json!({
                        "corpus": c.name, "story": s, "item": i, "group": d.topic.strip_prefix("duplicate_of:").unwrap_or(&d.id),
                        "truth": match t { Truth::FollowUp => "f", Truth::Twin => "t", Truth::Other => "o", Truth::Neither => "n" },
                        "n": sig.n_docs, "days": sig.days_apart, "sim": sig.similarity, "bg": sig.background, "sm": sig.story_mentions, "am": sig.all_mentions,
                        "cooc": sig.cooccurring_sentences, "ents": ents, "tlen": d.terms.terms().count(),
                    });
                    use std::io::Write;
                    writeln!(out.lock().unwrap(), "{line}").unwrap();
                }
            }
            floor.push((cosine(&vectors[s], &vectors[i]), t));
            if first {
                let key = match d.topic.strip_prefix("duplicate_of:") {
                    Some(orig) => orig,
                    None => d.id.as_str(),
                };
                if hit && t != Truth::Neither && groups_hit.insert(key) {
                    alerts += 1;
                    match t {
                        Truth::FollowUp => counts.tp += 1,
                        _ => counts.fp += 1,
                    }
                }
                continue;
            }
            if hit {
                alerts += 1;
            }
            counts.add(t, hit);
        }
        if first {
            let groups: HashSet<&str> = c
                .docs
                .iter()
                .filter(|d| d.group == "followup" && d.id != "reference")
                .map(|d| d.topic.strip_prefix("duplicate_of:").unwrap_or(&d.id))
                .collect();
            counts.fn_ = groups.len() - counts.tp;
        }
        StoryResult {
            counts,
            alerts,
            floor,
        }
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunks: Vec<Vec<usize>> = (0..workers)
        .map(|w| c.stories.iter().copied().skip(w).step_by(workers).collect())
        .collect();
    let per_story = &per_story;
    let results: Vec<StoryResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| scope.spawn(move || chunk.iter().map(per_story).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut counts = Counts::default();
    let mut alerts_per_story = Vec::new();
    let mut floor = Vec::new();
    for r in results {
        counts.tp += r.counts.tp;
        counts.fp += r.counts.fp;
        counts.fn_ += r.counts.fn_;
        counts.twin += r.counts.twin;
        alerts_per_story.push(r.alerts);
        floor.extend(r.floor);
    }
    Outcome {
        counts,
        alerts_per_story,
        floor,
    }
}

fn floor_at(pairs: &[(f64, Truth)], threshold: f64) -> Counts {
    let mut k = Counts::default();
    for &(s, t) in pairs {
        let hit = s >= threshold;
        k.add(t, hit);
    }
    k
}

fn best_floor(pairs: &[(f64, Truth)]) -> (f64, Counts) {
    (1..100)
        .map(|i| i as f64 / 100.0)
        .map(|t| (t, floor_at(pairs, t)))
        .max_by(|a, b| a.1.f1().total_cmp(&b.1.f1()))
        .unwrap()
}

fn main() {
    let shared: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if !shared.join("eval").is_dir() {
        eprintln!("no eval corpora under {}", shared.display());
        std::process::exit(2);
    }
    let only: Option<String> = std::env::var("EVAL_ONLY").ok();
    println!(
        "| corpus | form | stories | P | R | F1 | false alerts | twin alerts | alerts/story (mean, max) | floor F1 (best t) | floor F1 at t from the other corpus |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut best_t: HashMap<(&str, bool), f64> = HashMap::new();
    let mut rows = Vec::new();
    for short in [false, true] {
        let corpora: Vec<fn(&Path, bool) -> Corpus> = vec![first_story, gvc, ecb];
        for make in corpora {
            let c = make(&shared, short);
            if only.as_deref().is_some_and(|o| !c.name.starts_with(o)) {
                continue;
            }
            let started = std::time::Instant::now();
            let dump = std::env::var("EVAL_DUMP").ok().map(|p| {
                let p = format!(
                    "{p}.{}.{}",
                    c.name.replace(' ', "-"),
                    if short { "short" } else { "full" }
                );
                std::sync::Mutex::new(std::fs::File::create(p).unwrap())
            });
            let o = run(&c, dump.as_ref());
            let (t, best) = best_floor(&o.floor);
            best_t.insert((c.name, short), t);
            eprintln!(
                "{} ({}): {:.1} s",
                c.name,
                if short { "feed-like" } else { "full text" },
                started.elapsed().as_secs_f64()
            );
            rows.push((
                c.name,
                short,
                c.stories.len(),
                o.counts,
                o.alerts_per_story,
                o.floor,
                t,
                best,
            ));
        }
    }
    for (name, short, n, k, per, floor, t, best) in &rows {
        let other = match *name {
            "gvc-dev" => best_t.get(&("ecb-dev", *short)),
            "ecb-dev" => best_t.get(&("gvc-dev", *short)),
            _ => None,
        };
        let fixed = other
            .map(|&t| format!("{:.2} (t {t:.2})", floor_at(floor, t).f1()))
            .unwrap_or_else(|| "—".into());
        let mean = per.iter().sum::<usize>() as f64 / per.len().max(1) as f64;
        println!(
            "| {name} | {} | {n} | {:.2} | {:.2} | {:.2} | {} | {} | {mean:.1}, {} | {:.2} (t {t:.2}) | {fixed} |",
            if *short { "feed-like" } else { "full text" },
            k.p(),
            k.r(),
            k.f1(),
            k.fp,
            if *name == "ecb-dev" { k.twin.to_string() } else { "—".into() },
            per.iter().max().unwrap_or(&0),
            best.f1(),
        );
    }
}
