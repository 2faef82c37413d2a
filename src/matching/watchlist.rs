//! A story's watchlist: the entities (with aliases and weights) and event
//! types it is about, derived from its reference article(s) and merged with
//! what the config says. Config entries are authoritative; entities that
//! emerge from matched follow-ups are added later with their own origin.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::entities::{known_names, mentions, Kind, Mention};
use super::gazetteer;
use super::lexicon;
use super::text::{fold, to_cyrillic};

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
    /// Word-stem patterns; see [`lexicon::EventType::triggers`].
    pub triggers: Vec<String>,
    pub origin: Origin,
    /// Hits in the reference articles.
    pub mentions: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watchlist {
    pub entities: Vec<WatchEntity>,
    pub events: Vec<WatchEvent>,
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
    gazetteer::COUNTRIES.iter().any(|(n, _, _)| *n == name)
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

    let folded: Vec<String> = articles.iter().map(|a| fold(a)).collect();
    let events = lexicon::EVENTS
        .iter()
        .filter_map(|ev| {
            let hits: u32 = folded.iter().map(|f| count_triggers(f, ev.triggers)).sum();
            (hits > 0).then(|| WatchEvent {
                id: ev.id.to_string(),
                name: ev.name.to_string(),
                triggers: ev.triggers.iter().map(|t| t.to_string()).collect(),
                origin: Origin::Article,
                mentions: hits,
            })
        })
        .collect();
    Watchlist {
        entities,
        events,
        exclude: Vec::new(),
    }
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

/// Aliases from the gazetteer (spellings, translations, Cyrillic), plus for
/// people their surname and a Cyrillic transliteration.
pub fn aliases_for(name: &str, kind: Kind) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let key = fold(name).trim().to_string();
    let canonical = known_names().get(&key).map(|k| k.name);
    let lists = gazetteer::KNOWN_PEOPLE
        .iter()
        .map(|(n, a)| (*n, *a))
        .chain(gazetteer::CITIES.iter().map(|(n, a)| (*n, *a)))
        .chain(gazetteer::ORGANISATIONS.iter().map(|(n, a)| (*n, *a)));
    for (n, aliases) in lists {
        if Some(n) == canonical || n == name {
            out.extend(aliases.iter().map(|a| a.to_string()));
        }
    }
    for (n, aliases, demonyms) in gazetteer::COUNTRIES {
        if Some(*n) == canonical || *n == name {
            out.extend(aliases.iter().chain(demonyms.iter()).map(|a| a.to_string()));
        }
    }
    if kind == Kind::Person {
        let parts: Vec<&str> = name.split_whitespace().collect();
        if parts.len() > 1 {
            let surname = parts[parts.len() - 1];
            if surname.chars().count() >= 4 {
                out.push(surname.to_string());
                if !out.iter().any(|a| a.chars().any(is_cyrillic)) {
                    out.push(to_cyrillic(surname));
                }
            }
        } else if name.chars().count() >= 4 && !out.iter().any(|a| a.chars().any(is_cyrillic)) {
            out.push(to_cyrillic(name));
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
/// the derived one of the same name (or alias), keeping derived aliases.
pub fn merge_config(
    mut wl: Watchlist,
    entities: &[ConfigEntity],
    events: &[ConfigEvent],
    exclude: &[String],
) -> Watchlist {
    for ce in entities {
        let key = fold(&ce.name);
        let names: Vec<String> = std::iter::once(key.clone())
            .chain(ce.aliases.iter().map(|a| fold(a)))
            .collect();
        let existing = wl.entities.iter().position(|e| {
            names.contains(&fold(&e.name)) || e.aliases.iter().any(|a| fold(a) == key)
        });
        let derived = existing.map(|i| wl.entities.remove(i));
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
