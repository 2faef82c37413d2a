//! Configuration: the TOML file is parsed into raw types that keep their source
//! spans, then validated once into [`Config`], whose values cannot be wrong
//! (parsed URLs, durations, non-zero counts). Validation does no I/O and reports
//! every problem at once, each with file, line, column and key.

use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::matching::entities::Kind;
use crate::matching::gazetteer::DataError;
pub use crate::matching::gazetteer::UserData;
pub use crate::matching::watchlist::{ConfigEntity, ConfigEvent};
use locate::Locator;

mod locate;
mod sinks;
pub use sinks::{DeliveryConfig, SecretRef, SinkConfig, SinkKind};

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
/// A feed failing this long raises a `feed_health` alert.
pub const DEFAULT_ALERT_AFTER: Duration = Duration::from_secs(24 * 3600);
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

// ---------------------------------------------------------------- raw types

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Files with more `[[feed]]` tables (`feeds.d/*.toml`).
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    storage: RawStorage,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default, rename = "feed")]
    feeds: Vec<RawFeed>,
    #[serde(default, rename = "story")]
    stories: Vec<RawStory>,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    dedup: RawDedup,
    #[serde(default, rename = "sink")]
    sinks: Vec<sinks::RawSink>,
    #[serde(default)]
    delivery: sinks::RawDelivery,
    #[serde(default)]
    service: RawService,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    matching: RawMatching,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatching {
    /// Files extending the built-in lists (see `matching::gazetteer`).
    #[serde(default)]
    data: Vec<Spanned<String>>,
}

/// An included file: feeds only.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    #[serde(default, rename = "feed")]
    feeds: Vec<RawFeed>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    #[serde(default)]
    allow_private: bool,
    #[serde(default)]
    allow_hosts: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    listen: Option<Spanned<String>>,
    shutdown_grace: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    window: Option<Spanned<String>>,
    similarity: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    max_age: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStory {
    id: Spanned<String>,
    article: Option<Spanned<String>>,
    articles: Option<Vec<Spanned<String>>>,
    threshold: Option<Spanned<f64>>,
    #[serde(default)]
    entities: Vec<RawEntity>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    emerge_after: Option<Spanned<i64>>,
    date: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<String>,
    kind: Option<Spanned<String>>,
    weight: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: Spanned<String>,
    triggers: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    path: Option<Spanned<String>>,
    keep: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    interval: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    user_agent: Option<Spanned<String>>,
    min_interval: Option<Spanned<String>>,
    max_interval: Option<Spanned<String>>,
    disable_after: Option<Spanned<i64>>,
    alert_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Spanned<String>,
    url: Spanned<String>,
    interval: Option<Spanned<String>>,
    full_text: Option<Spanned<RawFullText>>,
    #[serde(default)]
    allow_hosts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawFullText {
    Flag(bool),
    Mode(String),
}

// ---------------------------------------------------------------- loading

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
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let locator = Locator::new(text);
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let mut p = locator.locate(e.span().unwrap_or(0..0));
            p.message = e.message().trim().to_string();
            invalid(vec![p])
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut v = Validator {
            locator,
            problems: Vec::new(),
        };
        let config = v.config(raw, path, &base_dir);
        if v.problems.is_empty() {
            Ok(config)
        } else {
            Err(invalid(v.problems))
        }
    }

    pub fn feed(&self, name: &str) -> Option<&FeedConfig> {
        self.feeds.iter().find(|f| f.name == name)
    }

    pub fn story(&self, id: &str) -> Option<&StoryConfig> {
        self.stories.iter().find(|s| s.id == id)
    }
}

