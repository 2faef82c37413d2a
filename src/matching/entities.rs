//! Proper-noun phrases in running text, typed where the gazetteer or a cue
//! word tells. Used to derive a story's watchlist from its reference article,
//! to measure how much of an item is about the story, and to notice names
//! that newly appear beside it. No model, no network: capitalisation, a few
//! lists and the sentence structure.

use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

use super::gazetteer;
use super::text::{fold, fold_into, sentences, words};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Person,
    Place,
    Organisation,
    Other,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Place => "place",
            Kind::Organisation => "organisation",
            Kind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "person" => Kind::Person,
            "place" | "location" | "country" | "city" => Kind::Place,
            "organisation" | "organization" | "org" => Kind::Organisation,
            "other" | "event" | "misc" => Kind::Other,
            _ => return None,
        })
    }
}

/// One occurrence of a proper-noun phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The canonical name: the gazetteer's name where it knows the phrase,
    /// else the phrase as written with possessives folded ("Putin's" → "Putin").
    pub name: String,
    pub kind: Kind,
    /// Index of the sentence it occurs in (0 is the first line: the title).
    pub sentence: usize,
    /// True when kind and name come from the gazetteer or a cue word.
    pub confident: bool,
}

impl Mention {
    /// A mention the gazetteer recognised.
    fn known(k: &Known, sentence: usize) -> Mention {
        Mention {
            name: k.name.to_string(),
            kind: k.kind,
            sentence,
            confident: true,
        }
    }
}

/// What the gazetteer knows about a folded phrase.
#[derive(Debug, Clone)]
pub struct Known {
    pub name: &'static str,
    pub kind: Kind,
}

/// Folded alias → gazetteer entry (countries, demonyms, cities, organisations).
pub fn known_names() -> &'static FxHashMap<String, Known> {
    static MAP: OnceLock<FxHashMap<String, Known>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = FxHashMap::default();
        let mut add = |alias: &str, name: &'static str, kind: Kind| {
            let key = fold(alias).trim().to_string();
            if !key.is_empty() {
                m.entry(key).or_insert(Known { name, kind });
            }
        };
        for c in gazetteer::countries() {
            add(c.name, c.name, Kind::Place);
            for a in c.aliases.iter().chain(c.demonyms.iter()) {
                add(a, c.name, Kind::Place);
            }
        }
        for (list, kind) in [
            (gazetteer::cities(), Kind::Place),
            (gazetteer::organisations(), Kind::Organisation),
        ] {
            for e in list {
                add(e.name, e.name, kind);
                for a in &e.aliases {
                    add(a, e.name, kind);
                }
            }
        }
        m
    })
}

/// A word list folded once, on first use.
pub fn folded_set(
    cell: &'static OnceLock<FxHashSet<String>>,
    words: &[&str],
) -> &'static FxHashSet<String> {
    cell.get_or_init(|| words.iter().map(|w| fold(w).trim().to_string()).collect())
}

/// Whether a folded word is one of the capitalised words that are not names.
pub fn is_common_word(word_folded: &str) -> bool {
    is_common(word_folded)
}

fn is_common(word_folded: &str) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    let set = folded_set(&SET, gazetteer::common_capitalised());
    // An all-capital word keeps its acronym mark when folded ("PM", "EDT").
    set.contains(word_folded) || set.contains(word_folded.trim_matches('_'))
}

fn is_cue(word_folded: &str) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    folded_set(&SET, gazetteer::person_cues()).contains(word_folded)
}

fn is_cue_modifier(word_folded: &str) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    folded_set(&SET, gazetteer::cue_modifiers()).contains(word_folded)
}

fn is_title_word(word_folded: &str) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    folded_set(&SET, gazetteer::title_words()).contains(word_folded)
}

fn is_particle_folded(word_folded: &str) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    folded_set(&SET, gazetteer::particles()).contains(word_folded)
}

/// What a head word at the end of a name says the name is ("County" → a
/// place), if it is one.
pub fn head_kind(word_folded: &str) -> Option<Kind> {
    static MAP: OnceLock<FxHashMap<String, Kind>> = OnceLock::new();
    MAP.get_or_init(|| {
        gazetteer::name_heads()
            .iter()
            .filter_map(|(w, k)| Some((fold(w).trim().to_string(), Kind::parse(k)?)))
            .collect()
    })
    .get(word_folded)
    .copied()
}

