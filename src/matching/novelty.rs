//! What a follow-up adds to what its story already said: names that were not
//! in the reference articles or the alerts before it, words the story had
//! not used, figures (amounts, counts, dates) it had not given, and the one
//! or two sentences that carry most of them.
//!
//! Everything is compared in folded form, so it works in the languages the
//! matcher reads; which words scale a number or make it money is data
//! (`data/magnitudes.txt`, `data/currencies.txt`).

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::entities::mentions_in;
use super::gazetteer;
use super::terms::{stem, stopwords};
use super::text::{clip, fold, sentences};

/// Items of each kind an alert shows at most.
const MAX_SHOWN: usize = 6;
/// Sentences quoted at most.
const MAX_SENTENCES: usize = 2;

/// What an item adds to its story; empty when it only repeats it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Novelty {
    /// People, places and organisations the story had not named.
    pub names: Vec<String>,
    /// Words the story had not used, as the item writes them.
    pub terms: Vec<String>,
    /// Amounts, counts and dates the story had not given.
    pub figures: Vec<String>,
    /// The sentences that carry the most of the above, in the item's order.
    pub sentences: Vec<String>,
}

impl Novelty {
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.terms.is_empty() && self.figures.is_empty()
    }

    /// One line for people: "new: Karelina; 12 years; swap" or that nothing is.
    pub fn line(&self) -> String {
        if self.is_empty() {
            return "nothing new: it repeats what the story already said".into();
        }
        let parts: Vec<String> = [&self.names, &self.figures, &self.terms]
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| l.join(", "))
            .collect();
        format!("new: {}", parts.join("; "))
    }
}

/// What the story already said: its reference articles and the items of
/// the alerts raised for it.
#[derive(Debug, Default)]
pub struct Known {
    words: FxHashSet<String>,
    stems: FxHashSet<String>,
    figures: FxHashSet<String>,
}

impl Known {
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Known {
        let mut known = Known::default();
        for t in texts {
            known.add(t);
        }
        known
    }

    pub fn add(&mut self, text: &str) {
        self.absorb(text, &read("", text));
    }

    /// What `title` and `text` add to what is known, which then includes
    /// them: one reading of the item for both.
    pub fn learn(&mut self, title: &str, text: &str) -> Novelty {
        let reading = read(title, text);
        let n = novelty_in(&reading, title, text, self);
        self.absorb(title, &reading);
        self.absorb(text, &reading);
        n
    }

    fn absorb(&mut self, text: &str, reading: &Reading) {
        for w in folded_words(text) {
            self.stems.insert(stem(&w).to_string());
            self.words.insert(w);
        }
        // Names under the gazetteer's spelling ("US" is "United States").
        for m in &reading.mentions {
            self.words.extend(folded_words(&m.name));
        }
        self.figures
            .extend(reading.figures.iter().map(|f| f.key.clone()));
    }
}

/// A text read once: its title and sentences (without page furniture), the
/// names in them and their figures.
struct Reading {
    mentions: Vec<super::entities::Mention>,
    figures: Vec<Figure>,
}

fn read(title: &str, text: &str) -> Reading {
    let lines: Vec<&str> = std::iter::once(title)
        .chain(sentences(text).into_iter().filter(|s| !is_furniture(s)))
        .collect();
    Reading {
        mentions: mentions_in(&lines),
        figures: lines.iter().flat_map(|l| figures_in(l)).collect(),
    }
}

/// What `title` and `text` add to `known`.
pub fn novelty(title: &str, text: &str, known: &Known) -> Novelty {
    novelty_in(&read(title, text), title, text, known)
}

fn novelty_in(reading: &Reading, title: &str, text: &str, known: &Known) -> Novelty {
    let names = new_names(&reading.mentions, known);
    let figures: Vec<&Figure> = reading
        .figures
        .iter()
        .filter(|f| !known.figures.contains(&f.key))
        .collect();
    let terms = new_terms(title, text, known, &names);
    let mut shown_figures: Vec<String> = Vec::new();
    for f in &figures {
        if !shown_figures.contains(&f.text) && shown_figures.len() < MAX_SHOWN {
            shown_figures.push(f.text.clone());
        }
    }
    let sentences = carrying_sentences(text, &names, &shown_figures, &terms);
    Novelty {
        names,
        terms,
        figures: shown_figures,
        sentences,
    }
}

