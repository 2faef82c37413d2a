//! The delivery outbox's SQL: rows are queued with their alert (same
//! transaction) and moved along by the delivery worker, one statement per
//! state change, so a crash at any point leaves every alert either
//! delivered or still queued under its own id.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store, StoreTx};

/// One queued delivery, with the alert it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub row: i64,
    pub alert_id: String,
    pub sink: String,
    pub attempts: u32,
    pub queued_at: i64,
    pub payload: String,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    Delivered,
    /// Try again at `next_at`.
    Retry {
        next_at: i64,
    },
    /// The receiver refused it for good (4xx).
    Failed,
    /// Retries ran past `max_age`.
    Dead,
}

impl AttemptResult {
    fn state(&self) -> &'static str {
        match self {
            AttemptResult::Delivered => "delivered",
            AttemptResult::Retry { .. } => "pending",
            AttemptResult::Failed => "failed",
            AttemptResult::Dead => "dead",
        }
    }
}

/// A sink that told us to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PausedSink {
    pub sink: String,
    pub paused_at: i64,
    pub reason: String,
}

/// Outbox rows of one alert, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// When a pending row goes out next (Unix seconds).
    pub next_attempt_at: i64,
}

impl StoreTx<'_> {
    /// Queues the alert for each sink, first attempt at `due_at` (now, or
    /// the end of a digest period). Re-queueing an alert is a no-op.
    pub fn enqueue(&self, alert_id: &str, sink: &str, due_at: i64, now: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO outbox (alert_id, sink, queued_at, next_attempt_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (alert_id, sink) DO NOTHING",
            )?
            .execute(params![alert_id, sink, now, due_at])?;
        Ok(())
    }
}

impl Store {
    /// Due rows of a sink in queue order (a retried row keeps its place).
    pub fn due_deliveries(&self, sink: &str, now: i64, limit: usize) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.id, o.alert_id, o.sink, o.attempts, o.queued_at, a.payload
             FROM outbox o JOIN alerts a ON a.id = o.alert_id
             WHERE o.sink = ?1 AND o.state = 'pending' AND o.next_attempt_at <= ?2
             ORDER BY o.id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![sink, now, limit as i64], |r| {
            Ok(Delivery {
                row: r.get(0)?,
                alert_id: r.get(1)?,
                sink: r.get(2)?,
                attempts: r.get(3)?,
                queued_at: r.get(4)?,
                payload: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// When the sink's next pending row is due.
    pub fn next_due(&self, sink: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT min(next_attempt_at) FROM outbox WHERE sink = ?1 AND state = 'pending'",
            )?
            .query_row([sink], |r| r.get(0))?)
    }

    /// Records one attempt of a row.
    pub fn record_attempt(
        &self,
        row: i64,
        result: &AttemptResult,
        status: Option<u16>,
        error: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let next_at = match result {
            AttemptResult::Retry { next_at } => Some(*next_at),
            _ => None,
        };
        self.conn
            .prepare_cached(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_attempt_at = ?3,
                    last_status = ?4, last_error = ?5,
                    next_attempt_at = COALESCE(?6, next_attempt_at),
                    delivered_at = CASE WHEN ?2 = 'delivered' THEN ?3 ELSE delivered_at END
                 WHERE id = ?1",
            )?
            .execute(params![row, result.state(), now, status, error, next_at])?;
        Ok(())
    }

    pub fn pause_sink(&self, sink: &str, reason: &str, now: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO sink_state (sink, paused_at, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sink) DO UPDATE SET paused_at = ?2, reason = ?3",
            )?
            .execute(params![sink, now, reason])?;
        Ok(())
    }

    pub fn paused_sinks(&self) -> Result<Vec<PausedSink>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sink, paused_at, reason FROM sink_state WHERE paused_at IS NOT NULL ORDER BY sink",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PausedSink {
                sink: r.get(0)?,
                paused_at: r.get(1)?,
                reason: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Puts failed and dead rows back in the queue (one alert's, or all),
    /// due now with a fresh `max_age`, and resumes their sinks: retrying is
    /// the operator saying the receiver is fixed. Returns the rows requeued.
    pub fn retry_deliveries(&mut self, alert_id: Option<&str>, now: i64) -> Result<usize> {
        self.write(true, |tx| {
            let sinks: Vec<String> = {
                let mut stmt = tx.tx.prepare(
                    "SELECT DISTINCT sink FROM outbox
                     WHERE state IN ('failed', 'dead') AND (?1 IS NULL OR alert_id = ?1)",
                )?;
                let rows = stmt.query_map([alert_id], |r| r.get(0))?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            let mut n = tx.tx.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, queued_at = ?2
                 WHERE state IN ('failed', 'dead') AND (?1 IS NULL OR alert_id = ?1)",
                params![alert_id, now],
            )?;
            // One alert named: its deliveries waiting out a backoff are due now too.
            if alert_id.is_some() {
                n += tx.tx.execute(
                    "UPDATE outbox SET next_attempt_at = ?2
                     WHERE state = 'pending' AND alert_id = ?1 AND next_attempt_at > ?2",
                    params![alert_id, now],
                )?;
            }
            for s in sinks {
                tx.tx.execute(
                    "UPDATE sink_state SET paused_at = NULL, reason = NULL WHERE sink = ?1",
                    [s],
                )?;
            }
            Ok(n)
        })
    }

    /// Whether an alert id exists.
    pub fn alert_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM alerts WHERE id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The stories that have alerts (feed health alerts included).
    pub fn alert_stories(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT story_id FROM alerts ORDER BY story_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The outbox rows of one alert.
    pub fn deliveries_of(&self, alert_id: &str) -> Result<Vec<DeliveryState>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sink, state, attempts, last_error, next_attempt_at FROM outbox
             WHERE alert_id = ?1 ORDER BY sink",
        )?;
        let rows = stmt.query_map([alert_id], |r| {
            Ok(DeliveryState {
                sink: r.get(0)?,
                state: r.get(1)?,
                attempts: r.get(2)?,
                last_error: r.get(3)?,
                next_attempt_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Rows of a sink still waiting to go out.
    pub fn pending_count(&self, sink: &str) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE sink = ?1 AND state = 'pending'")?
            .query_row([sink], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Pending rows and the age of the oldest, in seconds.
    pub fn outbox_pending_age(&self, now: i64) -> Result<(u64, i64)> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*), COALESCE(?1 - min(queued_at), 0) FROM outbox WHERE state = 'pending'",
            )?
            .query_row([now], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?)
    }

    /// Deletes outbox rows that are finished (delivered, refused for good,
    /// given up) and were last touched before `before`; pending rows stay
    /// whatever their age. The alerts themselves stay.
    pub fn prune_deliveries(&mut self, before: i64) -> Result<usize> {
        self.write(true, |tx| {
            Ok(tx.tx.execute(
                "DELETE FROM outbox WHERE state IN ('delivered', 'failed', 'dead')
                   AND coalesce(delivered_at, last_attempt_at, queued_at) < ?1",
                [before],
            )?)
        })
    }

    /// Rows per state, for summaries.
    pub fn outbox_counts(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}
