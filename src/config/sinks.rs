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
    Email,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Slack => "slack",
            SinkKind::Discord => "discord",
            SinkKind::Stdout => "stdout",
            SinkKind::Email => "email",
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
    /// For `email` sinks: the envelope and how to reach the server (`url`).
    pub email: Option<EmailConfig>,
}

/// How an `email` sink talks to its SMTP server, and to whom it writes.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    /// For `smtp://` servers: upgrade with STARTTLS, and refuse a server
    /// that cannot (`false`: plain text, for a relay on this machine).
    /// `smtps://` is TLS from the first byte.
    pub starttls: bool,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
    /// RFC 5322 mailboxes, checked at load.
    pub from: String,
    pub to: Vec<String>,
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
    starttls: Option<Spanned<bool>>,
    username: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    password_credential: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    #[serde(default)]
    to: Vec<Spanned<String>>,
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
                "email" => SinkKind::Email,
                other => {
                    self.problem(
                        s.kind.span(),
                        format!(
                            "unknown sink kind {other:?}: use webhook, slack, discord, email or stdout"
                        ),
                    );
                    continue;
                }
            };
            let email = self.email(&s, kind, base_dir);
            let url = self.secret_ref(
                "url",
                [s.url, s.url_env, s.url_file, s.url_credential],
                base_dir,
                &s.name,
                kind,
            );
            match (&url, kind) {
                (Some(_), SinkKind::Stdout) => {
                    self.problem(s.name.span(), "a stdout sink takes no url")
                }
                (
                    None,
                    SinkKind::Webhook | SinkKind::Slack | SinkKind::Discord | SinkKind::Email,
                ) => self.problem(
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
                kind,
            );
            match (&secret, kind) {
                (None, SinkKind::Webhook) => self.problem(
                    s.name.span(),
                    "a webhook sink is signed: set secret_env, secret_file or secret_credential (a whsec_ key)",
                ),
                (Some(_), SinkKind::Slack | SinkKind::Discord | SinkKind::Stdout | SinkKind::Email) => self.problem(
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
                // Mail servers, like chat services, throttle bursts.
                SinkKind::Slack | SinkKind::Discord | SinkKind::Email => CHAT_RATE,
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
                email,
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
        kind: SinkKind,
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
            if let Err(why) = check_url(kind, u) {
                self.problem(name.span(), format!("sink url {u:?} {why}"));
                return None;
            }
        }
        Some(r)
    }

    /// The keys only `email` sinks take: needed there, refused elsewhere.
    fn email(&mut self, s: &RawSink, kind: SinkKind, base_dir: &Path) -> Option<EmailConfig> {
        let password = self.secret_ref(
            "password",
            [
                None,
                s.password_env.clone(),
                s.password_file.clone(),
                s.password_credential.clone(),
            ],
            base_dir,
            &s.name,
            kind,
        );
        if kind != SinkKind::Email {
            let given = s.starttls.is_some()
                || s.username.is_some()
                || password.is_some()
                || s.from.is_some()
                || !s.to.is_empty();
            if given {
                self.problem(
                    s.name.span(),
                    format!(
                        "starttls, username, password_*, from and to are for email sinks, not {}",
                        kind.as_str()
                    ),
                );
            }
            return None;
        }
        let mut mailbox = |v: &Spanned<String>, what: &str| -> Option<String> {
            let t = v.get_ref().trim();
            match t.parse::<lettre::message::Mailbox>() {
                Ok(_) => Some(t.to_string()),
                Err(e) => {
                    self.problem(v.span(), format!("{what} {t:?} is not a mail address: {e}"));
                    None
                }
            }
        };
        let from = s.from.as_ref().and_then(|f| mailbox(f, "from"));
        let to: Vec<String> = s.to.iter().filter_map(|t| mailbox(t, "to")).collect();
        let starttls = s.starttls.as_ref().is_none_or(|b| *b.get_ref());
        if let (Some(u), Some(b)) = (&s.url, &s.starttls) {
            if u.get_ref().trim().starts_with("smtps:") {
                self.problem(
                    b.span(),
                    "an smtps:// server is TLS from the start: drop starttls",
                );
            }
        }
        let username = s.username.as_ref().map(|u| u.get_ref().trim().to_string());
        if username.is_some() != password.is_some() {
            self.problem(
                s.name.span(),
                "an email sink logs in with both username and one of password_env, password_file, password_credential, or with neither",
            );
        }
        if from.is_none() && s.from.is_none() {
            self.problem(
                s.name.span(),
                "an email sink needs from (the sender's address)",
            );
        }
        if s.to.is_empty() {
            self.problem(
                s.name.span(),
                "an email sink needs to (a list of addresses)",
            );
        }
        Some(EmailConfig {
            starttls,
            username,
            password,
            from: from.unwrap_or_default(),
            to,
        })
    }
}

/// What a sink's URL must look like: http(s) for the web sinks; for email,
/// `smtp://` or `smtps://` with a host, and no login in it (that goes in
/// `username` and a password source).
pub fn check_url(kind: SinkKind, raw: &str) -> Result<url::Url, &'static str> {
    let u = url::Url::parse(raw).map_err(|_| "is not a URL")?;
    if kind == SinkKind::Email {
        if !matches!(u.scheme(), "smtp" | "smtps") || u.host_str().is_none_or(str::is_empty) {
            return Err("is not an smtp:// or smtps:// URL with a host");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return Err("carries a login: give username and password_env, password_file or password_credential instead");
        }
        return Ok(u);
    }
    if !matches!(u.scheme(), "http" | "https") {
        return Err("is not an http(s) URL");
    }
    Ok(u)
}
