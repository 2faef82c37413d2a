//! Finding and typing names in real text, across scripts and languages.

use super::*;

fn names(text: &str) -> Vec<(String, Kind)> {
    mentions(text)
        .into_iter()
        .map(|m| (m.name, m.kind))
        .collect()
}

#[test]
fn titles_split_from_names_and_possessives_fold() {
    let n = names(
        "US Special Envoy Steve Witkoff met with Russian President Vladimir Putin on Friday.",
    );
    assert!(n.contains(&("Steve Witkoff".into(), Kind::Person)), "{n:?}");
    assert!(
        n.contains(&("Vladimir Putin".into(), Kind::Person)),
        "{n:?}"
    );
    assert!(
        n.iter().any(|(n, k)| n == "Russia" && *k == Kind::Place),
        "{n:?}"
    );
    let n = names("A year on, Witkoff’s third meeting with Putin's aides.");
    assert!(
        n.iter()
            .any(|(n, _)| n == "Witkoff" || n == "Steve Witkoff"),
        "{n:?}"
    );
}

#[test]
fn an_organisation_after_the_cue_is_split_off() {
    let n = names("Глава МИД России Сергей Лавров провел переговоры.");
    assert!(
        n.iter()
            .any(|(n, k)| n == "Сергей Лавров" && *k == Kind::Person),
        "{n:?}"
    );
    assert!(
        n.contains(&("Russian Foreign Ministry".into(), Kind::Organisation)),
        "{n:?}"
    );
}

#[test]
fn head_words_type_names_and_page_furniture_is_no_name() {
    let n = names(
        "Deputies were called to Countryfield Drive in Anderson County on Saturday. \
         The Knox County Sheriff's Office said the victim was taken to Fort Sanders Hospital.",
    );
    for (name, kind) in [
        ("Countryfield Drive", Kind::Place),
        ("Anderson County", Kind::Place),
        ("Fort Sanders Hospital", Kind::Place),
    ] {
        assert!(n.contains(&(name.to_string(), kind)), "{name}: {n:?}");
    }
    assert!(n.iter().all(|(_, k)| *k != Kind::Person), "{n:?}");
    let n = names(
        "Updated 4:15 PM EDT. Buy Photo Police said the man fled. Published Saturday by staff.",
    );
    assert!(n.is_empty(), "{n:?}");
}

#[test]
fn a_name_of_a_place_is_two_names() {
    let n = names(
        "The quake was felt by Lucia Ferretti of Norcia and the National Institute of Geophysics.",
    );
    assert!(
        n.contains(&("Lucia Ferretti".into(), Kind::Person)),
        "{n:?}"
    );
    assert!(n.iter().any(|(n, _)| n == "Norcia"), "{n:?}");
    assert!(
        n.contains(&(
            "National Institute of Geophysics".into(),
            Kind::Organisation
        )),
        "{n:?}"
    );
}

#[test]
fn sentence_initial_common_words_are_not_names() {
    let n =
        names("However, the talks stalled. Despite this, Kremlin spokesman Dmitry Peskov spoke.");
    assert!(
        !n.iter().any(|(n, _)| n == "However" || n == "Despite"),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|(n, k)| n == "Dmitry Peskov" && *k == Kind::Person),
        "{n:?}"
    );
}
