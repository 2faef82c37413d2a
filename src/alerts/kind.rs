//! What an alert is about. The names are part of the payload
//! (`storywatch.alert.v1`'s `kind`), the config (`[[sink]] kinds`) and the
//! command line (`alerts list --kind`), so they are spelt in one place.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A new item that follows the story up.
    #[value(name = "followup")]
    Followup,
    /// A later copy of an alerted item that adds something.
    #[value(name = "update")]
    Update,
    /// A name that keeps appearing beside the story.
    #[value(name = "new_entity")]
    NewEntity,
    /// A feed stopped answering, or answers again.
    #[value(name = "feed_health")]
    FeedHealth,
    /// `storywatch alerts test`: never stored.
    #[value(skip)]
    Test,
}

impl AlertKind {
    /// Every kind a stored alert can have.
    pub const STORED: [AlertKind; 4] = [
        AlertKind::Followup,
        AlertKind::Update,
        AlertKind::NewEntity,
        AlertKind::FeedHealth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Followup => "followup",
            AlertKind::Update => "update",
            AlertKind::NewEntity => "new_entity",
            AlertKind::FeedHealth => "feed_health",
            AlertKind::Test => "test",
        }
    }

    /// A stored kind by its name.
    pub fn parse(name: &str) -> Option<AlertKind> {
        AlertKind::STORED.into_iter().find(|k| k.as_str() == name)
    }

    /// The names of the stored kinds, for messages.
    pub fn names() -> String {
        AlertKind::STORED.map(AlertKind::as_str).join(", ")
    }

    /// How a chat message or a listing heads an alert of this kind.
    pub fn label(self) -> &'static str {
        match self {
            AlertKind::Followup => "Follow-up",
            AlertKind::Update => "Update",
            AlertKind::NewEntity => "New in the story",
            AlertKind::FeedHealth => "Feed health",
            AlertKind::Test => "TEST ALERT",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stored as its name in `alerts.kind`.
impl rusqlite::ToSql for AlertKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for AlertKind {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let name = v.as_str()?;
        AlertKind::parse(name).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown alert kind {name:?}").into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_serde_and_clap() {
        use clap::ValueEnum;
        for k in AlertKind::STORED {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(AlertKind::from_str(k.as_str(), false), Ok(k));
        }
        assert_eq!(AlertKind::parse("test"), None);
        assert_eq!(AlertKind::parse("gossip"), None);
        let offered: Vec<String> = AlertKind::value_variants()
            .iter()
            .filter_map(|k| k.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(offered.join(", "), AlertKind::names());
        assert!(AlertKind::from_str("test", false).is_err());
    }
}
