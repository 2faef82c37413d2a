//! Text primitives for matching: folding (case, diacritics, punctuation),
//! sentence splitting, word iteration and Latin → Cyrillic transliteration.
//! Pure functions, no allocation beyond their output.

/// Folds text for matching: lower case, Latin diacritics removed, `ё` → `е`,
/// every run of non-alphanumeric characters → one space, with one space at
/// each end so that `" word "` finds whole words. Short all-capital words are
/// acronyms ("US", "UK", "EU", "США"): they keep a `_` mark so that "US" never
/// matches the pronoun "us".
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(folded_capacity(s));
    fold_into(s, &mut out);
    out
}

/// Room for the folded text in the common case: acronym marks add at most a
/// third, plus the spaces at the ends.
fn folded_capacity(s: &str) -> usize {
    s.len() + s.len() / 3 + 2
}

/// [`fold`] appending to `out` (which then ends with a space).
pub fn fold_into(s: &str, out: &mut String) {
    fold_with::<true>(s, out)
}

/// The high bit of every byte lane of a `u64`.
const HIGH: u64 = 0x8080_8080_8080_8080;
/// The 0x20 bit of every byte lane: ASCII's lower-case bit.
const LOWER: u64 = 0x2020_2020_2020_2020;
const LANES: u64 = 0x0101_0101_0101_0101;

/// Lanes of `x` holding an ASCII letter or digit get their high bit set
/// (SWAR range checks; a lane at or above 0x80 never does).
fn alnum_lanes(x: u64) -> u64 {
    // With the high bit set first, subtracting `lo` leaves it set exactly
    // when the lane is at least `lo`, and no borrow crosses lanes.
    let at_least = |x: u64, lo: u8| ((x & !HIGH) | HIGH).wrapping_sub(LANES * lo as u64) & HIGH;
    let within = |x: u64, lo: u8, hi: u8| at_least(x, lo) & !at_least(x, hi + 1);
    let ascii = !x & HIGH;
    // `| 0x20` puts both cases of a letter in a..z and no other byte there.
    (within(x, b'0', b'9') | within(x | LOWER, b'a', b'z')) & ascii
}

/// Lanes of `x` holding a space get their high bit set, and no others.
pub(super) fn space_lanes(x: u64) -> u64 {
    // A space is the lower-case bit alone, so its lane is zero after `^`;
    // a lane's high bit then survives only when all of its bits were zero.
    let zero_where_space = x ^ LOWER;
    !(((zero_where_space & !HIGH) + !HIGH) | zero_where_space) & HIGH
}

/// Eight bytes of `bytes` from `at`, zeros past its end.
pub(super) fn load8(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("eight bytes")),
        None => {
            let mut lane = [0u8; 8];
            let tail = bytes.get(at..).unwrap_or_default();
            lane[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(lane)
        }
    }
}

/// The word being folded.
struct Word {
    /// Where it starts in the output, if one has begun.
    start: Option<usize>,
    /// Every letter so far a capital (digits are not).
    caps: bool,
    letters: usize,
}

impl Word {
    fn begin(&mut self, v: &[u8]) {
        if self.start.is_none() {
            self.start = Some(v.len());
            self.caps = true;
            self.letters = 0;
        }
    }

    /// Ends the word: marks a short all-capital word as an acronym (the
    /// insert shifts only the word itself) and adds the separator.
    fn end(&mut self, v: &mut Vec<u8>) {
        if let Some(start) = self.start.take() {
            if self.caps && (2..=4).contains(&self.letters) {
                v.insert(start, b'_');
            }
            v.push(b' ');
        }
    }

    /// Appends the run of ASCII letters and digits that starts at
    /// `bytes[at]` and returns where it ends, eight bytes at a time (most
    /// words end inside their first eight). `| 0x20` lowers a letter and
    /// leaves a digit as it is; a digit has that bit too, so it is no
    /// capital. All eight go in, then the tail past the run goes out.
    fn push_ascii_run(&mut self, v: &mut Vec<u8>, bytes: &[u8], at: usize) -> usize {
        self.begin(v);
        let mut i = at;
        loop {
            let x = load8(bytes, i);
            // Zeros past the end are no letters, so the run stops there.
            let n = (!alnum_lanes(x) & HIGH).trailing_zeros() as usize / 8;
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            };
            self.caps &= x & mask & LOWER == 0;
            let len = v.len();
            v.extend_from_slice(&(x | LOWER).to_le_bytes());
            v.truncate(len + n);
            i += n;
            if n < 8 {
                break;
            }
        }
        self.letters += i - at;
        i
    }
}

