//! The paraphrase index: the pairs of people each comparable matched item
//! names, so that a new match reads only the stored items sharing two people
//! with it (see [`crate::paraphrase`]).

use std::collections::BTreeSet;

use rusqlite::{params, OptionalExtension};

use super::{Result, Store, StoreTx};
use crate::matching::Explanation;

/// The migration after which the index is filled from stored matches.
pub(super) const BACKFILL_AT: i64 = 9;

/// People indexed per item: a roundup naming more keeps the first this many
/// (alphabetically), so one item never writes more than 120 rows.
const MAX_PEOPLE: usize = 16;

/// Every pair of `people` (sorted), as stored.
pub fn pairs(people: &BTreeSet<String>) -> Vec<String> {
    let p: Vec<&String> = people.iter().take(MAX_PEOPLE).collect();
    let mut out = Vec::with_capacity(p.len() * p.len().saturating_sub(1) / 2);
    for (i, a) in p.iter().enumerate() {
        for b in &p[i + 1..] {
            out.push(format!("{a}|{b}"));
        }
    }
    out
}

impl Store {
    /// Indexes the matches stored before the index existed.
    pub(super) fn backfill_report_pairs(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut read = tx.prepare(
                "SELECT m.item_id, m.story_id, coalesce(i.published_at, i.first_seen_at), m.explanation
                 FROM matches m JOIN items i ON i.id = m.item_id WHERE m.matched = 1",
            )?;
            let mut ins = tx.prepare(
                "INSERT OR IGNORE INTO report_pairs (story_id, pair, at, item_id) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut rows = read.query([])?;
            while let Some(r) = rows.next()? {
                let (item, story, at, json): (i64, String, i64, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                let Ok(ex) = serde_json::from_str::<Explanation>(&json) else {
                    continue;
                };
                let people = crate::paraphrase::people(&ex);
                if crate::paraphrase::comparable(&ex, &people) {
                    for pair in pairs(&people) {
                        ins.execute(params![story, pair, at, item])?;
                    }
                    n += 1;
                }
            }
        }
        tx.commit()?;
        tracing::info!(db = %self.label, items = n, "indexed stored matches for paraphrase lookup");
        Ok(())
    }
}

impl StoreTx<'_> {
    /// Replaces the item's rows for the story: the pairs of `people` when
    /// the match can be compared, none otherwise (a rescore may have
    /// unmatched it).
    pub fn index_report_pairs(
        &self,
        item_id: i64,
        story: &str,
        at: i64,
        people: Option<&BTreeSet<String>>,
    ) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM report_pairs WHERE item_id = ?1 AND story_id = ?2")?
            .execute(params![item_id, story])?;
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO report_pairs (story_id, pair, at, item_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for pair in people.map(pairs).unwrap_or_default() {
            ins.execute(params![story, pair, at, item_id])?;
        }
        Ok(())
    }

    /// Ids of the other matched items of the story between `from` and `to`
    /// that name two of `people`, lowest first.
    pub fn report_candidates(
        &self,
        story: &str,
        people: &BTreeSet<String>,
        from: i64,
        to: i64,
        except: i64,
    ) -> Result<Vec<i64>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT item_id FROM report_pairs
             WHERE story_id = ?1 AND pair = ?2 AND at BETWEEN ?3 AND ?4 AND item_id != ?5",
        )?;
        let mut ids = BTreeSet::new();
        for pair in pairs(people) {
            for id in stmt.query_map(params![story, pair, from, to, except], |r| r.get(0))? {
                ids.insert(id?);
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// A matched item's cluster, time and explanation for the story.
    pub fn matched_report(&self, item_id: i64, story: &str) -> Result<Option<(i64, i64, String)>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT coalesce(i.cluster_id, i.id), coalesce(i.published_at, i.first_seen_at), m.explanation
                 FROM matches m JOIN items i ON i.id = m.item_id
                 WHERE m.item_id = ?1 AND m.story_id = ?2 AND m.matched = 1",
            )?
            .query_row(params![item_id, story], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }
}
