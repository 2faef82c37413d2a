//! One compiled matcher per story: every alias, event trigger and exclude
//! term in one Aho-Corasick automaton over folded text, so the cost per item
//! does not grow with the number of aliases beyond the automaton itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::entities::{mentions_in, Kind};
use super::scan::Scanner;
use super::score::{self, prior_specificity, score, Components, Found, Signals};
use super::text::{clip, fold, fold_into, sentences};
use super::watchlist::{index, is_country, Origin, Watchlist};

/// Word endings that still name the entity: English and German possessive
/// and genitive, and Slavic case endings in Latin and Cyrillic script
/// ("Putins", "Путина", "Peskovem"). Only for names of four letters or more.
fn is_inflection(ending: &str) -> bool {
    static SET: std::sync::OnceLock<FxHashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        super::gazetteer::inflections()
            .iter()
            .map(|s| s.to_string())
            .collect()
    })
    .contains(ending)
}

enum Target {
    Entity { idx: usize, inflect: bool },
    Event { idx: usize, rest: Vec<String> },
    Exclude(usize),
}

#[derive(Debug, Clone)]
struct EntityInfo {
    name: String,
    kind: Kind,
    weight: f64,
    /// The stems of its name's words that are reference terms, whose
    /// document frequencies say how specific the name is.
    stems: Vec<String>,
    /// Its specificity before the corpus can tell.
    prior: f64,
    /// Emerged from follow-ups: adds to a match, never makes one (see [`Signals::emerged`]).
    emerged: bool,
}

/// A text's content-word stems with their counts, sorted by stem: the
/// reference article as a BM25 query, or an item as the document it is
/// compared with.
///
/// The distinct stems sit back to back in one string: an item has a few
/// hundred, and one allocation each was a fifth of a cold poll's.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    stems: String,
    /// Each stem's (start, end) in `stems` and its count.
    terms: Vec<(u32, u32, u32)>,
    len: usize,
}

impl Reference {
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.counted().map(|(t, _)| t)
    }

    /// The stems with their counts, in order.
    pub fn counted(&self) -> impl Iterator<Item = (&str, u32)> {
        self.terms
            .iter()
            .map(|&(a, b, n)| (&self.stems[a as usize..b as usize], n))
    }

    /// The `i`th stem and its count.
    fn term(&self, i: usize) -> (&str, u32) {
        let (a, b, n) = self.terms[i];
        (&self.stems[a as usize..b as usize], n)
    }
}

/// Document frequencies of the stored corpus, for BM25's idf.
pub trait CorpusStats {
    fn n_docs(&self) -> u64;
    fn df(&self, term: &str) -> u64;
}

/// Used when no corpus is at hand (tests, `explain` of a URL): every term
/// counts the same.
pub struct UniformCorpus;

impl CorpusStats for UniformCorpus {
    fn n_docs(&self) -> u64 {
        0
    }
    fn df(&self, _: &str) -> u64 {
        0
    }
}

pub struct Matcher {
    pub story: String,
    pub threshold: f64,
    scanner: Option<Scanner>,
    /// Per automaton pattern, what it stands for (several targets can share a spelling).
    targets: Vec<Vec<Target>>,
    entities: Vec<EntityInfo>,
    events: Vec<(String, String)>,
    exclude: Vec<String>,
    index: HashMap<String, usize>,
    reference: Reference,
    /// The reference's own BM25 term weights before idf, one per term.
    own_norms: Vec<f64>,
    reference_time: Option<i64>,
    /// Items a user judged not to be this story: an item more like one of
    /// them than like the reference scores lower.
    rejected: Vec<Query>,
    /// The stems of the story's salient terms (see [`Watchlist::terms`]).
    salient: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityHit {
    pub name: String,
    pub kind: Kind,
    pub count: u32,
    pub in_title: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventHit {
    pub name: String,
    pub count: u32,
}

/// What matching found in an item before the corpus is consulted (see
/// [`Matcher::draft`]); `None` inside when nothing of the story is named.
#[derive(Debug, Clone, Default)]
pub struct Draft(Option<Box<DraftParts>>);

#[derive(Debug, Clone)]
struct DraftParts {
    /// Entity index → (mentions, named in the title).
    ent_count: BTreeMap<usize, (u32, bool)>,
    ev_count: BTreeMap<usize, u32>,
    cooc: usize,
    ent_ev: usize,
    story_mentions: usize,
    all_mentions: usize,
    excluded_by: Option<String>,
    unknown: BTreeMap<String, Kind>,
    /// The reference terms the item has: (index in the reference, BM25 term
    /// weight before idf), for the similarity once the corpus is at hand.
    doc_hits: Vec<(usize, f64)>,
    /// The same for each rejected item's terms.
    rejected_hits: Vec<Vec<(usize, f64)>>,
    snippets: Vec<String>,
}

/// Why an item scored what it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub score: f64,
    pub threshold: f64,
    pub components: Components,
    pub entities: Vec<EntityHit>,
    pub events: Vec<EventHit>,
    pub snippets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_by: Option<String>,
    /// The concepts of data/concepts.txt that the item shares with the
    /// reference ("ceasefire", "arrest"), in any of the languages read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concepts: Vec<String>,
    /// Proper nouns in the item that the watchlist does not know (candidates
    /// for emerging entities).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_names: Vec<(String, Kind)>,
}

impl Explanation {
    pub fn is_match(&self) -> bool {
        self.score >= self.threshold
    }
}

impl Matcher {
    pub fn new(story: &str, threshold: f64, wl: &Watchlist, reference_texts: &[&str]) -> Matcher {
        let mut patterns: Vec<String> = Vec::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let mut by_pattern: HashMap<String, usize> = HashMap::new();
        let mut add = |pattern: String, t: Target| {
            if pattern.trim().is_empty() {
                return;
            }
            let i = *by_pattern.entry(pattern.clone()).or_insert_with(|| {
                patterns.push(pattern);
                targets.push(Vec::new());
                targets.len() - 1
            });
            targets[i].push(t);
        };
        let mut entities = Vec::new();
        for (idx, e) in wl.entities.iter().enumerate() {
            for name in std::iter::once(&e.name).chain(e.aliases.iter()) {
                let f = fold(name);
                let inflect =
                    matches!(e.kind, Kind::Person | Kind::Place) && f.trim().chars().count() >= 4;
                add(f.trim_end().to_string(), Target::Entity { idx, inflect });
            }
            entities.push(EntityInfo {
                name: e.name.clone(),
                kind: e.kind,
                weight: e.weight,
                stems: reference_terms(&[&e.name])
                    .terms()
                    .map(String::from)
                    .collect(),
                prior: prior_specificity(e.kind, e.kind == Kind::Place && is_country(&e.name)),
                emerged: e.origin == Origin::Emerged,
            });
        }
        let mut events = Vec::new();
        for (idx, ev) in wl.events.iter().enumerate() {
            for t in &ev.triggers {
                let stems: Vec<String> = fold(t)
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                if let Some((first, rest)) = stems.split_first() {
                    add(
                        format!(" {first}"),
                        Target::Event {
                            idx,
                            rest: rest.to_vec(),
                        },
                    );
                }
            }
            events.push((ev.id.clone(), ev.name.clone()));
        }
        for (i, x) in wl.exclude.iter().enumerate() {
            add(fold(x).trim_end().to_string(), Target::Exclude(i));
        }
        let scanner = Scanner::new(&patterns);
        let reference = reference_terms(reference_texts);
        let own_norms = reference
            .counted()
            .map(|(_, n)| bm25_norm(n, reference.len))
            .collect();
        Matcher {
            story: story.to_string(),
            threshold,
            scanner,
            targets,
            entities,
            events,
            exclude: wl.exclude.clone(),
            index: index(wl),
            reference,
            own_norms,
            reference_time: None,
            rejected: Vec::new(),
            salient: wl.terms.iter().map(|t| t.stem.clone()).collect(),
        }
    }

