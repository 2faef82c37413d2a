//! The built-in gazetteer and word lists: what a capitalised phrase in the news
//! is (a place, a body), its spellings across the languages storywatch reads,
//! and the words around names that are not names. The lists live in `data/`,
//! one entry a line with a header saying where the entries come from; they are
//! embedded in the binary and parsed once, on first use.
//!
//! Entry files hold `name | aliases | demonyms` lines (lists separated by
//! `;`), word files one word a line; `#` starts a comment line.
//!
//! A user extends the lists with files named in `[matching] data`: the same
//! lines under a `[list]` header naming the file they extend (`[cities]`,
//! `[concepts]`…). They are checked when the config loads and installed once,
//! before the first story is derived, because everything built from the lists
//! (name maps, folded word sets) is built once per process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

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
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The shape of a data file's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `name | aliases [| demonyms]`, at most this many fields.
    Entries(usize),
    /// One word a line.
    Words,
    /// `word | place`, `| organisation` or `| other`.
    Heads,
    /// `[uk:]letters | latin`.
    Letters,
}

/// The data files, by name, as embedded, with the shape of their lines.
const FILES: &[(&str, Shape, &str)] = &[
    (
        "countries.txt",
        Shape::Entries(3),
        include_str!("../../data/countries.txt"),
    ),
    (
        "cities.txt",
        Shape::Entries(2),
        include_str!("../../data/cities.txt"),
    ),
    (
        "organisations.txt",
        Shape::Entries(2),
        include_str!("../../data/organisations.txt"),
    ),
    (
        "person-cues.txt",
        Shape::Words,
        include_str!("../../data/person-cues.txt"),
    ),
    (
        "common-capitalised.txt",
        Shape::Words,
        include_str!("../../data/common-capitalised.txt"),
    ),
    (
        "news-media.txt",
        Shape::Words,
        include_str!("../../data/news-media.txt"),
    ),
    (
        "cue-modifiers.txt",
        Shape::Words,
        include_str!("../../data/cue-modifiers.txt"),
    ),
    (
        "title-words.txt",
        Shape::Words,
        include_str!("../../data/title-words.txt"),
    ),
    (
        "particles.txt",
        Shape::Words,
        include_str!("../../data/particles.txt"),
    ),
    (
        "inflections.txt",
        Shape::Words,
        include_str!("../../data/inflections.txt"),
    ),
    (
        "function-words.txt",
        Shape::Words,
        include_str!("../../data/function-words.txt"),
    ),
    (
        "magnitudes.txt",
        Shape::Words,
        include_str!("../../data/magnitudes.txt"),
    ),
    (
        "currencies.txt",
        Shape::Words,
        include_str!("../../data/currencies.txt"),
    ),
    (
        "name-heads.txt",
        Shape::Heads,
        include_str!("../../data/name-heads.txt"),
    ),
    (
        "concepts.txt",
        Shape::Entries(2),
        include_str!("../../data/concepts.txt"),
    ),
    (
        "translit-latin.txt",
        Shape::Letters,
        include_str!("../../data/translit-latin.txt"),
    ),
];

/// Checks one content line against its file's shape.
fn check(shape: Shape, l: &str) -> Result<(), String> {
    match shape {
        Shape::Entries(fields) => {
            let parts: Vec<&str> = l.split('|').map(str::trim).collect();
            if parts.len() > fields {
                Err(format!(
                    "{} fields separated by '|', at most {fields} expected",
                    parts.len()
                ))
            } else if parts[0].is_empty() {
                Err("the entry has no name".into())
            } else {
                Ok(())
            }
        }
        Shape::Words if l.contains('|') => {
            Err("a word list has one entry a line, without '|'".into())
        }
        Shape::Words => Ok(()),
        Shape::Heads => match l.split_once('|') {
            Some((w, k))
                if !w.trim().is_empty()
                    && matches!(k.trim(), "place" | "organisation" | "other") =>
            {
                Ok(())
            }
            _ => Err("expected `word | place`, `| organisation` or `| other`".into()),
        },
        Shape::Letters => match l.strip_prefix("uk:").unwrap_or(l).split_once('|') {
            Some((a, _)) if !a.trim().is_empty() => Ok(()),
            _ => Err("expected `letters | latin`".into()),
        },
    }
}

/// The content lines of a text with their line numbers.
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Entries a user added, by the data file they extend; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserData {
    lists: BTreeMap<&'static str, Vec<String>>,
}

