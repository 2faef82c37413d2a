//! The config file as serde reads it: every value still spanned, so that
//! validation can say where a wrong one is.

use serde::Deserialize;
use toml::Spanned;

use super::sinks;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// Files with more `[[feed]]` tables (`feeds.d/*.toml`).
    #[serde(default)]
    pub(super) include: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) storage: RawStorage,
    #[serde(default)]
    pub(super) poll: RawPoll,
    #[serde(default, rename = "feed")]
    pub(super) feeds: Vec<RawFeed>,
    #[serde(default, rename = "story")]
    pub(super) stories: Vec<RawStory>,
    #[serde(default)]
    pub(super) alerts: RawAlerts,
    #[serde(default)]
    pub(super) dedup: RawDedup,
    #[serde(default, rename = "sink")]
    pub(super) sinks: Vec<sinks::RawSink>,
    #[serde(default)]
    pub(super) delivery: sinks::RawDelivery,
    #[serde(default)]
    pub(super) service: RawService,
    #[serde(default)]
    pub(super) fetch: RawFetch,
    #[serde(default)]
    pub(super) matching: RawMatching,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatching {
    /// Files extending the built-in lists (see `matching::gazetteer`).
    #[serde(default)]
    pub(super) data: Vec<Spanned<String>>,
}

/// An included file: feeds only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInclude {
    #[serde(default, rename = "feed")]
    pub(super) feeds: Vec<RawFeed>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    #[serde(default)]
    pub(super) allow_private: bool,
    #[serde(default)]
    pub(super) allow_hosts: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) shutdown_grace: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    pub(super) window: Option<Spanned<String>>,
    pub(super) similarity: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub(super) max_age: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStory {
    pub(super) id: Spanned<String>,
    pub(super) article: Option<Spanned<String>>,
    pub(super) articles: Option<Vec<Spanned<String>>>,
    pub(super) threshold: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) entities: Vec<RawEntity>,
    #[serde(default)]
    pub(super) events: Vec<RawEvent>,
    #[serde(default)]
    pub(super) exclude: Vec<Spanned<String>>,
    pub(super) emerge_after: Option<Spanned<i64>>,
    pub(super) date: Option<Spanned<String>>,
    pub(super) query: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntity {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
    pub(super) kind: Option<Spanned<String>>,
    pub(super) weight: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEvent {
    pub(super) name: Spanned<String>,
    pub(super) triggers: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    pub(super) path: Option<Spanned<String>>,
    pub(super) keep: Option<Spanned<String>>,
    pub(super) cache: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPoll {
    pub(super) interval: Option<Spanned<String>>,
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_body: Option<Spanned<String>>,
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) min_interval: Option<Spanned<String>>,
    pub(super) max_interval: Option<Spanned<String>>,
    pub(super) disable_after: Option<Spanned<i64>>,
    pub(super) alert_after: Option<Spanned<String>>,
    pub(super) max_entries: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) name: Spanned<String>,
    pub(super) url: Spanned<String>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) full_text: Option<Spanned<RawFullText>>,
    #[serde(default)]
    pub(super) allow_hosts: Vec<String>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) category: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawFullText {
    Flag(bool),
    Mode(String),
}
