//! The per-feed path, shared by `poll` and `run`:
//! fetch → parse → normalise → dedup → match → store + outbox, with all of
//! one poll's writes (items, matches, alerts and the feed's new state) in
//! one transaction ([`commit`]).

mod commit;
mod context;
mod corpus;
mod counts;
mod prepare;
mod record;
mod slots;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::alerts::RaisedAlert;
use crate::config::{FeedConfig, FullText, PollConfig};
use crate::feeds::fetch::{Body, FetchError, Fetched, Fetcher, Validators};
use crate::feeds::normalize::{normalize_feed, Item};
use crate::feeds::parse::{parse_feed_capped, ParseError};
use crate::group_commit::{GroupCommit, Queued};
use crate::metrics::Metrics;
use crate::store::{PollRecord, PollStatus, Store, StoreError, StoreTx};
use commit::Batch;

pub use commit::{match_drafted, match_item, MatchOutcome};
pub use context::MatchContext;
pub use corpus::TxCorpus;
pub use counts::Counts;
pub use prepare::{prepare, Prepared};
pub use slots::Slots;

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
    /// A 200 whose body is the one stored last time: not parsed.
    Unchanged,
    Failed(String),
}

/// The result of polling one feed, for summaries and metrics.
#[derive(Debug, Clone)]
pub struct FeedReport {
    pub feed: String,
    pub outcome: FeedOutcome,
    pub counts: Counts,
    pub raised: Vec<RaisedAlert>,
    /// The story of each match (for metrics).
    pub matched_stories: Vec<String>,
    /// The document needed the repair pass to be read.
    pub repaired: bool,
}

/// Shared state for polling: one HTTP client and one store.
pub struct Pipeline {
    pub fetcher: Fetcher,
    pub store: Arc<Mutex<Store>>,
    /// False for `--dry-run`: every transaction is rolled back.
    pub commit: bool,
    /// Stories, their matchers built once per config load.
    pub matching: Arc<MatchContext>,
    /// Interval bounds, pausing and health-alert policy.
    pub poll: PollConfig,
    pub metrics: Arc<Metrics>,
    /// The database file, named in errors that come from it.
    pub db: String,
    /// Feed states read in one query before a poll of many feeds; each is
    /// taken once, by its feed's first fetch (see [`Pipeline::prefetch_states`]).
    pub prefetched: Mutex<HashMap<String, crate::store::FeedState>>,
    /// Polls' writes waiting to share one transaction.
    pub group: Arc<GroupCommit>,
    /// How much runs at once: store turns, CPU work, parsed feeds.
    pub slots: Arc<Slots>,
}

