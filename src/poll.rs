//! `storywatch poll`: every feed (or one) once, concurrently within the
//! limits, then a summary. Shares [`Pipeline::poll_feed`] with `run`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::alerts::deliver::Deliverer;
use crate::alerts::sink::{Sink, SinkError};
use crate::config::Config;
use crate::feeds::fetch::{FetchError, Fetcher};
use crate::pipeline::{Counts, FeedOutcome, FeedReport, MatchContext, Pipeline};
use crate::store::{Store, StoreError};
use crate::stories::{self, StoryError};

#[derive(Debug, Clone, Default)]
pub struct PollOptions {
    /// Poll only this feed.
    pub feed: Option<String>,
    /// Parse and report, write nothing.
    pub dry_run: bool,
    /// Show progress on stderr.
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("no feed named {0:?} in the config")]
    UnknownFeed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] crate::store::LockError),
    #[error(transparent)]
    Story(#[from] StoryError),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] FetchError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl PollError {
    /// Another process holds the database, or it cannot be used as it is
    /// (exit 3).
    pub fn database_unusable(&self) -> bool {
        match self {
            PollError::Lock(crate::store::LockError::InUse { .. }) => true,
            PollError::Store(e) => e.database_unusable(),
            PollError::Story(e) => e.database_unusable(),
            _ => false,
        }
    }
}

/// The `poll --json` object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollSummary {
    pub feeds: usize,
    pub fetched: usize,
    pub not_modified: usize,
    /// Answered 200 with the same body as last time (not parsed again).
    pub unchanged: usize,
    pub failed: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// Outbox rows sent by this run (queued now or earlier).
    pub delivered: usize,
    /// Rows refused for good or given up.
    pub delivery_failed: usize,
    /// Rows still queued when the poll exited (`run` sends them).
    pub deliveries_pending: usize,
    pub errors: Vec<FeedErrorLine>,
    #[serde(skip)]
    pub reports: Vec<FeedReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedErrorLine {
    pub feed: String,
    pub error: String,
}

impl PollSummary {
    fn add(&mut self, r: FeedReport) {
        self.feeds += 1;
        match &r.outcome {
            FeedOutcome::Fetched => self.fetched += 1,
            FeedOutcome::NotModified => self.not_modified += 1,
            FeedOutcome::Unchanged => self.unchanged += 1,
            FeedOutcome::Failed(e) => {
                self.failed += 1;
                self.errors.push(FeedErrorLine {
                    feed: r.feed.clone(),
                    error: e.clone(),
                });
            }
        }
        self.counts += r.counts;
        self.reports.push(r);
    }

    /// The human summary: a line per feed, then totals.
    pub fn render(&self) -> String {
        let width = self
            .reports
            .iter()
            .map(|r| r.feed.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "{:width$}  {:<12} {:>5} {:>5} {:>6} {:>6}  DETAIL\n",
            "FEED", "STATUS", "NEW", "SEEN", "COPIES", "ALERTS"
        );
        for r in &self.reports {
            let (status, detail) = match &r.outcome {
                FeedOutcome::Fetched => (
                    "fetched",
                    if r.repaired {
                        "repaired ill-formed XML"
                    } else {
                        ""
                    },
                ),
                FeedOutcome::NotModified => ("not modified", ""),
                FeedOutcome::Unchanged => ("unchanged", "same body as last time"),
                FeedOutcome::Failed(e) => ("failed", e.as_str()),
            };
            let row = format!(
                "{:width$}  {:<12} {:>5} {:>5} {:>6} {:>6}  {}",
                r.feed,
                status,
                r.counts.items_new,
                r.counts.items_duplicate,
                r.counts.items_near_duplicate,
                r.counts.alerts,
                detail
            );
            out.push_str(row.trim_end());
            out.push('\n');
        }
        let raised: Vec<_> = self.reports.iter().flat_map(|r| r.raised.iter()).collect();
        if !raised.is_empty() {
            out.push_str("\nALERTS\n");
            for a in raised {
                out.push_str(&format!(
                    "  {:<10} {:<16} {}  {}\n             why: {}\n",
                    a.kind,
                    a.story,
                    a.score
                        .map(|s| format!("{s:.2}"))
                        .unwrap_or_else(|| "    ".into()),
                    a.title,
                    a.why
                ));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "{} feeds: {} fetched, {} not modified, {} unchanged, {} failed; {} new items ({} copies of stored ones), {} seen before; {} matches, {} alerts\n",
            self.feeds,
            self.fetched,
            self.not_modified,
            self.unchanged,
            self.failed,
            self.counts.items_new,
            self.counts.items_near_duplicate,
            self.counts.items_duplicate,
            self.counts.matches,
            self.counts.alerts
        ));
        let Counts {
            pages_used,
            pages_failed,
            ..
        } = self.counts;
        if pages_used + pages_failed > 0 {
            out.push_str(&format!(
                "full text: {} items read from their article page, {} pages gave no text\n",
                pages_used, pages_failed
            ));
        }
        if self.delivered + self.delivery_failed + self.deliveries_pending > 0 {
            out.push_str(&format!(
                "deliveries: {} sent, {} failed, {} still queued\n",
                self.delivered, self.delivery_failed, self.deliveries_pending
            ));
        }
        out
    }
}