/// The files an include pattern names, sorted: one `*` in the file name
/// matches any run of characters; a pattern without one names one file.
fn expand(pattern: &str) -> std::io::Result<Vec<PathBuf>> {
    let p = Path::new(pattern);
    let file = p
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((prefix, suffix)) = file.split_once('*') else {
        return Ok(vec![p.to_path_buf()]);
    };
    let dir = p.parent().unwrap_or(Path::new("."));
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
                && !name.starts_with('.')
                && f.is_file()
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Validates an included file (feeds only); names stay unique across files.
fn included_feeds(
    text: &str,
    path: &Path,
    default_interval: Duration,
    names: &mut HashSet<String>,
) -> Result<Vec<FeedConfig>, ConfigError> {
    let invalid = |problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let locator = Locator::new(text);
    let raw: RawInclude = toml::from_str(text).map_err(|e| {
        let mut p = locator.locate(e.span().unwrap_or(0..0));
        p.message = e.message().trim().to_string();
        invalid(vec![p])
    })?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut v = Validator {
        locator,
        problems: Vec::new(),
    };
    let feeds = v.feeds(raw.feeds, &base_dir, default_interval, names);
    if v.problems.is_empty() {
        Ok(feeds)
    } else {
        Err(invalid(v.problems))
    }
}

struct Validator<'a> {
    locator: Locator<'a>,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let mut p = self.locator.locate(span);
        p.message = message.into();
        self.problems.push(p);
    }

    fn config(&mut self, raw: RawConfig, path: &Path, base_dir: &Path) -> Config {
        let storage_path = match raw.storage.path {
            Some(p) if p.get_ref().trim().is_empty() => {
                self.problem(p.span(), "must not be empty");
                PathBuf::from(DEFAULT_DB_FILE)
            }
            Some(p) => base_dir.join(p.into_inner()),
            None => base_dir.join(DEFAULT_DB_FILE),
        };
        let mut poll = self.poll(raw.poll);
        poll.allow_private = raw.fetch.allow_private;
        poll.allow_hosts = host_list(&raw.fetch.allow_hosts);
        let mut names = HashSet::new();
        let feeds = self.feeds(raw.feeds, base_dir, poll.interval, &mut names);
        let includes: Vec<String> = raw
            .include
            .iter()
            .filter_map(|p| {
                let v = p.get_ref().trim();
                if v.is_empty() {
                    self.problem(p.span(), "include pattern must not be empty");
                    None
                } else {
                    Some(base_dir.join(v).to_string_lossy().into_owned())
                }
            })
            .collect();
        let stories = self.stories(raw.stories, base_dir);
        let max_age = raw
            .alerts
            .max_age
            .map(|d| self.duration(&d, Duration::from_secs(60)))
            .unwrap_or(DEFAULT_ALERT_MAX_AGE);
        let window = raw
            .dedup
            .window
            .map(|d| self.duration(&d, Duration::from_secs(3600)))
            .unwrap_or(DEFAULT_DEDUP_WINDOW);
        let similarity = match raw.dedup.similarity {
            Some(s) if !(0.5..=1.0).contains(s.get_ref()) => {
                self.problem(s.span(), "similarity must be between 0.5 and 1");
                DEFAULT_SIMILARITY
            }
            Some(s) => *s.get_ref(),
            None => DEFAULT_SIMILARITY,
        };
        let sinks = self.sinks(raw.sinks, base_dir);
        let delivery = self.delivery(raw.delivery);
        let keep = raw
            .storage
            .keep
            .map(|k| self.duration(&k, Duration::from_secs(24 * 3600)))
            .unwrap_or(DEFAULT_KEEP);
        let listen = raw
            .service
            .listen
            .and_then(|l| match l.get_ref().trim().parse() {
                Ok(a) => Some(a),
                Err(_) => {
                    self.problem(
                        l.span(),
                        "listen must be an address and port, e.g. \"127.0.0.1:9464\"",
                    );
                    None
                }
            });
        let mut matching = MatchingConfig::default();
        for d in raw.matching.data {
            if d.get_ref().trim().is_empty() {
                self.problem(d.span(), "a data file name must not be empty");
            } else {
                matching.data.push(base_dir.join(d.get_ref().trim()));
            }
        }
        let shutdown_grace = raw
            .service
            .shutdown_grace
            .map(|g| self.duration(&g, Duration::ZERO))
            .unwrap_or(DEFAULT_SHUTDOWN_GRACE);
        Config {
            path: path.to_path_buf(),
            storage: StorageConfig {
                path: storage_path,
                keep,
            },
            poll,
            feeds,
            stories,
            alerts: AlertsConfig { max_age },
            dedup: DedupConfig { window, similarity },
            sinks,
            delivery,
            service: ServiceConfig {
                listen,
                shutdown_grace,
            },
            matching,
            includes,
            unmatched_includes: Vec::new(),
        }
    }

    fn feeds(
        &mut self,
        raw: Vec<RawFeed>,
        base_dir: &Path,
        default_interval: Duration,
        names: &mut HashSet<String>,
    ) -> Vec<FeedConfig> {
        let mut feeds = Vec::with_capacity(raw.len());
        for f in raw {
            let name = f.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.problem(f.name.span(), "feed name must not be empty");
            } else if !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.problem(
                    f.name.span(),
                    format!(
                        "feed name {name:?} may only contain letters, digits, '-', '_' and '.'"
                    ),
                );
            } else if !names.insert(name.clone()) {
                self.problem(f.name.span(), format!("duplicate feed name {name:?}"));
            }
            let url = match parse_feed_url(f.url.get_ref(), base_dir) {
                Ok(u) => u,
                Err(msg) => {
                    self.problem(f.url.span(), msg);
                    continue;
                }
            };
            let interval = f
                .interval
                .map(|i| self.duration(&i, MIN_INTERVAL))
                .unwrap_or(default_interval);
            let full_text = match f.full_text {
                None => FullText::Off,
                Some(ft) => {
                    match ft.get_ref() {
                        RawFullText::Flag(false) => FullText::Off,
                        RawFullText::Flag(true) => FullText::Matching,
                        RawFullText::Mode(m) if m == "auto" => FullText::Auto,
                        RawFullText::Mode(m) if m == "always" => FullText::Always,
                        RawFullText::Mode(m) => {
                            self.problem(
                            ft.span(),
                            format!("full_text must be true, false, \"auto\" or \"always\", not {m:?}"),
                        );
                            FullText::Off
                        }
                    }
                }
            };
            feeds.push(FeedConfig {
                name,
                url,
                interval,
                full_text,
                allow_hosts: host_list(&f.allow_hosts),
            });
        }
        feeds
    }

    fn stories(&mut self, raw: Vec<RawStory>, base_dir: &Path) -> Vec<StoryConfig> {
        let mut ids = HashSet::new();
        let mut out = Vec::new();
        for st in raw {
            let id = st.id.get_ref().trim().to_string();
            if !is_story_id(&id) {
                self.problem(st.id.span(), STORY_ID_RULE);
            } else if !ids.insert(id.clone()) {
                self.problem(st.id.span(), format!("duplicate story id {id:?}"));
            }
            let mut articles = Vec::new();
            for a in st
                .article
                .into_iter()
                .chain(st.articles.into_iter().flatten())
            {
                if a.get_ref().trim().is_empty() {
                    self.problem(a.span(), "article path must not be empty");
                } else {
                    articles.push(base_dir.join(a.get_ref().trim()));
                }
            }
            let query = st.query.as_ref().and_then(|q| {
                let text = q.get_ref().trim();
                if crate::matching::watchlist::parse_query(text).0.is_empty() {
                    self.problem(
                        q.span(),
                        "a query needs at least one name (a capitalised word or a \"quoted phrase\")",
                    );
                    None
                } else {
                    Some(text.to_string())
                }
            });
            if articles.is_empty() && st.entities.is_empty() && st.query.is_none() {
                self.problem(
                    st.id.span(),
                    "a story needs `article`, `articles`, `query` or `entities`",
                );
            }
            let threshold = match st.threshold {
                Some(t) if !(0.0..=1.0).contains(t.get_ref()) => {
                    self.problem(t.span(), "threshold must be between 0 and 1");
                    DEFAULT_THRESHOLD
                }
                Some(t) => *t.get_ref(),
                None => DEFAULT_THRESHOLD,
            };
            let mut entities = Vec::new();
            for e in st.entities {
                let name = e.name.get_ref().trim().to_string();
                if name.is_empty() {
                    self.problem(e.name.span(), "entity name must not be empty");
                    continue;
                }
                let kind = match &e.kind {
                    None => None,
                    Some(k) => match Kind::parse(k.get_ref()) {
                        Some(k) => Some(k),
                        None => {
                            self.problem(
                                k.span(),
                                "kind must be person, place, organisation or other",
                            );
                            None
                        }
                    },
                };
                let weight = match &e.weight {
                    Some(w) if !(0.0..=1.0).contains(w.get_ref()) => {
                        self.problem(w.span(), "weight must be between 0 and 1");
                        None
                    }
                    w => w.as_ref().map(|w| *w.get_ref()),
                };
                entities.push(ConfigEntity {
                    name,
                    aliases: e
                        .aliases
                        .iter()
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect(),
                    kind,
                    weight,
                });
            }
            let mut events = Vec::new();
            for ev in st.events {
                let triggers: Vec<String> = ev
                    .triggers
                    .iter()
                    .map(|t| t.get_ref().trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect();
                if triggers.is_empty() {
                    self.problem(ev.name.span(), "an event needs at least one trigger");
                }
                events.push(ConfigEvent {
                    name: ev.name.get_ref().trim().to_string(),
                    triggers,
                });
            }
            let emerge_after = match st.emerge_after {
                Some(n) if *n.get_ref() < 1 || *n.get_ref() > 1000 => {
                    self.problem(n.span(), "emerge_after must be between 1 and 1000");
                    DEFAULT_EMERGE_AFTER
                }
                Some(n) => *n.get_ref() as u32,
                None => DEFAULT_EMERGE_AFTER,
            };
            let date = st.date.as_ref().and_then(|d| {
                let parsed = crate::feeds::dates::parse_date(d.get_ref()).map(|t| t.timestamp());
                if parsed.is_none() {
                    self.problem(
                        d.span(),
                        format!(
                            "date {:?} is not a date (e.g. 2025-04-11 or an RFC 3339 time)",
                            d.get_ref()
                        ),
                    );
                }
                parsed
            });
            out.push(StoryConfig {
                id,
                articles,
                threshold,
                entities,
                events,
                exclude: st
                    .exclude
                    .iter()
                    .map(|x| x.get_ref().trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
                emerge_after,
                date,
                query,
            });
        }
        out
    }

    fn poll(&mut self, raw: RawPoll) -> PollConfig {
        let interval = raw
            .interval
            .map(|i| self.duration(&i, MIN_INTERVAL))
            .unwrap_or(DEFAULT_INTERVAL);
        let concurrency = self.count(raw.concurrency, DEFAULT_CONCURRENCY, 1024);
        let mut per_host = self.count(raw.per_host.clone(), DEFAULT_PER_HOST, 64);
        if per_host > concurrency {
            if let Some(p) = &raw.per_host {
                self.problem(
                    p.span(),
                    format!("per_host ({per_host}) must not exceed concurrency ({concurrency})"),
                );
            }
            per_host = concurrency;
        }
        let timeout = raw
            .timeout
            .map(|t| self.duration(&t, Duration::from_millis(100)))
            .unwrap_or(DEFAULT_TIMEOUT);
        let max_body = match raw.max_body {
            None => DEFAULT_MAX_BODY,
            Some(s) => match parse_size(s.get_ref()) {
                Ok(n) if (1024..=MAX_BODY_LIMIT).contains(&n) => n,
                Ok(_) => {
                    self.problem(s.span(), "must be between 1KiB and 1GiB");
                    DEFAULT_MAX_BODY
                }
                Err(msg) => {
                    self.problem(s.span(), msg);
                    DEFAULT_MAX_BODY
                }
            },
        };
        let user_agent = match raw.user_agent {
            None => default_user_agent(),
            Some(ua) => {
                let s = ua.get_ref().trim().to_string();
                if s.is_empty() || s.chars().any(|c| c.is_control()) {
                    self.problem(ua.span(), "must be non-empty printable text");
                    default_user_agent()
                } else {
                    s
                }
            }
        };
        let min_interval = raw
            .min_interval
            .map(|i| self.duration(&i, MIN_INTERVAL))
            .unwrap_or(DEFAULT_MIN_INTERVAL.min(interval));
        let max_interval = match raw.max_interval {
            Some(m) => {
                let d = self.duration(&m, MIN_INTERVAL);
                if d < min_interval {
                    self.problem(m.span(), "max_interval must not be below min_interval");
                }
                d.max(min_interval)
            }
            None => DEFAULT_MAX_INTERVAL.max(interval),
        };
        let disable_after =
            self.count(raw.disable_after, DEFAULT_DISABLE_AFTER as usize, 100_000) as u32;
        let alert_after = raw
            .alert_after
            .map(|a| self.duration(&a, MIN_INTERVAL))
            .unwrap_or(DEFAULT_ALERT_AFTER);
        PollConfig {
            interval,
            concurrency: NonZeroUsize::new(concurrency).expect("count() is at least 1"),
            per_host: NonZeroUsize::new(per_host).expect("count() is at least 1"),
            timeout,
            max_body,
            user_agent,
            min_interval,
            max_interval,
            disable_after,
            alert_after,
            allow_private: false,
            allow_hosts: Vec::new(),
        }
    }

    fn duration(&mut self, s: &Spanned<String>, min: Duration) -> Duration {
        match humantime::parse_duration(s.get_ref().trim()) {
            Ok(d) if d >= min => d,
            Ok(_) => {
                self.problem(
                    s.span(),
                    format!("must be at least {}", humantime::format_duration(min)),
                );
                min
            }
            Err(e) => {
                self.problem(
                    s.span(),
                    format!(
                        "invalid duration {:?} ({e}); write e.g. \"15m\" or \"1h 30m\"",
                        s.get_ref()
                    ),
                );
                min
            }
        }
    }

    fn count(&mut self, n: Option<Spanned<i64>>, default: usize, max: usize) -> usize {
        match n {
            None => default,
            Some(n) => {
                let v = *n.get_ref();
                if v < 1 || v as u64 > max as u64 {
                    self.problem(n.span(), format!("must be between 1 and {max}, not {v}"));
                    default.min(max)
                } else {
                    v as usize
                }
            }
        }
    }
}

/// Host names as the guard compares them: trimmed, lower case, no final dot.
fn host_list(hosts: &[String]) -> Vec<String> {
    let mut out: Vec<String> = hosts
        .iter()
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Accepts `http(s)://…`, `file:///abs/path`, `file://relative/path` or
/// `file:relative/path`; relative file paths resolve against `base_dir`.
pub fn parse_feed_url(s: &str, base_dir: &Path) -> Result<Url, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("file:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        if rest.is_empty() {
            return Err("file URL has no path".into());
        }
        let p = Path::new(rest);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            let joined = base_dir.join(p);
            if joined.is_absolute() {
                joined
            } else {
                std::env::current_dir()
                    .map_err(|e| format!("cannot resolve relative file path: {e}"))?
                    .join(joined)
            }
        };
        return Url::from_file_path(&abs)
            .map_err(|_| format!("invalid file path {}", abs.display()));
    }
    let url = Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("URL {s:?} has no host")),
        other => Err(format!(
            "unsupported URL scheme {other:?} in {s:?}: use http://, https:// or file://"
        )),
    }
}

