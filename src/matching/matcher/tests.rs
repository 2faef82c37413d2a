//! Matching real-shaped items against a story: names, inflections, scripts, languages, vetoes.

use super::*;
use crate::matching::terms::{UniformCorpus, PRIOR_DOCS, PRIOR_RATE};
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
