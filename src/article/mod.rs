//! News page → article: the main text a reader sees, without navigation,
//! share bars, related links, banners or comments, plus the page's metadata.
//!
//! Feeds often carry a headline and one sentence; the people and events that
//! make an item a follow-up are in the article. Readability (through
//! dom_smoothie, on the same html5ever parser as the rest of storywatch)
//! finds the main block; JSON-LD `articleBody`, where the publisher ships it,
//! backs it up; [`body`] decides between them. No script runs and nothing is
//! fetched: this module only reads bytes it is given.

pub mod body;
mod cleanup;
pub mod jsonld;
pub mod meta;
mod prune;

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

use crate::extract;
use crate::feeds::charset;

/// What [`extract`] read from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Article {
    pub title: Option<String>,
    /// The page's own idea of its address (`<link rel=canonical>`, og:url,
    /// JSON-LD), in storywatch's canonical form.
    pub canonical_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
    /// Main text, paragraphs separated by a blank line.
    pub text: String,
    /// Which step produced `text`, so users can see why.
    pub method: Method,
    /// The encoding the bytes were read in.
    pub encoding: &'static str,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Readability's main block.
    Readability,
    /// The publisher's JSON-LD `articleBody`.
    JsonLd,
    /// The element the page marks as its article (`itemprop=articleBody`, a
    /// CMS body class), when Readability's block lay outside it.
    Container,
    /// The page's paragraphs, when neither of the above found an article.
    Paragraphs,
    /// Nothing readable on the page.
    #[default]
    Empty,
}

impl Method {
    /// The name `--json` and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Readability => "readability",
            Method::JsonLd => "json_ld",
            Method::Container => "container",
            Method::Paragraphs => "paragraphs",
            Method::Empty => "empty",
        }
    }
}

/// Collapses runs of whitespace to one space and trims.
pub(crate) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Elements beyond this are not parsed by Readability (a real news page has
/// a few thousand); such pages fall back to the paragraph scan.
const MAX_ELEMENTS: usize = 60_000;

/// Extracts the article from raw page bytes. `content_type` is the response's
/// header, for its charset; `url` resolves relative links and is the fallback
/// canonical URL's base.
pub fn extract(bytes: &[u8], content_type: Option<&str>, url: Option<&Url>) -> Article {
    let decoded = charset::decode(
        bytes,
        content_type.and_then(charset::charset_from_content_type),
    );
    let mut article = extract_html(&decoded.text, url);
    article.encoding = decoded.encoding.name();
    article
}

/// Extracts the article from a decoded page.
pub fn extract_html(html: &str, url: Option<&Url>) -> Article {
    extract_html_with(html, url, body::Steps::default())
}

/// [`extract_html`] with a choice of storywatch's own steps, so that the
/// evaluation can show what each adds to Readability.
pub fn extract_html_with(html: &str, url: Option<&Url>, steps: body::Steps) -> Article {
    // Hostile nesting makes tree building quadratic; such a page is no
    // article, so it only gets the flat text scan.
    if extract::nesting_depth(html) > extract::MAX_NESTING {
        let text = extract::html_to_text(&extract::flatten(html));
        return Article {
            method: if text.is_empty() {
                Method::Empty
            } else {
                Method::Paragraphs
            },
            text,
            encoding: "UTF-8",
            ..Article::default()
        };
    }
    let cfg = dom_smoothie::Config {
        max_elements_to_parse: MAX_ELEMENTS,
        // The cleanup after Readability reads class names.
        keep_classes: true,
        ..dom_smoothie::Config::default()
    };
    let page_url = url.map(Url::as_str);
    let mut readability = match dom_smoothie::Readability::new(html, page_url, Some(cfg.clone())) {
        Ok(r) => r,
        // Only a malformed document URL fails here; read the page without it.
        Err(_) => match dom_smoothie::Readability::new(html, None, Some(cfg)) {
            Ok(r) => r,
            Err(_) => return Article::default(),
        },
    };
    let ld_blocks: Vec<String> = readability
        .doc
        .select(r#"script[type="application/ld+json" i]"#)
        .iter()
        .map(|s| s.text().to_string())
        .collect();
    let ld = jsonld::read(ld_blocks.iter().map(String::as_str));
    let mut meta = meta::read(&readability.doc, ld.as_ref(), url);
    let (text, method, byline) = body::main_text(html, &mut readability, ld.as_ref(), steps);
    meta::add_byline(&mut meta, byline.as_deref());
    Article {
        title: meta.title,
        canonical_url: meta.canonical_url,
        published: meta.published,
        authors: meta.authors,
        site_name: meta.site_name,
        language: meta.language,
        text,
        method,
        encoding: "UTF-8",
    }
}

/// Lower-cased words of `text`; each CJK character counts as a word, as
/// those scripts do not separate words with spaces.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut out = Vec::new();
            let mut cur = String::new();
            for c in w.chars() {
                if is_cjk(c) {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                    out.push(c.to_string());
                } else {
                    cur.extend(c.to_lowercase());
                }
            }
            if !cur.is_empty() {
                out.push(cur);
            }
            out
        })
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af | 0xf900..=0xfaff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_pages_give_bounded_text_not_errors() {
        // Nesting far beyond any article: the flat scan, no tree.
        let deep = format!("{}<p>Envoy meets Putin.</p>", "<div>".repeat(100_000));
        let a = extract(deep.as_bytes(), Some("text/html"), None);
        assert_eq!(a.method, Method::Paragraphs);
        assert!(a.text.contains("Envoy meets Putin."));
        // More elements than Readability is allowed to parse: the paragraph scan.
        let wide = format!(
            "<html><body>{}<p>{}</p></body></html>",
            "<span>x</span>".repeat(MAX_ELEMENTS + 10),
            "The envoy met the president in St Petersburg for five hours on Friday."
        );
        let a = extract(wide.as_bytes(), None, None);
        assert_eq!(a.method, Method::Paragraphs);
        assert!(a.text.contains("five hours"));
        // Not HTML at all, and nothing at all.
        let junk: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        assert!(extract(&junk, None, None).text.len() <= crate::extract::MAX_TEXT_BYTES + 4);
        assert_eq!(extract(b"", None, None).text, "");
    }

    #[test]
    fn a_declared_charset_that_lies_is_overruled_by_the_bytes() {
        let page = "<html><head><meta charset=gb2312><title>Saint-Pétersbourg : l’envoyé rencontre Poutine</title></head>\
                    <body><p>x</p></body></html>";
        let a = extract(page.as_bytes(), Some("text/html; charset=gb2312"), None);
        assert_eq!(a.encoding, "UTF-8");
        assert_eq!(
            a.title.as_deref(),
            Some("Saint-Pétersbourg : l’envoyé rencontre Poutine")
        );
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "<html><head><meta charset=gb2312><title>河北新闻</title></head><body></body></html>",
        );
        let a = extract(&gbk, None, None);
        assert_eq!(a.encoding, "GBK");
        assert_eq!(a.title.as_deref(), Some("河北新闻"));
    }
}
