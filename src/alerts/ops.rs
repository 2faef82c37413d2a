//! Operator commands for delivery: `alerts retry` and `alerts test`.

use std::sync::{Arc, Mutex};

use chrono::Utc;

use super::answer::Outcome;
use super::deliver::Deliverer;
use super::sink::{Sink, SinkError};
use crate::config::Config;
use crate::store::{LockError, ProcessLock, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("no alert with id {0:?}")]
    UnknownAlert(String),
    #[error("no sink named {0:?} in the config")]
    UnknownSink(String),
    #[error("test alert to {sink} not delivered: {reason}")]
    TestFailed { sink: String, reason: String },
}

impl OpsError {
    /// See [`StoreError::database_unusable`] (exit 3).
    pub fn database_unusable(&self) -> bool {
        matches!(self, OpsError::Store(e) if e.database_unusable())
    }

    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            OpsError::UnknownAlert(_) | OpsError::UnknownSink(_) | OpsError::Sink(_)
        )
    }
}

fn deliverer(config: &Config, store: Store, sinks: Vec<Sink>) -> Result<Deliverer, OpsError> {
    Ok(Deliverer::new(
        sinks,
        Arc::new(Mutex::new(store)),
        config.delivery.clone(),
        &config.poll.user_agent,
    )?)
}

/// Requeues one alert's failed deliveries (or every failed one), resumes
/// their sinks and sends them now, within the drain time.
pub async fn retry(config: &Config, id: Option<&str>) -> Result<String, OpsError> {
    let sinks = config
        .sinks
        .iter()
        .map(Sink::resolve)
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = Store::open(&config.storage.path)?;
    if let Some(id) = id {
        if !store.alert_exists(id)? {
            return Err(OpsError::UnknownAlert(id.to_string()));
        }
    }
    let n = store.retry_deliveries(id, Utc::now().timestamp())?;
    let plural = if n == 1 { "y" } else { "ies" };
    // Beside `run`, the service sends them: two senders would race.
    let _lock = match ProcessLock::acquire(&config.storage.path) {
        Ok(lock) => lock,
        Err(LockError::InUse { pid, .. }) => {
            return Ok(format!(
                "requeued {n} deliver{plural}; the running storywatch{} sends {} within a minute\n",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                if n == 1 { "it" } else { "them" }
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let d = deliverer(config, store, sinks)?;
    let r = d
        .drain(tokio::time::Instant::now() + config.delivery.drain)
        .await;
    Ok(format!(
        "requeued {n} deliver{plural}; {} sent, {} failed, {} still queued\n",
        r.delivered, r.failed, r.pending
    ))
}

/// Sends a clearly marked test alert to one sink, outside the outbox.
pub async fn test(config: &Config, name: &str) -> Result<String, OpsError> {
    let cfg = config
        .sinks
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| OpsError::UnknownSink(name.to_string()))?;
    let sink = Sink::resolve(cfg)?;
    let url = sink.redacted_url();
    let d = deliverer(config, Store::open_in_memory()?, vec![sink.clone()])?;
    match d.send_test(&sink).await {
        (Outcome::Delivered, status, _) => Ok(format!(
            "test alert delivered to {name} ({url}){}\n",
            status.map(|s| format!(", HTTP {s}")).unwrap_or_default()
        )),
        (_, _, error) => Err(OpsError::TestFailed {
            sink: format!("{name} ({url})"),
            reason: error.unwrap_or_else(|| "refused".into()),
        }),
    }
}
