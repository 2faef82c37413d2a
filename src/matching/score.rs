//! The follow-up score: a pure function of what the matcher found.
//!
//! ```text
//! evidence  E = Σ w_e · spec_e · (1.5 if in the title else 1)   over distinct story entities
//!               + min(0.7, the same over emerged names)
//!           spec_e = idf of the name's rarest word / ln 200, at most 1 (while the
//!                    store holds fewer than 50 items: 0.8 for a person, 0.6 for an
//!                    organisation or a place, 0.3 for a country, 0.5 otherwise)
//! rarest    m = max spec_e over the story's own entities
//! lexical   s = (bm25(item, ref) / bm25(ref, ref) − chance) / (1 − chance)
//!           chance = that ratio for a random stored item (the reference's terms at
//!                    their document frequencies)
//! focus     f = story-entity mentions / all proper-noun mentions in the item
//! time      t = ln(1 + days between item and reference / 7), 0 when either date is unknown
//! events    v = min(1, distinct config events / 2)
//! lone      l = 1 when exactly one of the story's own entities is found, else 0
//! rejected  r = max(0, similarity to the closest item a user marked irrelevant − raw similarity)
//! z         = 1.0·ln(1 + E) + 4.5·m + 7.0·√s + 4.5·f + 1.0·v − 0.6·t − 1.5·l − 7.0·√r − 9.0
//! score     = 1 / (1 + e^(−z/2))                  (0.5 where z = 0: the default threshold;
//!                                                  halving z keeps strong matches apart below 1)
//!           = 0 when an exclude term occurs, or when no entity of the story's own is found
//! ```
//! The form is a logistic model over evidence a reader would weigh: how
//! rare the shared names are (a county named in fifty stories says little,
//! a victim's name much), how much of the reference's specific wording the
//! item shares beyond what any item of the same stream shares, and how much
//! of the item is about the story's names at all. Its coefficients were
//! fitted once on the development corpora of many stories (shootings,
//! ECB+ event pairs, the first story's thread) with each corpus weighted
//! alike, then rounded; the intercept puts one threshold, 0.5, where the
//! mean F1 over the corpora was best. Nothing in it is any story's.
//!
//! Names that emerged from follow-ups add to E only, a bounded amount: the
//! gate, the rarest-name term and the focus count the story's own (article
//! or config) names, so the story cannot drift by learning from its own matches.

use serde::{Deserialize, Serialize};

use super::entities::Kind;

/// The most that emerged names add to E, together: about two of them.
pub const EMERGED_CAP: f64 = 0.7;

/// Below this many stored items the corpus says nothing about how rare a
/// name is, and every name counts as specific.
pub const MIN_CORPUS: u64 = 50;

/// A name in at most one item in this many is fully specific: ln 200.
const SPECIFIC_IDF: f64 = 5.3;

/// The logistic model's coefficients (see the module doc).
const W_EVIDENCE: f64 = 1.0;
const W_RAREST: f64 = 4.5;
const W_SIMILARITY: f64 = 7.0;
const W_FOCUS: f64 = 4.5;
const W_EVENTS: f64 = 1.0;
const W_TIME: f64 = 0.6;
const W_LONE: f64 = 1.5;
const INTERCEPT: f64 = -9.0;

/// How specific a name of this kind is before the corpus can say: a
/// person's name usually is, a country's rarely.
pub fn prior_specificity(kind: Kind, is_country: bool) -> f64 {
    match kind {
        Kind::Person => 0.8,
        Kind::Organisation => 0.6,
        Kind::Place if is_country => 0.3,
        Kind::Place => 0.6,
        Kind::Other => 0.5,
    }
}

/// One story entity found in an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// How central it is to the story (watchlist weight).
    pub weight: f64,
    /// The idf of its rarest word in the corpus, if counted.
    pub idf: Option<f64>,
    /// Its specificity while the corpus cannot tell (see [`prior_specificity`]).
    pub prior: f64,
    pub in_title: bool,
    pub count: u32,
    pub kind: Kind,
}

impl Found {
    /// How much finding it says about the item being this story's, 0..=1:
    /// a county in 50 stories says little, a victim's name much.
    pub fn specificity(&self, n_docs: u64) -> f64 {
        match self.idf {
            Some(idf) if n_docs >= MIN_CORPUS => {
                let top = SPECIFIC_IDF.min(((n_docs + 1) as f64).ln());
                (idf / top).clamp(0.0, 1.0)
            }
            _ => self.prior,
        }
    }

    fn evidence(&self, n_docs: u64) -> f64 {
        self.weight * self.specificity(n_docs) * if self.in_title { 1.5 } else { 1.0 }
    }
}

