//! The built-in gazetteer and word lists: what a capitalised phrase in the news
//! is (a place, a body), its spellings across the languages storywatch reads,
//! and the words around names that are not names. The lists live in `data/`,
//! one entry a line with a header saying where the entries come from; they are
//! embedded in the binary and parsed once, on first use.
//!
//! Entry files hold `name | aliases | demonyms` lines (lists separated by
//! `;`), word files one word a line; `#` starts a comment line.

use std::sync::OnceLock;

/// A gazetteer entry: the name shown to users and its other spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    /// Adjective and people forms (countries only).
    pub demonyms: Vec<&'static str>,
}

/// A line of a data file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct DataError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

/// The data files, by name, as embedded.
pub const FILES: &[(&str, &str)] = &[
    ("countries.txt", include_str!("../../data/countries.txt")),
    ("cities.txt", include_str!("../../data/cities.txt")),
    (
        "organisations.txt",
        include_str!("../../data/organisations.txt"),
    ),
    (
        "person-cues.txt",
        include_str!("../../data/person-cues.txt"),
    ),
    (
        "common-capitalised.txt",
        include_str!("../../data/common-capitalised.txt"),
    ),
    ("news-media.txt", include_str!("../../data/news-media.txt")),
    (
        "cue-modifiers.txt",
        include_str!("../../data/cue-modifiers.txt"),
    ),
    (
        "title-words.txt",
        include_str!("../../data/title-words.txt"),
    ),
    ("particles.txt", include_str!("../../data/particles.txt")),
    (
        "inflections.txt",
        include_str!("../../data/inflections.txt"),
    ),
    (
        "function-words.txt",
        include_str!("../../data/function-words.txt"),
    ),
    ("name-heads.txt", include_str!("../../data/name-heads.txt")),
    ("concepts.txt", include_str!("../../data/concepts.txt")),
    (
        "translit-latin.txt",
        include_str!("../../data/translit-latin.txt"),
    ),
];

fn file(name: &'static str) -> &'static str {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("data file {name} is not embedded"))
}

/// The content lines of a data file with their line numbers.
fn lines(text: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Parses `name | aliases [| demonyms]` lines; at most `fields` fields.
pub fn parse_entries(
    name: &'static str,
    text: &'static str,
    fields: usize,
) -> Result<Vec<Entry>, DataError> {
    let list = |s: &'static str| -> Vec<&'static str> {
        s.split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect()
    };
    lines(text)
        .map(|(line, l)| {
            let parts: Vec<&'static str> = l.split('|').map(str::trim).collect();
            let error = |message: String| DataError {
                file: name,
                line,
                message,
            };
            if parts.len() > fields {
                return Err(error(format!(
                    "{} fields separated by '|', at most {fields} expected",
                    parts.len()
                )));
            }
            if parts[0].is_empty() {
                return Err(error("the entry has no name".into()));
            }
            Ok(Entry {
                name: parts[0],
                aliases: parts.get(1).map(|s| list(s)).unwrap_or_default(),
                demonyms: parts.get(2).map(|s| list(s)).unwrap_or_default(),
            })
        })
        .collect()
}

/// Parses a one-word-a-line file.
pub fn parse_words(name: &'static str, text: &'static str) -> Result<Vec<&'static str>, DataError> {
    lines(text)
        .map(|(line, l)| {
            if l.contains('|') {
                Err(DataError {
                    file: name,
                    line,
                    message: "a word list has one entry a line, without '|'".into(),
                })
            } else {
                Ok(l)
            }
        })
        .collect()
}

/// Parses `word | kind` lines.
pub fn parse_heads(
    name: &'static str,
    text: &'static str,
) -> Result<Vec<(&'static str, &'static str)>, DataError> {
    lines(text)
        .map(|(line, l)| match l.split_once('|') {
            Some((w, k)) if matches!(k.trim(), "place" | "organisation" | "other") => {
                Ok((w.trim(), k.trim()))
            }
            _ => Err(DataError {
                file: name,
                line,
                message: "expected `word | place`, `| organisation` or `| other`".into(),
            }),
        })
        .collect()
}

