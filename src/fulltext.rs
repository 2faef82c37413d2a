//! Full text for feed entries that carry only a headline and a sentence:
//! the entry's article page is fetched and its main text replaces the feed's.
//!
//! Only new entries are fetched, only those that name something a story
//! watches (unless the feed says `full_text = "always"`), at most
//! [`MAX_PAGES_PER_POLL`] per poll of a feed, through the same HTTP client,
//! host limits, timeout and size cap as feed polling. Every fetch is stored,
//! failures too, so no page is fetched twice; a page that yields nothing
//! leaves the entry with its feed text.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use url::Url;

use crate::article;
use crate::config::{FeedConfig, FullText};
use crate::dedup::ExactKeys;
use crate::feeds::fetch::{Fetched, Fetcher};
use crate::feeds::normalize::Item;
use crate::store::{Store, StoreError, StoredPage};
use crate::stories::Story;

/// Entries whose own text is shorter than this are "short" for `"auto"`.
pub const SHORT_TEXT_CHARS: usize = 400;

/// Page fetches per poll of one feed; entries beyond keep their feed text,
/// so that a feed that suddenly lists hundreds of entries cannot turn one
/// poll into a crawl.
pub const MAX_PAGES_PER_POLL: usize = 20;

/// Pages of one feed fetched at once (the host limits apply on top).
const CONCURRENT_PAGES: usize = 4;

/// What full-text fetching did for one batch of entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Completed {
    /// Pages fetched now; the pipeline stores them with the items.
    pub pages: Vec<StoredPage>,
    /// Entries whose text now comes from their page.
    pub completed: usize,
    /// Fetches that failed or found no text (the entries keep feed text).
    pub failed: usize,
    /// Entries completed from pages stored earlier.
    pub reused: usize,
    /// Entries that qualified but were over [`MAX_PAGES_PER_POLL`].
    pub deferred: usize,
}

/// Whether an entry qualifies for a page fetch under the feed's mode.
pub fn wants_page(mode: FullText, stories: &[Story], item: &Item) -> bool {
    let fetchable = item
        .link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .is_some_and(|u| matches!(u.scheme(), "http" | "https"));
    if !fetchable {
        return false;
    }
    let story_named = || {
        stories
            .iter()
            .any(|s| s.matcher.worth_fetching(&item.title, &item.text))
    };
    match mode {
        FullText::Off => false,
        FullText::Always => true,
        FullText::Matching => story_named(),
        FullText::Auto => item.text.chars().count() < SHORT_TEXT_CHARS && story_named(),
    }
}

/// An entry that qualifies for a page fetch: its index, keys and link.
pub type Wanted = (usize, ExactKeys, String);

