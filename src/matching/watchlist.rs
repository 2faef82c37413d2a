//! A story's watchlist: the entities (with aliases and weights) and event
//! types it is about, derived from its reference article(s) and merged with
//! what the config says. Config entries are authoritative; entities that
//! emerge from matched follow-ups are added later with their own origin.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::entities::{head_kind, known_names, mentions, Kind, Mention};
use super::gazetteer;
use super::text::{fold, to_cyrillic, to_latin};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Article,
    Config,
    Emerged,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Article => "article",
            Origin::Config => "config",
            Origin::Emerged => "emerged",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchEntity {
    pub name: String,
    pub kind: Kind,
    /// Other spellings, matched like the name (case- and accent-insensitive).
    pub aliases: Vec<String>,
    /// How central the entity is to the story, 0..=1.
    pub weight: f64,
    pub origin: Origin,
    /// Mentions in the reference articles (0 for config entries).
    pub mentions: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchEvent {
    pub id: String,
    pub name: String,
    /// Word-stem patterns: each is one or more space-separated stems, and
    /// matches consecutive words of the folded text that start with them.
    pub triggers: Vec<String>,
    pub origin: Origin,
    /// Hits in the reference articles.
    pub mentions: u32,
}

/// A content word the story's reference articles use most: what the story is
/// about beyond its names ("earthquake", "hired", "ceasefire"). How specific
/// it is depends on the corpus, so the matcher weighs it when it scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchTerm {
    /// The word as the article writes it most often.
    pub word: String,
    /// Its stem, as items are compared on.
    pub stem: String,
    pub mentions: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watchlist {
    pub entities: Vec<WatchEntity>,
    /// Events the config lists (triggers written by the user).
    pub events: Vec<WatchEvent>,
    /// The reference's most used content words, names left out.
    #[serde(default)]
    pub terms: Vec<WatchTerm>,
    /// Terms that veto a match on their own.
    pub exclude: Vec<String>,
}

/// Base weight by kind: people identify a story best, countries least (they
/// are in most world news).
fn kind_weight(kind: Kind, name: &str) -> f64 {
    match kind {
        Kind::Person => 1.0,
        Kind::Organisation => 0.7,
        Kind::Place if is_country(name) => 0.45,
        Kind::Place => 0.75,
        Kind::Other => 0.5,
    }
}

/// Whether a place name is a country's (countries are in most world news).
pub fn is_country(name: &str) -> bool {
    gazetteer::countries().iter().any(|c| c.name == name)
}

/// Sentences at or before this index are the title and lead.
const LEAD_SENTENCES: usize = 2;

/// Derives a watchlist from reference article texts (title on the first line).
pub fn derive(articles: &[&str]) -> Watchlist {
    struct Acc {
        kind: Kind,
        count: u32,
        lead: bool,
        confident: bool,
    }
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    let all: Vec<Mention> = articles.iter().flat_map(|a| mentions(a)).collect();
    // People are often named in full once and by surname after.
    let people: Vec<String> = all
        .iter()
        .filter(|m| m.kind == Kind::Person && m.name.contains(' '))
        .map(|m| m.name.clone())
        .collect();
    for m in &all {
        let mut name = m.name.clone();
        let mut kind = m.kind;
        if !name.contains(' ') {
            if let Some(full) = people
                .iter()
                .find(|p| p.rsplit(' ').next() == Some(name.as_str()))
            {
                name = full.clone();
                kind = Kind::Person;
            }
        }
        let e = acc.entry(name).or_insert(Acc {
            kind,
            count: 0,
            lead: false,
            confident: false,
        });
        e.count += 1;
        e.lead |= m.sentence <= LEAD_SENTENCES;
        e.confident |= m.confident;
        if m.kind == Kind::Person {
            e.kind = Kind::Person;
        }
    }
    let max = acc
        .values()
        .map(|a| a.count + if a.lead { 2 } else { 0 })
        .max()
        .unwrap_or(1) as f64;
    let mut entities: Vec<WatchEntity> = acc
        .into_iter()
        // A name seen once, outside the lead and unknown to the gazetteer, is
        // background, not the story.
        .filter(|(name, a)| {
            a.count > 1 || a.lead || a.confident || (a.kind == Kind::Person && name.contains(' '))
        })
        .map(|(name, a)| {
            let centrality = (a.count as f64 + if a.lead { 2.0 } else { 0.0 }) / max;
            let weight = kind_weight(a.kind, &name) * (0.5 + 0.5 * centrality.min(1.0));
            WatchEntity {
                aliases: aliases_for(&name, a.kind),
                name,
                kind: a.kind,
                weight: (weight * 100.0).round() / 100.0,
                origin: Origin::Article,
                mentions: a.count,
            }
        })
        .collect();
    entities.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.name.cmp(&b.name)));

    let terms = salient_terms(articles, &entities);
    Watchlist {
        entities,
        events: Vec::new(),
        terms,
        exclude: Vec::new(),
    }
}

