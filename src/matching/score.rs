//! The follow-up score: a pure function of what the matcher found.
//!
//! ```text
//! entities  E = Σ w_e · (1.5 if in the title else 1)      over distinct story entities
//!               + min(0.7, the same over emerged names)
//!           e = 1 − exp(−E / 1.5)                          (saturates: three central names ≈ 0.9)
//! events    v = min(1, distinct event types / 2)
//! together  c = min(1, sentences holding a story entity and an event, or two story entities / 2)
//! lexical   s = min(1, bm25(item, reference) / bm25(reference, reference) / 0.35)
//! base      b = 0.40·e + 0.20·v + 0.15·c + 0.25·s
//! focus     f = story-entity mentions / all proper-noun mentions in the item
//! score       = b · min(1, f / 0.5)                        (an item mostly about others is not this story)
//!             · 0.5  unless ≥ 2 distinct entities, or 1 entity with an event in the same sentence
//!             = 0    when an exclude term occurs, or when every entity found emerged from follow-ups
//! ```
//! Names that emerged from follow-ups add to E only, a bounded amount: the
//! gate, the sentence counts and the focus count the story's own (article or
//! config) names, so the story cannot drift by learning from its own matches.
//!
//! The constants are round numbers chosen from what the signals mean, not
//! fitted to any set of items.

use serde::{Deserialize, Serialize};

/// The most that emerged names add to E, together: about two of them.
pub const EMERGED_CAP: f64 = 0.7;

/// What the matcher measured on one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// (weight, in title) per distinct story entity found, of those from
    /// the article or the config.
    pub entities: Vec<(f64, bool)>,
    /// The same for names that emerged from follow-ups. They add a bounded
    /// amount and carry nothing alone, so that names learned from matches
    /// cannot pull in items about something else.
    pub emerged: Vec<(f64, bool)>,
    pub event_types: usize,
    /// Sentences with a story entity and an event, or with two story entities.
    pub cooccurring_sentences: usize,
    /// Sentences with a story entity and an event (the strong kind).
    pub entity_event_sentences: usize,
    /// BM25 of the item against the reference, divided by the reference's own.
    pub similarity: f64,
    pub story_mentions: usize,
    pub all_mentions: usize,
    pub excluded: bool,
}

/// Each component, kept for the explanation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Components {
    pub entities: f64,
    pub events: f64,
    pub cooccurrence: f64,
    pub similarity: f64,
    pub focus: f64,
    pub gate: f64,
    pub score: f64,
}

pub fn score(s: &Signals) -> Components {
    let weigh = |v: &[(f64, bool)]| -> f64 {
        v.iter()
            .map(|(w, title)| w * if *title { 1.5 } else { 1.0 })
            .sum()
    };
    let e_sum = weigh(&s.entities) + weigh(&s.emerged).min(EMERGED_CAP);
    let entities = 1.0 - (-e_sum / 1.5).exp();
    let events = (s.event_types as f64 / 2.0).min(1.0);
    let cooccurrence = (s.cooccurring_sentences as f64 / 2.0).min(1.0);
    let similarity = (s.similarity / 0.35).min(1.0);
    let base = 0.40 * entities + 0.20 * events + 0.15 * cooccurrence + 0.25 * similarity;
    let focus = if s.all_mentions == 0 {
        0.0
    } else {
        s.story_mentions as f64 / s.all_mentions as f64
    };
    let focus_factor = (focus / 0.5).min(1.0);
    let own = s.entities.len();
    let strong = own >= 2 || (own == 1 && s.entity_event_sentences > 0);
    let gate = if s.excluded || own == 0 {
        0.0
    } else if strong {
        1.0
    } else {
        0.5
    };
    let score = base * focus_factor * gate;
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    Components {
        entities: r(entities),
        events: r(events),
        cooccurrence: r(cooccurrence),
        similarity: r(similarity),
        focus: r(focus),
        gate,
        score: r(score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(
        entities: &[(f64, bool)],
        events: usize,
        cooc: usize,
        sim: f64,
        story: usize,
        all: usize,
    ) -> Signals {
        Signals {
            entities: entities.to_vec(),
            emerged: Vec::new(),
            event_types: events,
            cooccurring_sentences: cooc,
            entity_event_sentences: cooc,
            similarity: sim,
            story_mentions: story,
            all_mentions: all,
            excluded: false,
        }
    }

    #[test]
    fn a_clear_follow_up_scores_high() {
        let c = score(&sig(
            &[(1.0, true), (1.0, false), (0.7, false)],
            2,
            3,
            0.3,
            8,
            10,
        ));
        assert!(c.score > 0.8, "{c:?}");
    }

    #[test]
    fn shared_words_about_others_score_low() {
        // One story name and an event, in an item mostly about other places.
        let c = score(&sig(&[(1.0, false)], 1, 1, 0.05, 1, 8));
        assert!(c.score < 0.3, "{c:?}");
    }

    #[test]
    fn a_lone_name_is_gated() {
        let c = score(&sig(&[(1.0, true)], 0, 0, 0.1, 1, 1));
        assert_eq!(c.gate, 0.5);
        assert!(c.score < 0.5, "{c:?}");
    }

    #[test]
    fn names_that_emerged_from_follow_ups_never_carry_a_match() {
        // Three learned names and two events, none of the story's own names.
        let mut s = sig(&[], 2, 3, 0.1, 6, 6);
        s.emerged = vec![(0.35, true), (0.35, false), (0.35, false)];
        assert_eq!(score(&s).gate, 0.0);
        assert_eq!(score(&s).score, 0.0);
        // One own name beside them, without an event in its sentence: half.
        s.entity_event_sentences = 0;
        s.entities = vec![(1.0, false)];
        assert_eq!(score(&s).gate, 0.5);
        // However many learned names, they add at most EMERGED_CAP.
        let few = score(&Signals {
            emerged: vec![(0.35, false); 2],
            ..s.clone()
        });
        let many = score(&Signals {
            emerged: vec![(0.35, false); 12],
            ..s.clone()
        });
        assert_eq!(few.entities, many.entities);
    }

    #[test]
    fn exclusion_vetoes() {
        let mut s = sig(&[(1.0, true), (1.0, true)], 2, 2, 0.5, 5, 5);
        s.excluded = true;
        assert_eq!(score(&s).score, 0.0);
    }

    #[test]
    fn score_is_monotone_in_each_signal() {
        let base = sig(&[(0.8, false), (0.5, false)], 1, 1, 0.1, 3, 6);
        let b = score(&base).score;
        assert!(score(&sig(&[(0.8, true), (0.5, false)], 1, 1, 0.1, 3, 6)).score >= b);
        assert!(score(&sig(&[(0.8, false), (0.5, false)], 2, 1, 0.1, 3, 6)).score >= b);
        assert!(score(&sig(&[(0.8, false), (0.5, false)], 1, 2, 0.1, 3, 6)).score >= b);
        assert!(score(&sig(&[(0.8, false), (0.5, false)], 1, 1, 0.3, 3, 6)).score >= b);
        assert!(score(&sig(&[(0.8, false), (0.5, false)], 1, 1, 0.1, 5, 6)).score >= b);
    }
}
