//! Folding, sentences and clipping over hostile and multilingual text.

use super::*;

#[test]
fn folding() {
    assert_eq!(fold("Putin's envoy"), " putin s envoy ");
    assert_eq!(
        fold("Selenskyj trifft Außenminister in Kyjiw"),
        " selenskyj trifft aussenminister in kyjiw "
    );
    assert_eq!(fold("cessez-le-feu à Genève"), " cessez le feu a geneve ");
    assert_eq!(fold("Пётр Песков: «перемирие»"), " петр песков перемирие ");
    assert_eq!(fold("St. Petersburg—U.S."), " st petersburg u s ");
    assert_eq!(fold("US envoy told us"), " _us envoy told us ");
    assert_eq!(fold("NATO and the EU"), " _nato and the _eu ");
    assert_eq!(fold("визит в США"), " визит в _сша ");
    assert_eq!(fold("Cafe\u{301}"), " cafe ");
    assert_eq!(fold(""), " ");
}

/// A xorshift step: the same pseudo-random texts on every run.
pub(crate) fn xorshift(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// The ASCII fast paths fold exactly as the general one.
#[test]
fn ascii_runs_fold_as_the_general_path() {
    let mut texts: Vec<String> = [
        "Putin's envoy, US-Russia talks (NATO/EU) in St. Petersburg—U.S. 2025: 21bn € aid!",
        "Selenskyj trifft Außenminister in Kyjiw; Пётр Песков: «перемирие» в США",
        "ABC DEFG HIJKL aB Ab 12 A1 1A ZZ\tzz\n\r~`^_[]{}|\\@",
        "Cafe\u{301} İstanbul ŞIŞLI ÆSIR ẞ café ÉTÉ x",
    ]
    .map(String::from)
    .to_vec();
    // Every ASCII byte beside letters, digits and a wide character.
    texts.push(
        (0u8..128)
            .map(|b| format!("a{}Z{}é ", b as char, b as char))
            .collect(),
    );
    // Random runs of every length around the eight-byte steps, in both
    // cases, with digits, punctuation and wide characters between them.
    let pieces = [
        "a", "B", "7", " ", ", ", "—", "é", "É", "x", "NATO", "Zz", "\u{301}", "ß", "\n", ".",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2_000 {
        let mut t = String::new();
        for _ in 0..(seed % 60) {
            t.push_str(pieces[(xorshift(&mut seed) % pieces.len() as u64) as usize]);
        }
        texts.push(t);
    }
    for t in &texts {
        let (mut fast, mut general) = (String::new(), String::new());
        fold_with::<true>(t, &mut fast);
        fold_with::<false>(t, &mut general);
        assert_eq!(fast, general, "{t:?}");
    }
}

#[test]
fn sentence_splitting() {
    let s = sentences("Witkoff met Putin in St. Petersburg on Friday. The U.S. envoy left.\nHeadline here\nDid it work? \"Yes.\" Next");
    assert_eq!(
        s,
        vec![
            "Witkoff met Putin in St. Petersburg on Friday.",
            "The U.S. envoy left.",
            "Headline here",
            "Did it work?",
            "\"Yes.\"",
            "Next"
        ]
    );
    assert_eq!(
        sentences("J. D. Vance spoke. Done."),
        vec!["J. D. Vance spoke.", "Done."]
    );
    // A quote after a line break opens the next line.
    assert_eq!(
        sentences("A Headline\n\"We will talk,\" he said."),
        vec!["A Headline", "\"We will talk,\" he said."]
    );
}

#[test]
fn a_line_break_splits_as_if_each_side_were_split_alone() {
    // `Matcher::draft_with` splits title and body apart and reads the
    // result as the sentences of title + "\n" + body.
    let titles = [
        "Envoy meets Putin.",
        "Talks in St. Petersburg",
        "\"Progress,\" says Mr.",
        "U.S. envoy: J. D. Vance?",
        "-- --",
        "Ends with e.g.",
        "Quote after stop.\"",
    ];
    let bodies = [
        "",
        "Witkoff met Putin. The U.S. envoy left.",
        "\"Yes.\" Next line\nAnother one",
        "...",
        "Jr. was there. (Gen. Smith) spoke!",
    ];
    for t in titles {
        for b in bodies {
            let mut apart = sentences(t);
            apart.extend(sentences(b));
            assert_eq!(sentences(&format!("{t}\n{b}")), apart, "{t:?} / {b:?}");
        }
    }
}

#[test]
fn abbreviations_do_not_split_in_any_case() {
    for text in ["Talks in ST. Petersburg went on.", "Ask Dr. Li. Then go."] {
        assert_eq!(sentences(text).len(), text.matches(". ").count(), "{text}");
    }
    assert_eq!(sentences("He met Д. Песков today. Then left.").len(), 2);
}

#[test]
fn word_iteration() {
    let w: Vec<_> = words("Putin’s envoy, Karelina-Petrov (2025) -x")
        .map(|(_, w)| w)
        .collect();
    assert_eq!(w, vec!["Putin’s", "envoy", "Karelina-Petrov", "2025", "x"]);
}

#[test]
fn transliteration() {
    assert_eq!(to_cyrillic("Witkoff"), "Виткофф");
    assert_eq!(to_cyrillic("Peskov"), "Песков");
    assert_eq!(to_cyrillic("Ksenia Karelina"), "Ксениа Карелина");
    assert_eq!(to_cyrillic("Putin"), "Путин");
}