    /// When the story happened, as far as its reference article says (its
    /// published time, Unix seconds): items far from it in time are less
    /// likely to follow it up. Unknown by default, and then time plays no part.
    pub fn with_reference_time(mut self, at: Option<i64>) -> Matcher {
        self.reference_time = at;
        self
    }

    /// Items a user judged irrelevant to the story (title and text each).
    pub fn with_rejected(mut self, texts: &[&str]) -> Matcher {
        self.rejected = texts.iter().map(|t| Query::of(&[t])).collect();
        self
    }

    /// Scores one item (published at `published`, Unix seconds, if known)
    /// and explains the score.
    pub fn explain(
        &self,
        title: &str,
        text: &str,
        published: Option<i64>,
        corpus: &dyn CorpusStats,
    ) -> Explanation {
        self.finish(&self.draft(title, text), published, corpus)
    }

    /// Everything of [`Matcher::explain`] that does not need the corpus:
    /// pure, so the pipeline works it out on the blocking pool before the
    /// store is locked.
    pub fn draft(&self, title: &str, text: &str) -> Draft {
        self.draft_with(title, text, None)
    }

    /// [`Matcher::draft`] with the item's terms ([`reference_terms`] of the
    /// title and text) already worked out by the caller.
    pub fn draft_with(&self, title: &str, text: &str, doc: Option<&Reference>) -> Draft {
        let mut ent_count: BTreeMap<usize, (u32, bool)> = BTreeMap::new();
        let mut ev_count: BTreeMap<usize, u32> = BTreeMap::new();
        let mut excluded_by = None;
        let mut sentence_hits: Vec<(usize, usize, &str)> = Vec::new(); // (entities, events, sentence)
        let (mut cooc, mut ent_ev) = (0, 0);

        let title_sentences = if title.trim().is_empty() {
            Vec::new()
        } else {
            vec![title.trim()]
        };
        let body_sentences = sentences(text);
        let all: Vec<&str> = title_sentences
            .iter()
            .chain(body_sentences.iter())
            .copied()
            .collect();
        // One folded string for all sentences, '\n' between them (no pattern
        // crosses it), and one automaton pass over it.
        let mut folded = String::with_capacity(title.len() + text.len() + 2 * all.len() + 2);
        let mut starts = Vec::with_capacity(all.len());
        for sentence in &all {
            starts.push(folded.len());
            fold_into(sentence, &mut folded);
            folded.push('\n');
        }
        let mut per_sentence: Vec<(HashSet<usize>, HashSet<usize>)> =
            vec![Default::default(); all.len()];
        self.scan(&folded, |pos, hit| {
            let n = starts.partition_point(|&s| s <= pos).saturating_sub(1);
            match hit {
                Hit::Entity(i) => {
                    per_sentence[n].0.insert(i);
                }
                Hit::Event(i) => {
                    per_sentence[n].1.insert(i);
                }
                Hit::Exclude(i) => excluded_by = Some(self.exclude[i].clone()),
            }
        });
        for (n, (ents, evs)) in per_sentence.iter().enumerate() {
            let in_title = n < title_sentences.len();
            for &i in ents {
                let e = ent_count.entry(i).or_insert((0, false));
                e.0 += 1;
                e.1 |= in_title;
            }
            for &i in evs {
                *ev_count.entry(i).or_insert(0) += 1;
            }
            // A sentence ties the item to the story only through one of
            // the story's own names; emerged names ride along.
            let own = ents.iter().any(|&i| !self.entities[i].emerged);
            if own && !evs.is_empty() {
                ent_ev += 1;
            }
            if own && (!evs.is_empty() || ents.len() >= 2) {
                cooc += 1;
            }
            if !ents.is_empty() || !evs.is_empty() {
                sentence_hits.push((ents.len(), evs.len(), all[n]));
            }
        }
        if ent_count.is_empty() && excluded_by.is_none() {
            // Nothing of the story is named: no need to measure focus or
            // similarity (most items of a news stream end here).
            return Draft(None);
        }

        // Focus: how much of the item's naming is about the story.
        // The sentences of the title line, then the body's already split:
        // '\n' ends a sentence, so these are the sentences of title + "\n" +
        // text, word for word.
        let mut lines = match title.trim() {
            "" => Vec::new(),
            t => sentences(t),
        };
        lines.extend_from_slice(&body_sentences);
        let (mut story_mentions, mut all_mentions) = (0, 0);
        let mut unknown: BTreeMap<String, Kind> = BTreeMap::new();
        let mut buf = String::new();
        for m in mentions_in(&lines) {
            match self.known(&m.name, &mut buf) {
                // Emerged names are neutral: an item mostly about them is
                // not, for that, about the story.
                Some(i) if self.entities[i].emerged => {}
                Some(_) => {
                    story_mentions += 1;
                    all_mentions += 1;
                }
                None => {
                    all_mentions += 1;
                    if m.kind != Kind::Other || m.confident {
                        unknown.entry(m.name).or_insert(m.kind);
                    }
                }
            }
        }
        // Names the automaton found but the capitalisation scan missed
        // (lower-case text, Cyrillic inflections) still count as story mentions.
        let found: usize = ent_count
            .iter()
            .filter(|(&i, _)| !self.entities[i].emerged)
            .map(|(_, (c, _))| *c as usize)
            .sum();
        if found > story_mentions {
            all_mentions += found - story_mentions;
            story_mentions = found;
        }

        sentence_hits.sort_by_key(|h| std::cmp::Reverse(h.0 * 2 + h.1));
        let snippets = sentence_hits
            .iter()
            .filter(|(_, _, s)| !title_sentences.contains(s))
            .take(2)
            .map(|(_, _, s)| clip(s, 300))
            .collect();
        let own;
        let doc = match doc {
            Some(d) => d,
            None => {
                own = reference_terms(&[title, text]);
                &own
            }
        };
        Draft(Some(Box::new(DraftParts {
            ent_count,
            ev_count,
            cooc,
            ent_ev,
            story_mentions,
            all_mentions,
            excluded_by,
            unknown,
            doc_hits: self.reference_hits(doc),
            rejected_hits: self
                .rejected
                .iter()
                .map(|q| hits_of(&q.terms, doc))
                .collect(),
            snippets,
        })))
    }

