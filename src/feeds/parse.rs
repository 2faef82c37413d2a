//! Feed bytes → `feed_rs` model, for RSS 0.9x/1.0/2.0, Atom (0.3 and 1.0) and
//! JSON Feed. feed-rs does the parsing; this module makes the input something
//! it reads correctly: text transcoded to UTF-8 first (see [`charset`]), the
//! prolog and root namespaces normalised, and a repair pass when strict
//! parsing fails. Dates go through our own reader and missing ids are left
//! for [`normalize`](super::normalize) to derive, so that they are stable.

use feed_rs::model::Feed;
use feed_rs::parser::{Builder, ParseFeedError};
use url::Url;

use super::charset;
use super::dates::parse_date;
use super::repair;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("empty response body")]
    Empty,
    #[error("not a feed: the body looks like an HTML page")]
    Html,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("invalid XML feed: {0}")]
    Xml(String),
    #[error("invalid JSON Feed: {0}")]
    Json(String),
    #[error("the document has {found} <{element}> elements but none could be read")]
    EntriesUnreadable { found: usize, element: &'static str },
}

/// A parsed feed plus what had to be done to read it.
#[derive(Debug)]
pub struct Parsed {
    pub feed: Feed,
    pub encoding: &'static encoding_rs::Encoding,
    pub repaired: bool,
    /// Entries left out past `max_entries` (the oldest).
    pub dropped: usize,
}

/// Runs the XML parser, turning a panic inside it into an error: feeds are
/// hostile input, and a parser bug (quick-xml 0.42 panics on an XML
/// declaration with an encoding in mid-document) must cost one feed its
/// poll, not the process.
fn guarded<T>(parse: impl FnOnce() -> T) -> Result<T, ParseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .map_err(|_| ParseError::NotAFeed("the XML parser failed on this document".into()))
}

/// Parses a feed document fetched from `base` (used to resolve relative links).
/// `content_type` is the response's Content-Type header, if any.
pub fn parse_feed(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
) -> Result<Parsed, ParseError> {
    parse_feed_capped(bytes, content_type, base, usize::MAX)
}

/// As [`parse_feed`], reading at most the newest `max_entries` entries
/// (see [`cap`](super::cap)).
pub fn parse_feed_capped(
    bytes: &[u8],
    content_type: Option<&str>,
    base: &Url,
    max_entries: usize,
) -> Result<Parsed, ParseError> {
    let http_charset = content_type.and_then(charset::charset_from_content_type);
    let decoded = charset::decode(bytes, http_charset);
    let text = decoded
        .text
        .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let parser = || {
        Builder::new()
            .base_uri(Some(base.as_str()))
            // Ids are derived in normalize, from content, not at random.
            .id_generator(|_, _, _| String::new())
            .timestamp_parser(parse_date)
            .sanitize_content(false)
            .build()
    };
    let first = text.chars().next().unwrap_or(' ');
    if first == '{' || first == '[' {
        let capped = super::cap::cap_json(text, max_entries);
        let (text, dropped) = match &capped {
            Some((t, n)) => (t.as_str(), *n),
            None => (text, 0),
        };
        let feed = parser().parse(text.as_bytes()).map_err(|e| match e {
            ParseFeedError::JsonSerde(e) => ParseError::Json(e.to_string()),
            ParseFeedError::JsonUnsupportedVersion(v) if v.contains("jsonfeed.org/version/") => {
                ParseError::Json(format!("unsupported version {v}"))
            }
            other => ParseError::NotAFeed(other.to_string()),
        });
        let feed = match feed {
            Err(ParseError::Json(msg)) if msg.starts_with("unsupported version") => {
                // "http://jsonfeed.org/version/1" (http, not https) is common.
                let fixed = text.replacen(
                    "http://jsonfeed.org/version/",
                    "https://jsonfeed.org/version/",
                    1,
                );
                parser()
                    .parse(fixed.as_bytes())
                    .map_err(|e| ParseError::Json(e.to_string()))?
            }
            other => other?,
        };
        return Ok(Parsed {
            feed,
            encoding: decoded.encoding,
            repaired: false,
            dropped,
        });
    }
    if first != '<' {
        return Err(ParseError::NotAFeed(
            "the body is neither XML nor JSON".into(),
        ));
    }
    if looks_like_html(text) {
        return Err(ParseError::Html);
    }
    let prepared = repair::prepare(text);
    let mut dropped = 0;
    // The cap applies to what the parser reads, before and after a repair.
    fn capped<'a>(doc: &'a str, max: usize, dropped: &mut usize) -> std::borrow::Cow<'a, str> {
        match super::cap::cap_xml(doc, max) {
            Some((t, n)) => {
                *dropped = n;
                std::borrow::Cow::Owned(t)
            }
            None => std::borrow::Cow::Borrowed(doc),
        }
    }
    let first_try = capped(&prepared, max_entries, &mut dropped);
    let (feed, repaired) = match guarded(|| parser().parse(first_try.as_bytes()))? {
        Ok(feed) => (feed, false),
        Err(strict) => {
            let (fixed, repairs) = repair::repair(&prepared);
            let fixed = capped(&fixed, max_entries, &mut dropped).into_owned();
            let retry = repairs
                .any()
                .then(|| guarded(|| parser().parse(fixed.as_bytes())).ok()?.ok())
                .flatten()
                // A repair that yields no entries read nothing useful: the
                // original error says more (a truncated channel header, say).
                .filter(|f| !f.entries.is_empty());
            match retry {
                Some(feed) => {
                    tracing::debug!(?repairs, "feed needed repair");
                    (feed, true)
                }
                None if count_elements(&prepared, "rss") > 0
                    && count_elements(&prepared, "channel") == 0 =>
                {
                    return Err(ParseError::NotAFeed("<rss> has no <channel>".into()))
                }
                None => return Err(xml_error(strict)),
            }
        }
    };
    if feed.entries.is_empty() {
        // feed-rs returns an empty feed for roots it does not understand.
        for element in ["item", "entry"] {
            let found = count_elements(&prepared, element);
            if found > 0 {
                return Err(ParseError::EntriesUnreadable { found, element });
            }
        }
    }
    Ok(Parsed {
        feed,
        encoding: decoded.encoding,
        repaired,
        dropped,
    })
}