macro_rules! entries {
    ($(#[$doc:meta])* $fn:ident, $file:literal, $fields:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static [Entry] {
            static CELL: OnceLock<Vec<Entry>> = OnceLock::new();
            CELL.get_or_init(|| parse_entries($file, file($file), $fields).unwrap_or_else(|e| panic!("{e}")))
        }
    };
}

macro_rules! words {
    ($(#[$doc:meta])* $fn:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static [&'static str] {
            static CELL: OnceLock<Vec<&'static str>> = OnceLock::new();
            CELL.get_or_init(|| parse_words($file, file($file)).unwrap_or_else(|e| panic!("{e}")))
        }
    };
}

entries!(
    /// Countries and regions, with aliases and demonyms.
    countries,
    "countries.txt",
    3
);
entries!(
    /// Capitals and cities of world news.
    cities,
    "cities.txt",
    2
);
entries!(
    /// Concepts of news reports with their stems in each language.
    concepts,
    "concepts.txt",
    2
);
entries!(
    /// Organisations and institutions of world news.
    organisations,
    "organisations.txt",
    2
);
words!(
    /// Words that, right before a capitalised name, say it is a person.
    person_cues,
    "person-cues.txt"
);
words!(
    /// Words often capitalised that are not names.
    common_capitalised,
    "common-capitalised.txt"
);
words!(
    /// News outlets: attribution, not content.
    news_media,
    "news-media.txt"
);
words!(
    /// Words that modify a person cue ("Special", "Deputy").
    cue_modifiers,
    "cue-modifiers.txt"
);
words!(
    /// Nouns that continue a title after its cue word.
    title_words,
    "title-words.txt"
);
words!(
    /// Lower-case words allowed inside a name.
    particles,
    "particles.txt"
);
words!(
    /// Endings a name of four letters or more may take.
    inflections,
    "inflections.txt"
);
words!(
    /// Content-poor words left out of compared terms.
    function_words,
    "function-words.txt"
);

/// Cyrillic and Greek letters (and groups) with their Latin forms:
/// (Ukrainian only, letters, Latin).
pub fn to_latin_table() -> &'static [(bool, &'static str, &'static str)] {
    static CELL: OnceLock<Vec<(bool, &'static str, &'static str)>> = OnceLock::new();
    CELL.get_or_init(|| {
        lines(file("translit-latin.txt"))
            .map(|(line, l)| {
                let (uk, l) = match l.strip_prefix("uk:") {
                    Some(rest) => (true, rest),
                    None => (false, l),
                };
                match l.split_once('|') {
                    Some((a, b)) if !a.trim().is_empty() => (uk, a.trim(), b.trim()),
                    _ => panic!("translit-latin.txt:{line}: expected `letters | latin`"),
                }
            })
            .collect()
    })
}

/// Head words that end a name and say what it names: (word, kind name).
pub fn name_heads() -> &'static [(&'static str, &'static str)] {
    static CELL: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    CELL.get_or_init(|| {
        parse_heads("name-heads.txt", file("name-heads.txt")).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_file_parses() {
        assert!(countries().len() > 150);
        assert!(cities().len() > 150);
        assert!(organisations().len() > 50);
        assert!(concepts().len() > 30);
        for c in concepts() {
            for stem in &c.aliases {
                assert!(
                    stem.chars().count() >= 3 && !stem.contains(' '),
                    "concepts.txt: {}: stem {stem:?} must be one word of three letters or more",
                    c.name
                );
            }
        }
        for list in [
            person_cues(),
            common_capitalised(),
            news_media(),
            cue_modifiers(),
            title_words(),
            particles(),
            inflections(),
            function_words(),
        ] {
            assert!(!list.is_empty());
        }
        assert!(name_heads()
            .iter()
            .any(|(w, k)| *w == "county" && *k == "place"));
        let albania = countries().iter().find(|c| c.name == "Albania").unwrap();
        assert!(albania.aliases.contains(&"Albanien"));
        assert!(albania.demonyms.contains(&"Albanian"));
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let e = parse_entries("x.txt", "# header\nA | b | c | d\n", 3).unwrap_err();
        assert_eq!((e.file, e.line), ("x.txt", 2));
        assert!(e.to_string().starts_with("x.txt:2: "), "{e}");
        let e = parse_words("w.txt", "one\n\ntwo | three\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_heads("h.txt", "county | planet\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_entries("x.txt", " | alias\n", 2).is_err());
    }
}