    /// The explanation of a draft, with the similarity to the reference
    /// weighed by the corpus as it stands.
    pub fn finish(
        &self,
        draft: &Draft,
        published: Option<i64>,
        corpus: &dyn CorpusStats,
    ) -> Explanation {
        let Some(d) = &draft.0 else {
            return Explanation {
                score: 0.0,
                threshold: self.threshold,
                components: Components::default(),
                entities: Vec::new(),
                events: Vec::new(),
                snippets: Vec::new(),
                excluded_by: None,
                concepts: Vec::new(),
                unknown_names: Vec::new(),
            };
        };
        let signals = self.signals_of(d, published, corpus);
        let components = score(&signals);
        Explanation {
            score: components.score,
            threshold: self.threshold,
            components,
            entities: d
                .ent_count
                .iter()
                .map(|(&i, &(count, in_title))| EntityHit {
                    name: self.entities[i].name.clone(),
                    kind: self.entities[i].kind,
                    count,
                    in_title,
                })
                .collect(),
            events: d
                .ev_count
                .iter()
                .map(|(&i, &count)| EventHit {
                    name: self.events[i].1.clone(),
                    count,
                })
                .collect(),
            snippets: d.snippets.clone(),
            excluded_by: d.excluded_by.clone(),
            concepts: d
                .doc_hits
                .iter()
                .filter_map(|&(i, _)| self.reference.term(i).0.strip_prefix('~'))
                .map(String::from)
                .collect(),
            unknown_names: d.unknown.iter().map(|(n, k)| (n.clone(), *k)).collect(),
        }
    }

    /// What the score is computed from, for a draft that named the story.
    pub fn signals(
        &self,
        draft: &Draft,
        published: Option<i64>,
        corpus: &dyn CorpusStats,
    ) -> Option<Signals> {
        draft
            .0
            .as_ref()
            .map(|d| self.signals_of(d, published, corpus))
    }