/// The entries of one feed that qualify for a page fetch under its mode.
pub fn wanted(feed: &FeedConfig, stories: &[Story], items: &[Item]) -> Vec<Wanted> {
    if feed.full_text == FullText::Off {
        return Vec::new();
    }
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| wants_page(feed.full_text, stories, item))
        .map(|(i, item)| {
            (
                i,
                ExactKeys::of(item),
                item.link.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// What the store knows of each wanted entry: whether the entry is stored
/// already, else the page fetched for its link earlier, if any.
pub type Known = (usize, Option<StoredPage>, bool);

/// Looks the wanted entries up in the store (reads only).
pub fn known(store: &Store, feed: &str, wanted: Vec<Wanted>) -> Result<Vec<Known>, StoreError> {
    wanted
        .into_iter()
        .map(|(i, keys, link)| {
            if store.is_known_item(feed, &keys)? {
                return Ok((i, None, true));
            }
            Ok((i, store.page(&link)?, false))
        })
        .collect()
}

/// Fetches the pages of the new, qualifying entries of one feed and puts
/// their text into `items`; a page stored earlier is used again.
pub async fn complete(
    fetcher: &Fetcher,
    feed: &FeedConfig,
    items: &mut [Item],
    known: Vec<Known>,
    now: DateTime<Utc>,
) -> Completed {
    let mut out = Completed::default();
    // One fetch per link, whichever entries share it.
    let mut to_fetch: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, stored, is_known) in known {
        let link = items[i].link.clone().unwrap_or_default();
        match (is_known, stored) {
            (true, _) => {}
            (false, Some(page)) => {
                if apply(&mut items[i], &page) {
                    out.reused += 1;
                }
            }
            (false, None) => {
                if let Some((_, same)) = to_fetch.iter_mut().find(|(l, _)| *l == link) {
                    same.push(i);
                } else if to_fetch.len() < MAX_PAGES_PER_POLL {
                    to_fetch.push((link, vec![i]));
                } else {
                    out.deferred += 1;
                }
            }
        }
    }
    if out.deferred > 0 {
        tracing::info!(feed = %feed.name, deferred = out.deferred, "more entries than page fetches per poll; the rest keep their feed text");
    }
    let fetched: Vec<(Vec<usize>, StoredPage)> = futures_util::stream::iter(to_fetch)
        .map(|(link, entries)| async move {
            let page = fetch_page(fetcher, &link, &feed.allow_hosts, now).await;
            (entries, page)
        })
        .buffer_unordered(CONCURRENT_PAGES)
        .collect()
        .await;
    for (entries, page) in fetched {
        for i in entries {
            if apply(&mut items[i], &page) {
                out.completed += 1;
            } else {
                out.failed += 1;
                tracing::debug!(feed = %feed.name, url = %page.url, error = ?page.error, "article page gave no text; keeping the feed text");
            }
        }
        out.pages.push(page);
    }
    out
}

/// Fetches and extracts one page; every outcome becomes a [`StoredPage`].
pub async fn fetch_page(
    fetcher: &Fetcher,
    link: &str,
    allow_hosts: &[String],
    now: DateTime<Utc>,
) -> StoredPage {
    let mut page = StoredPage {
        url: link.to_string(),
        fetched_at: now.timestamp(),
        ..StoredPage::default()
    };
    let url = match Url::parse(link) {
        Ok(u) => u,
        Err(e) => {
            page.error = Some(format!("bad link: {e}"));
            return page;
        }
    };
    let body = match fetcher.fetch_page(&url, allow_hosts).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified { status }) => {
            page.status = Some(status);
            page.error = Some("not modified".into());
            return page;
        }
        Err(e) => {
            page.status = e.http_status();
            page.error = Some(e.to_string());
            return page;
        }
    };
    page.status = Some(body.status);
    if let Some(ct) = body.content_type.as_deref() {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(mime.is_empty() || mime == "text/html" || mime == "application/xhtml+xml") {
            page.error = Some(format!("not an HTML page ({mime})"));
            return page;
        }
    }
    let final_url = body.final_url.clone();
    let content_type = body.content_type.clone();
    let extracted = tokio::task::spawn_blocking(move || {
        article::extract(&body.bytes, content_type.as_deref(), Some(&final_url))
    })
    .await;
    let a = match extracted {
        Ok(a) => a,
        Err(e) => {
            page.error = Some(format!("extraction failed: {e}"));
            return page;
        }
    };
    if a.text.trim().is_empty() {
        page.error = Some("no article text on the page".into());
    }
    page.canonical_url = a.canonical_url;
    page.title = a.title.map(|t| crate::terminal::plain(&t).into_owned());
    page.published_at = a.published.map(|p| p.timestamp());
    page.authors = a.authors;
    page.language = a.language;
    page.text = crate::terminal::text(&a.text).into_owned();
    page.method = Some(a.method.as_str().to_string());
    page
}

/// Puts a page's text and metadata into its entry; false when the page has
/// nothing better than the feed's own text.
fn apply(item: &mut Item, page: &StoredPage) -> bool {
    if page.error.is_some() || page.text.trim().is_empty() {
        return false;
    }
    // A page shorter than the feed's text is a teaser or a wall.
    if page.text.split_whitespace().count() <= item.text.split_whitespace().count() {
        return false;
    }
    item.text = page.text.clone();
    if item.title.is_empty() {
        item.title = page.title.clone().unwrap_or_default();
    }
    if item.published.is_none() {
        item.published = page
            .published_at
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    }
    if item.authors.is_empty() {
        item.authors = page.authors.clone();
    }
    item.page_url = page.canonical_url.clone();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str) -> Item {
        Item {
            guid: "g".into(),
            link: Some("https://example.org/a".into()),
            canonical_url: Some("https://example.org/a".into()),
            title: "Envoy meets Putin".into(),
            text: text.into(),
            published: None,
            authors: vec![],
            categories: vec![],
            page_url: None,
        }
    }

    #[test]
    fn a_longer_page_replaces_the_feed_text_and_failures_do_not() {
        let page = StoredPage {
            url: "https://example.org/a".into(),
            canonical_url: Some("https://example.org/world/a".into()),
            text: "The envoy met the president.\n\nTalks lasted five hours.".into(),
            published_at: Some(1_700_000_000),
            authors: vec!["Jane Roe".into()],
            ..StoredPage::default()
        };
        let mut it = item("Talks.");
        assert!(apply(&mut it, &page));
        assert!(it.text.contains("five hours"));
        assert_eq!(it.page_url.as_deref(), Some("https://example.org/world/a"));
        assert_eq!(it.authors, ["Jane Roe"]);
        assert!(it.published.is_some());

        let failed = StoredPage {
            error: Some("HTTP 500".into()),
            ..page.clone()
        };
        let mut it = item("Talks.");
        assert!(!apply(&mut it, &failed));
        assert_eq!(it.text, "Talks.");
        assert_eq!(it.page_url, None);

        // A paywall teaser shorter than the feed's own text changes nothing.
        let mut it = item("The envoy met the president in St Petersburg for five hours on Friday.");
        assert!(!apply(&mut it, &page));
    }
}