/// [`fold_into`]; without `FAST` every character takes the general path
/// (the fast paths' reference in tests).
fn fold_with<const FAST: bool>(s: &str, out: &mut String) {
    // Built as bytes (ASCII is the common case) and checked once at the end.
    let mut v = std::mem::take(out).into_bytes();
    v.reserve(folded_capacity(s));
    if v.last() != Some(&b' ') {
        v.push(b' ');
    }
    let mut word = Word {
        start: None,
        caps: true,
        letters: 0,
    };
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < bytes.len() {
        let b = bytes[i];
        if FAST && b < 0x80 {
            if b.is_ascii_alphanumeric() {
                i = word.push_ascii_run(&mut v, bytes, i);
                // Most runs end at a separator: taken here, one loop turn
                // fewer a word.
                match bytes.get(i) {
                    Some(&b) if b < 0x80 => i += 1,
                    _ => continue,
                }
            } else {
                i += 1;
            }
            word.end(&mut v);
            continue;
        }
        let c = s[i..].chars().next().expect("i is on a char boundary");
        i += c.len_utf8();
        if c.is_alphanumeric() {
            word.begin(&v);
            word.letters += 1;
            word.caps &= c.is_uppercase();
            for l in c.to_lowercase() {
                match fold_letter(l) {
                    Some(f) => v.extend_from_slice(f.as_bytes()),
                    None => v.extend_from_slice(l.encode_utf8(&mut buf).as_bytes()),
                }
            }
        } else if !is_combining_mark(c) {
            word.end(&mut v);
        }
    }
    word.end(&mut v);
    *out = String::from_utf8(v).expect("only whole UTF-8 characters were written");
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036f)
}

/// Lower-case letters with diacritics → their base letters.
fn fold_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        'ё' => "е",
        'ά' => "α",
        'έ' => "ε",
        'ή' => "η",
        'ί' | 'ϊ' | 'ΐ' => "ι",
        'ό' => "ο",
        'ύ' | 'ϋ' | 'ΰ' => "υ",
        'ώ' => "ω",
        _ => return None,
    })
}

/// At most `max` characters of `s`, cut at a word, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{cut}…")
}

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "st", "mr", "mrs", "ms", "dr", "prof", "gen", "lt", "col", "sgt", "capt", "gov", "sen", "rep",
    "jr", "sr", "vs", "no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "inc", "ltd", "co", "corp", "dept", "approx", "etc", "e.g", "i.e", "u.s", "u.k",
    "u.n", "e.u",
];

/// Splits text into sentences: at `.`, `!`, `?` (and their CJK forms)
/// followed by space, and at line breaks (headlines and paragraphs end
/// sentences too). Abbreviations and initials do not split.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let end = i + c.len_utf8();
        let boundary = match c {
            '\n' => true,
            '!' | '?' | '。' | '！' | '？' => true,
            '.' => {
                let rest = &text[end..];
                let after_quotes = rest.trim_start_matches(['"', '\'', '’', '”', '»', ')', ']']);
                let next_is_space = after_quotes.chars().next().is_none_or(char::is_whitespace);
                next_is_space && !is_abbreviation(&text[start..i])
            }
            _ => false,
        };
        if boundary {
            // Closing quotes and brackets belong to the sentence they end; after
            // a line break they open the next line instead.
            let mut stop = end;
            while let Some(&(j, q)) = iter.peek().filter(|_| c != '\n') {
                if matches!(q, '"' | '\'' | '’' | '”' | '»' | ')' | ']') {
                    stop = j + q.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            push_sentence(&mut out, &text[start..stop]);
            start = stop;
        }
    }
    push_sentence(&mut out, &text[start..]);
    out
}

fn push_sentence<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if s.chars().any(char::is_alphanumeric) {
        out.push(s);
    }
}

fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(' || c == '"')
        .next()
        .unwrap_or("");
    if word.is_ascii() {
        // The same tests without an allocation: ASCII lower-casing keeps the
        // length, and the list is lower-case ASCII.
        return word.len() == 1 && word.as_bytes()[0].is_ascii_uppercase()
            || ABBREVIATIONS.iter().any(|a| a.eq_ignore_ascii_case(word))
            || word.contains('.') && word.len() <= 5;
    }
    let lower = word.to_lowercase();
    // Single letters are initials ("J. D. Vance", "U.S.").
    word.chars().count() == 1 && word.chars().all(char::is_uppercase)
        || ABBREVIATIONS.contains(&lower.as_str())
        || lower.contains('.') && lower.len() <= 5
}

