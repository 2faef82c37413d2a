//! `storywatch run`: the long-running service. Each feed is polled when the
//! store says it is due (so a restart neither re-polls early nor forgets a
//! feed), one poll per feed at a time; the delivery worker runs beside the
//! scheduler and is woken when polls queue alerts. One cancellation token
//! stops everything: SIGTERM/SIGINT lets in-flight work finish within
//! `[service] shutdown_grace`. SIGHUP reloads the config (a broken one is
//! logged and the running one stays). systemd hears READY/STATUS/WATCHDOG/
//! RELOADING/STOPPING when `$NOTIFY_SOCKET` is set.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerts::deliver::Deliverer;
use crate::alerts::sink::{Sink, SinkError};
use crate::config::{Config, ConfigError};
use crate::feeds::fetch::{FetchError, Fetcher};
use crate::health::{self, HealthState};
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::pipeline::Pipeline;
use crate::poll::match_context;
use crate::store::{LockError, ProcessLock, Store, StoreError};
use crate::stories::StoryError;

/// The scheduler looks again at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Retention runs this often.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Story(#[from] StoryError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] FetchError),
    #[error("cannot listen on {addr} for /healthz and /metrics: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "database {path} is damaged ({}): restore the last backup (docs/deployment.md); \
         `storywatch db check` lists the damage. Nothing was written",
        problems.join("; ")
    )]
    Corrupt { path: String, problems: Vec<String> },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

impl ServiceError {
    /// See [`crate::poll::PollError::database_unusable`] (exit 3).
    pub fn database_unusable(&self) -> bool {
        match self {
            ServiceError::Lock(LockError::InUse { .. }) | ServiceError::Corrupt { .. } => true,
            ServiceError::Store(e) => e.database_unusable(),
            ServiceError::Story(e) => e.database_unusable(),
            _ => false,
        }
    }
}