    fn signals_of(
        &self,
        d: &DraftParts,
        published: Option<i64>,
        corpus: &dyn CorpusStats,
    ) -> Signals {
        let hits = |emerged: bool| -> Vec<Found> {
            d.ent_count
                .iter()
                .filter(|(&i, _)| self.entities[i].emerged == emerged)
                .map(|(&i, &(count, in_title))| Found {
                    weight: self.entities[i].weight,
                    idf: self.entity_idf(i, corpus),
                    prior: self.entities[i].prior,
                    in_title,
                    count,
                    kind: self.entities[i].kind,
                })
                .collect()
        };
        Signals {
            entities: hits(false),
            emerged: hits(true),
            event_types: d.ev_count.len(),
            cooccurring_sentences: d.cooc,
            entity_event_sentences: d.ent_ev,
            similarity: self.similarity(&d.doc_hits, corpus),
            background: self.background(corpus),
            rejected_similarity: self
                .rejected
                .iter()
                .zip(&d.rejected_hits)
                .map(|(q, hits)| bm25_ratio(&q.terms, &q.own_norms, hits, corpus))
                .fold(0.0, f64::max),
            story_mentions: d.story_mentions,
            all_mentions: d.all_mentions,
            n_docs: corpus.n_docs(),
            days_apart: match (published, self.reference_time) {
                (Some(a), Some(b)) => Some((a - b).abs() as f64 / 86_400.0),
                _ => None,
            },
            excluded: d.excluded_by.is_some(),
        }
    }

    /// How rare an entity is in the corpus: the idf of the rarest word of
    /// its name (a name is no more common than its rarest word), `None` when
    /// no word of it is counted.
    fn entity_idf(&self, i: usize, corpus: &dyn CorpusStats) -> Option<f64> {
        let n = corpus.n_docs() as f64;
        self.entities[i]
            .stems
            .iter()
            .map(|s| corpus.df(s))
            .min()
            .map(|df| ((n + 1.0) / (df as f64 + 1.0)).ln())
    }

    /// Whether a name (or its surname) is on the watchlist.
    pub fn knows(&self, name: &str) -> bool {
        self.known(name, &mut String::new()).is_some()
    }

    /// The watchlist entity a name (or its surname) stands for; `buf` holds
    /// the folded name (reused across an item's mentions).
    fn known(&self, name: &str, buf: &mut String) -> Option<usize> {
        buf.clear();
        fold_into(name, buf);
        let f = buf.trim();
        self.index.get(f).copied().or_else(|| {
            f.rsplit(' ')
                .next()
                .filter(|last| last.len() >= 4)
                .and_then(|last| self.index.get(last).copied())
        })
    }

    /// The cheap test before an article page is fetched: does the feed's own
    /// title or summary name one of the story's people, organisations or
    /// places? A country alone is too common in world news to justify a
    /// fetch; it counts together with one of the story's events.
    pub fn worth_fetching(&self, title: &str, summary: &str) -> bool {
        let mut folded = fold(title);
        folded.push('\n');
        folded.push_str(&fold(summary));
        let (mut country, mut event, mut named) = (false, false, false);
        self.scan(&folded, |_, hit| match hit {
            Hit::Entity(i) => {
                let e = &self.entities[i];
                if e.kind == Kind::Place && is_country(&e.name) {
                    country = true;
                } else {
                    named = true;
                }
            }
            Hit::Event(_) => event = true,
            Hit::Exclude(_) => {}
        });
        named
            || (country
                && (event
                    || terms_of_folded(&folded)
                        .terms()
                        .any(|t| self.salient.iter().any(|s| s == t))))
    }

    /// Watchlist hits in already folded text (the automaton alone); for benchmarks.
    pub fn scan_folded_count(&self, folded: &str) -> usize {
        let mut n = 0;
        self.scan(folded, |_, _| n += 1);
        n
    }

    /// Watchlist hits in a text (fold + automaton only); for benchmarks.
    pub fn scan_count(&self, text: &str) -> usize {
        let mut n = 0;
        self.scan(&fold(text), |_, _| n += 1);
        n
    }

    /// Heap bytes of the compiled patterns (for the matching benchmark).
    pub fn automaton_bytes(&self) -> usize {
        self.scanner.as_ref().map_or(0, Scanner::memory_usage)
    }

    /// The reference's stems, for maintaining document frequencies.
    pub fn vocabulary(&self) -> impl Iterator<Item = &str> {
        self.reference.terms().chain(
            self.entities
                .iter()
                .flat_map(|e| e.stems.iter().map(String::as_str)),
        )
    }

    fn scan(&self, folded: &str, mut on_hit: impl FnMut(usize, Hit)) {
        let Some(scanner) = &self.scanner else { return };
        // Every pattern starts at the space before a word; what follows its
        // end decides whether the word is whole (or inflected).
        scanner.for_each(folded, |pattern, start, end| {
            for t in &self.targets[pattern] {
                match t {
                    Target::Entity { idx, inflect } => {
                        let rest = &folded[end..];
                        let word_rest = rest.split([' ', '\n']).next().unwrap_or("");
                        if word_rest.is_empty() || (*inflect && is_inflection(word_rest)) {
                            on_hit(start, Hit::Entity(*idx));
                        }
                    }
                    Target::Event { idx, rest } => {
                        let mut words = folded[end..].split(' ').skip(1);
                        if rest
                            .iter()
                            .all(|stem| words.next().is_some_and(|w| w.starts_with(stem.as_str())))
                        {
                            on_hit(start, Hit::Event(*idx));
                        }
                    }
                    Target::Exclude(i) => {
                        if folded[end..].starts_with([' ', '\n']) {
                            on_hit(start, Hit::Exclude(*i));
                        }
                    }
                }
            }
        });
    }

    /// BM25 of the item against the reference, over BM25 of the reference
    /// against itself.
    fn similarity(&self, doc_hits: &[(usize, f64)], corpus: &dyn CorpusStats) -> f64 {
        bm25_ratio(&self.reference, &self.own_norms, doc_hits, corpus)
    }