/// A line of page furniture inside an item's text: a byline or a
/// "Updated: … | Created: …" stamp, whose parts are set off by pipes.
fn is_furniture(sentence: &str) -> bool {
    sentence.contains(" | ")
}

/// The folded words of a text, without the matcher's marks on acronyms.
fn folded_words(text: &str) -> impl Iterator<Item = String> + '_ {
    fold(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_start_matches('_').to_string())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Names in the item that the story never used: a name is known when every
/// word of it is (so "Witkoff" after "Steve Witkoff", and the reverse).
fn new_names(mentions: &[super::entities::Mention], known: &Known) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = FxHashSet::default();
    for m in mentions {
        let words: Vec<String> = folded_words(&m.name)
            .filter(|w| w.chars().count() > 2)
            .collect();
        if words.is_empty() || words.iter().all(|w| known.words.contains(w)) {
            continue;
        }
        if seen.insert(words.join(" ")) && out.len() < MAX_SHOWN {
            out.push(m.name.clone());
        }
    }
    out
}

/// Lower-case words of four letters or more whose stem the story never
/// used, named at least twice in the item (title and text together), most
/// frequent first.
fn new_terms(title: &str, text: &str, known: &Known, names: &[String]) -> Vec<String> {
    let stop = stopwords();
    let in_names: FxHashSet<String> = names.iter().flat_map(|n| folded_words(n)).collect();
    let mut counts: FxHashMap<String, (u32, usize, String)> = FxHashMap::default();
    for (in_title, part) in [(true, title), (false, text)] {
        for (i, raw) in part.split_whitespace().enumerate() {
            let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
            let lower = word.chars().next().is_some_and(char::is_lowercase);
            if !lower || word.chars().count() < 4 || !word.chars().all(char::is_alphabetic) {
                continue;
            }
            let Some(f) = folded_words(word).next() else {
                continue;
            };
            let s = stem(&f).to_string();
            if stop.contains(&f) || known.stems.contains(&s) || in_names.contains(&f) {
                continue;
            }
            let order = if in_title { i } else { 10_000 + i };
            let e = counts
                .entry(s)
                .or_insert_with(|| (0, order, word.to_lowercase()));
            e.0 += 1;
        }
    }
    let mut ranked: Vec<(u32, usize, String)> =
        counts.into_values().filter(|(n, _, _)| *n >= 2).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked
        .into_iter()
        .take(MAX_SHOWN)
        .map(|(_, _, w)| w)
        .collect()
}

/// The sentences with the most of what is new, at most two, in text order.
fn carrying_sentences(
    text: &str,
    names: &[String],
    figures: &[String],
    terms: &[String],
) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &str)> = sentences(text)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !is_furniture(s))
        .map(|(i, s)| {
            let has = |x: &String| s.contains(x.as_str());
            let lower = s.to_lowercase();
            let score = 2 * names.iter().filter(|n| has(n)).count()
                + 2 * figures.iter().filter(|f| has(f)).count()
                + terms.iter().filter(|t| lower.contains(t.as_str())).count();
            (score, i, s)
        })
        .filter(|(score, _, _)| *score > 0)
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(MAX_SENTENCES);
    scored.sort_by_key(|(_, i, _)| *i);
    scored
        .into_iter()
        .map(|(_, _, s)| clip(s.trim(), 280))
        .collect()
}

/// Folded function words: a count's noun is any other lower-case word.
fn function_words() -> &'static FxHashSet<String> {
    static SET: std::sync::OnceLock<FxHashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        gazetteer::function_words()
            .iter()
            .flat_map(|w| folded_words(w))
            .collect()
    })
}

/// A figure as written ("€21bn", "12 years", "14 March") and the key it is
/// compared by (folded, without spaces or thousands separators).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Figure {
    text: String,
    key: String,
}

