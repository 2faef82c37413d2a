//! The `storywatch.alert.v1` payload: the contract that `alerts list --json`
//! prints and webhooks carry. Fields are only ever added.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::kind::AlertKind;
use crate::matching::matcher::{EntityHit, EventHit};
use crate::matching::score::Components;

pub const ALERT_TYPE: &str = "storywatch.alert.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPayload {
    #[serde(rename = "type")]
    pub kind_of_payload: String,
    pub id: String,
    pub created_at: String,
    pub story: String,
    pub kind: AlertKind,
    pub score: Option<f64>,
    pub item: Option<AlertItem>,
    pub matched: Matched,
    pub snippets: Vec<String>,
    /// What each signal added to the score; see docs/matching.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Components>,
    pub cluster: Option<Cluster>,
    /// For `feed_health` alerts: which feed, and how it is doing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<FeedHealth>,
    /// For follow-up and update alerts: what the item adds to the story's
    /// reference articles and the alerts before it (empty lists: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub novelty: Option<crate::matching::novelty::Novelty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedHealth {
    pub name: String,
    /// The feed's URL without credentials or query.
    pub url: String,
    /// `down` or `recovered`.
    pub state: String,
    pub failing_since: String,
    pub consecutive_errors: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertItem {
    pub id: i64,
    pub title: String,
    pub url: Option<String>,
    pub canonical_url: Option<String>,
    pub feed: String,
    pub published: Option<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matched {
    pub entities: Vec<EntityHit>,
    pub events: Vec<EventHit>,
    pub new_entities: Vec<NewEntity>,
    /// Concepts the item shares with the story (data/concepts.txt).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub concepts: Vec<String>,
}

impl Matched {
    /// The story entities and events an alert names, as plain names.
    pub fn names(&self) -> Vec<String> {
        self.entities
            .iter()
            .map(|e| e.name.clone())
            .chain(self.events.iter().map(|e| e.name.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntity {
    pub name: String,
    pub kind: String,
    /// Items it appeared in.
    pub items: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: String,
    pub size: u32,
}

/// A stable alert id: the same database, story, kind and subject always give
/// the same id, so an alert computed twice (a rescore, a crash and retry) is
/// one alert. `instance` is the database's random id: another database (a
/// recreated file, a second machine) whose rows happen to have the same
/// numbers gives other ids.
pub fn alert_id(instance: &str, story: &str, kind: AlertKind, subject: &str) -> String {
    let mut h = Sha256::new();
    for part in [instance, story, kind.as_str(), subject] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut id = String::from("swa_");
    for b in &d[..12] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

pub fn rfc3339(ts: i64) -> String {
    Utc.timestamp_opt(ts, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The first ~280 characters of a text, cut at a word.
pub fn summary(text: &str) -> String {
    crate::matching::text::clip(&text.split_whitespace().collect::<Vec<_>>().join(" "), 280)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = alert_id("db1", "talks", AlertKind::Followup, "item:42");
        assert_eq!(a, alert_id("db1", "talks", AlertKind::Followup, "item:42"));
        assert_ne!(a, alert_id("db1", "talks", AlertKind::Update, "item:42"));
        assert_ne!(a, alert_id("db2", "talks", AlertKind::Followup, "item:42"));
        assert_ne!(
            alert_id("db1", "talks", AlertKind::Update, "item:4"),
            alert_id("db1", "talks", AlertKind::Update, "item:42")
        );
        assert!(a.starts_with("swa_") && a.len() == 28);
    }

    #[test]
    fn summaries_are_short() {
        let s = summary(&"word ".repeat(200));
        assert!(s.chars().count() <= 281 && s.ends_with('…'));
    }
}