    /// The similarity a random item of the corpus would have: each
    /// reference term present with its document frequency's chance, once.
    /// Where every item is the same kind of news (a stream of shootings),
    /// this is high, and an item must share more to stand out.
    fn background(&self, corpus: &dyn CorpusStats) -> f64 {
        let n = corpus.n_docs() as f64;
        if self.reference.terms.is_empty() || n < score::MIN_CORPUS as f64 {
            return 0.0;
        }
        let (mut own, mut chance) = (0.0, 0.0);
        for (i, norm) in self.own_norms.iter().enumerate() {
            let (t, qtf) = self.reference.term(i);
            let df = corpus.df(t) as f64;
            let idf = bm25_idf(n, df);
            let w = qtf.min(3) as f64 * idf;
            own += w * norm;
            chance += w * bm25_norm(1, AVG_LEN as usize) * (df / n).min(1.0);
        }
        if own <= 0.0 {
            0.0
        } else {
            (chance / own).min(1.0)
        }
    }

    /// The reference terms `doc` has, with their term weights: one merge of
    /// the two sorted term lists.
    fn reference_hits(&self, doc: &Reference) -> Vec<(usize, f64)> {
        hits_of(&self.reference, doc)
    }
}

/// The terms of `reference` that `doc` has, with `doc`'s BM25 term weights:
/// one merge of the two sorted term lists.
fn hits_of(reference: &Reference, doc: &Reference) -> Vec<(usize, f64)> {
    let mut hits = Vec::new();
    let mut theirs = doc.counted().peekable();
    for (i, (term, _)) in reference.counted().enumerate() {
        while theirs.next_if(|(t, _)| *t < term).is_some() {}
        if let Some((_, tf)) = theirs.next_if(|(t, _)| *t == term) {
            hits.push((i, bm25_norm(tf, doc.len)));
        }
    }
    hits
}

/// BM25 of a document (its `hits` of the reference's terms) against
/// `reference`, over BM25 of the reference against itself.
fn bm25_ratio(
    reference: &Reference,
    own_norms: &[f64],
    hits: &[(usize, f64)],
    corpus: &dyn CorpusStats,
) -> f64 {
    if reference.terms.is_empty() {
        return 0.0;
    }
    let n = corpus.n_docs() as f64;
    let weight = |i: usize, norm: f64| {
        let (t, qtf) = reference.term(i);
        qtf.min(3) as f64 * bm25_idf(n, corpus.df(t) as f64) * norm
    };
    let own: f64 = own_norms
        .iter()
        .enumerate()
        .map(|(i, norm)| weight(i, *norm))
        .sum();
    if own <= 0.0 {
        return 0.0;
    }
    let doc: f64 = hits.iter().map(|&(i, norm)| weight(i, norm)).sum();
    (doc / own).min(1.0)
}

/// A text as a BM25 query: its terms and their own norms.
#[derive(Debug, Clone)]
struct Query {
    terms: Reference,
    own_norms: Vec<f64>,
}

impl Query {
    fn of(texts: &[&str]) -> Query {
        let terms = reference_terms(texts);
        let own_norms = terms
            .counted()
            .map(|(_, n)| bm25_norm(n, terms.len))
            .collect();
        Query { terms, own_norms }
    }
}

/// Items of prior news a store is taken to hold beside its own, each with a
/// term at [`PRIOR_RATE`]: a store that has read little cannot yet say which
/// words are rare (in a first poll of one topic's feeds every word of the
/// topic looks common), so its document frequencies are smoothed toward
/// those of ordinary news. A store of thousands of items is barely moved.
const PRIOR_DOCS: f64 = 200.0;
const PRIOR_RATE: f64 = 0.02;

/// BM25's idf of a term in `df` of `n` stored items, smoothed by the prior.
fn bm25_idf(n: f64, df: f64) -> f64 {
    let (n, df) = (n + PRIOR_DOCS, df + PRIOR_DOCS * PRIOR_RATE);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.1)
}

/// The length of an average item, in terms, for BM25's length normalisation.
const AVG_LEN: f64 = 250.0;

/// BM25's saturated, length-normalised weight of a term seen `tf` times in
/// a text of `len` terms.
fn bm25_norm(tf: u32, len: usize) -> f64 {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let tf = tf as f64;
    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len as f64 / AVG_LEN))
}

enum Hit {
    Entity(usize),
    Event(usize),
    Exclude(usize),
}

/// Content-word stems of texts: folded words of four letters or more, not
/// function words, cut to seven characters (a crude stemmer that works
/// across the languages we read).
pub fn reference_terms(texts: &[&str]) -> Reference {
    let mut folded = String::with_capacity(texts.iter().map(|t| t.len() + 2).sum());
    for t in texts {
        fold_into(t, &mut folded);
    }
    terms_of_folded(&folded)
}

