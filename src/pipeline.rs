//! The per-feed path, shared by `poll` and `run`:
//! fetch → parse → normalise → dedup → store, with all of one poll's writes
//! (items and the feed's new state) in one transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use url::Url;

use crate::alerts::payload::{self, AlertItem, AlertPayload, Cluster, Matched, NewEntity};
use crate::alerts::route;
use crate::alerts::AlertKind;
use crate::backoff;
use crate::config::{FeedConfig, FullText, PollConfig, SinkConfig};
use crate::dedup::ExactKeys;
use crate::feed_health;
use crate::feeds::fetch::{Body, FetchError, Fetched, Fetcher, Validators};
use crate::feeds::normalize::{normalize_feed, Item};
use crate::feeds::parse::{parse_feed, ParseError};
use crate::group_commit::{GroupCommit, Queued};
use crate::matching::entities::Kind;
use crate::matching::matcher::terms_of_folded;
use crate::matching::text::fold_into;
use crate::matching::{CorpusStats, Draft, Explanation};
use crate::metrics::Metrics;
use crate::neardup::{fingerprint, fingerprints_of_shingles, shingles_of_folded, Fingerprint};
use crate::paraphrase::Report;
use crate::store::{
    MatchRow, PollRecord, PollStatus, Store, StoreError, StoreTx, StoredAlert, StoredItem,
};
use crate::stories::{Story, StorySource};

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
    pub items_new: usize,
    pub items_duplicate: usize,
    /// New items that copy a stored one (they join its cluster).
    pub items_near_duplicate: usize,
    /// Entries whose text came from their article page (fetched now or before).
    pub pages_used: usize,
    /// Article fetches that gave no text (the entries kept their feed text).
    pub pages_failed: usize,
    /// Items at or above a story's threshold.
    pub matches: usize,
    /// Alerts queued (follow-ups and new entities).
    pub alerts: usize,
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
}

/// What matching needs beside the item: the stories and the alert policy.
pub struct MatchContext {
    /// The stories as read (files and store rows, checked). Their watchlists
    /// and matchers are built by the first item that needs them: a poll that
    /// finds nothing new never does, and building them was a fifth of the
    /// instructions of such a poll over 1,000 feeds.
    sources: Vec<StorySource>,
    built: OnceLock<Stories>,
    /// Items published longer ago than this raise no alert.
    pub alert_max_age: std::time::Duration,
    /// Shingle containment at or above which two items are copies.
    pub near_threshold: f64,
    /// How far back copies are looked for.
    pub dedup_window: std::time::Duration,
    /// Where alerts go: each new alert is queued for the sinks that take it.
    pub sinks: Vec<SinkConfig>,
}

/// The stories built from their sources, and what is derived from them.
struct Stories {
    list: Vec<Story>,
    /// Terms whose document frequency the store keeps (the stories' vocabulary).
    vocabulary: rustc_hash::FxHashSet<String>,
    /// Fingerprints of the stories' reference articles: copies of them are
    /// the story itself, not follow-ups.
    reference_prints: Vec<(String, Fingerprint)>,
}

impl MatchContext {
    pub fn new(
        sources: Vec<StorySource>,
        alert_max_age: std::time::Duration,
        near_threshold: f64,
        dedup_window: std::time::Duration,
        sinks: Vec<SinkConfig>,
    ) -> MatchContext {
        MatchContext {
            sources,
            built: OnceLock::new(),
            alert_max_age,
            near_threshold,
            dedup_window,
            sinks,
        }
    }

    /// Whether any story is configured or stored (known without building them).
    pub fn has_stories(&self) -> bool {
        !self.sources.is_empty()
    }

    pub fn stories(&self) -> &[Story] {
        &self.built().list
    }

    pub fn vocabulary(&self) -> &rustc_hash::FxHashSet<String> {
        &self.built().vocabulary
    }

    pub fn reference_prints(&self) -> &[(String, Fingerprint)] {
        &self.built().reference_prints
    }

    /// The stories, for a command that narrows or adjusts them.
    pub fn stories_mut(&mut self) -> &mut Vec<Story> {
        self.built();
        &mut self.built.get_mut().expect("built just now").list
    }

    /// Builds the stories on the blocking pool unless that is done: called
    /// before async code that needs them, so no async worker builds them.
    pub async fn ready(self: &Arc<Self>) -> Result<(), FeedError> {
        if self.built.get().is_none() {
            let ctx = self.clone();
            on_cpu(move || {
                ctx.built();
            })
            .await?;
        }
        Ok(())
    }

