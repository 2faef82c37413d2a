//! Dates as real feeds write them. RFC 3339 and RFC 2822 first, then a
//! tolerant reader for what publishers actually send: localised day and month
//! names (Italian, Greek, Portuguese, …), 12-hour clocks, month-before-day,
//! slashes, missing seconds or zones, two-digit years, Unix timestamps.
//! A date that cannot be read is `None`; the item then counts as published
//! when first seen.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Parses one feed timestamp.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim().trim_matches('\u{feff}').trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    if s.len() >= 9 && s.len() <= 11 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Utc.timestamp_opt(s.parse().ok()?, 0).single();
    }
    loose(s)
}

#[derive(Default, Debug)]
struct Parts {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<(u32, u32, u32, u32)>, // h, m, s, nanos
    pm: Option<bool>,
    offset: Option<i32>, // seconds east of UTC
    short_year: Option<u32>,
}

fn loose(s: &str) -> Option<DateTime<Utc>> {
    let mut p = Parts::default();
    let mut month_words: Vec<u32> = Vec::new();
    // A leading word followed by a comma is a day name in every language seen.
    let mut rest = s;
    if let Some((first, tail)) = s.split_once(',') {
        if !first.is_empty() && first.chars().all(char::is_alphabetic) {
            rest = tail;
        }
    }
    for raw_tok in rest.split(|c: char| c.is_whitespace() || c == ',') {
        let tok = raw_tok.trim_matches(|c: char| c == '.' || c == '(' || c == ')');
        if tok.is_empty() {
            continue;
        }
        // ISO-ish date, possibly with a 'T' and a time glued on.
        if let Some((date, time)) = split_date_time(tok) {
            if let Some((y, m, d)) = numeric_date(date) {
                p.year = Some(y);
                p.month = Some(m);
                p.day = Some(d);
                if let Some(t) = time {
                    read_time(t, &mut p)?;
                }
                continue;
            }
        }
        if tok.contains(':') && tok.starts_with(|c: char| c.is_ascii_digit()) {
            read_time(tok, &mut p)?;
            continue;
        }
        if (tok.starts_with('+') || tok.starts_with('-')) && tok.len() >= 3 {
            p.offset = Some(parse_offset(&tok[1..], tok.starts_with('-'))?);
            continue;
        }
        if tok.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = tok.parse().ok()?;
            match tok.len() {
                4 => p.year = Some(n as i32),
                1 | 2 if p.day.is_none() => p.day = Some(n),
                2 if p.year.is_none() => p.short_year = Some(n),
                _ => return None,
            }
            continue;
        }
        let word = fold(tok);
        match word.as_str() {
            "am" | "a.m" => p.pm = Some(false),
            "pm" | "p.m" => p.pm = Some(true),
            _ => {
                if let Some(m) = month_from_word(&word) {
                    month_words.push(m);
                } else if let Some(off) = zone_offset(&word) {
                    p.offset = Some(off);
                }
                // Anything else (day names without a comma, "de", "um", "at") is noise.
            }
        }
    }
    if p.month.is_none() {
        // With a day name that is also a month prefix ("mar" = martedì), the
        // real month is the last month word.
        p.month = month_words.last().copied();
    }
    let year = match (p.year, p.short_year) {
        (Some(y), _) => y,
        (None, Some(y)) if y < 70 => 2000 + y as i32,
        (None, Some(y)) => 1900 + y as i32,
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(year, p.month?, p.day?)?;
    let (mut h, mi, sec, nanos) = p.time.unwrap_or((0, 0, 0, 0));
    match p.pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let time = NaiveTime::from_hms_nano_opt(h, mi, sec, nanos)?;
    let offset = FixedOffset::east_opt(p.offset.unwrap_or(0))?;
    offset
        .from_local_datetime(&date.and_time(time))
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// Splits `2020-01-10T14:03:00Z` into date and time; a lone date gives no time.
fn split_date_time(tok: &str) -> Option<(&str, Option<&str>)> {
    if !tok.starts_with(|c: char| c.is_ascii_digit()) || !tok.contains(['-', '/']) {
        return None;
    }
    match tok.find(['T', 't']) {
        Some(i) => Some((&tok[..i], Some(&tok[i + 1..]))),
        None => Some((tok, None)),
    }
}

/// `2020-01-10`, `2020/1/10`, `10/01/2020` (day first unless impossible), `01-10-2020`.
fn numeric_date(s: &str) -> Option<(i32, u32, u32)> {
    let sep = if s.contains('-') { '-' } else { '/' };
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts[0].len() == 4 {
        return Some((n[0] as i32, n[1], n[2]));
    }
    if parts[2].len() == 4 {
        // Day first unless impossible; with slashes and no clue, US month-first.
        let (a, b) = (n[0], n[1]);
        let (d, m) = if a > 12 || (b <= 12 && sep != '/') {
            (a, b)
        } else {
            (b, a)
        };
        return Some((n[2] as i32, m, d));
    }
    None
}

/// `14:03`, `14:03:00`, `14:03:00.123456789`, optionally followed by `Z` or an offset.
fn read_time(t: &str, p: &mut Parts) -> Option<()> {
    let (clock, zone) = match t.find(['Z', 'z', '+', '-']) {
        Some(i) => (&t[..i], Some(&t[i..])),
        None => (t, None),
    };
    let mut it = clock.split(':');
    let h: u32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let (s, nanos) = match it.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let s: u32 = whole.parse().ok()?;
            let digits: String = frac.chars().take(9).collect();
            let nanos = if digits.is_empty() {
                0
            } else {
                digits.parse::<u32>().ok()? * 10u32.pow(9 - digits.len() as u32)
            };
            (s, nanos)
        }
    };
    if it.next().is_some() {
        return None;
    }
    p.time = Some((h, m, s.min(59), nanos));
    match zone {
        Some("Z") | Some("z") => p.offset = Some(0),
        Some(z) => p.offset = Some(parse_offset(&z[1..], z.starts_with('-'))?),
        None => {}
    }
    Some(())
}

