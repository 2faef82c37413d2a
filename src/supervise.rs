//! Tasks of `run` that must not vanish. A poll task or a sink's delivery
//! worker that panics (or a worker that returns while the service runs) is
//! logged as an error, counted in `storywatch_task_failures_total`, and
//! shown by `/healthz` as a failure for [`HEALTH_WINDOW`]; the work goes
//! on: the feed is polled again after its backoff, the worker restarts
//! after [`RESTART_DELAY`]. The scheduler loop itself is not restarted: its
//! panic ends the process, and systemd (`Restart=on-failure`) starts it again.

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;

/// A failed task is unhealthy this long after it failed.
pub const HEALTH_WINDOW: Duration = Duration::from_secs(600);
/// A failed worker starts again after this.
pub const RESTART_DELAY: Duration = Duration::from_secs(1);

/// The last task failure, for `/healthz`.
#[derive(Debug, Default)]
pub struct Failures {
    last: Mutex<Option<(String, String, i64)>>,
}

impl Failures {
    pub fn record(&self, task: &str, why: &str) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some((task.to_string(), why.to_string(), Utc::now().timestamp()));
    }

    /// What failed within the window before `now`, as `/healthz` says it.
    pub fn recent(&self, now: i64) -> Option<String> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (task, why, at) = last.as_ref()?;
        (now - at <= HEALTH_WINDOW.as_secs() as i64).then(|| {
            format!(
                "task {task} failed {}s ago ({why}) and was restarted",
                now - at
            )
        })
    }
}

/// What a task that did not finish normally ended with.
pub fn why(e: tokio::task::JoinError) -> String {
    if !e.is_panic() {
        return e.to_string();
    }
    let payload = e.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    format!("panicked: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_named_and_stays_unhealthy_for_the_window() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt
            .block_on(async { tokio::spawn(async { panic!("boom {}", 1) }).await })
            .unwrap_err();
        let failures = Failures::default();
        assert!(failures.recent(Utc::now().timestamp()).is_none());
        failures.record("delivery:hook", &why(e));
        let now = Utc::now().timestamp();
        let said = failures.recent(now).unwrap();
        assert!(
            said.contains("delivery:hook") && said.contains("panicked: boom 1"),
            "{said}"
        );
        assert!(failures
            .recent(now + HEALTH_WINDOW.as_secs() as i64 + 1)
            .is_none());
    }
}