impl UserData {
    /// Reads and checks the files named in `[matching] data`.
    pub fn read(paths: &[PathBuf]) -> Result<UserData, DataError> {
        let mut data = UserData::default();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(|e| DataError {
                file: path.display().to_string(),
                line: 0,
                message: format!("cannot read the file: {e}"),
            })?;
            data.add(path, &text)?;
        }
        Ok(data)
    }

    /// Adds the lines of one file, checked.
    pub fn add(&mut self, path: &Path, text: &str) -> Result<(), DataError> {
        let error = |line, message| DataError {
            file: path.display().to_string(),
            line,
            message,
        };
        let mut list: Option<(&'static str, Shape)> = None;
        for (line, l) in content_lines(text) {
            if let Some(name) = l.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                let file = format!("{}.txt", name.trim());
                let found = FILES
                    .iter()
                    .find(|(n, shape, _)| *n == file && *shape != Shape::Letters);
                let Some((n, shape, _)) = found else {
                    let names: Vec<&str> = FILES
                        .iter()
                        .filter(|(_, s, _)| *s != Shape::Letters)
                        .map(|(n, _, _)| n.trim_end_matches(".txt"))
                        .collect();
                    return Err(error(
                        line,
                        format!("no list [{}]; lists: {}", name.trim(), names.join(", ")),
                    ));
                };
                list = Some((n, *shape));
                continue;
            }
            let Some((name, shape)) = list else {
                return Err(error(
                    line,
                    "an entry before any [list] header (such as [cities])".into(),
                ));
            };
            check(shape, l).map_err(|m| error(line, m))?;
            self.lists.entry(name).or_default().push(l.to_string());
        }
        Ok(())
    }

    /// How many entries each extended list gains: (list, entries).
    pub fn counts(&self) -> impl Iterator<Item = (&str, usize)> {
        self.lists
            .iter()
            .map(|(name, lines)| (name.trim_end_matches(".txt"), lines.len()))
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

/// What [`install`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    #[error("the [matching] data files changed; restart storywatch to use them")]
    Changed,
}

static USER: Mutex<Option<&'static UserData>> = Mutex::new(None);
/// Set when a list is first built: later user entries could no longer reach it.
static SEALED: AtomicBool = AtomicBool::new(false);

/// Makes `data` part of the lists for the rest of the process. Installing
/// the same data again (a config reload) is a no-op; other data, once any
/// list was built, is refused, since what was built from the lists stays.
pub fn install(data: &UserData) -> Result<(), InstallError> {
    let mut user = USER.lock().unwrap_or_else(|e| e.into_inner());
    let same = match *user {
        Some(u) => u == data,
        None => data.is_empty(),
    };
    if same {
        return Ok(());
    }
    if SEALED.load(Ordering::SeqCst) {
        return Err(InstallError::Changed);
    }
    // Leaked once per process: the lists hand out `&'static` entries.
    *user = Some(Box::leak(Box::new(data.clone())));
    Ok(())
}