/// How many salient words a watchlist keeps (its concepts come beside them).
const SHOWN_TERMS: usize = 20;

/// The reference's content words by use, without the words of its names.
fn salient_terms(articles: &[&str], entities: &[WatchEntity]) -> Vec<WatchTerm> {
    let refs = super::terms::reference_terms(articles);
    let name_words: std::collections::HashSet<String> = entities
        .iter()
        .flat_map(|e| {
            fold(&e.name)
                .split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    // The surface word seen most often for each stem.
    let mut surface: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for a in articles {
        for w in fold(a).split(' ').filter(|w| w.chars().nth(3).is_some()) {
            let stem = super::terms::stem(w);
            *surface
                .entry(stem.to_string())
                .or_default()
                .entry(w.to_string())
                .or_insert(0) += 1;
        }
    }
    let terms: Vec<WatchTerm> = refs
        .counted()
        .filter(|(stem, _)| !name_words.iter().any(|w| w.starts_with(stem)))
        .map(|(stem, n)| {
            let word = surface
                .get(stem)
                .and_then(|m| m.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))))
                .map(|(w, _)| w.clone())
                .unwrap_or_else(|| stem.to_string());
            WatchTerm {
                word,
                stem: stem.to_string(),
                mentions: n,
            }
        })
        .collect();
    let (concepts, mut words): (Vec<WatchTerm>, Vec<WatchTerm>) =
        terms.into_iter().partition(|t| t.stem.starts_with('~'));
    words.sort_by(|a, b| b.mentions.cmp(&a.mentions).then(a.stem.cmp(&b.stem)));
    words.truncate(SHOWN_TERMS);
    words.extend(concepts);
    words
}

/// Occurrences of any trigger (word-prefix sequences) in folded text.
pub fn count_triggers(folded: &str, triggers: &[&str]) -> u32 {
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let mut n = 0;
    for t in triggers {
        let stems: Vec<String> = fold(t)
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if stems.is_empty() {
            continue;
        }
        for i in 0..words.len() {
            if stems
                .iter()
                .enumerate()
                .all(|(k, s)| words.get(i + k).is_some_and(|w| w.starts_with(s.as_str())))
            {
                n += 1;
            }
        }
    }
    n
}