/// [`reference_terms`] of texts already folded, one `fold_into` after the
/// other.
pub fn terms_of_folded(folded: &str) -> Reference {
    let stop = stopwords();
    let concepts = Concepts::get();
    // Stems borrow from the folded text and are counted in a map (fewer
    // string comparisons than sorting every occurrence); only distinct ones
    // are sorted and copied out.
    let mut counts: FxHashMap<&str, u32> = FxHashMap::default();
    let mut len = 0;
    for w in folded
        .split(' ')
        .filter(|w| w.chars().nth(2).is_some() && !w.bytes().all(|b| b.is_ascii_digit()))
    {
        // A word too short or too common to compare on may still carry a
        // concept ("aid"; German nouns are capitalised, so "Waffenstillstand"
        // is listed among the capitalised words that are not names).
        let concept = concepts.of(w);
        if w.chars().nth(3).is_none() || stop.contains(w) {
            if concept.is_none() {
                continue;
            }
        } else {
            *counts.entry(stem(w)).or_insert(0) += 1;
        }
        len += 1;
        if let Some(c) = concept {
            *counts.entry(c).or_insert(0) += 1;
        }
    }
    let mut distinct: Vec<(&str, u32)> = counts.into_iter().collect();
    distinct.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut stems = String::with_capacity(distinct.iter().map(|(t, _)| t.len()).sum());
    let terms = distinct
        .into_iter()
        .map(|(stem, n)| {
            let start = stems.len() as u32;
            stems.push_str(stem);
            (start, stems.len() as u32, n)
        })
        .collect();
    Reference { stems, terms, len }
}

/// The concepts of data/concepts.txt by stem: a word starting with a stem
/// also counts as the concept's term, `~` and its name, so that reports in
/// different languages share terms.
struct Concepts {
    /// Each concept's term.
    terms: Vec<String>,
    /// Folded stem → its concept's index in `terms`.
    stems: FxHashMap<String, usize>,
    /// The first four characters of every stem (most words start with none).
    heads: FxHashSet<String>,
}

impl Concepts {
    fn get() -> &'static Concepts {
        static CELL: std::sync::OnceLock<Concepts> = std::sync::OnceLock::new();
        CELL.get_or_init(|| {
            let mut terms = Vec::new();
            let mut stems = FxHashMap::default();
            let mut heads = FxHashSet::default();
            for (i, c) in super::gazetteer::concepts().iter().enumerate() {
                terms.push(format!("~{}", c.name));
                for s in &c.aliases {
                    let f = fold(s).trim().to_string();
                    heads.insert(f.chars().take(4).collect());
                    stems.insert(f, i);
                }
            }
            Concepts {
                terms,
                stems,
                heads,
            }
        })
    }

    /// The concept a folded word belongs to, if any.
    fn of(&'static self, word: &str) -> Option<&'static str> {
        if word.chars().nth(3).is_none() {
            // Three letters: the whole word only.
            return self.stems.get(word).map(|&i| self.terms[i].as_str());
        }
        let ends: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .skip(4)
            .chain(std::iter::once(word.len()))
            .collect();
        if !self.heads.contains(&word[..ends[0]]) {
            return None;
        }
        let chars = ends.len() + 3;
        ends.iter().enumerate().rev().find_map(|(k, &end)| {
            let stem_chars = k + 4;
            // A four-letter stem takes at most two letters more.
            if stem_chars == 4 && chars > 6 {
                return None;
            }
            self.stems
                .get(&word[..end])
                .map(|&i| self.terms[i].as_str())
        })
    }
}

/// A folded word's stem: its first seven characters.
pub fn stem(word: &str) -> &str {
    word.char_indices()
        .nth(7)
        .map_or(word, |(end, _)| &word[..end])
}

