//! Rewrites of one report that share too little wording for shingles: the
//! same people, the same event, the same day. Only matched items are
//! compared, and only with other matched items of the same story, so the
//! rule sees a handful of candidates however large the store grows.
//!
//! People the story itself is about (its reference article and config) say
//! nothing here: every follow-up names them. Two reports are one only when
//! they share at least [`MIN_SHARED_PEOPLE`] people *beyond* the story's own
//! cast, at least one event type or concept of the story, and were published
//! within [`SAME_DAY`].

use std::collections::BTreeSet;

use crate::matching::entities::Kind;
use crate::matching::text::fold;
use crate::matching::watchlist::{Origin, Watchlist};
use crate::matching::Explanation;

/// Two reports more than this apart are separate news.
pub const SAME_DAY: i64 = 36 * 3600;
/// Shared people beyond the story's own (one shared name is a coincidence
/// of the beat; two are the same report).
pub const MIN_SHARED_PEOPLE: usize = 2;

/// What the rule compares of one matched item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub published: i64,
    /// Folded surnames of the people named beside the story's own.
    pub people: BTreeSet<String>,
    /// The config events and the concepts it shares with the story.
    pub events: BTreeSet<String>,
}

/// Folded surnames of the story's own people (reference article and
/// config): every follow-up names them, so they say nothing here.
pub fn cast(story: &Watchlist) -> BTreeSet<String> {
    story
        .entities
        .iter()
        .filter(|e| e.kind == Kind::Person && e.origin != Origin::Emerged)
        .flat_map(|e| std::iter::once(&e.name).chain(e.aliases.iter()))
        .map(|n| surname(n))
        .collect()
}

impl Report {
    /// `cast` is [`cast`] of the story the explanation is for.
    pub fn of(ex: &Explanation, cast: &BTreeSet<String>, published: i64) -> Report {
        let mut people = people(ex);
        people.retain(|s| !cast.contains(s));
        Report {
            published,
            people,
            events: ex
                .events
                .iter()
                .map(|e| e.name.clone())
                .chain(ex.concepts.iter().map(|c| format!("~{c}")))
                .collect(),
        }
    }

    /// True when `self` and `other` are one report told twice.
    pub fn same_as(&self, other: &Report) -> bool {
        (self.published - other.published).abs() <= SAME_DAY
            && self.people.intersection(&other.people).count() >= MIN_SHARED_PEOPLE
            && self.events.intersection(&other.events).next().is_some()
    }
}

/// Folded surnames of every person an explanation names, the story's own
/// included (the store indexes these; [`Report::of`] leaves the cast out).
pub fn people(ex: &Explanation) -> BTreeSet<String> {
    ex.entities
        .iter()
        .filter(|e| e.kind == Kind::Person)
        .map(|e| e.name.as_str())
        .chain(
            ex.unknown_names
                .iter()
                .filter(|(_, k)| *k == Kind::Person)
                .map(|(n, _)| n.as_str()),
        )
        .map(surname)
        .filter(|s| s.chars().count() > 2)
        .collect()
}

/// Whether a matched item could ever be found the same report as another:
/// it needs two people and an event or concept.
pub fn comparable(ex: &Explanation, people: &BTreeSet<String>) -> bool {
    people.len() >= MIN_SHARED_PEOPLE && !(ex.events.is_empty() && ex.concepts.is_empty())
}

/// The last word of a folded name: "Alexander Darchiev" and "Darchiev" meet.
fn surname(name: &str) -> String {
    fold(name)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(day: i64, people: &[&str], events: &[&str]) -> Report {
        Report {
            published: day,
            people: people.iter().map(|p| p.to_string()).collect(),
            events: events.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn same_people_event_and_day_is_one_report() {
        let a = report(0, &["darchiev", "coulter"], &["talks"]);
        let b = report(3600, &["coulter", "darchiev", "lavrov"], &["talks", "aid"]);
        assert!(a.same_as(&b) && b.same_as(&a));
    }

    #[test]
    fn another_day_event_or_cast_is_another_report() {
        let a = report(0, &["darchiev", "coulter"], &["talks"]);
        assert!(!a.same_as(&report(SAME_DAY + 1, &["darchiev", "coulter"], &["talks"])));
        assert!(!a.same_as(&report(0, &["darchiev", "coulter"], &["prisoner swap"])));
        assert!(!a.same_as(&report(0, &["darchiev", "rubio"], &["talks"])));
    }

    #[test]
    fn the_storys_own_people_do_not_count() {
        use crate::matching::matcher::EntityHit;
        use crate::matching::score::Components;
        use crate::matching::watchlist::WatchEntity;
        let wl = Watchlist {
            entities: vec![WatchEntity {
                name: "Steve Witkoff".into(),
                kind: Kind::Person,
                aliases: vec!["Witkoff".into()],
                weight: 1.0,
                origin: Origin::Article,
                mentions: 3,
            }],
            events: Vec::new(),
            terms: Vec::new(),
            exclude: Vec::new(),
        };
        let hit = |n: &str| EntityHit {
            name: n.into(),
            kind: Kind::Person,
            count: 1,
            in_title: false,
        };
        let ex = Explanation {
            score: 1.0,
            threshold: 0.5,
            components: Components::default(),
            entities: vec![hit("Steve Witkoff"), hit("Marc Fogel")],
            events: Vec::new(),
            snippets: Vec::new(),
            excluded_by: None,
            concepts: Vec::new(),
            unknown_names: vec![("Alexander Vinnik".into(), Kind::Person)],
        };
        let r = Report::of(&ex, &cast(&wl), 0);
        assert_eq!(
            r.people.into_iter().collect::<Vec<_>>(),
            vec!["fogel".to_string(), "vinnik".to_string()]
        );
    }
}
