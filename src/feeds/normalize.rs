//! Feed entries → [`Item`]s: one shape for every format, with a stable id,
//! absolute links, a canonical URL, clean text and a publication time.

use chrono::{DateTime, Duration, Utc};
use feed_rs::model::{Entry, Feed};
use sha2::{Digest, Sha256};
use url::Url;

use crate::canonical;
use crate::extract::html_to_text;
use crate::terminal::one_line;

/// A feed entry in storywatch's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The feed's GUID, else `sw:` + a hash of link and title (or of the text
    /// when there is no link): the same entry gets the same id on every poll.
    pub guid: String,
    pub link: Option<String>,
    /// Only set when it identifies this article (not the site's home page).
    pub canonical_url: Option<String>,
    pub title: String,
    pub text: String,
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// The canonical URL the article page declared, once its full text was
    /// fetched ([`crate::fulltext`]).
    pub page_url: Option<String>,
}

/// Publication times further ahead than this are clock errors, not news from
/// the future; such items count as published when first seen.
const MAX_FUTURE_SKEW: Duration = Duration::hours(24);

/// Normalises every entry of `feed`, fetched from `base`. Entries with no id,
/// title, link or text at all are dropped: there is nothing to match or show.
pub fn normalize_feed(feed: &Feed, base: &Url, now: DateTime<Utc>) -> Vec<Item> {
    let site = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .and_then(|l| canonical::canonicalize_str(&l.href, Some(base)));
    feed.entries
        .iter()
        .filter_map(|e| normalize_entry(e, base, site.as_deref(), now))
        .collect()
}

pub fn normalize_entry(
    entry: &Entry,
    base: &Url,
    site: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Item> {
    let title = entry
        .title
        .as_ref()
        .map(|t| one_line(&html_to_text(&t.content)))
        .unwrap_or_default();
    let text = crate::terminal::text(&entry_text(entry)).into_owned();
    let link = pick_link(entry, base);
    if title.is_empty() && text.is_empty() && link.is_none() && entry.id.trim().is_empty() {
        return None;
    }
    let canonical_url = link
        .as_deref()
        .and_then(|l| canonical::canonicalize_str(l, None))
        .filter(|c| Some(c.as_str()) != site && !is_home_page(c));
    let guid = match entry.id.trim() {
        "" => derived_id(link.as_deref(), &title, &text),
        id => id.to_string(),
    };
    let published = entry
        .published
        .or(entry.updated)
        .filter(|p| *p <= now + MAX_FUTURE_SKEW);
    let authors = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(one_line))
        .filter(|n| !n.is_empty())
        .collect();
    let categories = entry
        .categories
        .iter()
        .map(|c| one_line(c.label.as_deref().unwrap_or(&c.term)))
        .filter(|c| !c.is_empty())
        .collect();
    Some(Item {
        guid,
        link,
        canonical_url,
        title,
        text,
        published,
        authors,
        categories,
        page_url: None,
    })
}

/// The fuller of content and summary; media descriptions for video feeds.
fn entry_text(entry: &Entry) -> String {
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .unwrap_or("");
    let summary = entry
        .summary
        .as_ref()
        .map(|s| s.content.as_str())
        .unwrap_or("");
    let raw = if content.trim().len() > summary.trim().len() {
        content
    } else {
        summary
    };
    if !raw.trim().is_empty() {
        return html_to_text(raw);
    }
    entry
        .media
        .iter()
        .find_map(|m| m.description.as_ref())
        .map(|d| html_to_text(&d.content))
        .unwrap_or_default()
}

/// The entry's own page: an `alternate` (or unlabelled) http(s) link, made absolute.
fn pick_link(entry: &Entry, base: &Url) -> Option<String> {
    let resolve = |href: &str| -> Option<String> {
        let url = base.join(href.trim()).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    };
    entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .chain(entry.links.iter())
        .find_map(|l| resolve(&l.href))
}

fn is_home_page(canonical: &str) -> bool {
    Url::parse(canonical)
        .is_ok_and(|u| (u.path() == "/" || u.path().is_empty()) && u.query().is_none())
}

fn derived_id(link: Option<&str>, title: &str, text: &str) -> String {
    let mut h = Sha256::new();
    match link {
        Some(l) => {
            h.update(l.as_bytes());
            h.update(b"\n");
            h.update(title.as_bytes());
        }
        None => {
            h.update(title.as_bytes());
            h.update(b"\n");
            h.update(text.as_bytes());
        }
    }
    let digest = h.finalize();
    let mut id = String::from("sw:");
    for b in &digest[..16] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::parse::parse_feed;

    fn items(xml: &str) -> Vec<Item> {
        let base = Url::parse("https://news.example/feeds/rss.xml").unwrap();
        let parsed = parse_feed(xml.as_bytes(), None, &base).unwrap();
        normalize_feed(&parsed.feed, &base, Utc::now())
    }

    #[test]
    fn ids_without_guid_are_stable_and_distinct() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title><link>https://news.example/</link>\
                   <item><description>First note without title or link</description></item>\
                   <item><description>Second note</description></item>\
                   <item><title>Linked</title><link>/a/1?utm_source=rss#top</link></item></channel></rss>";
        let a = items(xml);
        let b = items(xml);
        assert_eq!(a, b);
        assert!(a.iter().all(|i| i.guid.starts_with("sw:")));
        assert_ne!(a[0].guid, a[1].guid);
        assert_eq!(
            a[2].link.as_deref(),
            Some("https://news.example/a/1?utm_source=rss#top")
        );
        assert_eq!(
            a[2].canonical_url.as_deref(),
            Some("https://news.example/a/1")
        );
    }

    #[test]
    fn home_page_links_are_not_article_keys() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title><link>https://news.example/world</link>\
                   <item><title>A</title><link>https://news.example/world</link><guid>1</guid></item>\
                   <item><title>B</title><link>https://news.example/</link><guid>2</guid></item></channel></rss>";
        let it = items(xml);
        assert_eq!(it[0].canonical_url, None);
        assert_eq!(it[1].canonical_url, None);
    }

    #[test]
    fn html_titles_and_summaries_become_text() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title>\
                   <item><title>Envoy &amp;amp; Kremlin</title><guid>g1</guid>\
                   <description>&lt;p&gt;First&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;&lt;p&gt;Second &amp;amp; third&lt;/p&gt;</description>\
                   <pubDate>Fri, 11 Apr 2025 10:00:00 GMT</pubDate></item></channel></rss>";
        let it = items(xml);
        assert_eq!(it[0].title, "Envoy & Kremlin");
        assert_eq!(it[0].text, "First\n\nSecond & third");
        assert_eq!(
            it[0].published.unwrap().to_rfc3339(),
            "2025-04-11T10:00:00+00:00"
        );
    }

    #[test]
    fn future_dates_are_not_trusted() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title>\
                   <item><title>Later</title><guid>g</guid><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>\
                   </channel></rss>";
        assert_eq!(items(xml)[0].published, None);
    }
}