fn stopwords() -> &'static FxHashSet<String> {
    static SET: std::sync::OnceLock<FxHashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        super::gazetteer::common_capitalised()
            .iter()
            .chain(super::gazetteer::function_words())
            .map(|w| fold(w).trim().to_string())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::watchlist::{derive, merge_config};

    const REFERENCE: &str = "US envoy Steve Witkoff meets Vladimir Putin in St Petersburg on Ukraine ceasefire\n\
        US special envoy Steve Witkoff met Russian President Vladimir Putin in St Petersburg on Friday to push for a ceasefire in Ukraine.\n\
        Kremlin spokesman Dmitry Peskov said the process of normalising relations between Moscow and Washington was continuing.\n\
        Earlier in the week the two countries completed a prisoner swap that freed Ksenia Karelina in exchange for Arthur Petrov.\n\
        In Brussels, allies of Kyiv pledged €21bn in military aid. Donald Trump said Russia must get moving.";

    fn matcher(exclude: &[&str]) -> Matcher {
        let wl = derive(&[REFERENCE]);
        let excl: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        let wl = merge_config(wl, &[], &[], &excl);
        Matcher::new("talks", 0.5, &wl, &[REFERENCE])
    }

    fn explain(m: &Matcher, title: &str, text: &str) -> Explanation {
        m.explain(title, text, None, &UniformCorpus)
    }

    /// Rarer terms (by a made-up corpus) weigh more.
    struct Skewed;
    impl CorpusStats for Skewed {
        fn n_docs(&self) -> u64 {
            1000
        }
        fn df(&self, term: &str) -> u64 {
            (term.len() as u64 * 37) % 900
        }
    }

    #[test]
    fn similarity_is_bm25_of_the_item_over_bm25_of_the_reference() {
        let m = matcher(&[]);
        let item = "Steve Witkoff met Vladimir Putin again. The Kremlin praised the ceasefire \
                    talks in St Petersburg; the weather in Moscow was mild.";
        let doc = reference_terms(&[item]);
        let got = m.similarity(&m.reference_hits(&doc), &Skewed);
        // The definition, term by term over the whole reference, with the
        // document frequencies smoothed by the prior store.
        let idf = |t: &str| {
            let n = 1000.0 + PRIOR_DOCS;
            let df = Skewed.df(t) as f64 + PRIOR_DOCS * PRIOR_RATE;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.1)
        };
        let bm25 = |d: &Reference| -> f64 {
            m.reference
                .counted()
                .map(|(t, q)| match d.counted().find(|(x, _)| *x == t) {
                    Some((_, tf)) => q.min(3) as f64 * idf(t) * bm25_norm(tf, d.len),
                    None => 0.0,
                })
                .sum()
        };
        let want = bm25(&doc) / bm25(&m.reference);
        assert!(got > 0.05 && got < 1.0, "{got}");
        assert!((got - want).abs() < 1e-12, "{got} against {want}");
        let itself = m.similarity(&m.reference_hits(&m.reference), &Skewed);
        assert!((itself - 1.0).abs() < 1e-12, "{itself}");
        let unrelated = reference_terms(&["Quarterly rainfall figures for coastal farms."]);
        assert_eq!(m.similarity(&m.reference_hits(&unrelated), &Skewed), 0.0);
    }

    #[test]
    fn terms_are_sorted_counted_stems_of_content_words() {
        let r = reference_terms(&[
            "The ceasefire talks, ceasefires and TALKS",
            "with 2025 Ukrainians",
        ]);
        let terms: Vec<(&str, u32)> = r.counted().collect();
        // Stems cut at seven characters; "with", "the", "and" and numbers
        // left out; words of a concept also count as its term.
        assert_eq!(
            terms,
            [
                ("ceasefi", 2),
                ("talks", 2),
                ("ukraini", 1),
                ("~ceasefire", 2),
                ("~negotiation", 2)
            ]
        );
        assert_eq!(r.len, 5);
    }

    #[test]
    fn concepts_carry_terms_across_languages() {
        let has = |text: &str, term: &str| reference_terms(&[text]).terms().any(|t| t == term);
        assert!(has("Перемирие объявлено", "~ceasefire"));
        assert!(has("Waffenstillstand vereinbart", "~ceasefire"));
        assert!(has("A new earthquake struck", "~earthquake"));
        assert!(has("Erdbeben der Stärke 6", "~earthquake"));
        // A four-letter stem takes at most two letters more.
        assert!(has("Three dead", "~death"));
        assert!(!has("The deadline passed", "~death"));
    }

    #[test]
    fn fetching_needs_a_named_entity_or_a_country_with_a_term_of_the_story() {
        let m = matcher(&[]);
        assert!(m.worth_fetching("Witkoff lands in Moscow", ""));
        assert!(m.worth_fetching("Breaking", "Peskov says talks went well"));
        // A country alone is in most world news.
        assert!(!m.worth_fetching(
            "Ukraine's wheat harvest breaks records",
            "Farmers in Ukraine"
        ));
        assert!(m.worth_fetching("Ukraine ceasefire talks to resume", ""));
        assert!(!m.worth_fetching("Local council approves new library", "Opening next spring"));
    }

    #[test]
    fn a_follow_up_matches_and_is_explained() {
        let m = matcher(&[]);
        let ex = explain(
            &m,
            "Witkoff returns to Moscow for new round of talks with Putin",
            "US envoy Steve Witkoff arrived in Moscow on Thursday for another meeting with Vladimir Putin, the Kremlin said. \
             Dmitry Peskov told reporters that a ceasefire in Ukraine would be discussed.",
        );
        assert!(ex.is_match(), "{ex:?}");
        let names: Vec<&str> = ex.entities.iter().map(|e| e.name.as_str()).collect();
        assert!(
            names.contains(&"Steve Witkoff") && names.contains(&"Vladimir Putin"),
            "{names:?}"
        );
        assert!(ex
            .entities
            .iter()
            .any(|e| e.name == "Steve Witkoff" && e.in_title));
        // No event types of its own: what the story is about comes in
        // through its terms.
        assert!(ex.events.is_empty());
        assert!(ex.components.similarity > 0.0, "{ex:?}");
        assert!(!ex.snippets.is_empty());
    }

    #[test]
    fn names_match_with_inflections_and_in_cyrillic() {
        let m = matcher(&[]);
        let de = explain(
            &m,
            "Putins Gespräche mit Witkoff in Sankt Petersburg",
            "Der US-Sondergesandte Witkoff traf Putin. Kremlsprecher Peskow sprach von einem Waffenstillstand in der Ukraine.",
        );
        assert!(de.is_match(), "{de:?}");
        let ru = explain(
            &m,
            "Песков: Путин и Уиткофф обсудили перемирие",
            "Президент России Владимир Путин провел встречу со спецпосланником США Стивом Уиткоффом в Санкт-Петербурге. \
             Песков заявил, что процесс нормализации отношений продолжается.",
        );
        assert!(ru.is_match(), "{ru:?}");
        assert!(
            ru.entities
                .iter()
                .any(|e| e.name == "Vladimir Putin" && e.count >= 2),
            "{:?}",
            ru.entities
        );
        let uk = explain(
            &m,
            "Київ",
            "Переговори у Києві щодо припинення вогню: Віткофф і Путін.",
        );
        assert!(
            uk.entities.iter().any(|e| e.name == "Kyiv"),
            "{:?}",
            uk.entities
        );
    }

    #[test]
    fn romance_language_follow_ups_match() {
        let m = matcher(&[]);
        for (title, text) in [
            (
                "Witkoff incontra Putin a San Pietroburgo",
                "L'inviato speciale americano Steve Witkoff ha incontrato il presidente russo Vladimir Putin a San Pietroburgo. Al centro dei colloqui il cessate il fuoco in Ucraina, ha detto il portavoce del Cremlino Dmitry Peskov.",
            ),
            (
                "Witkoff se reúne con Putin en San Petersburgo",
                "El enviado especial de Estados Unidos, Steve Witkoff, se reunió con el presidente ruso Vladimir Putin en San Petersburgo para negociar un alto el fuego en Ucrania, según el Kremlin.",
            ),
            (
                "Witkoff encontra Putin em São Petersburgo",
                "O enviado especial dos Estados Unidos Steve Witkoff reuniu-se com o presidente russo Vladimir Putin em São Petersburgo para discutir um cessar-fogo na Ucrânia.",
            ),
            (
                "Steve Witkoff reçu par Vladimir Poutine à Saint-Pétersbourg",
                "L'émissaire américain Steve Witkoff a rencontré Vladimir Poutine à Saint-Pétersbourg pour discuter d'un cessez-le-feu en Ukraine, a indiqué le Kremlin.",
            ),
        ] {
            let ex = explain(&m, title, text);
            assert!(ex.is_match(), "{title}: {ex:?}");
        }
    }

    #[test]
    fn shared_words_from_other_stories_do_not_match() {
        let m = matcher(&[]);
        let gaza = explain(
            &m,
            "Gaza ceasefire talks resume in Cairo",
            "Hamas and Israel resumed ceasefire talks in Cairo, with Qatar and Egypt mediating a hostage exchange. \
             US envoy Steve Witkoff is expected to join the negotiations in Doha.",
        );
        assert!(!gaza.is_match(), "{gaza:?}");
        let football = explain(
            &m,
            "Petrov scores twice as Varna win derby",
            "Nikolay Petrov scored twice for Varna against Burgas in the Bulgarian league on Saturday.",
        );
        assert!(!football.is_match(), "{football:?}");
        let florida = explain(
            &m,
            "St. Petersburg council approves hurricane plan",
            "The St. Petersburg, Florida, city council approved a new hurricane plan for Pinellas County.",
        );
        assert!(!florida.is_match(), "{florida:?}");
    }

    #[test]
    fn the_pronoun_us_is_not_the_united_states() {
        let m = matcher(&[]);
        let ex = explain(&m, "Tell us", "Write to us and tell us what you think.");
        assert!(ex.entities.is_empty(), "{:?}", ex.entities);
    }

    #[test]
    fn exclude_terms_veto() {
        let m = matcher(&["Gaza"]);
        let ex = explain(
            &m,
            "Witkoff and Putin discuss Ukraine ceasefire and Gaza",
            "Steve Witkoff met Vladimir Putin in St Petersburg; they discussed a ceasefire in Ukraine and in Gaza.",
        );
        assert_eq!(ex.score, 0.0);
        assert_eq!(ex.excluded_by.as_deref(), Some("Gaza"));
    }

    #[test]
    fn cost_does_not_depend_on_alias_count_beyond_the_automaton() {
        // 10,000 extra aliases still give the same explanation for an item that contains none.
        let mut wl = derive(&[REFERENCE]);
        for i in 0..10_000 {
            wl.entities.push(crate::matching::watchlist::WatchEntity {
                name: format!("Zyxqname{i}"),
                kind: Kind::Person,
                aliases: vec![format!("Qwvalias{i}")],
                weight: 0.5,
                origin: crate::matching::watchlist::Origin::Config,
                mentions: 0,
            });
        }
        let big = Matcher::new("talks", 0.5, &wl, &[REFERENCE]);
        let small = matcher(&[]);
        let (t, x) = (
            "Witkoff meets Putin",
            "Steve Witkoff met Vladimir Putin in St Petersburg for ceasefire talks.",
        );
        assert_eq!(explain(&big, t, x).score, explain(&small, t, x).score);
    }

    /// Names learned from matches help a match; they never make one, nor
    /// make an item mostly about them look focused on the story.
    #[test]
    fn emerged_names_add_to_a_match_but_never_carry_one() {
        let mut wl = derive(&[REFERENCE]);
        for name in [
            "Bill Nelson",
            "Gwynne Shotwell",
            "Jared Isaacman",
            "Sunita Williams",
        ] {
            wl.entities.push(crate::matching::watchlist::WatchEntity {
                name: name.to_string(),
                kind: Kind::Person,
                aliases: Vec::new(),
                weight: crate::stories::EMERGED_WEIGHT,
                origin: Origin::Emerged,
                mentions: 0,
            });
        }
        let m = Matcher::new("talks", 0.5, &wl, &[REFERENCE]);
        let space = explain(
            &m,
            "Jared Isaacman and Bill Nelson hold talks on the lunar lander",
            "Bill Nelson met Gwynne Shotwell for talks on the heat shield. \
             Sunita Williams said the meeting with Jared Isaacman went well.",
        );
        assert_eq!(space.components.gate, 0.0, "{space:?}");
        assert!(!space.is_match(), "{space:?}");
        // One story name among many learned ones: the learned names do not
        // count as focus on the story.
        let mostly_space = explain(
            &m,
            "Bill Nelson and Gwynne Shotwell meet in Houston",
            "Bill Nelson met Gwynne Shotwell. Jared Isaacman and Sunita Williams joined. \
             Later Bill Nelson said Dmitry Peskov had called. Gwynne Shotwell agreed.",
        );
        assert!(!mostly_space.is_match(), "{mostly_space:?}");
        // A real follow-up naming a learned name alongside the story's own still matches.
        let follow_up = explain(
            &m,
            "Witkoff meets Putin again",
            "Steve Witkoff met Vladimir Putin in St Petersburg for ceasefire talks; Bill Nelson attended.",
        );
        assert!(follow_up.is_match(), "{follow_up:?}");
    }
}