fn xml_error(e: ParseFeedError) -> ParseError {
    match e {
        ParseFeedError::ParseError(kind) => ParseError::NotAFeed(kind.to_string()),
        other => ParseError::Xml(other.to_string()),
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    let head = head.trim_start();
    (head.starts_with("<!doctype html") || head.starts_with("<html"))
        && !head.contains("<rss")
        && !head.contains("<feed")
}

fn count_elements(text: &str, name: &str) -> usize {
    let open = format!("<{name}");
    text.match_indices(&open)
        .filter(|(i, _)| {
            text[i + open.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace())
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/feeds/world.xml").unwrap()
    }

    /// Found by the `feed` fuzz target: an XML declaration with an encoding
    /// in mid-document (two documents glued together) made quick-xml panic.
    #[test]
    fn a_declaration_in_mid_document_is_no_panic() {
        let base = Url::parse("https://x.example/feed").unwrap();
        let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>t</title>\
            <item><title>Envoy<?xml version=\"1.0\" encoding=\"iso-8859-1\"?></title><guid>a</guid></item></channel></rss>";
        let parsed =
            parse_feed(body, None, &base).expect("readable once the stray declaration is gone");
        assert_eq!(parsed.feed.entries.len(), 1);
        assert_eq!(
            guarded(|| -> u8 { panic!("parser bug") })
                .unwrap_err()
                .to_string(),
            "not a feed: the XML parser failed on this document"
        );
    }

    /// Found by the `feed` fuzz target: a non-ASCII byte right after
    /// `version=` in an `<rss>` tag split a character in the repair step.
    #[test]
    fn a_stray_byte_in_the_rss_version_is_no_panic() {
        let base = Url::parse("https://x.example/feed").unwrap();
        for body in [
            &b"<?xml version=\"1.0\"?><rss version=\xa20.1<9>\"channel><title>Old</title><item><title>One</title></item></rss>"[..],
            &b"<rss version=\xe2\x82\xac2.0\xe2\x82\xac><channel><item><title>One</title></item></channel></rss>"[..],
        ] {
            let _ = parse_feed(body, Some("application/rss+xml"), &base);
        }
    }

    #[test]
    fn html_pages_are_not_feeds() {
        let err = parse_feed(
            b"<!DOCTYPE html><html><body>Hi</body></html>",
            None,
            &base(),
        )
        .unwrap_err();
        assert!(matches!(err, ParseError::Html), "{err}");
    }

    #[test]
    fn garbage_and_empty_bodies_fail_clearly() {
        assert!(matches!(
            parse_feed(b"   ", None, &base()),
            Err(ParseError::Empty)
        ));
        assert!(matches!(
            parse_feed(b"\x00\x01\x02\xff binary", None, &base()),
            Err(ParseError::NotAFeed(_))
        ));
        assert!(parse_feed(b"{\"rss\": {}}", None, &base()).is_err());
    }

    #[test]
    fn an_unescaped_ampersand_does_not_lose_the_feed() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title>\
                   <item><title>a</title><link>https://x.org/1</link></item>\
                   <item><title>b & c</title><link>https://x.org/2?a=1&b=2</link></item>\
                   <item><title>d</title><link>https://x.org/3</link></item></channel></rss>";
        let p = parse_feed(xml.as_bytes(), None, &base()).unwrap();
        assert!(p.repaired);
        assert_eq!(p.feed.entries.len(), 3);
        assert_eq!(p.feed.entries[1].links[0].href, "https://x.org/2?a=1&b=2");
    }
}