/// What the matcher measured on one item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Distinct story entities found, of those from the article or the config.
    pub entities: Vec<Found>,
    /// The same for names that emerged from follow-ups. They add a bounded
    /// amount and carry nothing alone, so that names learned from matches
    /// cannot pull in items about something else.
    pub emerged: Vec<Found>,
    /// Distinct config events found.
    pub event_types: usize,
    /// Sentences with a story entity and an event, or with two story entities.
    pub cooccurring_sentences: usize,
    /// Sentences with a story entity and an event (the strong kind).
    pub entity_event_sentences: usize,
    /// BM25 of the item against the reference, divided by the reference's own.
    pub similarity: f64,
    /// The similarity a random item of the corpus has by chance.
    pub background: f64,
    /// The highest similarity to an item a user judged not to be this story.
    pub rejected_similarity: f64,
    pub story_mentions: usize,
    pub all_mentions: usize,
    /// Items in the corpus the idfs come from.
    pub n_docs: u64,
    /// Days between the item's and the reference's publication, if both are known.
    pub days_apart: Option<f64>,
    pub excluded: bool,
}

/// Each component, kept for the explanation: what each signal added to
/// the logistic model's z, and the resulting score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// 1.0 · ln(1 + E): the specific names shared.
    pub entities: f64,
    /// 4.5 · the specificity of the rarest shared name.
    #[serde(default)]
    pub specificity: f64,
    /// 1.0 · the config events found (0..1).
    pub events: f64,
    /// Sentences with a story name and an event or two story names (not scored).
    pub cooccurrence: f64,
    /// The chance-corrected similarity to the reference, 0..1 (before its weight).
    pub similarity: f64,
    /// Story-name mentions over all name mentions, 0..1 (before its weight).
    pub focus: f64,
    /// −0.6 · ln(1 + days apart / 7); 0 when a date is unknown.
    #[serde(default)]
    pub time: f64,
    /// −7.0 · √(how much more the item is like a rejected item than like
    /// the reference); 0 without feedback.
    #[serde(default)]
    pub rejected: f64,
    /// 0 when excluded or when no story name of its own is found, else 1.
    pub gate: f64,
    pub score: f64,
}