fn is_capitalised(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_uppercase())
}

/// Strips a possessive ending: "Putin's" → "Putin", "Peskov’" → "Peskov".
fn strip_possessive(word: &str) -> (&str, bool) {
    for suffix in ["'s", "’s", "'", "’"] {
        if let Some(w) = word.strip_suffix(suffix) {
            return (w, true);
        }
    }
    (word, false)
}

/// Whether `word` is a particle of names (data/particles.txt), in any case.
fn is_particle(word: &str) -> bool {
    is_particle_folded(&word.to_lowercase())
}

/// Buffers reused by the many small lookups of one text, so that folding a
/// word or a phrase for a gazetteer lookup allocates nothing (a news item
/// asks some hundred of them).
#[derive(Default)]
struct Scratch {
    joined: String,
    folded: String,
}

impl Scratch {
    /// `fold(s).trim()`.
    fn fold(&mut self, s: &str) -> &str {
        self.folded.clear();
        fold_into(s, &mut self.folded);
        self.folded.trim()
    }

    /// `fold(&words.join(" ")).trim()`.
    fn fold_joined(&mut self, words: &[&str]) -> &str {
        self.joined.clear();
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                self.joined.push(' ');
            }
            self.joined.push_str(w);
        }
        self.folded.clear();
        fold_into(&self.joined, &mut self.folded);
        self.folded.trim()
    }
}

/// Whether a name is a news outlet (attribution, not content).
fn is_media(name: &str, scratch: &mut Scratch) -> bool {
    static SET: OnceLock<FxHashSet<String>> = OnceLock::new();
    folded_set(&SET, gazetteer::news_media()).contains(scratch.fold(name))
}

/// Finds the proper-noun phrases of `text` (its first line counts as a
/// sentence). News outlets are left out: they are attribution, not content.
pub fn mentions(text: &str) -> Vec<Mention> {
    mentions_in(&sentences(text))
}

/// [`mentions`] of text already split by [`sentences`]; the sentence indices
/// are positions in `sentences`.
pub fn mentions_in(sentences: &[&str]) -> Vec<Mention> {
    let mut scratch = Scratch::default();
    let mut out = raw_mentions(sentences, &mut scratch);
    out.retain(|m| !is_media(&m.name, &mut scratch));
    out
}

fn raw_mentions(sentences: &[&str], scratch: &mut Scratch) -> Vec<Mention> {
    let known = known_names();
    let mut out = Vec::new();
    let mut ws: Vec<(usize, &str)> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for (si, &sentence) in sentences.iter().enumerate() {
        ws.clear();
        ws.extend(words(sentence));
        if is_heading(sentence, &ws) {
            known_phrases(&ws, si, known, scratch, &mut out);
            continue;
        }
        let mut i = 0;
        while i < ws.len() {
            let (start, w) = ws[i];
            if !is_capitalised(w) {
                i += 1;
                continue;
            }
            // Grow a run of capitalised words (with particles inside), stopping
            // at punctuation between words and after a possessive.
            run.clear();
            let mut j = i;
            let mut prev_end = start;
            while j < ws.len() {
                let (s, w) = ws[j];
                if j > i {
                    let gap = sentence[prev_end..s].trim();
                    // "St. Petersburg", "J. D. Vance": an abbreviation's period stays inside.
                    let abbrev = gap == "."
                        && run.last().is_some_and(|p: &&str| {
                            p.chars().count() == 1
                                || [
                                    "st", "mr", "mrs", "ms", "dr", "gen", "sen", "gov", "lt",
                                    "col", "sgt", "jr",
                                ]
                                .contains(&p.to_lowercase().as_str())
                        });
                    if !gap.is_empty() && !abbrev {
                        break;
                    }
                }
                let capitalised = is_capitalised(w);
                let particle = !capitalised
                    && !run.is_empty()
                    && is_particle(w)
                    && ws.get(j + 1).is_some_and(|(_, n)| is_capitalised(n));
                if !(capitalised || particle) {
                    break;
                }
                let (bare, possessive) = strip_possessive(w);
                run.push(bare);
                prev_end = s + w.len();
                j += 1;
                if possessive {
                    break;
                }
            }
            let initial = i == 0;
            i = j.max(i + 1);
            emit_run(&run, si, initial, known, scratch, &mut out);
        }
    }
    out
}