impl Pipeline {
    /// Polls one feed. Errors end up in the report (and in the feed's row),
    /// never in the caller.
    pub async fn poll_feed(&self, feed: &FeedConfig) -> FeedReport {
        let mut report = FeedReport {
            feed: feed.name.clone(),
            outcome: FeedOutcome::Fetched,
            counts: Counts::default(),
            raised: Vec::new(),
            matched_stories: Vec::new(),
            repaired: false,
        };
        let started = std::time::Instant::now();
        let result = self.try_poll(feed, &mut report).await;
        self.record_metrics(feed, &report, &result, started.elapsed());
        match result {
            Ok(()) => {}
            Err(e) => {
                let reason = match &e {
                    FeedError::Store(StoreError::Sqlite(inner)) => {
                        format!("database {}: {}", self.db, crate::store::explain(inner))
                    }
                    _ => e.to_string(),
                };
                tracing::warn!(feed = %feed.name, url = %crate::redact::url(&feed.url), error = %reason, "poll failed");
                report.outcome = FeedOutcome::Failed(reason.clone());
                report.counts = Counts::default();
                report.raised.clear();
                report.matched_stories.clear();
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
        // Validators (and the last body's digest) belong to the URL they
        // were sent for.
        let (validators, last_body) = self
            .feed_state(&feed.name)
            .await?
            .filter(|s| s.url == feed.url.as_str())
            .map(|s| {
                let v = Validators {
                    etag: s.etag,
                    last_modified: s.last_modified,
                };
                (v, s.body_hash)
            })
            .unwrap_or_default();
        let feed_cfg = feed.clone();
        let fetched = self.fetcher.fetch(&feed.url, &validators).await?;
        let now = Utc::now();
        match fetched {
            Fetched::NotModified { status } => {
                report.outcome = FeedOutcome::NotModified;
                let rec =
                    self.success_record(feed, PollStatus::NotModified, status, None, None, now);
                self.record_nothing_new(feed_cfg, rec).await?;
                tracing::debug!(feed = %feed.name, "not modified");
            }
            Fetched::Body(body) => {
                let Body {
                    bytes,
                    status,
                    content_type,
                    validators,
                    final_url,
                    max_age,
                } = *body;
                let (bytes, digest) = self
                    .slots
                    .on_cpu(move || {
                        let digest = body_digest(&bytes);
                        (bytes, digest)
                    })
                    .await?;
                if last_body.as_deref() == Some(digest.as_slice()) {
                    report.outcome = FeedOutcome::Unchanged;
                    let hint = crate::feeds::hints::update_hint(
                        &bytes,
                        crate::feeds::hints::raw_ttl(&bytes),
                    );
                    let hint = longer(hint, max_age);
                    let mut rec = self.success_record(
                        feed,
                        PollStatus::Unchanged,
                        status,
                        Some(validators),
                        hint,
                        now,
                    );
                    rec.body_hash = Some(digest);
                    self.record_nothing_new(feed_cfg, rec).await?;
                    tracing::debug!(feed = %feed.name, "body unchanged");
                    return Ok(());
                }
                // Held from the parse until the store has the items (see
                // `backlog_slot`), but not while article pages are fetched:
                // that can take minutes, and other feeds would wait for it.
                let slot = self.slots.backlog().await?;
                let (mut items, repaired, hint, dropped) =
                    self.parse(bytes, content_type, final_url, now).await?;
                report.repaired = repaired;
                if dropped > 0 && self.metrics.entries_dropped(&feed.name, dropped) {
                    tracing::warn!(feed = %feed.name, read = items.len(), dropped, max_entries = self.poll.max_entries,
                        "feed has more entries than [poll] max_entries: the newest are read, the oldest dropped (logged once)");
                }
                if !items.is_empty() {
                    self.matching.ready(&self.slots).await?;
                }
                let kept = (feed.full_text == FullText::Off).then_some(slot);
                let full = self.complete_pages(feed, &mut items, now).await?;
                let slot = match kept {
                    Some(slot) => slot,
                    None => self.slots.backlog().await?,
                };
                self.metrics.pages("text", full.completed);
                self.metrics.pages("failed", full.failed);
                self.metrics.pages("reused", full.reused);
                report.counts.pages_used = full.completed + full.reused;
                report.counts.pages_failed = full.failed;
                let pages = full.pages;
                let hint = longer(hint, max_age);
                let mut rec = self.success_record(
                    feed,
                    PollStatus::Fetched,
                    status,
                    Some(validators),
                    hint,
                    now,
                );
                rec.body_hash = Some(digest);
                let ctx = self.matching.clone();
                let (items, prepared) = {
                    let ctx = ctx.clone();
                    self.slots
                        .on_cpu(move || {
                            let prepared = prepare(&ctx, &items);
                            (items, prepared)
                        })
                        .await?
                };
                // One transaction per feed, not grouped: a few feeds' dirty
                // index pages overflow the page cache and spill to the WAL
                // before the commit (measured slower).
                let batch = Batch {
                    feed: feed_cfg,
                    rec,
                    pages,
                    items,
                    prepared,
                    now,
                };
                let commit = self.commit;
                let done = self
                    .blocking(move |store| commit::commit_feed(store, commit, &ctx, batch))
                    .await?;
                drop(slot);
                let counts = done.counts;
                report.counts += counts;
                report.raised = done.raised;
                report.matched_stories = done.matched_stories;
                tracing::info!(
                    feed = %feed.name,
                    items_new = counts.items_new,
                    items_duplicate = counts.items_duplicate,
                    matches = counts.matches,
                    alerts = counts.alerts,
                    repaired,
                    "fetched"
                );
            }
        }
        Ok(())
    }

    /// Records a poll that brought nothing new (a 304, or the same body as
    /// last time), in a transaction shared with the others queued meanwhile;
    /// a feed that was down is back.
    async fn record_nothing_new(&self, feed: FeedConfig, rec: PollRecord) -> Result<(), FeedError> {
        let ctx = self.matching.clone();
        self.grouped(move |tx| {
            let state = tx.feed_state(&feed.name)?;
            let id = tx.upsert_feed(&feed, rec.polled_at)?;
            record::recovered(tx, &ctx, &feed, id, state.as_ref(), false, rec.polled_at)?;
            tx.record_poll(id, &rec)
        })
        .await
    }

    /// Runs `write` in a transaction shared with the other polls' writes
    /// queued meanwhile (see [`crate::group_commit`]); returns once it is
    /// committed.
    async fn grouped<T: Send + 'static>(
        &self,
        write: impl FnOnce(&StoreTx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, FeedError> {
        let (first, pending) = self.group.push(write);
        if first {
            // Detached, so that the jobs queued behind this one are written
            // even if this poll is cancelled while it waits for the store.
            let (store, group, commit) = (self.store.clone(), self.group.clone(), self.commit);
            tokio::spawn(self.slots.store_turn(store, move |store| {
                group.flush(store, commit);
                Ok(())
            }));
        }
        match pending.wait().await {
            Queued::Done(result) => result.map_err(FeedError::from),
            Queued::Dropped => Err(FeedError::Task("the write was dropped unwritten".into())),
        }
    }

    /// Reads the state of every stored feed in one query, for the polls
    /// about to start (a thousand feeds would otherwise be a thousand reads,
    /// each a trip to the store's thread).
    pub async fn prefetch_states(&self) -> Result<(), FeedError> {
        let states = self.blocking(|store| store.feed_states()).await?;
        *self.prefetched.lock().unwrap_or_else(|p| p.into_inner()) =
            states.into_iter().map(|s| (s.name.clone(), s)).collect();
        Ok(())
    }

    /// A feed's state: the prefetched one if still there, else from the store.
    async fn feed_state(&self, name: &str) -> Result<Option<crate::store::FeedState>, FeedError> {
        let prefetched = self
            .prefetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        match prefetched {
            Some(state) => Ok(Some(state)),
            None => {
                let name = name.to_string();
                self.blocking(move |store| store.feed_state(&name)).await
            }
        }
    }

    fn record_metrics(
        &self,
        feed: &FeedConfig,
        report: &FeedReport,
        result: &Result<(), FeedError>,
        took: std::time::Duration,
    ) {
        let m = &self.metrics;
        let outcome = match (result, &report.outcome) {
            (Err(_), _) => "failed",
            (Ok(()), FeedOutcome::NotModified) => "not_modified",
            (Ok(()), FeedOutcome::Unchanged) => "unchanged",
            (Ok(()), _) => "fetched",
        };
        m.poll(&feed.name, outcome, took);
        if result.is_ok() {
            m.items("new", report.counts.items_new);
            m.items("duplicate", report.counts.items_duplicate);
            m.items("near_duplicate", report.counts.items_near_duplicate);
            for story in &report.matched_stories {
                m.matched(story);
            }
            for a in &report.raised {
                m.alert(&a.story, a.kind.as_str());
            }
        }
    }

    /// Drops near-duplicate index rows that have left the dedup window.
    pub async fn prune(&self) -> Result<usize, FeedError> {
        if !self.commit {
            return Ok(0);
        }
        let before = Utc::now().timestamp() - self.matching.dedup_window.as_secs() as i64;
        self.blocking(move |store| store.prune_bands(before)).await
    }

    /// Runs a store operation on the blocking pool (SQLite calls block).
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, FeedError> {
        self.slots.store_turn(self.store.clone(), f).await
    }

    /// Parsing and HTML-to-text are CPU work; they stay off the async workers.
    async fn parse(
        &self,
        bytes: Vec<u8>,
        content_type: Option<String>,
        base: Url,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Item>, bool, Option<Duration>, usize), FeedError> {
        let max = self.poll.max_entries;
        self.slots
            .on_cpu(move || {
                let parsed = parse_feed_capped(&bytes, content_type.as_deref(), &base, max)?;
                let hint = crate::feeds::hints::update_hint(&bytes, parsed.feed.ttl);
                Ok((
                    normalize_feed(&parsed.feed, &base, now),
                    parsed.repaired,
                    hint,
                    parsed.dropped,
                ))
            })
            .await?
    }

    /// Fills in the text of new entries from their article pages, where the
    /// feed asks for it: the store says which entries are new and which
    /// pages were fetched before, [`crate::fulltext`] fetches the rest.
    async fn complete_pages(
        &self,
        feed: &FeedConfig,
        items: &mut [Item],
        now: DateTime<Utc>,
    ) -> Result<crate::fulltext::Completed, FeedError> {
        let wanted = crate::fulltext::wanted(feed, self.matching.stories(), items);
        if wanted.is_empty() {
            return Ok(Default::default());
        }
        let name = feed.name.clone();
        let known = self
            .blocking(move |store| crate::fulltext::known(store, &name, wanted))
            .await?;
        Ok(crate::fulltext::complete(&self.fetcher, feed, items, known, now).await)
    }
}

/// The longer of two update hints (the feed's own and Cache-Control's).
fn longer(
    a: Option<std::time::Duration>,
    b: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// SHA-256 of a feed body as received (after decompression).
fn body_digest(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}
