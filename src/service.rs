//! `storywatch run`: the long-running service. Each feed is polled when the
//! store says it is due (so a restart neither re-polls early nor forgets a
//! feed); the delivery worker runs beside the scheduler and is woken when
//! polls queue alerts. One cancellation token stops both.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::alerts::deliver::{Deliverer, Sink, SinkError};
use crate::config::Config;
use crate::feeds::fetch::{FetchError, Fetcher};
use crate::pipeline::Pipeline;
use crate::poll::match_context;
use crate::store::{Store, StoreError};
use crate::stories::StoryError;

/// The scheduler looks again at least this often (config reloads, clock jumps).
const MAX_SLEEP: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Story(#[from] StoryError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[from] FetchError),
}

/// Runs until `cancel` fires; in-flight polls finish (each is bounded by
/// the fetch timeout) and their transactions commit before it returns.
pub async fn run(config: &Config, cancel: CancellationToken) -> Result<(), ServiceError> {
    let sinks = config
        .sinks
        .iter()
        .map(Sink::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = Store::open(&config.storage.path)?;
    store.sync_feeds(&config.feeds, Utc::now().timestamp())?;
    let matching = Arc::new(match_context(&mut store, config, true)?);
    let store = Arc::new(Mutex::new(store));
    let pipeline = Arc::new(Pipeline {
        fetcher: Fetcher::new(&config.poll)?,
        store: store.clone(),
        commit: true,
        matching,
    });
    let deliverer = Arc::new(Deliverer::new(
        sinks,
        store.clone(),
        config.delivery.clone(),
        &config.poll.user_agent,
    )?);
    let wake = deliverer.wake.clone();
    let delivery = tokio::spawn(deliverer.run(cancel.clone()));
    tracing::info!(
        feeds = config.feeds.len(),
        sinks = config.sinks.len(),
        "storywatch running"
    );

    let slots = Arc::new(Semaphore::new(config.poll.concurrency.get()));
    let mut polls: JoinSet<String> = JoinSet::new();
    let mut in_flight: std::collections::HashSet<String> = Default::default();
    loop {
        let now = Utc::now().timestamp();
        // Due feeds, never two polls of one feed at a time.
        let states = {
            let s = store.lock().unwrap_or_else(|p| p.into_inner());
            config
                .feeds
                .iter()
                .map(|f| (f.clone(), s.feed_state(&f.name).ok().flatten()))
                .collect::<Vec<_>>()
        };
        let mut next_due = now + MAX_SLEEP.as_secs() as i64;
        for (feed, state) in states {
            if in_flight.contains(&feed.name) {
                continue;
            }
            let due = state.and_then(|s| s.next_poll_at).unwrap_or(now);
            if due > now {
                next_due = next_due.min(due);
                continue;
            }
            in_flight.insert(feed.name.clone());
            let (pipeline, slots, wake) = (pipeline.clone(), slots.clone(), wake.clone());
            polls.spawn(async move {
                let _slot = slots.acquire_owned().await;
                let report = pipeline.poll_feed(&feed).await;
                if report.alerts > 0 {
                    wake.notify_waiters();
                    wake.notify_one();
                }
                feed.name
            });
        }
        let wait = Duration::from_secs((next_due - now).max(1) as u64).min(MAX_SLEEP);
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(done) = polls.join_next() => {
                if let Ok(name) = done {
                    in_flight.remove(&name);
                }
                if let Err(e) = pipeline.prune().await {
                    tracing::warn!(error = %e, "cannot prune the near-duplicate index");
                }
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!(
        in_flight = polls.len(),
        "stopping: letting in-flight polls finish"
    );
    while polls.join_next().await.is_some() {}
    let _ = delivery.await;
    tracing::info!("stopped");
    Ok(())
}

/// A token cancelled by SIGTERM or SIGINT.
pub fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
        t.cancel();
    });
    token
}
