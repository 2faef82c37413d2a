//! Novelty on made-up and real items: what is new is named, a copy adds nothing.

use super::*;

const TALKS: &str = "Envoy meets Kremlin leader on ceasefire\n\
    US envoy Steve Witkoff met Russian President Vladimir Putin in St Petersburg on Friday to \
    discuss a ceasefire in Ukraine. Kremlin spokesman Dmitry Peskov said the talks were useful.";

#[test]
fn a_report_that_repeats_the_story_adds_nothing() {
    let known = Known::of([TALKS]);
    let n = novelty(
        "Witkoff and Putin discuss ceasefire",
        "Steve Witkoff met Vladimir Putin in St Petersburg on Friday to discuss a ceasefire in Ukraine, Peskov said.",
        &known,
    );
    assert!(n.is_empty(), "{n:?}");
    assert!(n.sentences.is_empty());
    assert!(n.line().starts_with("nothing new"), "{}", n.line());
}

#[test]
fn a_swap_after_the_talks_is_what_is_new() {
    let known = Known::of([TALKS]);
    let n = novelty(
        "Prisoner swap frees Ksenia Karelina",
        "Russia and the United States completed a prisoner swap on Thursday. Ksenia Karelina, \
         sentenced to 12 years, was exchanged for Arthur Petrov in Abu Dhabi. The swap was \
         brokered by the UAE, which also pledged $2.5bn in aid.",
        &known,
    );
    for name in ["Ksenia Karelina", "Arthur Petrov", "Abu Dhabi"] {
        assert!(
            n.names.iter().any(|x| x == name),
            "{name} not in {:?}",
            n.names
        );
    }
    assert!(n.terms.iter().any(|t| t == "swap"), "{:?}", n.terms);
    for figure in ["12 years", "$2.5bn"] {
        assert!(
            n.figures.iter().any(|f| f == figure),
            "{figure} not in {:?}",
            n.figures
        );
    }
    assert!(
        !n.figures.iter().any(|f| f.contains("Thursday")),
        "{:?}",
        n.figures
    );
    assert_eq!(n.sentences.len(), 2, "{:?}", n.sentences);
    assert!(
        n.sentences.iter().any(|s| s.starts_with("Ksenia Karelina")),
        "{:?}",
        n.sentences
    );
    // Once an alert said it, the next report of it adds nothing.
    let mut known = known;
    known.add("Ksenia Karelina, sentenced to 12 years, was exchanged for Arthur Petrov in Abu Dhabi in a prisoner swap. The UAE pledged $2.5bn.");
    let again = novelty(
        "Karelina swap: Petrov exchanged",
        "Arthur Petrov, exchanged for Ksenia Karelina in the prisoner swap, was sentenced to 12 years.",
        &known,
    );
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn figures_are_amounts_counts_and_dates_in_any_language() {
    let f = |s: &str| {
        figures_in(s)
            .into_iter()
            .map(|f| f.text)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        f("Allies agreed to €21bn (£18.2bn) in aid."),
        ["€21bn", "£18.2bn"]
    );
    assert_eq!(
        f("Die EU sagte 3,5 Milliarden Euro zu"),
        ["3,5 Milliarden Euro"]
    );
    assert_eq!(f("выделить 300 млн рублей"), ["300 млн рублей"]);
    assert_eq!(
        f("talks on 14 March and April 10"),
        ["14 March", "April 10"]
    );
    assert_eq!(f("50 nations met; 40% agreed"), ["50 nations", "40%"]);
    assert!(f("an F-16 and the G7 summit").is_empty());
    // The same figure written again is known.
    let known = Known::of(["a package of €21bn"]);
    assert!(novelty("", "The €21bn package grows.", &known)
        .figures
        .is_empty());
}

/// The labelled development items of ../shared/eval: a copy of a follow-up
/// adds nothing to the follow-up it copies; a report of another prisoner
/// exchange names the person freed.
#[test]
fn real_follow_ups_and_their_copies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let (Ok(reference), Ok(dev)) = (
        std::fs::read_to_string(root.join("story/reference-article.txt")),
        std::fs::read_to_string(root.join("eval/dev.jsonl")),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared is missing under CI"
        );
        eprintln!("skipping: ../shared/eval not found");
        return;
    };
    let items: FxHashMap<String, serde_json::Value> = dev
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| (v["id"].as_str().unwrap().to_string(), v))
        .collect();
    let text = |id: &str| {
        let v = &items[id];
        (
            v["title"].as_str().unwrap_or("").to_string(),
            v["text"].as_str().unwrap_or("").to_string(),
        )
    };
    // The reference itself, as an item: nothing new.
    let known = Known::of([reference.as_str()]);
    let (first, rest) = reference.split_once('\n').unwrap();
    let n = novelty(first, rest, &known);
    assert!(n.is_empty(), "{n:?}");

    // Copies of an alerted follow-up (syndicated, reworded) add nothing.
    for (original, copy) in [("n024", "n025"), ("n049", "n050")] {
        let (t, x) = text(original);
        let known = Known::of([reference.as_str(), &t, &x]);
        let (ct, cx) = text(copy);
        let n = novelty(&ct, &cx, &known);
        assert!(
            n.names.is_empty() && n.figures.is_empty(),
            "{copy} copies {original} but adds {n:?}"
        );
    }

    // Another prisoner exchange after the talks: who was freed is new.
    let (t, x) = text("n053");
    let n = novelty(&t, &x, &Known::of([reference.as_str()]));
    assert!(n.names.iter().any(|x| x.contains("Fogel")), "{n:?}");
    assert!(!n.sentences.is_empty(), "{n:?}");
    // A new pledge: its amount is new, the reference's are not.
    let (t, x) = text("n020");
    let n = novelty(&t, &x, &Known::of([reference.as_str()]));
    assert!(n.figures.iter().any(|f| f.contains("450m")), "{n:?}");
    assert!(!n.figures.iter().any(|f| f.contains("21bn")), "{n:?}");
}
