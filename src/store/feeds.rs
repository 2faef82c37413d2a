//! Feeds as stored: their validators and health, what each poll did, pausing
//! feeds that keep failing, the `feeds list` view, and pruning what is no
//! longer needed.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Result, Store, StoreTx};
use crate::config::FeedConfig;

/// The columns [`feed_state_row`] reads, in its order.
macro_rules! select_feed_state {
    () => {
        "SELECT id, name, url, etag, last_modified, last_status, last_error,
                consecutive_errors, last_polled_at, last_success_at, next_poll_at,
                paused_at, failing_since, health_alert, body_hash
         FROM feeds"
    };
}

/// One feed's state by name, as the connection (or its open transaction) sees it.
fn feed_state(conn: &Connection, name: &str) -> Result<Option<FeedState>> {
    let mut stmt = conn.prepare_cached(concat!(select_feed_state!(), " WHERE name = ?1"))?;
    Ok(stmt.query_row([name], feed_state_row).optional()?)
}

fn feed_state_row(r: &Row<'_>) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        etag: r.get(3)?,
        last_modified: r.get(4)?,
        last_status: r.get(5)?,
        last_error: r.get(6)?,
        consecutive_errors: r.get(7)?,
        last_polled_at: r.get(8)?,
        last_success_at: r.get(9)?,
        next_poll_at: r.get(10)?,
        paused_at: r.get(11)?,
        failing_since: r.get(12)?,
        health_alert: r.get(13)?,
        body_hash: r.get(14)?,
    })
}

impl StoreTx<'_> {
    /// Pauses a feed (too many consecutive failures).
    pub fn pause_feed(&self, feed_id: i64, now: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE feeds SET paused_at = ?2 WHERE id = ?1 AND paused_at IS NULL")?
            .execute(params![feed_id, now])?;
        Ok(())
    }

    /// Records the open `feed_health` alert (None once the feed recovered).
    pub fn set_health_alert(&self, feed_id: i64, alert: Option<&str>) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE feeds SET health_alert = ?2 WHERE id = ?1")?
            .execute(params![feed_id, alert])?;
        Ok(())
    }
}

impl Store {
    /// Every stored feed, by name.
    pub fn feed_states(&self) -> Result<Vec<FeedState>> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!(select_feed_state!(), " ORDER BY name"))?;
        let rows = stmt.query_map([], feed_state_row)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Resumes a paused feed, due now. False when no such feed was paused.
    pub fn resume_feed(&self, name: &str, now: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "UPDATE feeds SET paused_at = NULL, consecutive_errors = 0, next_poll_at = ?2
                 WHERE name = ?1 AND paused_at IS NOT NULL",
            )?
            .execute(params![name, now])?
            > 0)
    }

    /// Publication (else first-seen) times of a feed's latest items.
    pub fn recent_item_times(&self, feed: &str, n: usize) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(i.published_at, i.first_seen_at) FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE f.name = ?1 ORDER BY i.id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![feed, n as i64], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn paused_feed_count(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM feeds WHERE paused_at IS NOT NULL")?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Deletes items first seen before `before` that never matched a story
    /// (matched items, their alerts and the reference articles stay) and
    /// have left the near-duplicate window (their band rows are gone), then
    /// returns the freed pages to the file system a little at a time.
    pub fn prune_items(&mut self, before: i64) -> Result<usize> {
        let n = self.write(true, |tx| {
            tx.prune_pages(before)?;
            Ok(tx.tx.execute(
                "DELETE FROM items WHERE first_seen_at < ?1 AND banded = 0
                   AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.item_id = items.id AND m.matched = 1)
                   AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.item_id = items.id)
                   AND NOT EXISTS (SELECT 1 FROM items c WHERE c.cluster_id = items.id AND c.id != items.id
                                   AND c.first_seen_at >= ?1)",
                [before],
            )?)
        })?;
        if n > 0 {
            self.conn
                .execute_batch("PRAGMA incremental_vacuum(2000);")?;
        }
        Ok(n)
    }
}

/// A feed's stored state: identity, validators and health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_errors: u32,
    pub last_polled_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub next_poll_at: Option<i64>,
    /// Set when the feed was paused after too many consecutive failures.
    pub paused_at: Option<i64>,
    /// The first failure of the current streak.
    pub failing_since: Option<i64>,
    /// The open `feed_health` "down" alert, if one was raised.
    pub health_alert: Option<String>,
    /// Digest of the last body the feed answered with.
    pub body_hash: Option<Vec<u8>>,
}

/// What one poll of a feed did, written with its items in one transaction.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub status: PollStatus,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// New validators; only written when the body was fetched.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Digest of the body; written with the validators.
    pub body_hash: Option<Vec<u8>>,
    pub polled_at: i64,
    pub next_poll_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    Fetched,
    NotModified,
    /// A 200 with the same body as last time: nothing parsed.
    Unchanged,
    Failed,
    /// 429: the site asks us to slow down. Not a failure of the feed: it
    /// neither counts toward pausing nor ends a failure streak.
    Throttled,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Fetched => "fetched",
            PollStatus::NotModified => "not_modified",
            PollStatus::Unchanged => "unchanged",
            PollStatus::Failed => "failed",
            PollStatus::Throttled => "throttled",
        }
    }
}

impl Store {
    /// Makes sure every configured feed has a row; see [`StoreTx::upsert_feed`].
    pub fn sync_feeds(&mut self, feeds: &[FeedConfig], now: i64) -> Result<()> {
        self.write(true, |tx| {
            for f in feeds {
                tx.upsert_feed(f, now)?;
            }
            Ok(())
        })
    }

    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>> {
        feed_state(&self.conn, name)
    }
}

impl StoreTx<'_> {
    /// A feed's state as this transaction sees it.
    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>> {
        feed_state(&self.tx, name)
    }

    /// Makes sure the feed has a row and returns its id. A feed whose URL
    /// changed keeps its history but loses its validators, which belonged to
    /// the old URL.
    pub fn upsert_feed(&self, feed: &FeedConfig, now: i64) -> Result<i64> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO feeds (name, url, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = NULL, last_modified = NULL
                WHERE feeds.url <> excluded.url",
        )?;
        stmt.execute(params![feed.name, feed.url.as_str(), now])?;
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM feeds WHERE name = ?1")?;
        Ok(stmt.query_row([&feed.name], |r| r.get(0))?)
    }

    /// Records the outcome of a poll on the feed row: status, validators,
    /// error streak and the next due time.
    pub fn record_poll(&self, feed_id: i64, rec: &PollRecord) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE feeds SET
                last_status = ?2,
                last_http_status = ?3,
                last_error = ?4,
                etag = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?5 ELSE etag END,
                last_modified = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?6 ELSE last_modified END,
                body_hash = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?9 ELSE body_hash END,
                consecutive_errors = CASE ?2 WHEN 'failed' THEN consecutive_errors + 1
                    WHEN 'throttled' THEN consecutive_errors ELSE 0 END,
                failing_since = CASE ?2 WHEN 'failed' THEN COALESCE(failing_since, ?7)
                    WHEN 'throttled' THEN failing_since ELSE NULL END,
                last_polled_at = ?7,
                last_success_at = CASE WHEN ?2 IN ('failed', 'throttled') THEN last_success_at ELSE ?7 END,
                next_poll_at = ?8
             WHERE id = ?1",
        )?;
        stmt.execute(params![
            feed_id,
            rec.status.as_str(),
            rec.http_status,
            rec.error,
            rec.etag,
            rec.last_modified,
            rec.polled_at,
            rec.next_poll_at,
            rec.body_hash,
        ])?;
        Ok(())
    }
}