pub fn score(s: &Signals) -> Components {
    let n = s.n_docs;
    let own: f64 = s.entities.iter().map(|f| f.evidence(n)).sum();
    let emerged: f64 = s.emerged.iter().map(|f| f.evidence(n)).sum();
    let e_sum = own + emerged.min(EMERGED_CAP);
    let rarest = s
        .entities
        .iter()
        .map(|f| f.specificity(n))
        .fold(0.0, f64::max);
    let similarity = if s.background < 1.0 {
        ((s.similarity - s.background) / (1.0 - s.background)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let focus = if s.all_mentions == 0 {
        0.0
    } else {
        s.story_mentions as f64 / s.all_mentions as f64
    };
    let events = (s.event_types as f64 / 2.0).min(1.0);
    let time = s
        .days_apart
        .map_or(0.0, |d| -W_TIME * (1.0 + d.max(0.0) / 7.0).ln());
    // An item more like what the user rejected than like the reference
    // loses what similarity would have given it, and more.
    let rejected = -W_SIMILARITY * (s.rejected_similarity - s.similarity).max(0.0).sqrt();
    let entities = W_EVIDENCE * (1.0 + e_sum).ln();
    let specificity = W_RAREST * rarest;
    let z = entities
        + specificity
        + W_SIMILARITY * similarity.sqrt()
        + W_FOCUS * focus
        + W_EVENTS * events
        + time
        + rejected
        - if s.entities.len() == 1 { W_LONE } else { 0.0 }
        + INTERCEPT;
    let gate = if s.excluded || s.entities.is_empty() {
        0.0
    } else {
        1.0
    };
    let score = gate / (1.0 + (-z / 2.0).exp());
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    Components {
        entities: r(entities),
        specificity: r(specificity),
        events: r(W_EVENTS * events),
        cooccurrence: r((s.cooccurring_sentences as f64 / 2.0).min(1.0)),
        similarity: r(similarity),
        focus: r(focus),
        time: r(time),
        rejected: r(rejected),
        gate,
        score: r(score),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(weight: f64, idf: f64, in_title: bool, kind: Kind) -> Found {
        Found {
            weight,
            idf: Some(idf),
            prior: prior_specificity(kind, false),
            in_title,
            count: 1,
            kind,
        }
    }

    /// An item in a store of 5,000, sharing `entities` and `similarity`.
    fn sig(entities: Vec<Found>, similarity: f64, story: usize, all: usize) -> Signals {
        Signals {
            entities,
            similarity,
            background: 0.03,
            story_mentions: story,
            all_mentions: all,
            n_docs: 5_000,
            ..Signals::default()
        }
    }

    #[test]
    fn a_follow_up_naming_rare_names_and_sharing_wording_matches() {
        let c = score(&sig(
            vec![
                found(1.0, 7.0, true, Kind::Person),
                found(0.8, 6.0, false, Kind::Person),
                found(0.6, 3.0, false, Kind::Place),
            ],
            0.35,
            8,
            10,
        ));
        assert!(c.score > 0.9, "{c:?}");
    }

    #[test]
    fn a_common_place_and_the_same_kind_of_news_do_not() {
        // The county and the usual words of a shooting report, nothing of
        // this one: the kind of item every story of a stream of shootings meets.
        let c = score(&sig(vec![found(0.75, 2.0, false, Kind::Place)], 0.08, 2, 6));
        assert!(c.score < 0.1, "{c:?}");
    }

    #[test]
    fn rarer_names_weigh_more() {
        let common = score(&sig(vec![found(1.0, 1.5, false, Kind::Person)], 0.2, 3, 5));
        let rare = score(&sig(vec![found(1.0, 6.5, false, Kind::Person)], 0.2, 3, 5));
        assert!(rare.score > common.score, "{common:?} {rare:?}");
        assert!(rare.specificity > common.specificity);
    }

    #[test]
    fn before_the_store_knows_anything_names_are_as_specific_as_their_kind() {
        let f = found(1.0, 0.1, false, Kind::Person);
        assert_eq!(f.specificity(MIN_CORPUS - 1), 0.8);
        assert!(f.specificity(MIN_CORPUS) < 0.1);
        let unknown = Found { idf: None, ..f };
        assert_eq!(unknown.specificity(10_000), 0.8);
        assert!(prior_specificity(Kind::Place, true) < prior_specificity(Kind::Place, false));
    }

    #[test]
    fn what_any_item_shares_by_chance_counts_for_nothing() {
        let mut s = sig(vec![found(1.0, 6.0, false, Kind::Person)], 0.05, 2, 4);
        s.background = 0.05;
        assert_eq!(score(&s).similarity, 0.0);
        s.similarity = 0.525;
        assert!((score(&s).similarity - 0.5).abs() < 1e-9);
    }

    #[test]
    fn time_apart_lowers_the_score_and_unknown_time_is_neutral() {
        let base = sig(vec![found(1.0, 6.0, true, Kind::Person)], 0.3, 4, 5);
        let none = score(&base);
        let near = score(&Signals {
            days_apart: Some(1.0),
            ..base.clone()
        });
        let far = score(&Signals {
            days_apart: Some(400.0),
            ..base.clone()
        });
        assert_eq!(none.time, 0.0);
        assert!(near.score > far.score, "{near:?} {far:?}");
        assert!(none.score >= near.score);
    }

    #[test]
    fn names_that_emerged_from_follow_ups_never_carry_a_match() {
        let mut s = sig(Vec::new(), 0.4, 6, 6);
        s.emerged = vec![found(0.35, 7.0, true, Kind::Person); 3];
        assert_eq!(score(&s).gate, 0.0);
        assert_eq!(score(&s).score, 0.0);
        // However many learned names, they add at most EMERGED_CAP.
        s.entities = vec![found(1.0, 6.0, false, Kind::Person)];
        let few = score(&Signals {
            emerged: vec![found(0.35, 7.0, false, Kind::Person); 2],
            ..s.clone()
        });
        let many = score(&Signals {
            emerged: vec![found(0.35, 7.0, false, Kind::Person); 12],
            ..s.clone()
        });
        assert_eq!(few.entities, many.entities);
    }

    #[test]
    fn an_item_like_a_rejected_one_scores_lower() {
        let base = sig(vec![found(1.0, 6.0, true, Kind::Person); 2], 0.3, 4, 5);
        let kept = score(&base);
        let like_rejected = score(&Signals {
            rejected_similarity: 0.8,
            ..base.clone()
        });
        let less_like = score(&Signals {
            rejected_similarity: 0.2,
            ..base.clone()
        });
        assert!(
            like_rejected.score < 0.5 && kept.score > 0.5,
            "{kept:?} {like_rejected:?}"
        );
        assert_eq!(less_like.score, kept.score);
    }

    #[test]
    fn exclusion_vetoes() {
        let mut s = sig(vec![found(1.0, 7.0, true, Kind::Person)], 0.5, 5, 5);
        s.excluded = true;
        assert_eq!(score(&s).score, 0.0);
    }

    #[test]
    fn score_is_monotone_in_each_signal() {
        let base = sig(
            vec![
                found(0.8, 4.0, false, Kind::Person),
                found(0.5, 3.0, false, Kind::Place),
            ],
            0.1,
            3,
            6,
        );
        let b = score(&base).score;
        let more = |f: &dyn Fn(&mut Signals)| {
            let mut s = base.clone();
            f(&mut s);
            score(&s).score
        };
        assert!(more(&|s| s.entities[0].in_title = true) >= b);
        assert!(more(&|s| s.entities[0].idf = Some(6.0)) >= b);
        assert!(more(&|s| s.similarity = 0.3) >= b);
        assert!(more(&|s| s.story_mentions = 5) >= b);
        assert!(more(&|s| s.event_types = 2) >= b);
        assert!(more(&|s| s.entities.push(found(0.4, 5.0, false, Kind::Organisation))) >= b);
    }
}
