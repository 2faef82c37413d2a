//! Deriving a watchlist from reference articles and merging the config over it.

use super::*;

const ARTICLE: &str = "Quake near Norcia\n\
    A magnitude 6.5 earthquake struck near Norcia on Sunday, said Lucia Ferretti of the \
    National Institute of Geophysics. Lucia Ferretti said aftershocks would follow. \
    Residents of Norcia slept outside.";

fn entity(name: &str, kind: Option<Kind>, weight: Option<f64>) -> ConfigEntity {
    ConfigEntity {
        name: name.into(),
        aliases: Vec::new(),
        kind,
        weight,
    }
}

#[test]
fn derived_names_are_typed_and_aliased_by_evidence() {
    let wl = derive(&[ARTICLE]);
    let get = |n: &str| wl.entities.iter().find(|e| e.name == n);
    let person = get("Lucia Ferretti").expect("the person");
    assert_eq!(person.kind, Kind::Person);
    assert!(
        person.aliases.contains(&"Ferretti".to_string()),
        "{person:?}"
    );
    let org = get("National Institute of Geophysics").expect("the institute");
    assert_eq!(org.kind, Kind::Organisation);
    assert!(org.aliases.is_empty(), "{org:?}");
    assert!(get("Norcia").is_some(), "{:?}", wl.entities);
    let words: Vec<&str> = wl.terms.iter().map(|t| t.word.as_str()).collect();
    assert!(words.contains(&"earthquake"), "{words:?}");
    assert!(
        wl.terms.iter().any(|t| t.stem == "~earthquake"),
        "{words:?}"
    );
}

#[test]
fn a_query_is_names_terms_and_exclusions() {
    let (names, terms, exclude) =
        parse_query("\"Lucia Ferretti\" Norcia earthquake aftershocks -drill Umbria County");
    let got: Vec<(&str, Option<Kind>)> = names.iter().map(|e| (e.name.as_str(), e.kind)).collect();
    assert_eq!(
        got,
        [
            ("Lucia Ferretti", Some(Kind::Person)),
            ("Norcia", None),
            ("Umbria County", Some(Kind::Place))
        ]
    );
    assert_eq!(terms, "earthquake aftershocks");
    assert_eq!(exclude, ["drill"]);
    assert!(parse_query("ceasefire talks").0.is_empty());
}

#[test]
fn names_in_other_scripts_get_latin_aliases_by_rule() {
    let a = aliases_for("Сергей Лавров", Kind::Person);
    assert!(a.contains(&"Sergey Lavrov".to_string()), "{a:?}");
    assert!(
        a.contains(&"Лавров".to_string()) && a.contains(&"Lavrov".to_string()),
        "{a:?}"
    );
    // Ukrainian rules where a letter only Ukrainian has says so.
    let a = aliases_for("Віталій Кличко", Kind::Person);
    assert!(a.contains(&"Vitaliy Klychko".to_string()), "{a:?}");
    let a = aliases_for("Κυριάκος Μητσοτάκης", Kind::Person);
    assert!(a.contains(&"Kyriakos Mitsotakis".to_string()), "{a:?}");
    // A Latin name gets its Cyrillic surname, and nothing for a place.
    assert!(aliases_for("Lucia Ferretti", Kind::Person).contains(&"Ферретти".to_string()));
    assert!(aliases_for("Anderson County", Kind::Place).is_empty());
}

#[test]
fn config_entries_merge_by_name_in_any_order_and_weight_zero_removes() {
    let wl = derive(&[ARTICLE]);
    let a = merge_config(
        wl.clone(),
        &[
            entity("Norcia", Some(Kind::Place), None),
            entity("Ferretti", Some(Kind::Person), None),
        ],
        &[],
        &[],
    );
    let b = merge_config(
        wl.clone(),
        &[
            entity("Ferretti", Some(Kind::Person), None),
            entity("Norcia", Some(Kind::Place), None),
        ],
        &[],
        &[],
    );
    let names = |w: &Watchlist| {
        let mut n: Vec<(String, Kind)> = w
            .entities
            .iter()
            .map(|e| (e.name.clone(), e.kind))
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&a), names(&b));
    // "Ferretti" is an alias of the derived person, not its name: both stay.
    assert!(a.entities.iter().any(|e| e.name == "Lucia Ferretti"));
    assert!(a
        .entities
        .iter()
        .any(|e| e.name == "Ferretti" && e.origin == Origin::Config));
    let norcia = a.entities.iter().find(|e| e.name == "Norcia").unwrap();
    assert_eq!((norcia.kind, norcia.origin), (Kind::Place, Origin::Config));

    let removed = merge_config(wl, &[entity("lucia ferretti", None, Some(0.0))], &[], &[]);
    assert!(!removed.entities.iter().any(|e| e.name == "Lucia Ferretti"));
}
