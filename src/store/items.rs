//! Stored items: the exact-key duplicate checks, the rows themselves,
//! their near-duplicate clusters and the lookups `explain` and `items` use.

use rusqlite::{params, Connection};

use super::{Result, Store, StoreTx};
use crate::dedup::ExactKeys;
use crate::feeds::normalize::Item;

/// Which exact key made an item a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateOf {
    Guid,
    CanonicalUrl,
    ContentHash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub id: i64,
    pub feed: String,
    pub guid: String,
    pub link: Option<String>,
    pub canonical_url: Option<String>,
    pub title: String,
    pub text: String,
    pub published_at: Option<i64>,
    pub first_seen_at: i64,
    /// The near-duplicate cluster (the item's own id when it copies nothing).
    pub cluster_id: i64,
}

fn stored_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    Ok(StoredItem {
        id: r.get(0)?,
        feed: r.get(1)?,
        guid: r.get(2)?,
        link: r.get(3)?,
        canonical_url: r.get(4)?,
        title: r.get(5)?,
        text: r.get(6)?,
        published_at: r.get(7)?,
        first_seen_at: r.get(8)?,
        cluster_id: r.get(9)?,
    })
}

/// The URL and text keys of [`StoreTx::find_duplicate`], shared with the
/// read-only check before full-text fetching (`Store::is_known_item`).
pub(super) fn stored_under_other_keys(
    conn: &Connection,
    keys: &ExactKeys,
) -> Result<Option<DuplicateOf>> {
    let exists = |sql: &str, p: &dyn rusqlite::ToSql| -> Result<bool> {
        Ok(conn.prepare_cached(sql)?.exists([p])?)
    };
    // The item's canonical URL and its page's, each against both stored
    // columns: a link that redirects to an article another feed carried
    // is that article.
    for url in keys.urls() {
        if exists("SELECT 1 FROM items WHERE canonical_url = ?1", &url)?
            || exists("SELECT 1 FROM items WHERE page_url = ?1", &url)?
        {
            return Ok(Some(DuplicateOf::CanonicalUrl));
        }
    }
    if let Some(hash) = &keys.content_hash {
        if exists(
            "SELECT 1 FROM items WHERE content_hash = ?1",
            &hash.as_slice(),
        )? {
            return Ok(Some(DuplicateOf::ContentHash));
        }
    }
    Ok(None)
}

