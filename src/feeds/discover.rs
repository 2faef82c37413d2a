//! Feed discovery: the feeds an HTML page announces with
//! `<link rel="alternate" type="application/rss+xml" href="…">` (and the
//! Atom and JSON Feed types), as browsers and feed readers find them.

use scraper::{Html, Selector};
use url::Url;

/// The media types a page announces a feed with.
const FEED_TYPES: [&str; 5] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// The feed URLs `html` links to, resolved against `base`, in page order,
/// without repeats. Only http(s) links count.
pub fn feed_links(html: &str, base: &Url) -> Vec<Url> {
    let doc = Html::parse_document(html);
    let Ok(links) = Selector::parse("link[href]") else {
        return Vec::new();
    };
    // A <base href> changes what relative links resolve against.
    let base = Selector::parse("base[href]")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h.trim()).ok())
        .unwrap_or_else(|| base.clone());
    let mut out: Vec<Url> = Vec::new();
    for l in doc.select(&links) {
        let v = l.value();
        let alternate = v.attr("rel").is_some_and(|r| {
            r.split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case("alternate"))
        });
        let feed_type = v.attr("type").is_some_and(|t| {
            let t = t.split(';').next().unwrap_or("").trim();
            FEED_TYPES.iter().any(|f| t.eq_ignore_ascii_case(f))
        });
        if !(alternate && feed_type) {
            continue;
        }
        let Some(url) = v.attr("href").and_then(|h| base.join(h.trim()).ok()) else {
            continue;
        };
        if matches!(url.scheme(), "http" | "https") && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternate_feed_links_are_found_and_resolved() {
        let base = Url::parse("https://news.example/world/story.html").unwrap();
        let html = r#"<html><head>
            <link rel="stylesheet" type="text/css" href="/s.css">
            <link rel="alternate" type="application/rss+xml" title="World" href="/world/rss.xml">
            <link rel="Alternate feed" type="application/atom+xml; charset=utf-8" href="atom.xml">
            <link rel="alternate" type="application/rss+xml" href="/world/rss.xml">
            <link rel="alternate" type="text/html" hreflang="de" href="/de/">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body><a href="/other.rss">not announced</a></body></html>"#;
        let found: Vec<String> = feed_links(html, &base).iter().map(Url::to_string).collect();
        assert_eq!(
            found,
            [
                "https://news.example/world/rss.xml",
                "https://news.example/world/atom.xml"
            ]
        );
        let with_base = r#"<head><base href="https://cdn.example/x/"><link rel="alternate" type="application/feed+json" href="feed.json"></head>"#;
        assert_eq!(
            feed_links(with_base, &base)[0].as_str(),
            "https://cdn.example/x/feed.json"
        );
        assert!(feed_links("<p>no head at all", &base).is_empty());
    }
}