/// Runs until SIGTERM or SIGINT. `path` is re-read on SIGHUP.
pub async fn run(path: &Path, config: Config) -> Result<(), ServiceError> {
    // Held until the process ends; a reload never moves the database.
    let _lock = ProcessLock::acquire(&config.storage.path)?;
    let problems = crate::store::quick_check(&config.storage.path)?;
    if !problems.is_empty() {
        return Err(ServiceError::Corrupt {
            path: config.storage.path.display().to_string(),
            problems,
        });
    }
    let notifier = Arc::new(Notifier::from_env());
    let metrics = Arc::new(Metrics::default());
    let stop = CancellationToken::new();
    let mut term = signal(SignalKind::terminate()).map_err(ServiceError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServiceError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServiceError::Signals)?;
    let stopper = stop.clone();
    let reload_requests = Arc::new(tokio::sync::Notify::new());
    let reloads = reload_requests.clone();
    let notifier_s = notifier.clone();
    tokio::spawn(async move {
        loop {
            let which = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading the config");
                    reloads.notify_one();
                    continue;
                }
            };
            tracing::info!("{which}: stopping");
            notifier_s.stopping();
            stopper.cancel();
            return;
        }
    });
    let mut config = config;
    let mut first = true;
    loop {
        let generation = stop.child_token();
        // A reload request is checked here: a bad file keeps this generation.
        let path_buf: PathBuf = path.to_path_buf();
        let (gen, reloads) = (generation.clone(), reload_requests.clone());
        let notifier_r = notifier.clone();
        let storage = config.storage.path.clone();
        let watcher = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = gen.cancelled() => return None,
                    _ = reloads.notified() => {}
                }
                notifier_r.reloading();
                match Config::load(&path_buf) {
                    // Switching databases under a running service would
                    // re-poll every feed and re-send what was delivered.
                    Ok(new) if new.storage.path != storage => {
                        tracing::error!(
                            running = %storage.display(),
                            configured = %new.storage.path.display(),
                            "config reload refused: [storage] path changed; restart storywatch to use another database"
                        );
                        notifier_r.ready();
                    }
                    Ok(new) => {
                        let found = crate::preflight::check(&new);
                        if found.ok() {
                            gen.cancel();
                            return Some(new);
                        }
                        tracing::error!(
                            problems = %found.problems.join("; "),
                            "config reload refused: the new config could not start; keeping the running config"
                        );
                        notifier_r.ready();
                    }
                    Err(e) => {
                        let e: ConfigError = e;
                        tracing::error!(error = %e, "config reload failed; keeping the running config");
                        notifier_r.ready();
                    }
                }
            }
        });
        let ended = generation_run(&config, generation.clone(), &notifier, &metrics, first).await;
        first = false;
        generation.cancel();
        let reloaded = watcher.await.ok().flatten();
        ended?;
        match reloaded {
            Some(new) if !stop.is_cancelled() => {
                tracing::info!(
                    feeds = new.feeds.len(),
                    sinks = new.sinks.len(),
                    "config reloaded"
                );
                if let Err(e) = crate::matching::gazetteer::install(&new.matching.user_data) {
                    tracing::warn!(error = %e, "keeping the matching data the process started with");
                }
                config = new;
            }
            _ => break,
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// One generation: one config, until it is replaced or the service stops.
async fn generation_run(
    config: &Config,
    cancel: CancellationToken,
    notifier: &Notifier,
    metrics: &Arc<Metrics>,
    first: bool,
) -> Result<(), ServiceError> {
    let sinks = config
        .sinks
        .iter()
        .map(Sink::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = Store::open(&config.storage.path)?;
    store.set_page_cache(config.storage.cache)?;
    store.sync_feeds(&config.feeds, Utc::now().timestamp())?;
    let matching = Arc::new(match_context(&mut store, config, true)?);
    let store = Arc::new(Mutex::new(store));
    let pipeline = Arc::new(Pipeline {
        fetcher: Fetcher::new(&config.poll, &config.feeds)?,
        store: store.clone(),
        commit: true,
        matching: matching.clone(),
        poll: config.poll.clone(),
        metrics: metrics.clone(),
        db: config.storage.path.display().to_string(),
        prefetched: Default::default(),
        slots: Default::default(),
        group: Default::default(),
    });
    let deliverer = Arc::new(
        Deliverer::new(
            sinks,
            store.clone(),
            config.delivery.clone(),
            &config.poll.user_agent,
        )?
        .with_metrics(metrics.clone())
        .with_hosts(pipeline.fetcher.hosts()),
    );
    let wake = deliverer.wake.clone();
    let work = cancel.child_token();
    let delivery = tokio::spawn(deliverer.run(work.clone()));

    let tick_every = notifier
        .watchdog_every()
        .map_or(MAX_SLEEP, |w| w.min(MAX_SLEEP))
        .max(Duration::from_millis(100));
    let state = Arc::new(HealthState {
        metrics: metrics.clone(),
        store: store.clone(),
        last_tick: AtomicI64::new(Utc::now().timestamp()),
        tick_limit: (tick_every * 3).max(Duration::from_secs(90)),
        feeds: config.feeds.len() as u64,
        matching: Some(matching.clone()),
    });
    let server = match config.service.listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServiceError::Listen { addr, source })?;
            tracing::info!(%addr, "serving /healthz and /metrics");
            Some(tokio::spawn(health::serve(
                listener,
                state.clone(),
                work.clone(),
            )))
        }
        None => None,
    };
    notifier.ready();
    if first {
        tracing::info!(
            feeds = config.feeds.len(),
            sinks = config.sinks.len(),
            "storywatch running"
        );
    }

    let slots = Arc::new(Semaphore::new(config.poll.concurrency.get()));
    let mut polls: JoinSet<String> = JoinSet::new();
    let mut in_flight: HashSet<String> = HashSet::new();
    // Which feed each poll task polls: a task that panics returns no name.
    let mut feed_of: std::collections::HashMap<tokio::task::Id, String> = Default::default();
    // Hourly, or more often when the retention window is short.
    let prune_every = PRUNE_EVERY
        .min(config.storage.keep.min(config.dedup.window) / 6)
        .max(Duration::from_secs(60));
    let mut last_prune = tokio::time::Instant::now() - prune_every;
    loop {
        state.tick();
        notifier.watchdog();
        let now = Utc::now().timestamp();
        // One read of every feed's row per turn.
        let mut stored: std::collections::HashMap<String, crate::store::FeedState> = {
            let s = store.lock().unwrap_or_else(|p| p.into_inner());
            s.feed_states()
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.name.clone(), f))
                .collect()
        };
        let mut next_due: Option<i64> = None;
        for feed in &config.feeds {
            let st = stored.remove(&feed.name);
            if in_flight.contains(&feed.name) || st.as_ref().is_some_and(|s| s.paused_at.is_some())
            {
                continue;
            }
            let due = st.and_then(|s| s.next_poll_at).unwrap_or(now);
            if due > now {
                next_due = Some(next_due.map_or(due, |n| n.min(due)));
                continue;
            }
            in_flight.insert(feed.name.clone());
            let feed = feed.clone();
            let (pipeline, slots, wake) = (pipeline.clone(), slots.clone(), wake.clone());
            let name = feed.name.clone();
            let task = polls.spawn(async move {
                let _slot = slots.acquire_owned().await;
                // Boxed as in `poll_once`: tasks waiting for a slot stay small.
                let report = Box::pin(pipeline.poll_feed(&feed)).await;
                if report.counts.alerts > 0 {
                    wake.notify_waiters();
                }
                feed.name
            });
            feed_of.insert(task.id(), name);
        }
        let pending = {
            let s = store.lock().unwrap_or_else(|p| p.into_inner());
            s.outbox_pending_age(now).map(|(n, _)| n).unwrap_or(0)
        };
        notifier.status(&format!(
            "{} feeds, {}, {} polling, {} pending alerts",
            config.feeds.len(),
            match next_due {
                Some(t) => format!("next poll in {}s", (t - now).max(0)),
                None if in_flight.is_empty() => "nothing due".to_string(),
                None => "polling".to_string(),
            },
            in_flight.len(),
            pending
        ));
        let polling = config.poll.concurrency.get() - slots.available_permits();
        metrics.set_polls_waiting(in_flight.len().saturating_sub(polling));
        if last_prune.elapsed() >= prune_every {
            last_prune = tokio::time::Instant::now();
            prune(&pipeline, &store, config.storage.keep, config.dedup.window).await;
            match pipeline.check_silent_feeds(&config.feeds).await {
                Ok(0) => {}
                Ok(_) => wake.notify_waiters(),
                Err(e) => tracing::warn!(error = %e, "cannot check for silent feeds"),
            }
        }
        let wait = next_due
            .map_or(MAX_SLEEP, |t| Duration::from_secs((t - now).max(1) as u64))
            .min(tick_every);
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(done) = polls.join_next_with_id() => {
                match done {
                    Ok((id, name)) => {
                        feed_of.remove(&id);
                        in_flight.remove(&name);
                    }
                    Err(e) => {
                        let Some(name) = feed_of.remove(&e.id()) else { continue };
                        in_flight.remove(&name);
                        if e.is_cancelled() {
                            continue;
                        }
                        let why = crate::supervise::why(e);
                        metrics.task_failed(&format!("poll:{name}"), &why);
                        // A failed poll: the feed backs off (and is paused
                        // if it keeps failing), never polled in a loop.
                        if let Some(feed) = config.feed(&name) {
                            let _ = pipeline.record_crash(feed, &why).await;
                        }
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    // Stop starting work; let what runs finish within the grace period.
    let grace = config.service.shutdown_grace;
    tracing::info!(in_flight = polls.len(), grace = %humantime::format_duration(grace), "finishing in-flight work");
    let drained =
        tokio::time::timeout(grace, async { while polls.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            left = polls.len(),
            "grace period over: cancelling the polls still running"
        );
        polls.abort_all();
        while polls.join_next().await.is_some() {}
    }
    work.cancel();
    let mut delivery = delivery;
    if tokio::time::timeout(grace.max(Duration::from_secs(1)), &mut delivery)
        .await
        .is_err()
    {
        tracing::warn!("grace period over: a delivery was cut short (it stays queued)");
        delivery.abort();
        let _ = delivery.await;
    }
    // Wait for the listener to be gone, so a reload can bind the address again.
    if let Some(s) = server {
        s.abort();
        let _ = s.await;
    }
    Ok(())
}

/// Retention: items that never matched, older than `keep`; index rows past
/// the dedup window; finished outbox rows older than `keep` and the window
/// (a copy within the window asks whether its cluster's alert was sent).
async fn prune(pipeline: &Pipeline, store: &Arc<Mutex<Store>>, keep: Duration, window: Duration) {
    if let Err(e) = pipeline.prune().await {
        tracing::warn!(error = %e, "cannot prune the near-duplicate index");
    }
    let now = Utc::now().timestamp();
    let before = now - keep.as_secs() as i64;
    let sent_before = now - keep.max(window).as_secs() as i64;
    let store = store.clone();
    let pruned = tokio::task::spawn_blocking(move || {
        let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
        Ok::<_, StoreError>((s.prune_items(before)?, s.prune_deliveries(sent_before)?))
    })
    .await;
    match pruned {
        Ok(Ok((0, 0))) => {}
        Ok(Ok((items, deliveries))) => {
            tracing::info!(
                items,
                deliveries,
                "pruned items that never matched and finished deliveries"
            )
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot prune old items and deliveries"),
        Err(e) => tracing::warn!(error = %e, "prune task failed"),
    }
}