    fn built(&self) -> &Stories {
        self.built.get_or_init(|| {
            let list: Vec<Story> = self.sources.iter().map(StorySource::build).collect();
            let reference_prints = list
                .iter()
                .flat_map(|s| {
                    s.articles.iter().filter_map(|a| {
                        crate::neardup::fingerprint(&a.title, &a.text).map(|f| (s.id.clone(), f))
                    })
                })
                .collect();
            Stories {
                vocabulary: crate::stories::vocabulary(&list),
                list,
                reference_prints,
            }
        })
    }
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
            items_near_duplicate: 0,
            pages_used: 0,
            pages_failed: 0,
            matches: 0,
            alerts: 0,
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
                report.items_new = 0;
                report.items_duplicate = 0;
                report.items_near_duplicate = 0;
                report.pages_used = 0;
                report.pages_failed = 0;
                report.matches = 0;
                report.alerts = 0;
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
                let (bytes, digest) = on_cpu(move || {
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
                let slot = backlog_slot().await?;
                let (mut items, repaired, hint) =
                    parse_in_background(bytes, content_type, final_url, now).await?;
                report.repaired = repaired;
                if !items.is_empty() {
                    self.matching.ready().await?;
                }
                let kept = (feed.full_text == FullText::Off).then_some(slot);
                let full = crate::fulltext::complete(self, feed, &mut items, now).await?;
                let slot = match kept {
                    Some(slot) => slot,
                    None => backlog_slot().await?,
                };
                self.metrics.pages("text", full.completed);
                self.metrics.pages("failed", full.failed);
                self.metrics.pages("reused", full.reused);
                report.pages_used = full.completed + full.reused;
                report.pages_failed = full.failed;
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
                    on_cpu(move || {
                        let prepared = prepare(&ctx, &items);
                        (items, prepared)
                    })
                    .await?
                };
                // One transaction per feed, not grouped: a few feeds' dirty
                // index pages overflow the page cache and spill to the WAL
                // before the commit (measured slower).
                let commit = self.commit;
                let counts = self
                    .blocking(move |store| {
                        let state = store.feed_state(&feed_cfg.name)?;
                        store.write(commit, |tx| {
                            let id = tx.upsert_feed(&feed_cfg, rec.polled_at)?;
                            for page in &pages {
                                tx.insert_page(page)?;
                            }
                            let mut c = ItemCounts::default();
                            let corpus = TxCorpus::new(tx);
                            for (item, prep) in items.iter().zip(prepared) {
                                let Prepared {
                                    keys,
                                    print,
                                    drafts,
                                    terms,
                                } = prep;
                                if tx.find_duplicate(id, &keys)?.is_some() {
                                    c.duplicate += 1;
                                    continue;
                                }
                                let item_id = tx.insert_item(id, item, &keys, now.timestamp())?;
                                c.new += 1;
                                let cluster_id =
                                    cluster_of(tx, &ctx, item_id, print, now.timestamp())?;
                                if cluster_id != item_id {
                                    c.near_duplicate += 1;
                                }
                                let stored = StoredItem {
                                    id: item_id,
                                    feed: feed_cfg.name.clone(),
                                    guid: keys.guid.clone(),
                                    link: item.link.clone(),
                                    canonical_url: keys.canonical_url.clone(),
                                    title: item.title.clone(),
                                    text: item.text.clone(),
                                    published_at: item.published.map(|p| p.timestamp()),
                                    first_seen_at: now.timestamp(),
                                    cluster_id,
                                };
                                let m = match_drafted(
                                    tx,
                                    &ctx,
                                    &corpus,
                                    &stored,
                                    Some(&terms),
                                    &drafts,
                                    now.timestamp(),
                                )?;
                                c.matches += m.matches;
                                c.alerts += m.alerts;
                                c.raised.extend(m.raised);
                                c.matched_stories.extend(m.matched_stories);
                            }
                            corpus.flush()?;
                            recovered(
                                tx,
                                &ctx,
                                &feed_cfg,
                                id,
                                state.as_ref(),
                                c.new > 0,
                                rec.polled_at,
                            )?;
                            tx.record_poll(id, &rec)?;
                            Ok(c)
                        })
                    })
                    .await?;
                drop(slot);
                report.items_new = counts.new;
                report.items_duplicate = counts.duplicate;
                report.items_near_duplicate = counts.near_duplicate;
                report.matches = counts.matches;
                report.alerts = counts.alerts;
                report.raised = counts.raised;
                report.matched_stories = counts.matched_stories;
                tracing::info!(
                    feed = %feed.name,
                    items_new = counts.new,
                    items_duplicate = counts.duplicate,
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
            recovered(tx, &ctx, &feed, id, state.as_ref(), false, rec.polled_at)?;
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
            tokio::spawn(store_turn(store, move |store| {
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

    async fn record_failure(
        &self,
        feed: &FeedConfig,
        reason: String,
        http_status: Option<u16>,
        retry_after: Option<std::time::Duration>,
    ) -> Result<(), FeedError> {
        let feed = feed.clone();
        let commit = self.commit;
        let poll = self.poll.clone();
        let ctx = self.matching.clone();
        self.blocking(move |store| {
            let state = store.feed_state(&feed.name)?;
            let errors = state.as_ref().map(|s| s.consecutive_errors).unwrap_or(0);
            let now = Utc::now().timestamp();
            // A 429 is the site asking us to slow down, not a broken feed.
            let throttled = http_status == Some(429);
            let (status, delay) = if throttled {
                (
                    PollStatus::Throttled,
                    backoff::next_delay(feed.interval, 2, retry_after),
                )
            } else {
                (
                    PollStatus::Failed,
                    backoff::next_delay(feed.interval, errors + 1, retry_after),
                )
            };
            let delay = backoff::jittered(delay, now as u64 ^ crate::neardup::fnv1a(feed.name.as_bytes()));
            let rec = PollRecord {
                status,
                http_status,
                error: Some(reason.clone()),
                etag: None,
                last_modified: None,
                body_hash: None,
                polled_at: now,
                next_poll_at: now + (delay.as_secs_f64().round() as i64).max(1),
            };
            store.write(commit, |tx| {
                let id = tx.upsert_feed(&feed, now)?;
                tx.record_poll(id, &rec)?;
                if throttled {
                    return Ok(());
                }
                if errors + 1 >= poll.disable_after {
                    tx.pause_feed(id, now)?;
                    tracing::error!(feed = %feed.name, errors = errors + 1, "FEED PAUSED after consecutive failures: `storywatch feeds resume {}` once it is fixed", feed.name);
                }
                if let Some(since) =
                    feed_health::down_due(state.as_ref(), now, poll.alert_after.as_secs() as i64)
                {
                    let alert = feed_health::alert(&feed, "down", since, errors + 1, Some(&reason), now);
                    queue_alert(tx, &ctx, &alert, now)?;
                    tx.set_health_alert(id, Some(&alert.id))?;
                    tracing::warn!(feed = %feed.name, "feed has failed for too long: feed_health alert");
                }
                Ok(())
            })
        })
        .await
    }

    /// The feed's row after a success: the interval stretched to the feed's
    /// hint within the bounds, with jitter.
    fn success_record(
        &self,
        feed: &FeedConfig,
        status: PollStatus,
        http_status: u16,
        validators: Option<Validators>,
        hint: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> PollRecord {
        let validators = validators.unwrap_or_default();
        let interval = backoff::polite_interval(
            feed.interval,
            hint,
            self.poll.min_interval,
            self.poll.max_interval,
        );
        let delay = backoff::jittered(
            interval,
            now.timestamp() as u64 ^ crate::neardup::fnv1a(feed.name.as_bytes()),
        );
        PollRecord {
            status,
            http_status: Some(http_status),
            error: None,
            etag: validators.etag,
            last_modified: validators.last_modified,
            body_hash: None,
            polled_at: now.timestamp(),
            next_poll_at: now.timestamp() + (delay.as_secs_f64().round() as i64).max(1),
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
            m.items("new", report.items_new);
            m.items("duplicate", report.items_duplicate);
            m.items("near_duplicate", report.items_near_duplicate);
            for story in &report.matched_stories {
                m.matched(story);
            }
            for a in &report.raised {
                m.alert(&a.story, a.kind.as_str());
            }
        }
    }

    /// Feeds that have gone quiet for far longer than their rhythm raise one
    /// `feed_health` alert ("silent"); their next new item says "recovered".
    pub async fn check_silent_feeds(&self, feeds: &[FeedConfig]) -> Result<usize, FeedError> {
        let feeds = feeds.to_vec();
        let (ctx, commit) = (self.matching.clone(), self.commit);
        self.blocking(move |store| {
            let now = Utc::now().timestamp();
            let mut raised = 0;
            for feed in &feeds {
                let Some(state) = store.feed_state(&feed.name)? else {
                    continue;
                };
                if state.paused_at.is_some() || state.health_alert.is_some() {
                    continue;
                }
                let times = store.recent_item_times(&feed.name, 21)?;
                let Some(last) = feed_health::silent_since(&times, now) else {
                    continue;
                };
                let alert = feed_health::alert(feed, "silent", last, 0, None, now);
                store.write(commit, |tx| {
                    queue_alert(tx, &ctx, &alert, now)?;
                    tx.set_health_alert(state.id, Some(&format!("silent|{}", alert.id)))
                })?;
                tracing::warn!(feed = %feed.name, since = %payload::rfc3339(last), "feed has gone silent: feed_health alert");
                raised += 1;
            }
            Ok(raised)
        })
        .await
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
        store_turn(self.store.clone(), f).await
    }
}

/// Runs `f` on the store, on the blocking pool, once it is this caller's turn.
async fn store_turn<T: Send + 'static>(
    store: Arc<Mutex<Store>>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FeedError> {
    // Feeds queue for the store here, not on blocking threads: each
    // thread parked on the mutex held its feed's items and grew its own
    // malloc arena.
    static TURN: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let _turn = TURN
        .acquire()
        .await
        .map_err(|e| FeedError::Task(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| FeedError::Task(e.to_string()))?
    .map_err(FeedError::from)
}

/// A success after a `feed_health` "down" alert: say it recovered.
fn recovered(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    feed: &FeedConfig,
    feed_id: i64,
    state: Option<&crate::store::FeedState>,
    has_new_items: bool,
    now: i64,
) -> Result<(), StoreError> {
    let Some(s) = state.filter(|s| s.health_alert.is_some()) else {
        return Ok(());
    };
    // A silent feed recovers when it publishes, not when it answers.
    let silent = s
        .health_alert
        .as_deref()
        .is_some_and(|a| a.starts_with("silent|"));
    if silent && !has_new_items {
        return Ok(());
    }
    let since = s.failing_since.unwrap_or(now);
    let alert = feed_health::alert(feed, "recovered", since, s.consecutive_errors, None, now);
    queue_alert(tx, ctx, &alert, now)?;
    tx.set_health_alert(feed_id, None)?;
    tracing::info!(feed = %feed.name, "feed recovered");
    Ok(())
}

/// Runs CPU-bound work on the blocking pool, at most one task per core at a
/// time: more feeds in flight than cores only held more parsed feeds (and
/// malloc arenas) in memory at once, and finished none sooner.
async fn on_cpu<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, FeedError> {
    static CPU: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let cpu = CPU.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _permit = cpu
        .acquire()
        .await
        .map_err(|e| FeedError::Task(e.to_string()))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FeedError::Task(e.to_string()))
}

/// A place among the feeds parsed and not yet written: one per core, plus
/// one being written. The single store writer sets the pace of a cold poll;
/// feeds parsed further ahead of it finished no sooner and held their items,
/// drafts and malloc arenas in memory meanwhile.
async fn backlog_slot() -> Result<tokio::sync::SemaphorePermit<'static>, FeedError> {
    static BACKLOG: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    BACKLOG
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::sync::Semaphore::new(cores + 1)
        })
        .acquire()
        .await
        .map_err(|e| FeedError::Task(e.to_string()))
}

/// Parsing and HTML-to-text are CPU work; they stay off the async workers.
async fn parse_in_background(
    bytes: Vec<u8>,
    content_type: Option<String>,
    base: Url,
    now: DateTime<Utc>,
) -> Result<(Vec<Item>, bool, Option<std::time::Duration>), FeedError> {
    on_cpu(move || {
        let parsed = parse_feed(&bytes, content_type.as_deref(), &base)?;
        let hint = crate::feeds::hints::update_hint(&bytes, parsed.feed.ttl);
        Ok((
            normalize_feed(&parsed.feed, &base, now),
            parsed.repaired,
            hint,
        ))
    })
    .await?
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

#[derive(Debug, Default, Clone)]
struct ItemCounts {
    new: usize,
    duplicate: usize,
    near_duplicate: usize,
    matches: usize,
    alerts: usize,
    raised: Vec<RaisedAlert>,
    matched_stories: Vec<String>,
}

/// The cluster a new item joins: that of the closest stored copy within the
/// window, else its own. Its fingerprint (taken per feed batch, without the
/// feed's boilerplate) is indexed either way.
fn cluster_of(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    item_id: i64,
    print: Option<Fingerprint>,
    now: i64,
) -> Result<i64, StoreError> {
    let Some(fp) = print else {
        tx.attach_cluster(item_id, item_id, None)?;
        return Ok(item_id);
    };
    let since = now - ctx.dedup_window.as_secs() as i64;
    let best = tx
        .near_duplicate_candidates(&fp.band_keys(), since)?
        .into_iter()
        .filter(|(id, _)| *id != item_id)
        .map(|(id, other)| (fp.containment(&other), id))
        .filter(|(c, _)| *c >= ctx.near_threshold)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let cluster = match best {
        Some((_, id)) => tx.cluster_id_of(id)?,
        None => item_id,
    };
    tx.attach_cluster(item_id, cluster, Some(&fp))?;
    Ok(cluster)
}

/// What matching one item did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MatchOutcome {
    pub matches: usize,
    pub alerts: usize,
    pub raised: Vec<RaisedAlert>,
    pub matched_stories: Vec<String>,
}

/// A one-line account of an alert just queued, for the poll summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RaisedAlert {
    pub kind: AlertKind,
    pub story: String,
    pub score: Option<f64>,
    pub title: String,
    pub why: String,
}

/// Document frequencies inside one write transaction: each term is read
/// once, new documents are counted in memory, and [`TxCorpus::flush`] writes
/// the counts once per term at the end (one feed's items used to cost an
/// upsert per term per item).
pub struct TxCorpus<'a, 'b> {
    tx: &'a StoreTx<'b>,
    n_docs: std::cell::Cell<Option<u64>>,
    stored: std::cell::RefCell<FxHashMap<String, u64>>,
    added_docs: std::cell::Cell<u64>,
    added: std::cell::RefCell<FxHashMap<String, u64>>,
}

impl<'a, 'b> TxCorpus<'a, 'b> {
    pub fn new(tx: &'a StoreTx<'b>) -> Self {
        TxCorpus {
            tx,
            n_docs: Default::default(),
            stored: Default::default(),
            added_docs: Default::default(),
            added: Default::default(),
        }
    }

    /// Counts one new document with these (distinct) terms.
    fn count(&self, terms: &[String]) {
        self.added_docs.set(self.added_docs.get() + 1);
        let mut added = self.added.borrow_mut();
        for t in terms {
            *added.entry(t.clone()).or_insert(0) += 1;
        }
    }

    /// Writes what [`TxCorpus::count`] counted, in the same transaction.
    pub fn flush(&self) -> Result<(), StoreError> {
        let added = std::mem::take(&mut *self.added.borrow_mut());
        let docs = self.added_docs.replace(0);
        if docs > 0 {
            self.tx
                .add_documents(docs, added.iter().map(|(t, n)| (t.as_str(), *n)))?;
        }
        self.n_docs.set(None);
        self.stored.borrow_mut().clear();
        Ok(())
    }
}

impl CorpusStats for TxCorpus<'_, '_> {
    fn n_docs(&self) -> u64 {
        let stored = match self.n_docs.get() {
            Some(n) => n,
            None => {
                let n = self.tx.n_docs().unwrap_or(0);
                self.n_docs.set(Some(n));
                n
            }
        };
        stored + self.added_docs.get()
    }
    fn df(&self, term: &str) -> u64 {
        let stored = self.stored.borrow().get(term).copied();
        let stored = stored.unwrap_or_else(|| {
            let n = self.tx.df(term).unwrap_or(0);
            self.stored.borrow_mut().insert(term.to_string(), n);
            n
        });
        stored + self.added.borrow().get(term).copied().unwrap_or(0)
    }
}

/// The store-free part of matching one entry, worked out on the blocking
/// pool before the store is locked (the single writer then only runs SQL).
pub struct Prepared {
    pub keys: ExactKeys,
    /// The near-duplicate fingerprint, boilerplate of the feed left out.
    pub print: Option<Fingerprint>,
    /// One draft per story, in [`MatchContext::stories`] order.
    pub drafts: Vec<Draft>,
    /// The entry's distinct vocabulary terms, for the document frequencies.
    pub terms: Vec<String>,
}

/// [`Prepared`] for each of one feed's entries.
pub fn prepare(ctx: &MatchContext, items: &[Item]) -> Vec<Prepared> {
    // Each entry is folded once, for its shingles and for its terms.
    let mut folded = String::new();
    let mut sets = Vec::with_capacity(items.len());
    let mut drafted = Vec::with_capacity(items.len());
    for item in items {
        fold_item(&item.title, &item.text, &mut folded);
        sets.push(shingles_of_folded(&folded));
        drafted.push(drafts_and_terms(ctx, &item.title, &item.text, &folded));
    }
    items
        .iter()
        .zip(fingerprints_of_shingles(sets))
        .zip(drafted)
        .map(|((item, print), (drafts, terms))| Prepared {
            keys: ExactKeys::of(item),
            print,
            drafts,
            terms,
        })
        .collect()
}

/// Folds an entry's title and then its text into `out` (cleared first):
/// the fold of title + "\n" + text, which shingles and terms are read from.
fn fold_item(title: &str, text: &str, out: &mut String) {
    out.clear();
    fold_into(title, out);
    fold_into(text, out);
}

/// One draft per story and the item's vocabulary terms, from one pass over
/// its words (`folded` is [`fold_item`]'s).
fn drafts_and_terms(
    ctx: &MatchContext,
    title: &str,
    text: &str,
    folded: &str,
) -> (Vec<Draft>, Vec<String>) {
    if !ctx.has_stories() {
        return (Vec::new(), Vec::new());
    }
    let doc = terms_of_folded(folded);
    let drafts = ctx
        .stories()
        .iter()
        .map(|s| s.matcher.draft_with(title, text, Some(&doc)))
        .collect();
    let terms = doc
        .terms()
        .filter(|t| ctx.vocabulary().contains(*t))
        .map(str::to_string)
        .collect();
    (drafts, terms)
}

/// Matches one stored item against every story, stores the matches' explanations and
/// queues the alerts they raise, all in the caller's transaction. With
/// `count_doc` the item is also added to the corpus statistics (new items;
/// a rescore of stored ones passes false).
pub fn match_item(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    item: &StoredItem,
    count_doc: bool,
    now: i64,
) -> Result<MatchOutcome, StoreError> {
    let corpus = TxCorpus::new(tx);
    let mut folded = String::new();
    fold_item(&item.title, &item.text, &mut folded);
    let (drafts, terms) = drafts_and_terms(ctx, &item.title, &item.text, &folded);
    let terms = count_doc.then_some(terms);
    let out = match_drafted(tx, ctx, &corpus, item, terms.as_deref(), &drafts, now)?;
    corpus.flush()?;
    Ok(out)
}

/// [`match_item`] with the store-free part done ([`prepare`]); `terms`
/// (a new item's) are counted in `corpus` before the scores are taken.
pub fn match_drafted(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    corpus: &TxCorpus<'_, '_>,
    item: &StoredItem,
    terms: Option<&[String]>,
    drafts: &[Draft],
    now: i64,
) -> Result<MatchOutcome, StoreError> {
    let mut out = MatchOutcome::default();
    if !ctx.has_stories() {
        return Ok(out);
    }
    let count_doc = terms.is_some();
    if let Some(terms) = terms {
        corpus.count(terms);
    }
    // Only matched items are compared with the reference articles.
    let item_print = std::cell::OnceCell::new();
    let mut cluster_id = item.cluster_id;
    for (story, draft) in ctx.stories().iter().zip(drafts) {
        let ex = story.matcher.finish(draft, item.published_at, corpus);
        if ex.entities.is_empty() {
            continue;
        }
        // Only a match's row is ever read back (reports, clusters, rescore,
        // pruning); `explain` recomputes the rest. A new item that does not
        // match therefore writes nothing: the rows cost a third of a cold
        // poll's writes. A stored item that
        // no longer matches loses its row and its report pairs.
        if !ex.is_match() {
            if !count_doc {
                tx.delete_match(item.id, &story.id)?;
                tx.index_report_pairs(item.id, &story.id, 0, None)?;
            }
            continue;
        }
        let explanation = serde_json::to_string(&ex).unwrap_or_default();
        tx.insert_match(
            &MatchRow {
                item_id: item.id,
                story: &story.id,
                score: ex.score,
                matched: ex.is_match(),
                explanation: &explanation,
            },
            now,
        )?;
        let published = item.published_at.unwrap_or(item.first_seen_at);
        let people = crate::paraphrase::people(&ex);
        let comparable = crate::paraphrase::comparable(&ex, &people);
        tx.index_report_pairs(item.id, &story.id, published, comparable.then_some(&people))?;
        out.matches += 1;
        out.matched_stories.push(story.id.clone());
        let copy_of_reference = ctx.reference_prints().iter().any(|(id, r)| {
            id == &story.id
                && item_print
                    .get_or_init(|| fingerprint(&item.title, &item.text))
                    .as_ref()
                    .is_some_and(|fp| fp.is_copy_of_document(r, ctx.near_threshold))
        });
        if published + (ctx.alert_max_age.as_secs() as i64) < now {
            tracing::debug!(story = %story.id, item = item.id, "match too old to alert");
        } else if copy_of_reference {
            tracing::info!(story = %story.id, item = item.id, "copy of the story's own reference article: no alert");
        } else {
            if count_doc && cluster_id == item.id {
                if let Some(c) = paraphrased(tx, story, item, &ex, published)? {
                    tx.move_to_cluster(item.id, c)?;
                    cluster_id = c;
                }
            }
            // A cluster raises one follow-up per story; a later copy speaks
            // again only when it names story people, organisations or events
            // the cluster's alerts did not (kind `update`).
            let earlier = tx.cluster_alert_payloads(&story.id, cluster_id)?;
            // A stored item matched again (rescore) never alerts a story it
            // already alerted: tuning a story does not notify people twice.
            let kind = if !count_doc && tx.item_alerted(&story.id, item.id)? {
                None
            } else if earlier.is_empty() {
                Some(AlertKind::Followup)
            } else if let Some(alert) = original_takes_over(tx, &story.id, cluster_id, item)? {
                // The cluster's original arrived after a copy of it, before
                // anything was sent: the follow-up names the original, as it
                // would had the feeds come in the other order.
                tx.withdraw_alert(&alert)?;
                Some(AlertKind::Followup)
            } else {
                let known: std::collections::HashSet<String> = earlier
                    .iter()
                    .filter_map(|p| serde_json::from_str::<AlertPayload>(p).ok())
                    .flat_map(|p| {
                        p.matched
                            .entities
                            .into_iter()
                            .map(|e| e.name)
                            .chain(p.matched.events.into_iter().map(|e| e.name))
                    })
                    .collect();
                // Places come and go with datelines; people, organisations
                // and events are what make a copy news.
                let adds = ex
                    .entities
                    .iter()
                    .filter(|e| e.kind != Kind::Place)
                    .map(|e| &e.name)
                    .chain(ex.events.iter().map(|e| &e.name))
                    .any(|n| !known.contains(n));
                adds.then_some(AlertKind::Update)
            };
            match kind {
                None => {
                    tracing::debug!(story = %story.id, item = item.id, cluster = cluster_id, "copy of an alerted item")
                }
                Some(kind) => {
                    let cluster = Cluster {
                        id: format!("c{cluster_id}"),
                        size: tx.cluster_size(cluster_id)?,
                    };
                    if queue_alert(
                        tx,
                        ctx,
                        &match_alert(kind, story, item, &ex, cluster, now),
                        now,
                    )? {
                        out.alerts += 1;
                        let why: Vec<&str> = ex
                            .entities
                            .iter()
                            .map(|e| e.name.as_str())
                            .chain(ex.events.iter().map(|e| e.name.as_str()))
                            .collect();
                        out.raised.push(RaisedAlert {
                            kind,
                            story: story.id.clone(),
                            score: Some(ex.score),
                            title: item.title.clone(),
                            why: why.join(", "),
                        });
                    }
                }
            }
        }
        // Names are learned only beside confident follow-ups, never beside
        // an item a user rejected: a name seen beside borderline matches may
        // well be another story's.
        if ex.score >= crate::stories::CONFIDENT_SCORE && !tx.rejected(&story.id, item.id)? {
            let emerged = emerge(tx, ctx, story, item, &ex, now)?;
            out.alerts += emerged.len();
            out.raised.extend(emerged);
        }
    }
    Ok(out)
}

/// The unsent follow-up of `cluster` that `item` should take over: `item`
/// was published before the alerted copy (the same time and a smaller URL
/// breaks a tie), so the alert should name it.
fn original_takes_over(
    tx: &StoreTx<'_>,
    story: &str,
    cluster: i64,
    item: &StoredItem,
) -> Result<Option<String>, StoreError> {
    let Some((alert, published, url)) = tx.unsent_cluster_followup(story, cluster)? else {
        return Ok(None);
    };
    let key = item
        .canonical_url
        .as_deref()
        .or(item.link.as_deref())
        .unwrap_or(&item.guid);
    let this = (item.published_at.unwrap_or(item.first_seen_at), key);
    Ok((this < (published, url.as_str())).then_some(alert))
}

/// The cluster of a stored report this matched item retells in other words
/// (same people beside the story's own, same event, same day; see
/// [`crate::paraphrase`]).
fn paraphrased(
    tx: &StoreTx<'_>,
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    published: i64,
) -> Result<Option<i64>, StoreError> {
    let cast = crate::paraphrase::cast(&story.watchlist);
    let this = Report::of(ex, &cast, published);
    if this.people.len() < crate::paraphrase::MIN_SHARED_PEOPLE || this.events.is_empty() {
        return Ok(None);
    }
    let window = crate::paraphrase::SAME_DAY;
    for id in tx.report_candidates(
        &story.id,
        &this.people,
        published - window,
        published + window,
        item.id,
    )? {
        let Some((cluster, at, explanation)) = tx.matched_report(id, &story.id)? else {
            continue;
        };
        let Ok(other) = serde_json::from_str::<Explanation>(&explanation) else {
            continue;
        };
        if this.same_as(&Report::of(&other, &cast, at)) {
            return Ok(Some(cluster));
        }
    }
    Ok(None)
}

/// Stores a new alert and queues it for every sink that takes it, in the
/// caller's transaction (nothing is sent here). False when the alert
/// existed already.
fn queue_alert(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    alert: &StoredAlert,
    now: i64,
) -> Result<bool, StoreError> {
    if !tx.insert_alert(alert)? {
        return Ok(false);
    }
    for sink in ctx.sinks.iter().filter(|s| route::takes(s, alert)) {
        tx.enqueue(&alert.id, &sink.name, route::first_due(sink, now), now)?;
    }
    Ok(true)
}

/// A `followup` or `update` alert for a matched item.
fn match_alert(
    kind: AlertKind,
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    cluster: Cluster,
    now: i64,
) -> StoredAlert {
    let id = payload::alert_id(&story.id, kind, &format!("item:{}", item.id));
    let p = AlertPayload {
        kind_of_payload: payload::ALERT_TYPE.to_string(),
        id: id.clone(),
        created_at: payload::rfc3339(now),
        story: story.id.clone(),
        kind,
        score: Some(ex.score),
        item: Some(alert_item(item)),
        matched: Matched {
            entities: ex.entities.clone(),
            events: ex.events.clone(),
            new_entities: Vec::new(),
            concepts: ex.concepts.clone(),
        },
        snippets: ex.snippets.clone(),
        components: Some(ex.components),
        cluster: Some(cluster),
        feed: None,
    };
    StoredAlert {
        id,
        story: story.id.clone(),
        kind,
        item_id: Some(item.id),
        score: Some(ex.score),
        created_at: now,
        payload: serde_json::to_string(&p).unwrap_or_default(),
    }
}

pub fn alert_item(item: &StoredItem) -> AlertItem {
    AlertItem {
        id: item.id,
        title: item.title.clone(),
        url: item.link.clone(),
        canonical_url: item.canonical_url.clone(),
        feed: item.feed.clone(),
        published: item.published_at.map(payload::rfc3339),
        summary: payload::summary(&item.text),
    }
}

/// Names beside the story in matched items: once one has appeared in
/// `emerge_after` of them, it joins the story and one `new_entity` alert says so.
fn emerge(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    now: i64,
) -> Result<Vec<RaisedAlert>, StoreError> {
    let mut alerts = Vec::new();
    for (name, kind) in &ex.unknown_names {
        // Countries and regions are in too much news to say what a story is.
        if *kind == Kind::Other || crate::matching::watchlist::is_country(name) {
            continue;
        }
        let seen =
            tx.record_sighting(&story.id, name, kind.as_str(), item.id, story.emerge_after)?;
        if seen < story.emerge_after || !tx.insert_emerged(&story.id, name, kind.as_str(), now)? {
            continue;
        }
        let items = tx.sighting_items(&story.id, name)?;
        let items_len = items.len();
        let id = payload::alert_id(&story.id, AlertKind::NewEntity, name);
        let p = AlertPayload {
            kind_of_payload: payload::ALERT_TYPE.to_string(),
            id: id.clone(),
            created_at: payload::rfc3339(now),
            story: story.id.clone(),
            kind: AlertKind::NewEntity,
            score: None,
            item: Some(alert_item(item)),
            matched: Matched {
                entities: Vec::new(),
                events: Vec::new(),
                new_entities: vec![NewEntity {
                    name: name.clone(),
                    kind: kind.as_str().to_string(),
                    items,
                }],
                concepts: Vec::new(),
            },
            snippets: Vec::new(),
            components: None,
            cluster: None,
            feed: None,
        };
        let row = StoredAlert {
            id,
            story: story.id.clone(),
            kind: AlertKind::NewEntity,
            item_id: Some(item.id),
            score: None,
            created_at: now,
            payload: serde_json::to_string(&p).unwrap_or_default(),
        };
        if queue_alert(tx, ctx, &row, now)? {
            tracing::info!(story = %story.id, entity = %name, "new entity joined the story");
            alerts.push(RaisedAlert {
                kind: AlertKind::NewEntity,
                story: story.id.clone(),
                score: None,
                title: name.clone(),
                why: format!("new {} in {} matched items", kind.as_str(), items_len),
            });
        }
    }
    Ok(alerts)
}