fn parse_offset(digits: &str, negative: bool) -> Option<i32> {
    let d: String = digits.chars().filter(|c| *c != ':').collect();
    if d.len() != 4 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = d[..2].parse::<i32>().ok()? * 3600 + d[2..].parse::<i32>().ok()? * 60;
    Some(if negative { -secs } else { secs })
}

/// The first full date a text states ("Jan. 28, 2014", "28 January 2014",
/// "2014-01-28"), at noon UTC: a news article usually says when it was
/// written near its top. Day-less or year-less mentions are skipped.
pub fn first_date_in_text(text: &str) -> Option<DateTime<Utc>> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let day = |w: &str| -> Option<u32> {
        let d = w.trim_end_matches(|c: char| c.is_alphabetic() || c == '.');
        (d.len() <= 2)
            .then(|| d.parse().ok())
            .flatten()
            .filter(|d| (1..=31).contains(d))
    };
    let year = |w: &str| -> Option<i32> {
        let y = w.trim_end_matches(['.', ';', ':', ')']);
        (y.len() == 4)
            .then(|| y.parse().ok())
            .flatten()
            .filter(|y| (1900..=2200).contains(y))
    };
    let at = |y: i32, m: u32, d: u32| Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single();
    for (i, w) in words.iter().enumerate() {
        let next = |k: usize| words.get(i + k).copied().unwrap_or("");
        if let Some((y, m, d)) = numeric_date(w.trim_end_matches(['.', ';', ':'])) {
            if w.contains('-') && y >= 1900 {
                if let Some(t) = at(y, m, d) {
                    return Some(t);
                }
            }
        }
        if let Some(m) = month_from_word(&fold(w)) {
            if let (Some(d), Some(y)) = (day(next(1)), year(next(2))) {
                if let Some(t) = at(y, m, d) {
                    return Some(t);
                }
            }
        }
        if let Some(d) = day(w) {
            if let (Some(m), Some(y)) = (month_from_word(&fold(next(1))), year(next(2))) {
                if let Some(t) = at(y, m, d) {
                    return Some(t);
                }
            }
        }
    }
    None
}

