//! Feed health and retention SQL for the service: pausing feeds that keep
//! failing, the `feeds list` view, and pruning what is no longer needed.

use rusqlite::{params, Row};

use super::{FeedState, Result, Store, StoreTx};

/// The columns [`feed_state_row`] reads, in its order.
macro_rules! select_feed_state {
    () => {
        "SELECT id, name, url, etag, last_modified, last_status, last_error,
                consecutive_errors, last_polled_at, last_success_at, next_poll_at,
                paused_at, failing_since, health_alert, body_hash
         FROM feeds"
    };
}

/// One feed's state by name (see [`feed_state_row`]).
pub(super) const FEED_STATE_BY_NAME: &str = concat!(select_feed_state!(), " WHERE name = ?1");

pub(super) fn feed_state_row(r: &Row<'_>) -> rusqlite::Result<FeedState> {
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