/// A title-case line ("A Glimmer of Hope Amidst Tensions"): capitalisation
/// says nothing there, so only names the gazetteer knows are taken from it.
fn is_heading(sentence: &str, ws: &[(usize, &str)]) -> bool {
    if ws.len() < 2 || sentence.ends_with(['.', '!', '?', ':', ';', '"', '’', '”']) {
        return false;
    }
    let (mut long, mut capitalised) = (0, 0);
    for (_, w) in ws {
        if w.chars().nth(3).is_some() {
            long += 1;
            capitalised += usize::from(is_capitalised(w));
        }
    }
    long > 0 && capitalised * 5 >= long * 4
}

/// The gazetteer's phrases (up to four words, longest first) among `ws`.
fn known_phrases(
    ws: &[(usize, &str)],
    sentence: usize,
    known: &FxHashMap<String, Known>,
    scratch: &mut Scratch,
    out: &mut Vec<Mention>,
) {
    let mut phrase: Vec<&str> = Vec::with_capacity(4);
    let mut i = 0;
    while i < ws.len() {
        let mut found = None;
        for len in (1..=4.min(ws.len() - i)).rev() {
            phrase.clear();
            phrase.extend(ws[i..i + len].iter().map(|(_, w)| strip_possessive(w).0));
            if let Some(k) = known.get(scratch.fold_joined(&phrase)) {
                found = Some((len, k));
                break;
            }
        }
        match found {
            Some((len, k)) => {
                out.push(Mention::known(k, sentence));
                i += len;
            }
            None => i += 1,
        }
    }
}

