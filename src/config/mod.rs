//! Configuration: the TOML file is parsed into raw types that keep their source
//! spans, then validated once into [`Config`], whose values cannot be wrong
//! (parsed URLs, durations, non-zero counts). Validation does no I/O and reports
//! every problem at once, each with file, line, column and key.

use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::matching::entities::Kind;
use crate::matching::gazetteer::DataError;
pub use crate::matching::gazetteer::UserData;
pub use crate::matching::watchlist::{ConfigEntity, ConfigEvent};
use include::{expand, included_feeds};
use raw::RawConfig;
use validate::validated;

mod include;
mod locate;
mod raw;
mod sinks;
mod validate;
mod values;
pub use sinks::{
    check_url as check_sink_url, DeliveryConfig, EmailConfig, SecretRef, SinkConfig, SinkKind,
};
pub use values::{parse_feed_url, parse_size};

/// Used when neither `--config` nor `$STORYWATCH_CONFIG` names a file.
pub const DEFAULT_CONFIG_PATH: &str = "config/storywatch.toml";
pub const DEFAULT_DB_FILE: &str = "storywatch.db";
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const DEFAULT_PER_HOST: usize = 2;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
/// Shortest feed interval accepted: anything faster is impolite to publishers.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Score at or above which an item is a follow-up; see `matching::score`.
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// Items published longer ago than this are matched and stored but raise no
/// alert, so that adding a feed does not flood the sinks with its archive.
pub const DEFAULT_ALERT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Containment (share of the shorter text's word shingles found in the
/// longer) at or above which two items are copies of one report.
pub const DEFAULT_SIMILARITY: f64 = 0.8;
/// How far back near-duplicate lookups reach.
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
/// Matched follow-ups a new name must appear in before it joins the story.
pub const DEFAULT_EMERGE_AFTER: u32 = 2;
const MAX_BODY_LIMIT: u64 = 1024 * 1024 * 1024;
/// Feed hints (`<ttl>`, `sy:updatePeriod`, `Cache-Control: max-age`) and
/// intervals are kept within these.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// Consecutive failures after which a feed is paused.
pub const DEFAULT_DISABLE_AFTER: u32 = 50;
/// Entries a poll reads of one feed: far more than news feeds carry (10 to
/// 100), few enough that a feed of 100,000 entries polls in bounded memory.
pub const DEFAULT_MAX_ENTRIES: usize = 1000;
/// A feed failing this long raises a `feed_health` alert.
pub const DEFAULT_ALERT_AFTER: Duration = Duration::from_secs(24 * 3600);
/// SQLite's page cache for polling: SQLite's own default. Larger caches
/// polled no faster, even over a million stored items, and cost their size
/// in resident memory (docs/benchmarks.md).
pub const DEFAULT_PAGE_CACHE: u64 = 2 << 20;
pub(crate) const PAGE_CACHE_RANGE: std::ops::RangeInclusive<u64> = (1 << 20)..=(1 << 30);
/// Items that never matched are kept this long.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(90 * 24 * 3600);
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The project's public address, sent in the User-Agent so publishers can reach us.
pub const PROJECT_URL: &str = env!("CARGO_PKG_REPOSITORY");

pub fn default_user_agent() -> String {
    format!(
        "storywatch/{} (+{})",
        env!("CARGO_PKG_VERSION"),
        PROJECT_URL
    )
}

/// What a story id may be, as users are told.
pub const STORY_ID_RULE: &str =
    "story id must be non-empty letters, digits, '-', '_' or '.', and not start with '.'";

/// Whether `id` may name a story: it appears in alert ids, payloads and
/// file names, so it holds no separators, controls or whitespace.
pub fn is_story_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this configuration was read from.
    pub path: PathBuf,
    pub storage: StorageConfig,
    pub poll: PollConfig,
    pub feeds: Vec<FeedConfig>,
    pub stories: Vec<StoryConfig>,
    pub alerts: AlertsConfig,
    pub dedup: DedupConfig,
    pub sinks: Vec<SinkConfig>,
    pub delivery: DeliveryConfig,
    pub service: ServiceConfig,
    pub matching: MatchingConfig,
    /// `include` patterns, resolved against the config's folder.
    pub includes: Vec<String>,
    /// The patterns that named no file when the config was loaded.
    pub unmatched_includes: Vec<String>,
}

/// `storywatch run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Where `/healthz` and `/metrics` are served (off when None).
    pub listen: Option<std::net::SocketAddr>,
    /// How long in-flight polls and deliveries get to finish on SIGTERM.
    pub shutdown_grace: Duration,
}

/// Near-duplicate detection.
#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// How far back a new item is compared.
    pub window: Duration,
    /// Word-level similarity (0..1) at or above which two items are copies.
    pub similarity: f64,
}

#[derive(Debug, Clone)]
pub struct AlertsConfig {
    pub max_age: Duration,
}