/// Aliases from the gazetteer (spellings, translations), plus for people
/// their surname and its Cyrillic transliteration. Places and organisations
/// never get a part of their name as an alias: "County" or "Drive" alone
/// names nothing.
pub fn aliases_for(name: &str, kind: Kind) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let key = fold(name).trim().to_string();
    let canonical = known_names().get(&key).map(|k| k.name);
    let is_it = |n: &str| Some(n) == canonical || n == name;
    for e in gazetteer::cities().iter().chain(gazetteer::organisations()) {
        if is_it(e.name) {
            out.extend(e.aliases.iter().map(|a| a.to_string()));
        }
    }
    for c in gazetteer::countries() {
        if is_it(c.name) {
            out.extend(
                c.aliases
                    .iter()
                    .chain(c.demonyms.iter())
                    .map(|a| a.to_string()),
            );
        }
    }
    // A name written in Cyrillic or Greek also in Latin letters, by rule;
    // for a person their surname too.
    if name.chars().any(|c| is_cyrillic(c) || is_greek(c)) {
        out.push(to_latin(name));
        if kind == Kind::Person {
            let words: Vec<&str> = name.split_whitespace().collect();
            if let [_, .., surname] = words.as_slice() {
                let folded = fold(surname);
                if surname.chars().count() >= 4 && !super::entities::is_common_word(folded.trim()) {
                    out.push(surname.to_string());
                    out.push(to_latin(surname));
                }
            }
        }
    }
    if kind == Kind::Person && !name.chars().any(is_cyrillic) {
        let parts: Vec<&str> = name.split_whitespace().collect();
        let surname = parts[parts.len().saturating_sub(1)..]
            .first()
            .copied()
            .unwrap_or("");
        let folded = fold(surname);
        let folded = folded.trim();
        let sound = surname.chars().count() >= 4
            && head_kind(folded).is_none()
            && !super::entities::is_common_word(folded);
        if sound {
            if parts.len() > 1 {
                out.push(surname.to_string());
            }
            out.push(to_cyrillic(surname));
        }
    }
    let own = fold(name);
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| {
        let f = fold(a);
        f.trim().chars().count() >= 2 && f != own && seen.insert(f)
    });
    out
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04ff}').contains(&c)
}

fn is_greek(c: char) -> bool {
    ('\u{0370}'..='\u{03ff}').contains(&c) || ('\u{1f00}'..='\u{1fff}').contains(&c)
}

/// A search-style query split into names (quoted phrases, runs of
/// capitalised words), the terms it is about (other words) and exclude terms
/// (words after `-`), as a Google Alerts user writes one.
pub fn parse_query(query: &str) -> (Vec<ConfigEntity>, String, Vec<String>) {
    let (mut names, mut terms, mut exclude) = (Vec::new(), Vec::new(), Vec::new());
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, names: &mut Vec<String>| {
        if !run.is_empty() {
            names.push(run.join(" "));
            run.clear();
        }
    };
    let mut rest = query;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            flush(&mut run, &mut names);
            let inner = &rest[1..];
            let end = inner.find('"').unwrap_or(inner.len());
            let phrase = inner[..end].trim();
            if !phrase.is_empty() {
                names.push(phrase.to_string());
            }
            rest = inner.get(end + 1..).unwrap_or("");
            continue;
        }
        let end = rest.find([' ', '"']).unwrap_or(rest.len());
        let word = rest[..end].trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
        rest = rest[end..].trim_start_matches(' ');
        if word.is_empty() {
            continue;
        }
        if let Some(x) = word.strip_prefix('-') {
            flush(&mut run, &mut names);
            if !x.is_empty() {
                exclude.push(x.to_string());
            }
        } else if word.chars().next().is_some_and(char::is_uppercase) {
            run.push(word);
        } else {
            flush(&mut run, &mut names);
            terms.push(word.to_string());
        }
    }
    flush(&mut run, &mut names);
    let entities = names
        .into_iter()
        .map(|name| {
            let last = fold(name.rsplit(' ').next().unwrap_or(&name));
            let kind = head_kind(last.trim()).or_else(|| {
                known_names()
                    .get(fold(&name).trim())
                    .map(|k| k.kind)
                    .or((name.contains(' ')).then_some(Kind::Person))
            });
            ConfigEntity {
                name,
                aliases: Vec::new(),
                kind,
                weight: None,
            }
        })
        .collect();
    (entities, terms.join(" "), exclude)
}

/// Config additions, already validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigEntity {
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: Option<Kind>,
    pub weight: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigEvent {
    pub name: String,
    pub triggers: Vec<String>,
}