/// Parses sizes such as `10MiB`, `512 KiB`, `1MB` or a bare byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}; write e.g. \"10MiB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?}; use B, KiB, MiB or GiB"
            ))
        }
    };
    let bytes = num * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/storywatch/test.toml"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match load(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected invalid config, got {other:?}"),
        }
    }

    #[test]
    fn feed_allow_hosts_are_normalised() {
        let c = load(
            "[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nallow_hosts = [\" News.Intranet. \", \"news.intranet\", \"\"]\n",
        )
        .unwrap();
        assert_eq!(c.feeds[0].allow_hosts, vec!["news.intranet".to_string()]);
    }

    #[test]
    fn full_text_modes_and_a_bad_one() {
        let c = load(
            "[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nfull_text = true\n\n\
             [[feed]]\nname = \"b\"\nurl = \"https://x.org/b\"\nfull_text = \"auto\"\n\n\
             [[feed]]\nname = \"c\"\nurl = \"https://x.org/c\"\nfull_text = \"always\"\n\n\
             [[feed]]\nname = \"d\"\nurl = \"https://x.org/d\"\n",
        )
        .unwrap();
        let modes: Vec<FullText> = c.feeds.iter().map(|f| f.full_text).collect();
        assert_eq!(
            modes,
            [
                FullText::Matching,
                FullText::Auto,
                FullText::Always,
                FullText::Off
            ]
        );
        let p = problems(
            "[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nfull_text = \"sometimes\"\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].line, p[0].key.as_str()), (4, "feed[1].full_text"));
        assert!(p[0].message.contains("\"sometimes\""), "{p:?}");
    }

    #[test]
    fn defaults_and_relative_paths() {
        let c = load(
            "[[feed]]\nname = \"demo\"\nurl = \"file://demo/a.xml\"\n\n[[feed]]\nname = \"web\"\nurl = \"https://example.org/rss\"\ninterval = \"10m\"\n",
        )
        .unwrap();
        assert_eq!(c.storage.path, Path::new("/etc/storywatch/storywatch.db"));
        assert_eq!(c.poll.interval, DEFAULT_INTERVAL);
        assert_eq!(c.poll.concurrency.get(), 16);
        assert_eq!(c.poll.max_body, 10 * 1024 * 1024);
        assert!(c.poll.user_agent.starts_with("storywatch/"));
        assert_eq!(c.feeds[0].url.as_str(), "file:///etc/storywatch/demo/a.xml");
        assert_eq!(c.feeds[0].interval, DEFAULT_INTERVAL);
        assert_eq!(c.feeds[1].interval, Duration::from_secs(600));
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let ps = problems(
            "[poll]\ninterval = \"15 fortnights\"\nconcurrency = 0\nmax_body = \"10 parsecs\"\n\n[[feed]]\nname = \"a\"\nurl = \"ftp://x.org/\"\n\n[[feed]]\nname = \"a\"\nurl = \"https://x.org/feed\"\n",
        );
        let keys: Vec<_> = ps.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            keys,
            vec![
                ("poll.interval", 2),
                ("poll.concurrency", 3),
                ("poll.max_body", 4),
                ("feed[1].url", 8),
                ("feed[2].name", 11),
            ]
        );
        assert_eq!(ps[0].column, 12);
        assert!(ps[3].message.contains("unsupported URL scheme"));
    }

    #[test]
    fn a_document_that_does_not_parse_names_the_line_not_a_key() {
        let ps = problems("[storage]\npath = \"a.db\"\n\n[poll\ninterval = \"1m\"\n");
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].line, 4, "{ps:?}");
        assert_eq!(ps[0].key, "", "{ps:?}");
        assert!(!ps[0].to_string().contains("storage"), "{}", ps[0]);
        // A later key is located by the parser, not by the nearest header.
        let ps = problems("[storage]\npath = \"a.db\"\n[poll]\ntimeout = \"soon\"\n");
        assert_eq!(
            (ps[0].key.as_str(), ps[0].line),
            ("poll.timeout", 4),
            "{ps:?}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_a_place() {
        let ps = problems("[poll]\ninterval = \"1m\"\nintreval = \"2m\"\n");
        assert_eq!(ps.len(), 1);
        assert_eq!((ps[0].line, ps[0].column), (3, 1));
        assert_eq!(ps[0].key, "poll.intreval");
        assert!(ps[0].message.contains("unknown field"), "{}", ps[0].message);
    }

    #[test]
    fn sinks_are_validated_with_their_place() {
        let ps = problems(
            "[[sink]]\nname = \"a\"\nkind = \"pager\"\n\n             [[sink]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"ftp://x\"\n\n             [[sink]]\nname = \"c\"\nkind = \"slack\"\nurl_env = \"A\"\nurl_file = \"b\"\nkinds = [\"followup\", \"gossip\"]\n\n             [[sink]]\nname = \"d\"\nkind = \"stdout\"\nsecret_env = \"S\"\nmin_score = 2.0\n\n             [delivery]\nschedule = []\n",
        );
        let got: Vec<(usize, &str)> = ps.iter().map(|p| (p.line, p.message.as_str())).collect();
        let has = |line: usize, text: &str| {
            assert!(
                got.iter().any(|(l, m)| *l == line && m.contains(text)),
                "no problem {text:?} on line {line}: {got:?}"
            )
        };
        has(3, "unknown sink kind");
        has(6, "not an http(s) URL");
        has(6, "a webhook sink is signed");
        has(11, "one way only");
        has(15, "unknown alert kind \"gossip\"");
        has(18, "is not signed");
        has(21, "min_score");
        has(24, "at least one wait");
        // A secret cannot be written in the file at all.
        let ps = problems("[[sink]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://x.org/\"\nsecret = \"whsec_abc\"\n");
        assert!(ps[0].message.contains("unknown field `secret`"), "{ps:?}");
        // A good one.
        let c = load(
            "[[sink]]\nname = \"n\"\nkind = \"discord\"\nurl_credential = \"d\"\ndigest = \"1h\"\n",
        )
        .unwrap();
        assert_eq!(c.sinks[0].rate, std::time::Duration::from_secs(1));
        assert_eq!(c.sinks[0].url, Some(SecretRef::Credential("d".into())));
        assert_eq!(c.delivery.schedule.len(), 6);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let ps = problems("[poll]\ninterval = \"1m\nconcurrency = 2\n");
        assert_eq!(ps[0].line, 2);
    }

    #[test]
    fn per_host_cannot_exceed_concurrency() {
        let ps = problems("[poll]\nconcurrency = 2\nper_host = 4\n");
        assert_eq!(ps[0].key, "poll.per_host");
    }

    #[test]
    fn stories_are_validated() {
        let c = load(
            "[[story]]\nid = \"talks\"\narticle = \"stories/talks.txt\"\nthreshold = 0.6\n\
             entities = [ { name = \"Steve Witkoff\", aliases = [\"Witkoff\"], kind = \"person\", weight = 1.0 } ]\n\
             events = [ { name = \"prisoner swap\", triggers = [\"prisoner swap\"] } ]\nexclude = [\"Gaza\"]\n",
        )
        .unwrap();
        let s = &c.stories[0];
        assert_eq!(
            s.articles,
            vec![PathBuf::from("/etc/storywatch/stories/talks.txt")]
        );
        assert_eq!((s.threshold, s.emerge_after), (0.6, DEFAULT_EMERGE_AFTER));
        assert_eq!(s.entities[0].kind, Some(Kind::Person));
        assert_eq!(s.exclude, vec!["Gaza".to_string()]);
        assert_eq!(c.alerts.max_age, DEFAULT_ALERT_MAX_AGE);
        let ps = problems("[[story]]\nid = \"x\"\nthreshold = 1.5\nentities = [ { name = \"A\", kind = \"planet\" } ]\n");
        let keys: Vec<_> = ps.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec!["story[1].threshold", "story[1].entities"],
            "{ps:?}"
        );
        let ps = problems("[[story]]\nid = \"x\"\n");
        assert!(ps[0].message.contains("needs"));
    }

    #[test]
    fn a_story_may_start_from_a_query() {
        let c = load("[[story]]\nid = \"q\"\nquery = '\"Steve Witkoff\" Putin ceasefire -Gaza'\n")
            .unwrap();
        assert_eq!(
            c.stories[0].query.as_deref(),
            Some("\"Steve Witkoff\" Putin ceasefire -Gaza")
        );
        let ps = problems("[[story]]\nid = \"q\"\nquery = \"ceasefire talks\"\n");
        assert_eq!(ps[0].key, "story[1].query", "{ps:?}");
    }

    #[test]
    fn a_story_date_is_a_date() {
        let c =
            load("[[story]]\nid = \"q\"\narticle = \"q.txt\"\ndate = \"2016-10-30\"\n").unwrap();
        assert_eq!(
            c.stories[0].date,
            Some(
                chrono::DateTime::parse_from_rfc3339("2016-10-30T00:00:00Z")
                    .unwrap()
                    .timestamp()
            )
        );
        let c = load("[[story]]\nid = \"q\"\narticle = \"q.txt\"\n").unwrap();
        assert_eq!(c.stories[0].date, None);
        let ps = problems("[[story]]\nid = \"q\"\narticle = \"q.txt\"\ndate = \"last week\"\n");
        assert_eq!(ps[0].key, "story[1].date", "{ps:?}");
        assert!(ps[0].message.contains("not a date"), "{ps:?}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("1 parsec").is_err());
    }
}