/// A story: reference articles plus optional watchlist entries.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryConfig {
    pub id: String,
    /// Reference article files (plain text or HTML), resolved against the config's folder.
    pub articles: Vec<PathBuf>,
    pub threshold: f64,
    pub entities: Vec<ConfigEntity>,
    pub events: Vec<ConfigEvent>,
    pub exclude: Vec<String>,
    pub emerge_after: u32,
    /// When the story happened (Unix seconds): the `date` key, else unset.
    /// Items far from it in time score lower; unknown, time plays no part.
    pub date: Option<i64>,
    /// A search-style query ("\"Steve Witkoff\" Putin ceasefire -Gaza") the
    /// story starts from, beside or instead of an article.
    pub query: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Absolute, or relative to the working directory after resolution against
    /// the config file's folder.
    pub path: PathBuf,
    /// Items that never matched a story are pruned after this.
    pub keep: Duration,
    /// Bytes of SQLite page cache for the connection that polls (see
    /// `Store::set_page_cache`).
    pub cache: u64,
}

#[derive(Debug, Clone)]
pub struct PollConfig {
    pub interval: Duration,
    pub concurrency: NonZeroUsize,
    pub per_host: NonZeroUsize,
    pub timeout: Duration,
    pub max_body: u64,
    pub user_agent: String,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub disable_after: u32,
    pub alert_after: Duration,
    /// Entries read per poll of a feed: the newest, the rest dropped.
    pub max_entries: usize,
    /// `[fetch] allow_private`: article links may lead to loopback, private,
    /// link-local and other non-public addresses (an intranet).
    pub allow_private: bool,
    /// `[fetch] allow_hosts`: hosts whose article links may be non-public.
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    pub name: String,
    /// `http`, `https` or `file` (relative file paths already resolved).
    pub url: Url,
    pub interval: Duration,
    pub full_text: FullText,
    /// `allow_hosts` on the feed: hosts this feed's article links may reach
    /// even where they resolve to non-public addresses (an intranet feed).
    pub allow_hosts: Vec<String>,
    /// The feed's own title, as a reader showed it (OPML `title`).
    pub title: Option<String>,
    /// The folder it belongs in, `a/b` for a folder in a folder (OPML).
    pub category: Option<String>,
}

/// When to fetch an entry's article page for its full text (`full_text`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FullText {
    /// `false`: the feed's own text only.
    #[default]
    Off,
    /// `true`: every new entry that names something the stories watch.
    Matching,
    /// `"auto"`: as `true`, for entries whose own text is short (a headline
    /// and a sentence).
    Auto,
    /// `"always"`: every new entry, without the pre-filter.
    Always,
}

impl FullText {
    pub fn as_str(self) -> &'static str {
        match self {
            FullText::Off => "false",
            FullText::Matching => "true",
            FullText::Auto => "auto",
            FullText::Always => "always",
        }
    }
}

/// `[matching]`: the user's additions to the built-in gazetteer and word lists.
#[derive(Debug, Clone, Default)]
pub struct MatchingConfig {
    /// `data` files, resolved against the config's folder.
    pub data: Vec<PathBuf>,
    /// Their entries, read and checked by [`Config::load`].
    pub user_data: UserData,
}

/// Where a configuration problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid matching data in {}: {source}", config.display())]
    Data {
        config: PathBuf,
        #[source]
        source: DataError,
    },
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "invalid config {} ({} problem{})",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str(&format!("\n  {}:{p}", path.display()));
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A document that does not parse has no keys to name.
        if self.key.is_empty() {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        } else {
            write!(
                f,
                "{}:{}: {}: {}",
                self.line, self.column, self.key, self.message
            )
        }
    }
}

/// Which file to load: `--config`, else `$STORYWATCH_CONFIG` (clap fills both
/// into `explicit`), else [`DEFAULT_CONFIG_PATH`].
pub fn resolve_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH))
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::from_toml(&text, path)?;
        let mut names: HashSet<String> = config.feeds.iter().map(|f| f.name.clone()).collect();
        for pattern in config.includes.clone() {
            let files = expand(&pattern).map_err(|source| ConfigError::Read {
                path: PathBuf::from(&pattern),
                source,
            })?;
            if files.is_empty() {
                config.unmatched_includes.push(pattern.clone());
            }
            for file in files {
                let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                    path: file.clone(),
                    source,
                })?;
                let feeds = included_feeds(&text, &file, config.poll.interval, &mut names)?;
                config.feeds.extend(feeds);
            }
        }
        config.matching.user_data =
            UserData::read(&config.matching.data).map_err(|source| ConfigError::Data {
                config: path.to_path_buf(),
                source,
            })?;
        Ok(config)
    }

    /// Validates `text` as if it had been read from `path` (relative paths in it
    /// resolve against `path`'s folder).
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        validated(text, path, |v, raw: RawConfig, base_dir| {
            v.config(raw, path, base_dir)
        })
    }

    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }

    pub fn story(&self, id: &str) -> Option<&StoryConfig> {
        self.stories.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests;
