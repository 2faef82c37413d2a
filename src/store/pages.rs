//! Fetched article pages (full-text fetching): stored once per link, with
//! the outcome, so a page is never fetched twice.

use rusqlite::{params, OptionalExtension, Row};

use super::{Result, Store, StoreTx};
use crate::dedup::ExactKeys;

/// One fetched article page, or the reason it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredPage {
    /// The entry's link, as fetched.
    pub url: String,
    pub fetched_at: i64,
    /// The final HTTP status; `None` when no response arrived.
    pub status: Option<u16>,
    pub canonical_url: Option<String>,
    pub title: Option<String>,
    pub published_at: Option<i64>,
    pub authors: Vec<String>,
    pub language: Option<String>,
    pub text: String,
    /// How the text was found (`readability`, `json_ld`, …).
    pub method: Option<String>,
    /// Why the page gave no text; the item keeps its feed text.
    pub error: Option<String>,
}

fn page_row(r: &Row<'_>) -> rusqlite::Result<StoredPage> {
    let authors: String = r.get(6)?;
    Ok(StoredPage {
        url: r.get(0)?,
        fetched_at: r.get(1)?,
        status: r.get(2)?,
        canonical_url: r.get(3)?,
        title: r.get(4)?,
        published_at: r.get(5)?,
        authors: serde_json::from_str(&authors).unwrap_or_default(),
        language: r.get(7)?,
        text: r.get(8)?,
        method: r.get(9)?,
        error: r.get(10)?,
    })
}

impl Store {
    /// The stored page for a link, if it was fetched before.
    pub fn page(&self, url: &str) -> Result<Option<StoredPage>> {
        Ok(self
            .conn
            .query_row(
                "SELECT url, fetched_at, status, canonical_url, title, published_at, authors,
                        language, text, method, error
                   FROM article_pages WHERE url = ?1",
                [url],
                page_row,
            )
            .optional()?)
    }

    /// Whether an entry is already stored (by GUID in its feed, canonical
    /// URL or text), so that no page is fetched for an item that will be
    /// dropped as a duplicate.
    pub fn is_known_item(&self, feed: &str, keys: &ExactKeys) -> Result<bool> {
        let by_guid = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM items i JOIN feeds f ON f.id = i.feed_id
                  WHERE f.name = ?1 AND i.guid = ?2",
            )?
            .exists(params![feed, keys.guid])?;
        Ok(by_guid || super::stored_under_other_keys(&self.conn, keys)?.is_some())
    }
}

impl StoreTx<'_> {
    /// Stores a fetched page; a page already stored for the link stays.
    pub fn insert_page(&self, p: &StoredPage) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO article_pages
                   (url, fetched_at, status, canonical_url, title, published_at, authors,
                    language, text, method, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                p.url,
                p.fetched_at,
                p.status,
                p.canonical_url,
                p.title,
                p.published_at,
                serde_json::to_string(&p.authors).unwrap_or_else(|_| "[]".into()),
                p.language,
                p.text,
                p.method,
                p.error,
            ])?;
        Ok(())
    }

    /// Deletes pages fetched before `before`: their items keep the text.
    pub fn prune_pages(&self, before: i64) -> Result<usize> {
        Ok(self
            .tx
            .execute("DELETE FROM article_pages WHERE fetched_at < ?1", [before])?)
    }
}
