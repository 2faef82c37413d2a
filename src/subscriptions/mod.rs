//! `storywatch feeds`: every feed's health, resuming paused feeds, adding a
//! feed found from a page, and moving subscriptions in and out as OPML.

use std::fmt::Write as _;

use chrono::Utc;

use crate::alerts::payload::rfc3339;
use crate::config::Config;
use crate::store::{Store, StoreError};

mod add;
mod opml;

pub use add::add;
pub use opml::{export_opml, import_opml, parse_opml, Outline};

#[derive(Debug, thiserror::Error)]
pub enum FeedsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no paused feed named {0:?}")]
    NotPaused(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not OPML: {reason}")]
    Opml { path: String, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("no feed at {url}: {reason}")]
    NoFeed { url: String, reason: String },
}

impl FeedsError {
    pub fn is_usage(&self) -> bool {
        !matches!(self, FeedsError::Store(_) | FeedsError::Fetch { .. })
    }

    /// See [`StoreError::database_unusable`] (exit 3).
    pub fn database_unusable(&self) -> bool {
        matches!(self, FeedsError::Store(e) if e.database_unusable())
    }
}

/// `feeds list`: status, last success, next poll, error streak per feed.
pub fn list(config: &Config, json: bool) -> Result<String, FeedsError> {
    let store = Store::open_existing(&config.storage.path)?;
    let states = store.feed_states()?;
    let now = Utc::now().timestamp();
    let mut out = String::new();
    if !json {
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:<21} {:<12} {:>6}  LAST ERROR",
            "FEED", "STATUS", "LAST SUCCESS", "NEXT POLL", "ERRORS"
        );
    }
    for f in &config.feeds {
        let st = states.iter().find(|s| s.name == f.name);
        let status = match st {
            None => "never polled".to_string(),
            Some(s) if s.paused_at.is_some() => "PAUSED".to_string(),
            Some(s) if s.last_status.is_none() => "never polled".to_string(),
            Some(s) if s.consecutive_errors > 0 => "failing".to_string(),
            Some(s) => s.last_status.clone().unwrap_or_default(),
        };
        let next = st.and_then(|s| s.next_poll_at);
        if json {
            let v = serde_json::json!({
                "feed": f.name,
                "url": crate::redact::url(&f.url),
                "status": status,
                "last_success": st.and_then(|s| s.last_success_at).map(rfc3339),
                "last_polled": st.and_then(|s| s.last_polled_at).map(rfc3339),
                "next_poll": next.map(rfc3339),
                "consecutive_errors": st.map(|s| s.consecutive_errors).unwrap_or(0),
                "failing_since": st.and_then(|s| s.failing_since).map(rfc3339),
                "paused_at": st.and_then(|s| s.paused_at).map(rfc3339),
                "last_error": st.and_then(|s| s.last_error.clone()),
            });
            let _ = writeln!(out, "{v}");
            continue;
        }
        let next = match (st.and_then(|s| s.paused_at), next) {
            (Some(_), _) => "-".to_string(),
            (None, Some(t)) if t <= now => "due".to_string(),
            (None, Some(t)) => format!(
                "in {}",
                humantime::format_duration(std::time::Duration::from_secs((t - now) as u64))
            ),
            (None, None) => "due".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:<21} {:<12} {:>6}  {}",
            f.name,
            status,
            st.and_then(|s| s.last_success_at)
                .map(rfc3339)
                .unwrap_or_else(|| "-".into()),
            next,
            st.map(|s| s.consecutive_errors).unwrap_or(0),
            st.and_then(|s| s.last_error.clone()).unwrap_or_default()
        );
    }
    Ok(out)
}

/// `feeds resume NAME`: polls a paused feed again (due now).
pub fn resume(config: &Config, name: &str) -> Result<String, FeedsError> {
    let store = Store::open(&config.storage.path)?;
    if store.resume_feed(name, Utc::now().timestamp())? {
        Ok(format!("feed {name} resumed; it is due now\n"))
    } else {
        Err(FeedsError::NotPaused(name.to_string()))
    }
}
