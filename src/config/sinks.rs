//! `[[sink]]` and `[delivery]`: where alerts go and how hard we try.
//!
//! Secrets (a webhook's signing key, a Slack or Discord URL, which carries
//! its token) are named here, never held: the environment, a file, or a
//! systemd credential (`LoadCredential=`) supplies them when delivery starts.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::alerts::AlertKind;

use super::validate::Validator;

/// Standard Webhooks' retry schedule: the wait after the 1st, 2nd, … failed
/// attempt; the last wait repeats until `max_age`.
pub const DEFAULT_SCHEDULE: [Duration; 6] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
];
/// An alert not delivered within this is given up (state `dead`).
pub const DEFAULT_DELIVERY_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `storywatch poll` keeps delivering before it exits.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);
/// Chat services allow about one message a second per webhook.
pub const CHAT_RATE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkKind {
    Webhook,
    Slack,
    Discord,
    Stdout,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Slack => "slack",
            SinkKind::Discord => "discord",
            SinkKind::Stdout => "stdout",
        }
    }
}

/// Where a secret value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// Written in the config (only for URLs that carry no token).
    Inline(String),
    Env(String),
    File(PathBuf),
    /// A file under `$CREDENTIALS_DIRECTORY`.
    Credential(String),
}

impl SecretRef {
    /// Where the value is, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Inline(_) => "the config".into(),
            SecretRef::Env(v) => format!("${v}"),
            SecretRef::File(p) => p.display().to_string(),
            SecretRef::Credential(c) => format!("credential {c:?}"),
        }
    }
}

/// A validated sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    /// None only for `stdout`.
    pub url: Option<SecretRef>,
    /// The `whsec_` signing secret (webhooks).
    pub secret: Option<SecretRef>,
    /// Only alerts of these stories (all when empty).
    pub stories: Vec<String>,
    /// Only alerts of these kinds (all when empty).
    pub kinds: Vec<AlertKind>,
    /// Only scored alerts at or above this (unscored kinds always pass).
    pub min_score: Option<f64>,
    /// Alerts of each period go out as one message.
    pub digest: Option<Duration>,
    /// Shortest gap between two requests to this sink.
    pub rate: Duration,
}

/// Retry policy shared by all sinks.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    pub schedule: Vec<Duration>,
    pub max_age: Duration,
    pub timeout: Duration,
    pub drain: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            schedule: DEFAULT_SCHEDULE.to_vec(),
            max_age: DEFAULT_DELIVERY_MAX_AGE,
            timeout: DEFAULT_DELIVERY_TIMEOUT,
            drain: DEFAULT_DRAIN,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSink {
    name: Spanned<String>,
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    url_file: Option<Spanned<String>>,
    url_credential: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    secret_credential: Option<Spanned<String>>,
    #[serde(default)]
    stories: Vec<Spanned<String>>,
    #[serde(default)]
    kinds: Vec<Spanned<String>>,
    min_score: Option<Spanned<f64>>,
    digest: Option<Spanned<String>>,
    rate: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    schedule: Option<Spanned<Vec<Spanned<String>>>>,
    max_age: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    drain: Option<Spanned<String>>,
}