/// The embedded lines of a data file followed by the user's, for a list
/// being built (which seals the user data).
fn lines(name: &'static str) -> Vec<&'static str> {
    SEALED.store(true, Ordering::SeqCst);
    let (_, _, text) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .unwrap_or_else(|| panic!("data file {name} is not embedded"));
    let mut out: Vec<&'static str> = content_lines(text).map(|(_, l)| l).collect();
    let user = *USER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(extra) = user.and_then(|u| u.lists.get(name)) {
        out.extend(extra.iter().map(String::as_str));
    }
    out
}

/// The entries of an entries file; its lines were checked when embedded
/// (see the tests) or read.
fn entries_of(name: &'static str) -> Vec<Entry> {
    let list = |s: &'static str| -> Vec<&'static str> {
        s.split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect()
    };
    lines(name)
        .into_iter()
        .map(|l| {
            let parts: Vec<&'static str> = l.split('|').map(str::trim).collect();
            Entry {
                name: parts[0],
                aliases: parts.get(1).map(|s| list(s)).unwrap_or_default(),
                demonyms: parts.get(2).map(|s| list(s)).unwrap_or_default(),
            }
        })
        .collect()
}

fn words_of(name: &'static str) -> Vec<&'static str> {
    lines(name)
}

macro_rules! entries {
    ($(#[$doc:meta])* $fn:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static [Entry] {
            static CELL: OnceLock<Vec<Entry>> = OnceLock::new();
            CELL.get_or_init(|| entries_of($file))
        }
    };
}

macro_rules! words {
    ($(#[$doc:meta])* $fn:ident, $file:literal) => {
        $(#[$doc])*
        pub fn $fn() -> &'static [&'static str] {
            static CELL: OnceLock<Vec<&'static str>> = OnceLock::new();
            CELL.get_or_init(|| words_of($file))
        }
    };
}

entries!(
    /// Countries and regions, with aliases and demonyms.
    countries,
    "countries.txt"
);
entries!(
    /// Capitals and cities of world news.
    cities,
    "cities.txt"
);
entries!(
    /// Concepts of news reports with their stems in each language.
    concepts,
    "concepts.txt"
);
entries!(
    /// Organisations and institutions of world news.
    organisations,
    "organisations.txt"
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

words!(
    /// Words that scale a number in a figure ("bn", "Milliarden"), and per cent.
    magnitudes,
    "magnitudes.txt"
);
words!(
    /// Currency signs, codes and names that make a number an amount.
    currencies,
    "currencies.txt"
);

/// Cyrillic and Greek letters (and groups) with their Latin forms:
/// (Ukrainian only, letters, Latin).
pub fn to_latin_table() -> &'static [(bool, &'static str, &'static str)] {
    static CELL: OnceLock<Vec<(bool, &'static str, &'static str)>> = OnceLock::new();
    CELL.get_or_init(|| {
        lines("translit-latin.txt")
            .into_iter()
            .filter_map(|l| {
                let (uk, l) = match l.strip_prefix("uk:") {
                    Some(rest) => (true, rest),
                    None => (false, l),
                };
                let (a, b) = l.split_once('|')?;
                Some((uk, a.trim(), b.trim()))
            })
            .collect()
    })
}

/// Head words that end a name and say what it names: (word, kind name).
pub fn name_heads() -> &'static [(&'static str, &'static str)] {
    static CELL: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    CELL.get_or_init(|| {
        lines("name-heads.txt")
            .into_iter()
            .filter_map(|l| {
                let (w, k) = l.split_once('|')?;
                Some((w.trim(), k.trim()))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_line_has_its_files_shape() {
        for (name, shape, text) in FILES {
            for (line, l) in content_lines(text) {
                if let Err(m) = check(*shape, l) {
                    panic!("data/{name}:{line}: {m}");
                }
            }
        }
    }

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
        assert!(to_latin_table().len() > 30);
        let albania = countries().iter().find(|c| c.name == "Albania").unwrap();
        assert!(albania.aliases.contains(&"Albanien"));
        assert!(albania.demonyms.contains(&"Albanian"));
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let add = |text: &str| UserData::default().add(Path::new("local.txt"), text);
        let e = add("# header\n[countries]\nA | b | c | d\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("local.txt", 3));
        assert!(e.to_string().starts_with("local.txt:3: "), "{e}");
        let e = add("[person-cues]\none\n\ntwo | three\n").unwrap_err();
        assert_eq!(e.line, 4);
        let e = add("[name-heads]\ncounty | planet\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(add("[cities]\n | alias\n").is_err());
        let e = add("Quelimane\n").unwrap_err();
        assert!(e.message.contains("before any [list]"), "{e}");
        let e = add("[towns]\nQuelimane\n").unwrap_err();
        assert!(
            e.message.contains("no list [towns]") && e.message.contains("cities"),
            "{e}"
        );
        assert!(add("[translit-latin]\nж | zh\n").is_err());
        let e = UserData::read(&[PathBuf::from("/nonexistent/local.txt")]).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/local.txt"), "{e}");
    }

    #[test]
    fn user_entries_are_kept_by_list() {
        let mut data = UserData::default();
        data.add(
            Path::new("a.txt"),
            "[cities]\nQuelimane | Kilimane\n[concepts]\nlandslide | landslide; mudslide; frana\n",
        )
        .unwrap();
        assert_eq!(data.lists["cities.txt"], vec!["Quelimane | Kilimane"]);
        assert_eq!(data.lists["concepts.txt"].len(), 1);
        assert!(!data.is_empty());
        // Once a list is built, other data is refused (what was built from
        // the lists stays); the same data again is a no-op.
        assert!(!countries().is_empty());
        assert_eq!(install(&data), Err(InstallError::Changed));
        assert_eq!(install(&UserData::default()), Ok(()));
    }
}