/// Lower case, Latin and Greek accents removed, trailing dots dropped.
fn fold(word: &str) -> String {
    word.trim_end_matches('.')
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ά' => 'α',
            'έ' => 'ε',
            'ή' => 'η',
            'ί' | 'ϊ' | 'ΐ' => 'ι',
            'ό' => 'ο',
            'ύ' | 'ϋ' | 'ΰ' => 'υ',
            'ώ' => 'ω',
            other => other,
        })
        .collect()
}

/// Month name prefixes in the languages of the feeds we read. Longer,
/// more specific prefixes first ("juil" before "jul", "juin" before "jun").
const MONTHS: &[(&str, u32)] = &[
    // French forms that would otherwise be misread.
    ("juil", 7),
    ("juin", 6),
    ("janv", 1),
    ("fevr", 2),
    ("mars", 3),
    ("avr", 4),
    ("aout", 8),
    // English, German, Dutch, Scandinavian.
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("maerz", 3),
    ("apr", 4),
    ("may", 5),
    ("mai", 5),
    ("mei", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("okt", 10),
    ("nov", 11),
    ("dec", 12),
    ("dez", 12),
    ("mrt", 3),
    ("maj", 5),
    ("des", 12),
    // Italian, Spanish, Portuguese.
    ("gen", 1),
    ("ene", 1),
    ("fev", 2),
    ("abr", 4),
    ("mag", 5),
    ("giu", 6),
    ("lug", 7),
    ("ago", 8),
    ("set", 9),
    ("ott", 10),
    ("out", 10),
    ("dic", 12),
    // Greek (accents folded).
    ("ιαν", 1),
    ("φεβ", 2),
    ("μαρ", 3),
    ("απρ", 4),
    ("μαι", 5),
    ("ιουν", 6),
    ("ιουλ", 7),
    ("αυγ", 8),
    ("σεπ", 9),
    ("οκτ", 10),
    ("νοε", 11),
    ("δεκ", 12),
    // Russian and Ukrainian.
    ("янв", 1),
    ("фев", 2),
    ("мар", 3),
    ("апр", 4),
    ("мая", 5),
    ("май", 5),
    ("июн", 6),
    ("июл", 7),
    ("авг", 8),
    ("сен", 9),
    ("окт", 10),
    ("ноя", 11),
    ("дек", 12),
    ("січ", 1),
    ("лют", 2),
    ("бер", 3),
    ("кві", 4),
    ("тра", 5),
    ("чер", 6),
    ("лип", 7),
    ("сер", 8),
    ("вер", 9),
    ("жов", 10),
    ("лис", 11),
    ("гру", 12),
];

pub(crate) fn month_from_word(word: &str) -> Option<u32> {
    if word.chars().count() < 3 || !word.chars().all(char::is_alphabetic) {
        return None;
    }
    MONTHS
        .iter()
        .find(|(prefix, _)| word.starts_with(prefix))
        .map(|(_, m)| *m)
}

/// Zone abbreviations that feeds actually use, in seconds east of UTC.
fn zone_offset(word: &str) -> Option<i32> {
    let h = |x: f32| Some((x * 3600.0) as i32);
    match word {
        "z" | "ut" | "utc" | "gmt" | "wet" => h(0.0),
        "bst" | "cet" | "west" | "met" => h(1.0),
        "cest" | "eet" | "mest" => h(2.0),
        "eest" | "msk" => h(3.0),
        "ist" => h(5.5),
        "hkt" | "sgt" | "awst" => h(8.0),
        "jst" | "kst" => h(9.0),
        "aest" => h(10.0),
        "aedt" => h(11.0),
        "nzst" => h(12.0),
        "nzdt" => h(13.0),
        "ast" | "edt" => h(-4.0),
        "est" | "cdt" => h(-5.0),
        "cst" | "mdt" => h(-6.0),
        "mst" | "pdt" => h(-7.0),
        "pst" | "akdt" => h(-8.0),
        "akst" => h(-9.0),
        "hst" => h(-10.0),
        "brt" | "art" => h(-3.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> String {
        parse_date(s)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| format!("unparsed: {s}"))
    }

    #[test]
    fn standard_formats() {
        assert_eq!(
            d("2022-07-28T03:40:34.000000000Z"),
            "2022-07-28T03:40:34+00:00"
        );
        assert_eq!(
            d("Sun, 17 Dec 2023 00:58:40 -0500"),
            "2023-12-17T05:58:40+00:00"
        );
        assert_eq!(
            d("Wed, 12 Jul 2012 10:00:00 EST"),
            "2012-07-12T15:00:00+00:00"
        );
    }

    #[test]
    fn formats_seen_in_real_feeds() {
        // NBC New York: month first, 12-hour clock, no zone.
        assert_eq!(
            d("Sat, Dec 16 2023 02:02:33 PM"),
            "2023-12-16T14:02:33+00:00"
        );
        // Chinese forum: slashes, no zone.
        assert_eq!(d("2020/1/10 14:03:00"), "2020-01-10T14:03:00+00:00");
        // Il Messaggero: Italian names.
        assert_eq!(
            d("mer, 16 nov 2022 00:38:15 +0100"),
            "2022-11-15T23:38:15+00:00"
        );
        assert_eq!(
            d("mar, 15 nov 2022 10:00:00 +0100"),
            "2022-11-15T09:00:00+00:00"
        );
        // Greek names with accents.
        assert_eq!(
            d("Τρι, 29 Ιούν 2004 12:53:00 GMT"),
            "2004-06-29T12:53:00+00:00"
        );
        // No comma after the day name.
        assert_eq!(
            d("Fri 1 Oct 2010 01:30:00 GMT"),
            "2010-10-01T01:30:00+00:00"
        );
        // Two-digit year.
        assert_eq!(
            d("Sun, 10 Dec 17 13:01:36 -0800"),
            "2017-12-10T21:01:36+00:00"
        );
        // JSON Feed without seconds or zone, and with a space separator.
        assert_eq!(d("2018-01-06T08:00"), "2018-01-06T08:00:00+00:00");
        assert_eq!(d("2022-07-26 13:01:01"), "2022-07-26T13:01:01+00:00");
        // Padding and CRLF.
        assert_eq!(
            d("\r\n   Mon, 16 Oct 2017 15:10:00 +0000  \r\n"),
            "2017-10-16T15:10:00+00:00"
        );
        // Bare dates and Unix time.
        assert_eq!(d("2019-08-14"), "2019-08-14T00:00:00+00:00");
        assert_eq!(d("1518478934"), "2018-02-12T23:42:14+00:00");
        assert_eq!(d("1970-01-01T00:00+00:00"), "1970-01-01T00:00:00+00:00");
        // Portuguese and German.
        assert_eq!(
            d("Ter, 05 Out 2021 12:00:00 -0300"),
            "2021-10-05T15:00:00+00:00"
        );
        assert_eq!(
            d("Di., 16. Nov. 2021 08:00:00 +0100"),
            "2021-11-16T07:00:00+00:00"
        );
        assert_eq!(d("12 марта 2025 14:00"), "2025-03-12T14:00:00+00:00");
    }

    #[test]
    fn the_first_full_date_of_a_text() {
        let d = |s: &str| first_date_in_text(s).map(|t| t.format("%Y-%m-%d").to_string());
        assert_eq!(
            d("Posted Jan. 28, 2014 at 6 p.m. Four teens were shot."),
            Some("2014-01-28".into())
        );
        assert_eq!(
            d("ROCKY MOUNT, 28 January 2014 — police said"),
            Some("2014-01-28".into())
        );
        assert_eq!(
            d("Updated 2016-10-30 08:00. The quake struck."),
            Some("2016-10-30".into())
        );
        assert_eq!(
            d("Am 30. Oktober 2016 bebte die Erde."),
            Some("2016-10-30".into())
        );
        // A month without a day or a year is no date.
        assert_eq!(
            d("In March the council met; 12 people in 2015 said so."),
            None
        );
        assert_eq!(d("Feb 30, 2014 is not a day."), None);
    }

    #[test]
    fn nonsense_is_none() {
        for s in [
            "",
            "yesterday",
            "32 Dec 2020",
            "2020-13-01",
            "Tuesday",
            "12:00",
            "99999",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