impl Store {
    /// Items by id or by link / canonical URL.
    pub fn find_items(&self, key: &str) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id)
             FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.id = ?1 OR i.link = ?2 OR i.canonical_url = ?2 OR i.canonical_url = ?3
             ORDER BY i.id",
        )?;
        let id: i64 = key.parse().unwrap_or(-1);
        let canonical = crate::canonical::canonicalize_str(key, None);
        let rows = stmt.query_map(params![id, key, canonical], stored_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items first seen at or after `since` (unix seconds), oldest first.
    pub fn items_since(&self, since: i64) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id)
             FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.first_seen_at >= ?1 ORDER BY i.id",
        )?;
        let rows = stmt.query_map([since], stored_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recent clusters with more than one member, newest first, optionally
    /// only those with a follow-up match for `story`: (cluster id, members).
    pub fn clusters(
        &self,
        story: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<StoredItem>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cluster_id FROM items
             WHERE cluster_id IS NOT NULL
               AND (?1 IS NULL OR cluster_id IN (
                    SELECT i.cluster_id FROM matches m JOIN items i ON i.id = m.item_id
                    WHERE m.story_id = ?1 AND m.matched = 1))
             GROUP BY cluster_id HAVING count(*) > 1
             ORDER BY max(first_seen_at) DESC, cluster_id DESC LIMIT ?2",
        )?;
        let ids: Vec<i64> = stmt
            .query_map(params![story, limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut members = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, i.cluster_id
             FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.cluster_id = ?1 ORDER BY i.id",
        )?;
        let mut out = Vec::new();
        for id in ids {
            let items = members
                .query_map([id], stored_item)?
                .collect::<Result<_, _>>()?;
            out.push((id, items));
        }
        Ok(out)
    }

    /// Stored match explanations of an item: (story, score, matched, explanation JSON).
    pub fn matches_of(&self, item_id: i64) -> Result<Vec<(String, f64, bool, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT story_id, score, matched, explanation FROM matches WHERE item_id = ?1 ORDER BY story_id",
        )?;
        let rows = stmt.query_map([item_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn count_items(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

impl StoreTx<'_> {
    /// The first exact key under which the item is already stored, cheapest first.
    pub fn find_duplicate(&self, feed_id: i64, keys: &ExactKeys) -> Result<Option<DuplicateOf>> {
        let by_guid = self
            .tx
            .prepare_cached("SELECT 1 FROM items WHERE feed_id = ?1 AND guid = ?2")?
            .exists(params![feed_id, keys.guid])?;
        if by_guid {
            return Ok(Some(DuplicateOf::Guid));
        }
        stored_under_other_keys(&self.tx, keys)
    }

    pub fn insert_item(
        &self,
        feed_id: i64,
        item: &Item,
        keys: &ExactKeys,
        now: i64,
    ) -> Result<i64> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO items (feed_id, guid, link, canonical_url, title, text, published_at,
                                first_seen_at, content_hash, authors, categories, page_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        stmt.execute(params![
            feed_id,
            keys.guid,
            item.link,
            keys.canonical_url,
            item.title,
            item.text,
            item.published.map(|d| d.timestamp()),
            now,
            keys.content_hash.as_ref().map(|h| h.as_slice()),
            serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into()),
            keys.page_url,
        ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Moves an item (alone in its cluster) into another cluster.
    pub fn move_to_cluster(&self, item_id: i64, cluster_id: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE items SET cluster_id = ?2 WHERE id = ?1")?
            .execute(params![item_id, cluster_id])?;
        Ok(())
    }

    pub fn cluster_size(&self, cluster_id: i64) -> Result<u32> {
        Ok(self
            .tx
            .prepare_cached("SELECT count(*) FROM items WHERE cluster_id = ?1")?
            .query_row([cluster_id], |r| r.get(0))?)
    }
}

/// Which items `Store::each_item` visits.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter<'a> {
    pub feed: Option<&'a str>,
    /// Only items this story matched, each with its score.
    pub story: Option<&'a str>,
    /// First seen at or after (unix seconds).
    pub since: i64,
}

impl Store {
    /// Visits the items `filter` selects, newest first, with their score for
    /// `filter.story`, until `visit` returns false.
    pub fn each_item(
        &self,
        filter: &ItemFilter<'_>,
        mut visit: impl FnMut(StoredItem, Option<f64>) -> bool,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id), m.score
             FROM items i JOIN feeds f ON f.id = i.feed_id
             LEFT JOIN matches m ON m.item_id = i.id AND m.story_id = ?3
             WHERE i.first_seen_at >= ?1 AND (?2 IS NULL OR f.name = ?2)
               AND (?3 IS NULL OR m.matched = 1)
             ORDER BY i.id DESC",
        )?;
        let mut rows = stmt.query(params![filter.since, filter.feed, filter.story])?;
        while let Some(r) = rows.next()? {
            if !visit(stored_item(r)?, r.get(10)?) {
                break;
            }
        }
        Ok(())
    }
}

/// An item that scored just under a story's threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct NearMiss {
    pub item: StoredItem,
    pub score: f64,
    /// The match's explanation as stored (JSON).
    pub explanation: String,
}

impl Store {
    /// The members of a near-duplicate cluster, oldest first.
    pub fn cluster_members(&self, cluster_id: i64) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id)
             FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.cluster_id = ?1 OR i.id = ?1 ORDER BY i.id",
        )?;
        let rows = stmt.query_map([cluster_id], stored_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items first seen since `since` that scored under `story`'s threshold
    /// but were kept as near misses, best first.
    pub fn near_misses(&self, story: &str, since: i64, limit: usize) -> Result<Vec<NearMiss>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id), m.score, m.explanation
             FROM matches m JOIN items i ON i.id = m.item_id JOIN feeds f ON f.id = i.feed_id
             WHERE m.story_id = ?1 AND m.matched = 0 AND i.first_seen_at >= ?2
             ORDER BY m.score DESC, i.id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![story, since, limit as i64], |r| {
            Ok(NearMiss {
                item: stored_item(r)?,
                score: r.get(10)?,
                explanation: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
