//! From the raw tables to typed config: every value checked, every problem
//! kept with its place, so that one run reports all of them.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::locate::Locator;
use super::raw::*;
use super::values::{parse_feed_url, parse_size};
use super::*;

/// Reads `text` (from `path`) as `T` and checks it with `check`, given the
/// folder relative paths resolve against: a syntax error or every problem
/// the check found comes back with its place.
pub(super) fn validated<T: serde::de::DeserializeOwned, U>(
    text: &str,
    path: &Path,
    check: impl FnOnce(&mut Validator<'_>, T, &Path) -> U,
) -> Result<U, ConfigError> {
    let invalid = |problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let locator = Locator::new(text);
    let raw: T = toml::from_str(text).map_err(|e| {
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
    let out = check(&mut v, raw, &base_dir);
    if v.problems.is_empty() {
        Ok(out)
    } else {
        Err(invalid(v.problems))
    }
}

pub(super) struct Validator<'a> {
    pub(super) locator: Locator<'a>,
    pub(super) problems: Vec<Problem>,
}

impl Validator<'_> {
    pub(super) fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let mut p = self.locator.locate(span);
        p.message = message.into();
        self.problems.push(p);
    }

    pub(super) fn config(&mut self, raw: RawConfig, path: &Path, base_dir: &Path) -> Config {
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
            .map(|d| self.duration(&d, Duration::from_secs(300)))
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
            .map(|k| self.duration(&k, Duration::from_secs(600)))
            .unwrap_or(DEFAULT_KEEP);
        let cache = match raw.storage.cache {
            None => DEFAULT_PAGE_CACHE,
            Some(s) => match parse_size(s.get_ref()) {
                Ok(n) if (PAGE_CACHE_RANGE).contains(&n) => n,
                Ok(_) => {
                    self.problem(s.span(), "must be between 1MiB and 1GiB");
                    DEFAULT_PAGE_CACHE
                }
                Err(msg) => {
                    self.problem(s.span(), msg);
                    DEFAULT_PAGE_CACHE
                }
            },
        };
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
                cache,
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

    pub(super) fn feeds(
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
            let title = self.label(f.title, "title");
            let category = self.label(f.category, "category");
            feeds.push(FeedConfig {
                name,
                url,
                interval,
                full_text,
                allow_hosts: host_list(&f.allow_hosts),
                title,
                category,
            });
        }
        feeds
    }

    /// A feed's `title` or `category`: one line of text; empty means none.
    pub(super) fn label(&mut self, raw: Option<Spanned<String>>, key: &str) -> Option<String> {
        let raw = raw?;
        let text = raw.get_ref().trim();
        if text.chars().any(char::is_control) {
            self.problem(raw.span(), format!("{key} must be one line of text"));
            return None;
        }
        (!text.is_empty()).then(|| text.to_string())
    }

    pub(super) fn stories(&mut self, raw: Vec<RawStory>, base_dir: &Path) -> Vec<StoryConfig> {
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

    pub(super) fn poll(&mut self, raw: RawPoll) -> PollConfig {
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
        let max_entries = self.count(raw.max_entries, DEFAULT_MAX_ENTRIES, 1_000_000);
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
            max_entries,
            allow_private: false,
            allow_hosts: Vec::new(),
        }
    }

    pub(super) fn duration(&mut self, s: &Spanned<String>, min: Duration) -> Duration {
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

    pub(super) fn count(&mut self, n: Option<Spanned<i64>>, default: usize, max: usize) -> usize {
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