fn is_currency(word: &str) -> bool {
    let f = folded_words(word).next().unwrap_or_default();
    gazetteer::currencies()
        .iter()
        .any(|c| *c == word || (!f.is_empty() && *c == f))
}

/// A magnitude of one or two words starting at `words[0]`: how many it takes.
fn magnitude_len(words: &[&str]) -> usize {
    let fold1 = |w: &str| folded_words(w).collect::<Vec<_>>().join(" ");
    let one = words.first().map(|w| fold1(w)).unwrap_or_default();
    let two = words
        .get(..2)
        .map(|w| fold1(&w.join(" ")))
        .unwrap_or_default();
    let list = gazetteer::magnitudes();
    if !two.is_empty() && list.contains(&two.as_str()) {
        2
    } else if !one.is_empty() && list.contains(&one.as_str()) {
        1
    } else {
        0
    }
}

/// A number as news write it: digits with `.`/`,` separators, maybe a
/// leading currency sign and a magnitude or `%` stuck to it ("€21bn",
/// "18.2bn", "2,500", "40%"). Words with digits inside ("G7", "F-16") are not.
fn number_token(token: &str) -> Option<&str> {
    let t = token.trim_matches(|c: char| {
        matches!(
            c,
            '(' | ')'
                | '"'
                | '\''
                | '«'
                | '»'
                | '“'
                | '”'
                | '‘'
                | '’'
                | ','
                | ';'
                | ':'
                | '.'
                | '!'
                | '?'
        )
    });
    let body = t.trim_start_matches(|c: char| !c.is_alphanumeric() && is_currency(&c.to_string()));
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(body.len());
    let (num, rest) = body.split_at(digits_end);
    if !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_end_matches('%');
    if rest.is_empty() || magnitude_len(&[rest]) == 1 {
        Some(t)
    } else {
        None
    }
}

/// The figures of one sentence or title.
fn figures_in(line: &str) -> Vec<Figure> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let stop = function_words();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let Some(num) = number_token(words[i]) else {
            i += 1;
            continue;
        };
        let mut start = i;
        let mut end = i + 1;
        if i > 0 && is_currency(words[i - 1].trim_matches(|c: char| c == '(' || c == '"')) {
            start = i - 1;
        }
        end += magnitude_len(&words[end..]);
        let bare = num
            .trim_end_matches('%')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
        let next = words
            .get(end)
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()));
        let prev =
            (start > 0).then(|| words[start - 1].trim_matches(|c: char| !c.is_alphanumeric()));
        let day = num.parse::<u32>().ok().filter(|d| (1..=31).contains(d));
        let month = |w: Option<&str>| {
            w.and_then(|w| folded_words(w).next()).is_some_and(|f| {
                f.chars().count() <= 9 && crate::feeds::dates::month_from_word(&f).is_some()
            })
        };
        // A currency after it ("500 euros"), or a month ("14 March").
        if next.is_some_and(is_currency) || (day.is_some() && month(next)) {
            end += 1;
        } else if day.is_some() && month(prev) && start == i {
            start -= 1;
        } else if bare && !num.ends_with('%') && end == i + 1 && start == i {
            // A count: the noun it counts ("12 years", "50 nations"); a bare
            // number is a figure only as a year ("in 2014").
            let year =
                num.len() == 4 && num.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y));
            let noun = next.filter(|n| {
                let f = folded_words(n).next().unwrap_or_default();
                !year
                    && n.chars().count() > 2
                    && n.chars().next().is_some_and(char::is_lowercase)
                    && n.chars().all(char::is_alphabetic)
                    && !stop.contains(&f)
            });
            if noun.is_some() {
                end += 1;
            } else if !year {
                i += 1;
                continue;
            }
        }
        let text = words[start..end]
            .join(" ")
            .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '.' | '(' | ')' | '"'))
            .to_string();
        let key: String =
            folded_words(&text)
                .collect::<String>()
                .chars()
                .chain(text.chars().filter(|c| {
                    !c.is_alphanumeric() && !c.is_whitespace() && !matches!(c, ',' | '.')
                }))
                .filter(|c| *c != ',')
                .collect();
        out.push(Figure { text, key });
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests;
