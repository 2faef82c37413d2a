//! Where the automaton's hits land: whole (or inflected) names, events with
//! all their words, exclude terms; and the quick questions asked before a
//! full match (is this name known, is the page worth fetching).

use rustc_hash::FxHashSet;

use super::{Hit, Matcher, Target};
use crate::matching::entities::Kind;
use crate::matching::scan::Scanner;
use crate::matching::terms::terms_of_folded;
use crate::matching::text::{fold, fold_into};
use crate::matching::watchlist::is_country;

/// Word endings that still name the entity: English and German possessive
/// and genitive, and Slavic case endings in Latin and Cyrillic script
/// ("Putins", "Путина", "Peskovem"). Only for names of four letters or more.
fn is_inflection(ending: &str) -> bool {
    static SET: std::sync::OnceLock<FxHashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        crate::matching::gazetteer::inflections()
            .iter()
            .map(|s| s.to_string())
            .collect()
    })
    .contains(ending)
}

impl Matcher {
    /// Whether a name (or its surname) is on the watchlist.
    pub fn knows(&self, name: &str) -> bool {
        self.known(name, &mut String::new()).is_some()
    }

    /// The watchlist entity a name (or its surname) stands for; `buf` holds
    /// the folded name (reused across an item's mentions).
    pub(super) fn known(&self, name: &str, buf: &mut String) -> Option<usize> {
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

    pub(super) fn scan(&self, folded: &str, mut on_hit: impl FnMut(usize, Hit)) {
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
}
