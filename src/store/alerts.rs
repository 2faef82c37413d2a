//! Alert rows: inserted with their outbox rows in one transaction, listed
//! by `alerts list`, withdrawn when a copy makes one moot.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store, StoreTx};
use crate::alerts::AlertKind;

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub story: Option<String>,
    pub kind: Option<AlertKind>,
    pub limit: Option<usize>,
    /// Only alerts with an outbox row in one of these states.
    pub delivery: Option<&'static [&'static str]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub id: String,
    pub story: String,
    pub kind: AlertKind,
    pub item_id: Option<i64>,
    pub score: Option<f64>,
    pub created_at: i64,
    pub payload: String,
}

impl Store {
    /// The story an alert is for and the item that raised it.
    pub fn alert_subject(&self, alert_id: &str) -> Result<Option<(String, Option<i64>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT story_id, item_id FROM alerts WHERE id = ?1")?;
        Ok(stmt
            .query_row([alert_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Alerts, newest first, optionally filtered.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, story_id, kind, item_id, score, created_at, payload FROM alerts a
             WHERE (?1 IS NULL OR story_id = ?1) AND (?2 IS NULL OR kind = ?2)
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id
                    AND instr(?4, ',' || o.state || ',') > 0))
             ORDER BY created_at DESC, rowid DESC LIMIT ?3",
        )?;
        let states = filter.delivery.map(|s| format!(",{},", s.join(",")));
        let rows = stmt.query_map(
            params![
                filter.story,
                filter.kind,
                filter.limit.map(|l| l as i64).unwrap_or(-1),
                states
            ],
            |r| {
                Ok(StoredAlert {
                    id: r.get(0)?,
                    story: r.get(1)?,
                    kind: r.get(2)?,
                    item_id: r.get(3)?,
                    score: r.get(4)?,
                    created_at: r.get(5)?,
                    payload: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl StoreTx<'_> {
    /// Inserts an alert unless one with the same id exists; true when inserted.
    pub fn insert_alert(&self, a: &StoredAlert) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO alerts (id, story_id, kind, item_id, score, created_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )?;
        Ok(stmt.execute(params![
            a.id,
            a.story,
            a.kind,
            a.item_id,
            a.score,
            a.created_at,
            a.payload
        ])? > 0)
    }

    /// Payloads of the follow-up and update alerts the cluster raised for the story.
    pub fn cluster_alert_payloads(&self, story: &str, cluster_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            // CROSS JOIN keeps the cluster as the outer loop: by story, the
            // planner would walk every alert the story ever raised.
            "SELECT a.payload FROM items i CROSS JOIN alerts a ON a.item_id = i.id
             WHERE i.cluster_id = ?2 AND a.story_id = ?1 AND a.kind IN ('followup', 'update')
             ORDER BY a.created_at",
        )?;
        let rows = stmt.query_map(params![story, cluster_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The follow-up alert a cluster raised for a story that no sink has
    /// been sent yet: (alert id, the alerting item's publication or first
    /// sight, its canonical URL or link).
    pub fn unsent_cluster_followup(
        &self,
        story: &str,
        cluster_id: i64,
    ) -> Result<Option<(String, i64, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT a.id, coalesce(i.published_at, i.first_seen_at),
                    coalesce(i.canonical_url, i.link, i.guid)
             FROM items i CROSS JOIN alerts a ON a.item_id = i.id
             WHERE i.cluster_id = ?2 AND a.story_id = ?1 AND a.kind = 'followup'
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id
                               AND (o.attempts > 0 OR o.state <> 'pending'))
             LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![story, cluster_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?)
    }

    /// Withdraws an alert nothing was sent for, with its outbox rows.
    pub fn withdraw_alert(&self, alert_id: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM alerts WHERE id = ?1")?
            .execute([alert_id])?;
        Ok(())
    }

    /// Whether an item already raised a follow-up or update alert for a story.
    pub fn item_alerted(&self, story: &str, item_id: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM alerts
             WHERE item_id = ?2 AND story_id = ?1 AND kind IN ('followup', 'update'))",
        )?;
        Ok(stmt.query_row(params![story, item_id], |r| r.get(0))?)
    }

    /// Title and text of the items of a story's most recent follow-up and
    /// update alerts, other than `except`'s: what the story already said.
    pub fn alerted_texts(
        &self,
        story: &str,
        except: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        alerted_texts(&self.tx, story, except, limit)
    }
}

impl Store {
    /// How many alerts of `kind` a story raised.
    pub fn alert_count(&self, story: &str, kind: AlertKind) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM alerts WHERE story_id = ?1 AND kind = ?2")?
            .query_row(params![story, kind], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// See [`StoreTx::alerted_texts`].
    pub fn alerted_texts(
        &self,
        story: &str,
        except: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>> {
        alerted_texts(&self.conn, story, except, limit)
    }
}

fn alerted_texts(
    conn: &rusqlite::Connection,
    story: &str,
    except: i64,
    limit: usize,
) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.title, i.text FROM alerts a JOIN items i ON i.id = a.item_id
         WHERE a.story_id = ?1 AND a.kind IN ('followup', 'update') AND a.item_id != ?2
         ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![story, except, limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
