//! The per-feed path, shared by `poll` and `run`:
//! fetch → parse → normalise → dedup → store, with all of one poll's writes
//! (items and the feed's new state) in one transaction.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use url::Url;

use crate::backoff;
use crate::config::FeedConfig;
use crate::dedup::ExactKeys;
use crate::feeds::fetch::{Body, FetchError, Fetched, Fetcher, Validators};
use crate::feeds::normalize::{normalize_feed, Item};
use crate::feeds::parse::{parse_feed, ParseError};
use crate::store::{PollRecord, PollStatus, Store, StoreError};

/// What can go wrong with one feed; never fatal for the others.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Task(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    Fetched,
    NotModified,
    Failed(String),
}

/// The result of polling one feed, for summaries and metrics.
#[derive(Debug, Clone)]
pub struct FeedReport {
    pub feed: String,
    pub outcome: FeedOutcome,
    pub items_new: usize,
    pub items_duplicate: usize,
    /// The document needed the repair pass to be read.
    pub repaired: bool,
}

/// Shared state for polling: one HTTP client and one store.
pub struct Pipeline {
    pub fetcher: Fetcher,
    pub store: Arc<Mutex<Store>>,
    /// False for `--dry-run`: every transaction is rolled back.
    pub commit: bool,
}

impl Pipeline {
    /// Polls one feed. Errors end up in the report (and in the feed's row),
    /// never in the caller.
    pub async fn poll_feed(&self, feed: &FeedConfig) -> FeedReport {
        let mut report = FeedReport {
            feed: feed.name.clone(),
            outcome: FeedOutcome::Fetched,
            items_new: 0,
            items_duplicate: 0,
            repaired: false,
        };
        match self.try_poll(feed, &mut report).await {
            Ok(()) => {}
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(feed = %feed.name, url = %redact(&feed.url), error = %reason, "poll failed");
                report.outcome = FeedOutcome::Failed(reason.clone());
                report.items_new = 0;
                report.items_duplicate = 0;
                let retry_after = match &e {
                    FeedError::Fetch(f) => f.retry_after(),
                    _ => None,
                };
                let http_status = match &e {
                    FeedError::Fetch(f) => f.http_status(),
                    _ => None,
                };
                if let Err(store_err) = self
                    .record_failure(feed, reason, http_status, retry_after)
                    .await
                {
                    tracing::error!(feed = %feed.name, error = %store_err, "cannot record poll failure");
                }
            }
        }
        report
    }

    async fn try_poll(&self, feed: &FeedConfig, report: &mut FeedReport) -> Result<(), FeedError> {
        let name = feed.name.clone();
        // Validators belong to the URL they were sent for.
        let validators = self
            .blocking(move |store| store.feed_state(&name))
            .await?
            .filter(|s| s.url == feed.url.as_str())
            .map(|s| Validators {
                etag: s.etag,
                last_modified: s.last_modified,
            })
            .unwrap_or_default();
        let feed_cfg = feed.clone();
        let fetched = self.fetcher.fetch(&feed.url, &validators).await?;
        let now = Utc::now();
        match fetched {
            Fetched::NotModified { status } => {
                report.outcome = FeedOutcome::NotModified;
                let rec = success_record(feed, PollStatus::NotModified, status, None, now);
                let commit = self.commit;
                self.blocking(move |store| {
                    store.write(commit, |tx| {
                        let id = tx.upsert_feed(&feed_cfg, rec.polled_at)?;
                        tx.record_poll(id, &rec)
                    })
                })
                .await?;
                tracing::debug!(feed = %feed.name, "not modified");
            }
            Fetched::Body(body) => {
                let Body {
                    bytes,
                    status,
                    content_type,
                    validators,
                    final_url,
                    ..
                } = *body;
                let (items, repaired) =
                    parse_in_background(bytes, content_type, final_url, now).await?;
                report.repaired = repaired;
                let rec = success_record(feed, PollStatus::Fetched, status, Some(validators), now);
                let commit = self.commit;
                let (new, dup) = self
                    .blocking(move |store| {
                        store.write(commit, |tx| {
                            let id = tx.upsert_feed(&feed_cfg, rec.polled_at)?;
                            let (mut new, mut dup) = (0, 0);
                            for item in &items {
                                let keys = ExactKeys::of(item);
                                if tx.find_duplicate(id, &keys)?.is_some() {
                                    dup += 1;
                                } else {
                                    tx.insert_item(id, item, &keys, now.timestamp())?;
                                    new += 1;
                                }
                            }
                            tx.record_poll(id, &rec)?;
                            Ok((new, dup))
                        })
                    })
                    .await?;
                report.items_new = new;
                report.items_duplicate = dup;
                tracing::info!(feed = %feed.name, items_new = new, items_duplicate = dup, repaired, "fetched");
            }
        }
        Ok(())
    }

    async fn record_failure(
        &self,
        feed: &FeedConfig,
        reason: String,
        http_status: Option<u16>,
        retry_after: Option<std::time::Duration>,
    ) -> Result<(), FeedError> {
        let feed = feed.clone();
        let commit = self.commit;
        self.blocking(move |store| {
            let errors = store
                .feed_state(&feed.name)?
                .map(|s| s.consecutive_errors)
                .unwrap_or(0);
            let now = Utc::now().timestamp();
            let delay = backoff::next_delay(feed.interval, errors + 1, retry_after);
            let rec = PollRecord {
                status: PollStatus::Failed,
                http_status,
                error: Some(reason),
                etag: None,
                last_modified: None,
                polled_at: now,
                next_poll_at: now + delay.as_secs() as i64,
            };
            store.write(commit, |tx| {
                let id = tx.upsert_feed(&feed, now)?;
                tx.record_poll(id, &rec)
            })
        })
        .await
    }

    /// Runs a store operation on the blocking pool (SQLite calls block).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, FeedError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| FeedError::Task(e.to_string()))?
        .map_err(FeedError::from)
    }
}

fn success_record(
    feed: &FeedConfig,
    status: PollStatus,
    http_status: u16,
    validators: Option<Validators>,
    now: DateTime<Utc>,
) -> PollRecord {
    let validators = validators.unwrap_or_default();
    let delay = backoff::next_delay(feed.interval, 0, None);
    PollRecord {
        status,
        http_status: Some(http_status),
        error: None,
        etag: validators.etag,
        last_modified: validators.last_modified,
        polled_at: now.timestamp(),
        next_poll_at: now.timestamp() + delay.as_secs() as i64,
    }
}

/// Parsing and HTML-to-text are CPU work; they stay off the async workers.
async fn parse_in_background(
    bytes: Vec<u8>,
    content_type: Option<String>,
    base: Url,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, bool), FeedError> {
    tokio::task::spawn_blocking(move || {
        let parsed = parse_feed(&bytes, content_type.as_deref(), &base)?;
        Ok((normalize_feed(&parsed.feed, &base, now), parsed.repaired))
    })
    .await
    .map_err(|e| FeedError::Task(e.to_string()))?
}

/// A URL fit for logs: no user info, no query (tokens hide there).
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    let _ = u.set_username("");
    if u.query().is_some() {
        u.set_query(Some("***"));
    }
    u.to_string()
}