/// Merges config entries over a derived watchlist: a config entity replaces
/// the derived one of the same name, keeping its aliases, and never merges
/// by alias (which would depend on the order of entries). A weight of 0
/// removes the name from the story.
pub fn merge_config(
    mut wl: Watchlist,
    entities: &[ConfigEntity],
    events: &[ConfigEvent],
    exclude: &[String],
) -> Watchlist {
    for ce in entities {
        let key = fold(&ce.name);
        let existing = wl.entities.iter().position(|e| fold(&e.name) == key);
        let derived = existing.map(|i| wl.entities.remove(i));
        if ce.weight == Some(0.0) {
            continue;
        }
        let kind = ce
            .kind
            .or(derived.as_ref().map(|d| d.kind))
            .unwrap_or(Kind::Other);
        let mut aliases = ce.aliases.clone();
        if let Some(d) = &derived {
            aliases.extend(d.aliases.iter().cloned());
            if fold(&d.name) != key {
                aliases.push(d.name.clone());
            }
        } else {
            aliases.extend(aliases_for(&ce.name, kind));
        }
        let mut seen = std::collections::HashSet::new();
        aliases.retain(|a| fold(a) != key && seen.insert(fold(a)));
        wl.entities.insert(
            0,
            WatchEntity {
                name: ce.name.clone(),
                kind,
                aliases,
                weight: ce.weight.unwrap_or(1.0),
                origin: Origin::Config,
                mentions: derived.map(|d| d.mentions).unwrap_or(0),
            },
        );
    }
    for ev in events {
        let id = fold(&ev.name).trim().replace(' ', "_");
        match wl
            .events
            .iter_mut()
            .find(|e| e.id == id || fold(&e.name) == fold(&ev.name))
        {
            Some(e) => {
                e.triggers.extend(ev.triggers.iter().cloned());
                e.origin = Origin::Config;
            }
            None => wl.events.push(WatchEvent {
                id,
                name: ev.name.clone(),
                triggers: ev.triggers.clone(),
                origin: Origin::Config,
                mentions: 0,
            }),
        }
    }
    wl.exclude.extend(exclude.iter().cloned());
    wl
}

/// The watchlist as `story show` prints it.
pub fn render(wl: &Watchlist) -> String {
    let mut out = String::from("entities:\n");
    let width = wl
        .entities
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(4);
    for e in &wl.entities {
        out.push_str(&format!(
            "  {:width$}  {:<12} weight {:.2}  {:<8} aliases: {}\n",
            e.name,
            e.kind.as_str(),
            e.weight,
            e.origin.as_str(),
            if e.aliases.is_empty() {
                "-".to_string()
            } else {
                e.aliases.join(", ")
            }
        ));
    }
    out.push_str("events:\n");
    for e in &wl.events {
        let shown: Vec<&str> = e.triggers.iter().take(12).map(String::as_str).collect();
        out.push_str(&format!(
            "  {:<24} {:<8} triggers: {}{}\n",
            e.name,
            e.origin.as_str(),
            shown.join(", "),
            if e.triggers.len() > shown.len() {
                format!(", … ({} in all)", e.triggers.len())
            } else {
                String::new()
            }
        ));
    }
    let (concepts, words): (Vec<&WatchTerm>, Vec<&WatchTerm>) =
        wl.terms.iter().partition(|t| t.stem.starts_with('~'));
    let list = |ts: &[&WatchTerm]| {
        ts.iter()
            .map(|t| t.word.trim_start_matches('~'))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !words.is_empty() {
        out.push_str(&format!("terms: {}\n", list(&words)));
    }
    if !concepts.is_empty() {
        out.push_str(&format!("concepts: {}\n", list(&concepts)));
    }
    if !wl.exclude.is_empty() {
        out.push_str(&format!("exclude: {}\n", wl.exclude.join(", ")));
    }
    out
}

/// Index of entities by folded name and alias, for merging emerged names.
pub fn index(wl: &Watchlist) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (i, e) in wl.entities.iter().enumerate() {
        m.insert(fold(&e.name).trim().to_string(), i);
        for a in &e.aliases {
            m.entry(fold(a).trim().to_string()).or_insert(i);
        }
    }
    m
}

#[cfg(test)]
mod tests;