impl Validator<'_> {
    pub(super) fn delivery(&mut self, raw: RawDelivery) -> DeliveryConfig {
        let d = DeliveryConfig::default();
        let schedule = match raw.schedule {
            None => d.schedule,
            Some(s) if s.get_ref().is_empty() => {
                self.problem(s.span(), "schedule needs at least one wait");
                d.schedule
            }
            Some(s) => s
                .into_inner()
                .iter()
                .map(|w| self.duration(w, Duration::from_millis(10)))
                .collect(),
        };
        DeliveryConfig {
            schedule,
            max_age: raw
                .max_age
                .map(|m| self.duration(&m, Duration::from_secs(1)))
                .unwrap_or(d.max_age),
            timeout: raw
                .timeout
                .map(|t| self.duration(&t, Duration::from_millis(100)))
                .unwrap_or(d.timeout),
            drain: raw
                .drain
                .map(|t| self.duration(&t, Duration::ZERO))
                .unwrap_or(d.drain),
        }
    }

    pub(super) fn sinks(&mut self, raw: Vec<RawSink>, base_dir: &Path) -> Vec<SinkConfig> {
        let mut names = HashSet::new();
        let mut out = Vec::new();
        for s in raw {
            let name = s.name.get_ref().trim().to_string();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.problem(
                    s.name.span(),
                    "sink name must be non-empty letters, digits, '-', '_' or '.'",
                );
            } else if !names.insert(name.clone()) {
                self.problem(s.name.span(), format!("duplicate sink name {name:?}"));
            }
            let kind = match s.kind.get_ref().trim() {
                "webhook" => SinkKind::Webhook,
                "slack" => SinkKind::Slack,
                "discord" => SinkKind::Discord,
                "stdout" => SinkKind::Stdout,
                other => {
                    self.problem(
                        s.kind.span(),
                        format!(
                            "unknown sink kind {other:?}: use webhook, slack, discord or stdout"
                        ),
                    );
                    continue;
                }
            };
            let url = self.secret_ref(
                "url",
                [s.url, s.url_env, s.url_file, s.url_credential],
                base_dir,
                &s.name,
            );
            match (&url, kind) {
                (Some(_), SinkKind::Stdout) => {
                    self.problem(s.name.span(), "a stdout sink takes no url")
                }
                (None, SinkKind::Webhook | SinkKind::Slack | SinkKind::Discord) => self.problem(
                    s.name.span(),
                    format!(
                        "a {} sink needs one of url, url_env, url_file, url_credential",
                        kind.as_str()
                    ),
                ),
                _ => {}
            }
            let secret = self.secret_ref(
                "secret",
                [None, s.secret_env, s.secret_file, s.secret_credential],
                base_dir,
                &s.name,
            );
            match (&secret, kind) {
                (None, SinkKind::Webhook) => self.problem(
                    s.name.span(),
                    "a webhook sink is signed: set secret_env, secret_file or secret_credential (a whsec_ key)",
                ),
                (Some(_), SinkKind::Slack | SinkKind::Discord | SinkKind::Stdout) => self.problem(
                    s.name.span(),
                    format!("a {} sink is not signed: drop the secret", kind.as_str()),
                ),
                _ => {}
            }
            let mut kinds = Vec::new();
            for k in &s.kinds {
                let v = k.get_ref().trim();
                match AlertKind::parse(v) {
                    Some(kind) => kinds.push(kind),
                    None => self.problem(
                        k.span(),
                        format!("unknown alert kind {v:?}: use {}", AlertKind::names()),
                    ),
                }
            }
            let min_score = match s.min_score {
                Some(m) if !(0.0..=1.0).contains(m.get_ref()) => {
                    self.problem(m.span(), "min_score must be between 0 and 1");
                    None
                }
                m => m.map(|m| *m.get_ref()),
            };
            let default_rate = match kind {
                SinkKind::Slack | SinkKind::Discord => CHAT_RATE,
                _ => Duration::ZERO,
            };
            out.push(SinkConfig {
                name,
                kind,
                url,
                secret,
                stories: s
                    .stories
                    .iter()
                    .map(|x| x.get_ref().trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
                kinds,
                min_score,
                digest: s.digest.map(|d| self.duration(&d, Duration::from_secs(1))),
                rate: s
                    .rate
                    .map(|r| self.duration(&r, Duration::ZERO))
                    .unwrap_or(default_rate),
            });
        }
        out
    }

    /// At most one of the four ways to give a value; `inline`, `env`,
    /// `file`, `credential` in that order.
    fn secret_ref(
        &mut self,
        what: &str,
        [inline, env, file, credential]: [Option<Spanned<String>>; 4],
        base_dir: &Path,
        name: &Spanned<String>,
    ) -> Option<SecretRef> {
        let given: Vec<SecretRef> = [
            inline.map(|v| SecretRef::Inline(v.into_inner().trim().to_string())),
            env.map(|v| SecretRef::Env(v.into_inner().trim().to_string())),
            file.map(|v| SecretRef::File(base_dir.join(v.into_inner().trim()))),
            credential.map(|v| SecretRef::Credential(v.into_inner().trim().to_string())),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            self.problem(
                name.span(),
                format!("give the {what} one way only (plain, _env, _file or _credential)"),
            );
        }
        let r = given.into_iter().next()?;
        let empty = match &r {
            SecretRef::Inline(v) | SecretRef::Env(v) | SecretRef::Credential(v) => v.is_empty(),
            SecretRef::File(p) => p.as_os_str().is_empty(),
        };
        if empty {
            self.problem(name.span(), format!("the sink's {what} source is empty"));
            return None;
        }
        if let SecretRef::Inline(u) = &r {
            match url::Url::parse(u) {
                Ok(p) if matches!(p.scheme(), "http" | "https") => {}
                _ => {
                    self.problem(name.span(), format!("sink url {u:?} is not an http(s) URL"));
                    return None;
                }
            }
        }
        Some(r)
    }
}