/// A word of a sentence with its byte offset: letters, digits, apostrophes
/// and hyphens inside words are part of it.
pub fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = s.get(pos..)?;
        let skip = rest.find(|c: char| c.is_alphanumeric())?;
        let start = pos + skip;
        let mut end = start;
        let mut chars = s[start..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let inner = matches!(c, '\'' | '’' | '-' | '‐' | '‑')
                && chars.peek().is_some_and(|(_, n)| n.is_alphanumeric());
            if c.is_alphanumeric() || inner {
                end = start + i + c.len_utf8();
            } else {
                break;
            }
        }
        pos = end.max(start + 1);
        Some((start, &s[start..end]))
    })
}

/// Latin → Russian Cyrillic, the way Russian media spell foreign names
/// (Witkoff → Виткофф, Peskov → Песков). Used to give watchlist names a
/// Cyrillic alias; well-known names have their real spellings in the
/// gazetteer, which win.
/// A name in Cyrillic or Greek script in Latin letters, by the table of
/// data/translit-latin.txt (longest match first, Ukrainian rules for names
/// with a letter only Ukrainian has); other characters are kept.
/// Each word keeps its capital: "Сергей Лавров" → "Sergey Lavrov".
pub fn to_latin(name: &str) -> String {
    let ukrainian = name.chars().any(|c| "іїєґІЇЄҐ".contains(c));
    // Ukrainian rows first, so that they win over the shared ones.
    let table: Vec<(&str, &str)> = super::gazetteer::to_latin_table()
        .iter()
        .filter(|(uk, _, _)| *uk && ukrainian)
        .chain(
            super::gazetteer::to_latin_table()
                .iter()
                .filter(|(uk, _, _)| !uk),
        )
        .map(|(_, c, l)| (*c, *l))
        .collect();
    let longest = table
        .iter()
        .map(|(c, _)| c.chars().count())
        .max()
        .unwrap_or(1);
    let lower: Vec<char> = name.to_lowercase().chars().collect();
    let upper_at: Vec<bool> = name
        .chars()
        .flat_map(|c| {
            let n = c.to_lowercase().count();
            std::iter::repeat_n(c.is_uppercase(), n)
        })
        .collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lower.len() {
        let found = (1..=longest.min(lower.len() - i)).rev().find_map(|n| {
            let s: String = lower[i..i + n].iter().collect();
            table.iter().find(|(c, _)| *c == s).map(|(_, l)| (n, *l))
        });
        let (n, latin) = match found {
            Some(f) => f,
            None => {
                out.push(if upper_at.get(i).copied().unwrap_or(false) {
                    name.chars().nth(i).unwrap_or(lower[i])
                } else {
                    lower[i]
                });
                i += 1;
                continue;
            }
        };
        let mut l = latin.chars();
        if upper_at.get(i).copied().unwrap_or(false) {
            if let Some(f) = l.next() {
                out.extend(f.to_uppercase());
            }
        }
        out.extend(l);
        i += n;
    }
    out
}

pub fn to_cyrillic(name: &str) -> String {
    transliterate(name)
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn transliterate(name: &str) -> String {
    let lower = name.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        let (cyr, used) = if rest.starts_with("shch") {
            ("щ", 4)
        } else if rest.starts_with("sch") {
            ("ш", 3)
        } else if rest.starts_with("zh") {
            ("ж", 2)
        } else if rest.starts_with("kh") {
            ("х", 2)
        } else if rest.starts_with("ts") || rest.starts_with("tz") {
            ("ц", 2)
        } else if rest.starts_with("ch") {
            ("ч", 2)
        } else if rest.starts_with("sh") {
            ("ш", 2)
        } else if rest.starts_with("ya") || rest.starts_with("ja") {
            ("я", 2)
        } else if rest.starts_with("yu") || rest.starts_with("ju") {
            ("ю", 2)
        } else if rest.starts_with("ye") && i == 0 {
            ("е", 2)
        } else if rest.starts_with("th") {
            ("т", 2)
        } else if rest.starts_with("ph") {
            ("ф", 2)
        } else if rest.starts_with("ck") {
            ("к", 2)
        } else {
            let c = chars[i];
            let s = match c {
                'a' => "а",
                'b' => "б",
                'c' => "к",
                'd' => "д",
                'e' => "е",
                'f' => "ф",
                'g' => "г",
                'h' => "х",
                'i' => "и",
                'j' => "дж",
                'k' => "к",
                'l' => "л",
                'm' => "м",
                'n' => "н",
                'o' => "о",
                'p' => "п",
                'q' => "к",
                'r' => "р",
                's' => "с",
                't' => "т",
                'u' => "у",
                'v' | 'w' => "в",
                'x' => "кс",
                'y' => "й",
                'z' => "з",
                ' ' | '-' => " ",
                _ => "",
            };
            (s, 1)
        };
        out.push_str(cyr);
        i += used;
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
