//! What the store keeps about stories: reference articles, match rows,
//! user feedback, and the names a story learned from its follow-ups.

use rusqlite::params;

use super::{Result, Store, StoreTx, StoredItem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArticle {
    pub source: String,
    pub title: String,
    pub text: String,
}

/// A name a story learned from its follow-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergedName {
    pub name: String,
    pub kind: String,
    /// Unix seconds of its newest sighting beside the story.
    pub last_seen: i64,
    /// Unix seconds of its first sighting beside the story.
    pub first_seen: i64,
    pub sightings: u32,
}

/// One item a user judged for a story, as it was when judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub item_id: i64,
    pub relevant: bool,
    pub title: String,
    pub text: String,
}

/// A match result as stored.
#[derive(Debug, Clone)]
pub struct MatchRow<'a> {
    pub item_id: i64,
    pub story: &'a str,
    pub score: f64,
    pub matched: bool,
    pub explanation: &'a str,
}

impl Store {
    /// Reference articles of a story, oldest first: (source, title, text).
    pub fn story_articles(&self, story: &str) -> Result<Vec<StoredArticle>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT source, title, text FROM story_articles WHERE story_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(StoredArticle {
                source: r.get(0)?,
                title: r.get(1)?,
                text: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Story ids that have articles in the store (some only through `story add`).
    pub fn stored_story_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT story_id FROM story_articles ORDER BY story_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The feedback given for a story's items: (item id, relevant, title, text).
    pub fn feedback(&self, story: &str) -> Result<Vec<Feedback>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_id, verdict = 'relevant', title, text FROM feedback
             WHERE story_id = ?1 ORDER BY created_at, item_id",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(Feedback {
                item_id: r.get(0)?,
                relevant: r.get(1)?,
                title: r.get(2)?,
                text: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The names a story learned from its follow-ups, each with the items
    /// it was seen in beside the story.
    pub fn emerged_sources(&self, story: &str) -> Result<Vec<(String, Vec<i64>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.name, s.item_id FROM emerged_entities e
             JOIN entity_sightings s ON s.story_id = e.story_id AND s.name = e.name
             WHERE e.story_id = ?1 ORDER BY e.created_at, e.name, s.item_id",
        )?;
        let mut out: Vec<(String, Vec<i64>)> = Vec::new();
        for row in stmt.query_map([story], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (name, item) = row?;
            match out.last_mut() {
                Some((n, items)) if *n == name => items.push(item),
                _ => out.push((name, vec![item])),
            }
        }
        Ok(out)
    }

    /// The names a story learned, each with when it was last seen beside
    /// the story (its newest follow-up's publication, else arrival) and in
    /// how many follow-ups.
    pub fn emerged_entities(&self, story: &str) -> Result<Vec<EmergedName>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.name, e.kind, MAX(COALESCE(i.published_at, i.first_seen_at)), COUNT(i.id),
                    MIN(COALESCE(i.published_at, i.first_seen_at))
             FROM emerged_entities e
             LEFT JOIN entity_sightings s ON s.story_id = e.story_id AND s.name = e.name
             LEFT JOIN items i ON i.id = s.item_id
             WHERE e.story_id = ?1 GROUP BY e.name, e.kind ORDER BY e.created_at, e.name",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(EmergedName {
                name: r.get(0)?,
                kind: r.get(1)?,
                last_seen: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                sightings: r.get(3)?,
                first_seen: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl StoreTx<'_> {
    /// Stores a reference article; returns false when it was already stored
    /// with the same text.
    pub fn upsert_story_article(
        &self,
        story: &str,
        source: &str,
        title: &str,
        text: &str,
        now: i64,
    ) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO story_articles (story_id, source, title, text, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (story_id, source) DO UPDATE SET title = excluded.title, text = excluded.text
                WHERE story_articles.text <> excluded.text OR story_articles.title <> excluded.title",
        )?;
        Ok(stmt.execute(params![story, source, title, text, now])? > 0)
    }