/// Polls the configured feeds once.
pub async fn poll_once(config: &Config, opts: &PollOptions) -> Result<PollSummary, PollError> {
    let feeds: Vec<_> = match &opts.feed {
        Some(name) => vec![config
            .feed(name)
            .cloned()
            .ok_or_else(|| PollError::UnknownFeed(name.clone()))?],
        None => config.feeds.clone(),
    };
    // Secrets are read first: a missing one stops the poll before it starts.
    let sinks = config
        .sinks
        .iter()
        .map(Sink::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    // A dry run writes and sends nothing, so it may look beside `run`.
    let _lock = match opts.dry_run {
        true => None,
        false => Some(crate::store::ProcessLock::acquire(&config.storage.path)?),
    };
    let mut store = open_store(config, opts.dry_run)?;
    let matching = Arc::new(match_context(&mut store, config, !opts.dry_run)?);
    let store = Arc::new(Mutex::new(store));
    let pipeline = Arc::new(Pipeline {
        fetcher: Fetcher::new(&config.poll, &config.feeds)?,
        store: store.clone(),
        commit: !opts.dry_run,
        matching,
        poll: config.poll.clone(),
        metrics: Arc::new(crate::metrics::Metrics::default()),
        db: config.storage.path.display().to_string(),
        prefetched: Default::default(),
        slots: Default::default(),
        group: Default::default(),
    });
    if let Err(e) = pipeline.prefetch_states().await {
        // Each feed then reads its own state, as `run` does.
        tracing::warn!(error = %e, "cannot read the feeds' states in one go");
    }
    // Bounds the feeds in flight (bodies in memory, parse work), not just requests.
    let slots = Arc::new(Semaphore::new(config.poll.concurrency.get()));
    let total = feeds.len();
    let (mut done, mut items_new) = (0usize, 0usize);
    let mut set = JoinSet::new();
    for (i, feed) in feeds.into_iter().enumerate() {
        let (pipeline, slots) = (pipeline.clone(), slots.clone());
        set.spawn(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .expect("semaphore is never closed");
            // Boxed once the slot is ours: a task's size is its future's,
            // and a thousand waiting tasks each held a whole poll's.
            (i, Box::pin(pipeline.poll_feed(&feed)).await)
        });
    }
    let mut reports = Vec::with_capacity(total);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, report)) => {
                done += 1;
                items_new += report.counts.items_new;
                if opts.progress {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(err, "\rpolled {done}/{total} feeds, {items_new} new items ");
                    let _ = err.flush();
                }
                reports.push((i, report));
            }
            Err(e) => tracing::error!(error = %e, "poll task panicked"),
        }
    }
    if opts.progress && total > 0 {
        let _ = writeln!(std::io::stderr());
    }
    match pipeline.prune().await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(rows = n, "pruned near-duplicate index"),
        Err(e) => tracing::warn!(error = %e, "cannot prune the near-duplicate index"),
    }
    // Config order, not completion order, so output is stable.
    reports.sort_by_key(|(i, _)| *i);
    let mut summary = PollSummary::default();
    for (_, r) in reports {
        summary.add(r);
    }
    // Send what is queued (this poll's alerts and any left from before),
    // within the drain time; the rest waits for the next poll or `run`.
    if !opts.dry_run && !sinks.is_empty() {
        let deliverer = Deliverer::new(
            sinks,
            store,
            config.delivery.clone(),
            &config.poll.user_agent,
        )?;
        let d = deliverer
            .drain(tokio::time::Instant::now() + config.delivery.drain)
            .await;
        summary.delivered = d.delivered;
        summary.delivery_failed = d.failed;
        summary.deliveries_pending = d.pending;
    }
    Ok(summary)
}

/// Reads the stories (config files and the store) and, unless this is a dry
/// run, mirrors the config's reference articles into the store. A story
/// that cannot be read fails here; its matcher is built when first needed.
pub fn match_context(
    store: &mut Store,
    config: &Config,
    write: bool,
) -> Result<MatchContext, StoryError> {
    let sources = stories::read_stories(store, config)?;
    if write {
        stories::sync_config_articles(store, &sources, chrono::Utc::now().timestamp())?;
    }
    Ok(MatchContext::new(
        sources,
        config.alerts.max_age,
        crate::neardup::containment_threshold(config.dedup.similarity),
        config.dedup.window,
        config.sinks.clone(),
    ))
}

/// `--dry-run` must not create a database: with none on disk it polls
/// against an empty in-memory one.
fn open_store(config: &Config, dry_run: bool) -> Result<Store, StoreError> {
    let store = if dry_run && !config.storage.path.exists() {
        Store::open_in_memory()?
    } else {
        Store::open(&config.storage.path)?
    };
    store.set_page_cache(config.storage.cache)?;
    Ok(store)
}