/// Splits a capitalised run at cue words and common words and types the parts.
fn emit_run(
    run: &[&str],
    sentence: usize,
    initial: bool,
    known: &FxHashMap<String, Known>,
    scratch: &mut Scratch,
    out: &mut Vec<Mention>,
) {
    if let Some(k) = known.get(scratch.fold_joined(run)) {
        out.push(Mention::known(k, sentence));
        return;
    }
    // Drop leading common words ("The Kremlin", "However Putin"), but not
    // names that look like them ("US").
    let mut k = 0;
    while k < run.len() {
        let f = scratch.fold(run[k]);
        if !is_common(f) || known.contains_key(f) {
            break;
        }
        k += 1;
    }
    let run = &run[k..];
    let initial = initial && k == 0;
    if run.is_empty() {
        return;
    }
    // The last cue word splits titles from the name: "US Special Envoy Steve Witkoff".
    if let Some(c) = run.iter().rposition(|w| is_cue(scratch.fold(w))) {
        // What precedes the cue may hold places or organisations ("Russian President").
        for (idx, w) in run[..c].iter().enumerate() {
            let f = scratch.fold(w);
            if is_cue_modifier(f) || is_cue(f) {
                continue;
            }
            if let Some(k) = known.get(f) {
                out.push(Mention::known(k, sentence));
            } else if idx == 0 && !initial {
                emit_run(&run[..1], sentence, false, known, scratch, out);
            }
        }
        // Title words after the cue ("Secretary of State Marco Rubio",
        // "Chief of the General Staff Valery Gerasimov") are not the name.
        let mut start = c + 1;
        while start < run.len() {
            let f = scratch.fold(run[start]);
            if is_particle_folded(f) || is_cue_modifier(f) || is_title_word(f) || is_cue(f) {
                start += 1;
            } else {
                break;
            }
        }
        let name = &run[start.min(run.len())..];
        // An organisation between the cue and the name ("Глава МИД России
        // Сергей Лавров"): split it off like any run holding known names.
        if name.len() > 1
            && !known.contains_key(scratch.fold_joined(name))
            && name.iter().any(|w| known.contains_key(scratch.fold(w)))
        {
            emit_run(name, sentence, false, known, scratch, out);
            return;
        }
        if !name.is_empty() {
            let (name, kind) = match known.get(scratch.fold_joined(name)) {
                Some(k) => (k.name.to_string(), k.kind),
                None => (name.join(" "), Kind::Person),
            };
            out.push(Mention {
                name,
                kind,
                sentence,
                confident: true,
            });
        }
        return;
    }
    if run.len() > 4 {
        // Too long for one name: take what the gazetteer knows inside it.
        let ws: Vec<(usize, &str)> = run.iter().map(|w| (0, *w)).collect();
        known_phrases(&ws, sentence, known, scratch, out);
        return;
    }
    if let Some(k) = known.get(scratch.fold_joined(run)) {
        out.push(Mention::known(k, sentence));
        return;
    }
    // A run the gazetteer does not know as a whole may hold names it knows
    // ("OSCE Moscow Summit", "UK and Germany"): take those, and what is left
    // between them as names of their own.
    if run.len() > 1 {
        let mut spans: Vec<(usize, usize, Option<&Known>)> = Vec::new();
        let mut i = 0;
        while i < run.len() {
            let found = (1..=4.min(run.len() - i)).rev().find_map(|len| {
                known
                    .get(scratch.fold_joined(&run[i..i + len]))
                    .map(|k| (len, k))
            });
            match found {
                Some((len, k)) => {
                    spans.push((i, i + len, Some(k)));
                    i += len;
                }
                None => {
                    match spans.last_mut() {
                        Some((_, end, None)) if *end == i => *end = i + 1,
                        _ => spans.push((i, i + 1, None)),
                    }
                    i += 1;
                }
            }
        }
        if spans.iter().any(|(_, _, k)| k.is_some()) {
            for (a, b, k) in spans {
                match k {
                    Some(k) => out.push(Mention::known(k, sentence)),
                    None => {
                        let part: Vec<&str> = run[a..b]
                            .iter()
                            .copied()
                            .filter(|w| !is_particle(w))
                            .collect();
                        if !part.is_empty() {
                            emit_run(&part, sentence, false, known, scratch, out);
                        }
                    }
                }
            }
            return;
        }
    }
    if run.len() == 1 {
        let w = run[0];
        // Single capitalised words: skip common words, short tokens and
        // numbers; a sentence-initial word is only a name if the gazetteer says so.
        if initial || w.chars().nth(2).is_none() || !w.chars().any(char::is_alphabetic) {
            return;
        }
        let f = scratch.fold(w);
        if is_common(f) || head_kind(f).is_some() {
            return;
        }
        let kind = if w.chars().all(|c| c.is_uppercase() || !c.is_alphabetic()) {
            Kind::Organisation
        } else {
            Kind::Other
        };
        out.push(Mention {
            name: w.to_string(),
            kind,
            sentence,
            confident: false,
        });
        return;
    }
    // "Lucia Ferretti of Norcia": a name, a particle, then a place the
    // gazetteer knows or a name with a head word of its own. Unless a head
    // word comes before the particle ("Bank of England", "University of
    // Texas"), the two sides are two names.
    if let Some(p) = run.iter().position(|w| w.eq_ignore_ascii_case("of")) {
        let before_has_head = run[..p]
            .iter()
            .any(|w| head_kind(scratch.fold(w)).is_some());
        if p > 0 && p + 1 < run.len() && !before_has_head {
            let (left, right) = (run[..p].to_vec(), run[p + 1..].to_vec());
            emit_run(&left, sentence, initial, known, scratch, out);
            emit_run(&right, sentence, false, known, scratch, out);
            return;
        }
    }
    // Common words at the end ("Police Monday", "Smith Published") are not
    // part of the name.
    let mut end = run.len();
    while end > 1 && {
        let f = scratch.fold(run[end - 1]);
        is_common(f) && head_kind(f).is_none()
    } {
        end -= 1;
    }
    if end < run.len() {
        let kept = run[..end].to_vec();
        emit_run(&kept, sentence, initial, known, scratch, out);
        return;
    }
    // What the last head word says the name is; a name with none, of two
    // to four plain words, is a person's.
    let head = run.iter().rev().find_map(|w| head_kind(scratch.fold(w)));
    let kind = match head {
        Some(kind) => kind,
        None if run.iter().all(|w| {
            w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        }) =>
        {
            Kind::Person
        }
        None => Kind::Other,
    };
    out.push(Mention {
        name: run.join(" "),
        kind,
        sentence,
        confident: head.is_some(),
    });
}

#[cfg(test)]
mod tests;