    pub fn insert_match(&self, m: &MatchRow<'_>, now: i64) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO matches (item_id, story_id, score, matched, explanation, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (item_id, story_id) DO UPDATE SET
                score = excluded.score, matched = excluded.matched, explanation = excluded.explanation",
        )?;
        stmt.execute(params![
            m.item_id,
            m.story,
            m.score,
            m.matched,
            m.explanation,
            now
        ])?;
        Ok(())
    }

    /// Forgets an item's match with a story (a rescore found it no longer matches).
    pub fn delete_match(&self, item_id: i64, story: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM matches WHERE item_id = ?1 AND story_id = ?2")?
            .execute(params![item_id, story])?;
        Ok(())
    }

    /// Records that `name` appeared beside the story in a matched item and
    /// returns in how many distinct matched items it has appeared so far, up
    /// to `cap`: a name in the news every day would otherwise cost a count of
    /// all its sightings each time it is seen again.
    pub fn record_sighting(
        &self,
        story: &str,
        name: &str,
        kind: &str,
        item_id: i64,
        cap: u32,
    ) -> Result<u32> {
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO entity_sightings (story_id, name, kind, item_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        ins.execute(params![story, name, kind, item_id])?;
        let mut count = self.tx.prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM entity_sightings WHERE story_id = ?1 AND name = ?2 LIMIT ?3)",
        )?;
        Ok(count.query_row(params![story, name, cap], |r| r.get(0))?)
    }

    pub fn sighting_items(&self, story: &str, name: &str) -> Result<Vec<i64>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT item_id FROM entity_sightings WHERE story_id = ?1 AND name = ?2 ORDER BY item_id",
        )?;
        let rows = stmt.query_map(params![story, name], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds an emerged entity; true when it is new to the story.
    pub fn insert_emerged(&self, story: &str, name: &str, kind: &str, now: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO emerged_entities (story_id, name, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        Ok(stmt.execute(params![story, name, kind, now])? > 0)
    }

    /// Records what a user said of an item for a story (the last word wins).
    /// An item judged irrelevant no longer counts toward names emerging.
    pub fn set_feedback(
        &self,
        story: &str,
        item: &StoredItem,
        relevant: bool,
        now: i64,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO feedback (story_id, item_id, verdict, title, text, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (story_id, item_id) DO UPDATE SET verdict = excluded.verdict,
                created_at = excluded.created_at",
        )?;
        let verdict = if relevant { "relevant" } else { "irrelevant" };
        stmt.execute(params![story, item.id, verdict, item.title, item.text, now])?;
        if !relevant {
            self.tx
                .prepare_cached(
                    "DELETE FROM entity_sightings WHERE story_id = ?1 AND item_id = ?2",
                )?
                .execute(params![story, item.id])?;
        }
        Ok(())
    }

    /// Whether a user judged an item irrelevant to a story.
    pub fn rejected(&self, story: &str, item_id: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM feedback
             WHERE story_id = ?1 AND item_id = ?2 AND verdict = 'irrelevant')",
        )?;
        Ok(stmt.query_row(params![story, item_id], |r| r.get(0))?)
    }
}

/// What `story remove` deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemovedStory {
    pub articles: usize,
    pub learned_names: usize,
    pub feedback: usize,
}

impl StoreTx<'_> {
    /// Deletes what the store holds to follow a story: its reference
    /// articles, the names it learned and their sightings, feedback and the
    /// paraphrase index. Its matches and alerts stay, with their deliveries:
    /// they are what was already said.
    pub fn remove_story(&self, story: &str) -> Result<RemovedStory> {
        let delete = |sql: &str| -> Result<usize> { Ok(self.tx.execute(sql, [story])?) };
        let removed = RemovedStory {
            articles: delete("DELETE FROM story_articles WHERE story_id = ?1")?,
            learned_names: delete("DELETE FROM emerged_entities WHERE story_id = ?1")?,
            feedback: delete("DELETE FROM feedback WHERE story_id = ?1")?,
        };
        delete("DELETE FROM entity_sightings WHERE story_id = ?1")?;
        delete("DELETE FROM report_pairs WHERE story_id = ?1")?;
        Ok(removed)
    }
}
