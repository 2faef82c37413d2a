//! One compiled matcher per story: every alias, event trigger and exclude
//! term in one Aho-Corasick automaton over folded text, so the cost per item
//! does not grow with the number of aliases beyond the automaton itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::entities::{mentions_in, Kind};
use super::scan::Scanner;
use super::score::{self, prior_specificity, score, Components, Found, Signals};
use super::terms::{
    bm25_idf, bm25_norm, bm25_ratio, hits_of, reference_terms, CorpusStats, Query, Reference,
    AVG_LEN,
};
use super::text::{clip, fold, fold_into, sentences};
use super::watchlist::{index, is_country, Origin, Watchlist};

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

enum Hit {
    Entity(usize),
    Event(usize),
    Exclude(usize),
}

mod lookup;
#[cfg(test)]
mod tests;
