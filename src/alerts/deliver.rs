//! The delivery worker: sends due outbox rows to their sinks and records
//! each attempt. Per sink, one request at a time in queue order, at most one
//! per `rate`; a retryable failure holds the whole sink until the row's next
//! attempt (a down receiver gets one request per step of the schedule, not
//! one per queued alert). Every attempt of an alert carries the alert's id,
//! so delivery is at-least-once with a stable id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::answer::{classify, digest_id, next_wait, Outcome};
use super::format;
use super::payload::AlertPayload;
use super::sink::{Sink, SinkError};
use crate::config::{DeliveryConfig, SinkKind};
use crate::store::{AttemptResult, Delivery, Store, StoreError};

/// Alerts per digest message.
const DIGEST_BATCH: usize = 50;

/// Counts of one drain, for the poll summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    pub delivered: usize,
    pub failed: usize,
    /// Rows still queued when the drain stopped.
    pub pending: usize,
}

/// What a sink's round came to.
enum Round {
    /// Nothing due; the next row is due then (if any).
    Idle(Option<i64>),
    /// A retryable failure: the sink waits until then.
    Held(i64),
    /// The sink is paused.
    Paused,
    /// Sent something; go again.
    Sent,
}

/// Sends queued alerts. Cheap to share; one per process.
pub struct Deliverer {
    client: reqwest::Client,
    sinks: Vec<Sink>,
    store: Arc<Mutex<Store>>,
    policy: DeliveryConfig,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    hosts: Option<Arc<crate::feeds::hosts::HostPool>>,
    /// Poked when new rows are queued.
    pub wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(
        sinks: Vec<Sink>,
        store: Arc<Mutex<Store>>,
        policy: DeliveryConfig,
        user_agent: &str,
    ) -> Result<Deliverer, SinkError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config())
            .user_agent(user_agent)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Deliverer {
            client,
            sinks,
            store,
            policy,
            metrics: None,
            hosts: None,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Counts deliveries in `/metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Shares the feeds' global and per-host limits.
    pub fn with_hosts(mut self, hosts: Arc<crate::feeds::hosts::HostPool>) -> Self {
        self.hosts = Some(hosts);
        self
    }

    pub fn sinks(&self) -> &[Sink] {
        &self.sinks
    }

    /// Delivers until nothing is due before `deadline`, and starts no send
    /// after it: what `storywatch poll` does before it exits. A send under
    /// way at the deadline ends within `[delivery] timeout`. Rows left stay
    /// queued.
    pub async fn drain(&self, deadline: tokio::time::Instant) -> DrainReport {
        let mut report = DrainReport::default();
        let rounds = self.sinks.iter().map(|s| self.drain_sink(s, deadline));
        for r in futures_util::future::join_all(rounds).await {
            report.delivered += r.delivered;
            report.failed += r.failed;
            report.pending += r.pending;
        }
        report
    }

    async fn drain_sink(&self, sink: &Sink, deadline: tokio::time::Instant) -> DrainReport {
        let mut report = DrainReport::default();
        loop {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            let now = Utc::now().timestamp_millis();
            let until = match self.round(sink, &mut report).await {
                Round::Sent => continue,
                Round::Paused | Round::Idle(None) => break,
                Round::Idle(Some(at)) | Round::Held(at) => at,
            };
            let wait = Duration::from_millis((until - now).max(0) as u64);
            if tokio::time::Instant::now() + wait > deadline {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let name = sink.cfg.name.clone();
        report.pending = self.db(move |s| s.pending_count(&name)).await.unwrap_or(0) as usize;
        report
    }

    /// Runs until cancelled: every sink in its own task, sleeping until its
    /// next row is due or new rows are queued. A sink's task that panics or
    /// ends early is reported (`supervise`) and started again.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut sink_of = std::collections::HashMap::new();
        for i in 0..self.sinks.len() {
            let (me, c) = (self.clone(), cancel.clone());
            let task = tasks.spawn(async move { me.run_sink(i, c).await });
            sink_of.insert(task.id(), i);
        }
        while let Some(done) = tasks.join_next_with_id().await {
            let (id, why) = match done {
                Ok((id, ())) => (id, "ended while the service runs".to_string()),
                Err(e) => (e.id(), crate::supervise::why(e)),
            };
            let Some(i) = sink_of.remove(&id) else {
                continue;
            };
            if cancel.is_cancelled() {
                continue;
            }
            let task = format!("delivery:{}", self.sinks[i].cfg.name);
            match &self.metrics {
                Some(m) => m.task_failed(&task, &why),
                None => tracing::error!(task, why, "task failed"),
            }
            let (me, c) = (self.clone(), cancel.clone());
            let task = tasks.spawn(async move {
                tokio::select! {
                    _ = c.cancelled() => {}
                    _ = tokio::time::sleep(crate::supervise::RESTART_DELAY) => me.run_sink(i, c).await,
                }
            });
            sink_of.insert(task.id(), i);
        }
    }

    async fn run_sink(&self, i: usize, cancel: CancellationToken) {
        let sink = &self.sinks[i];
        let mut report = DrainReport::default();
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let now = Utc::now().timestamp_millis();
            let until = match self.round(sink, &mut report).await {
                Round::Sent => continue,
                // A paused sink is looked at again now and then: `alerts
                // retry` (another process) may have resumed it.
                Round::Paused => now + 30_000,
                Round::Idle(None) => now + 60_000,
                Round::Idle(Some(at)) | Round::Held(at) => at.min(now + 60_000),
            };
            let wait = Duration::from_millis((until - now).max(0) as u64);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// One step for one sink: send its next due row (or digest).
    async fn round(&self, sink: &Sink, report: &mut DrainReport) -> Round {
        let name = sink.cfg.name.clone();
        let now_ms = Utc::now().timestamp_millis();
        let batch = if sink.cfg.digest.is_some() {
            DIGEST_BATCH
        } else {
            1
        };
        let state = self
            .db(move |s| {
                if s.paused_sinks()?.iter().any(|p| p.sink == name) {
                    return Ok(None);
                }
                let due = s.due_deliveries(&name, now_ms / 1000, batch)?;
                let next = if due.is_empty() {
                    s.next_due(&name)?
                } else {
                    None
                };
                Ok(Some((due, next)))
            })
            .await;
        let (due, next) = match state {
            Ok(Some(x)) => x,
            Ok(None) => return Round::Paused,
            Err(e) => {
                tracing::error!(sink = %sink.cfg.name, error = %e, "cannot read the outbox");
                return Round::Held(now_ms + 5_000);
            }
        };
        if due.is_empty() {
            return Round::Idle(next.map(|s| s * 1000));
        }
        let started = tokio::time::Instant::now();
        let (outcome, status, error) = self.send(sink, &due).await;
        let now = Utc::now().timestamp();
        let mut held = None;
        for d in &due {
            let result = match &outcome {
                Outcome::Delivered => {
                    report.delivered += 1;
                    AttemptResult::Delivered
                }
                Outcome::Failed { .. } => {
                    report.failed += 1;
                    AttemptResult::Failed
                }
                Outcome::Retry { after } => {
                    let wait = next_wait(
                        &self.policy.schedule,
                        d.attempts + 1,
                        *after,
                        d.row as u64 ^ ((d.attempts as u64) << 32) ^ now as u64,
                    );
                    let next_ms = Utc::now().timestamp_millis() + wait.as_millis() as i64;
                    if next_ms / 1000 > d.queued_at + self.policy.max_age.as_secs() as i64 {
                        report.failed += 1;
                        tracing::error!(sink = %sink.cfg.name, alert = %d.alert_id, attempts = d.attempts + 1, "giving up on alert after max_age");
                        AttemptResult::Dead
                    } else {
                        // Rounded up: the row is not due before the wait is
                        // over, and the sink holds until the row is due.
                        let next_at = (next_ms + 999) / 1000;
                        held = Some(held.unwrap_or(i64::MAX).min(next_at * 1000));
                        AttemptResult::Retry { next_at }
                    }
                }
            };
            let (row, err) = (d.row, error.clone());
            if let Err(e) = self
                .db(move |s| s.record_attempt(row, &result, status, err.as_deref(), now))
                .await
            {
                tracing::error!(sink = %sink.cfg.name, alert = %d.alert_id, error = %e, "cannot record a delivery attempt");
            }
        }
        if let Some(m) = &self.metrics {
            let label = match &outcome {
                Outcome::Delivered => "delivered",
                Outcome::Failed { .. } => "failed",
                Outcome::Retry { .. } if held.is_none() => "dead",
                Outcome::Retry { .. } => "retry",
            };
            m.delivery(&sink.cfg.name, label, due.len());
        }
        match &outcome {
            Outcome::Delivered => {
                tracing::info!(sink = %sink.cfg.name, alerts = due.len(), status, "delivered")
            }
            Outcome::Failed { pause } => {
                tracing::warn!(sink = %sink.cfg.name, url = %sink.redacted_url(), status, error = error.as_deref().unwrap_or(""), "delivery refused");
                if *pause {
                    let reason = format!(
                        "receiver gone ({}{})",
                        status.map(|s| s.to_string()).unwrap_or_default(),
                        error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                    tracing::error!(sink = %sink.cfg.name, url = %sink.redacted_url(), %reason, "SINK PAUSED: fix the receiver, then `storywatch alerts retry --all-failed`");
                    let name = sink.cfg.name.clone();
                    let _ = self.db(move |s| s.pause_sink(&name, &reason, now)).await;
                }
            }
            Outcome::Retry { .. } => {
                tracing::warn!(sink = %sink.cfg.name, url = %sink.redacted_url(), status, error = error.as_deref().unwrap_or(""), "delivery failed, will retry")
            }
        }
        // Chat services allow about a message a second.
        let gap = sink.cfg.rate.saturating_sub(started.elapsed());
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
        match held {
            Some(at) => Round::Held(at),
            None => Round::Sent,
        }
    }

    /// Sends one alert (or one digest of several) and classifies the answer.
    async fn send(&self, sink: &Sink, due: &[Delivery]) -> (Outcome, Option<u16>, Option<String>) {
        let payloads: Vec<AlertPayload> = due
            .iter()
            .filter_map(|d| serde_json::from_str(&d.payload).ok())
            .collect();
        let ids: Vec<&str> = due.iter().map(|d| d.alert_id.as_str()).collect();
        let (id, body) = if due.len() == 1 && sink.cfg.digest.is_none() {
            (due[0].alert_id.clone(), due[0].payload.clone())
        } else {
            let id = digest_id(&ids);
            let body = serde_json::json!({
                "type": "storywatch.digest.v1",
                "id": id,
                "created_at": super::payload::rfc3339(Utc::now().timestamp()),
                "alerts": payloads,
            });
            (id, body.to_string())
        };
        self.send_body(sink, &id, &body, &payloads).await
    }

    /// A clearly marked test alert, sent now and not queued.
    pub async fn send_test(&self, sink: &Sink) -> (Outcome, Option<u16>, Option<String>) {
        let now = Utc::now().timestamp();
        let id = format!("swa_test_{now:x}");
        let p = AlertPayload {
            kind_of_payload: super::payload::ALERT_TYPE.to_string(),
            id: id.clone(),
            created_at: super::payload::rfc3339(now),
            story: "storywatch-test".into(),
            kind: super::AlertKind::Test,
            score: None,
            item: Some(super::payload::AlertItem {
                id: 0,
                title: "This is a test alert from storywatch: delivery works".into(),
                url: None,
                canonical_url: None,
                feed: "storywatch".into(),
                published: None,
                summary: "Sent by `storywatch alerts test`. No story matched anything.".into(),
            }),
            matched: Default::default(),
            snippets: Vec::new(),
            components: None,
            cluster: None,
            feed: None,
            novelty: None,
        };
        let body = serde_json::to_string(&p).unwrap_or_default();
        self.send_body(sink, &id, &body, std::slice::from_ref(&p))
            .await
    }

    async fn send_body(
        &self,
        sink: &Sink,
        id: &str,
        body: &str,
        payloads: &[AlertPayload],
    ) -> (Outcome, Option<u16>, Option<String>) {
        if let Some(mail) = &sink.mail {
            let _permit = match &self.hosts {
                Some(h) => Some(h.acquire(mail.host()).await),
                None => None,
            };
            return mail.send(id, payloads, self.policy.timeout).await;
        }
        let Some(url) = &sink.url else {
            // stdout: one JSON line per alert. A write that fails (a full
            // disk, a closed pipe) is a failed delivery, tried again later.
            use std::io::Write;
            let mut lines = String::new();
            for p in payloads {
                lines.push_str(&serde_json::to_string(p).unwrap_or_default());
                lines.push('\n');
            }
            let mut out = std::io::stdout().lock();
            return match out.write_all(lines.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => (Outcome::Delivered, None, None),
                Err(e) => (
                    Outcome::Retry { after: None },
                    None,
                    Some(format!("cannot write to standard output: {e}")),
                ),
            };
        };
        let request = match sink.cfg.kind {
            SinkKind::Webhook => {
                let ts = Utc::now().timestamp();
                let mut r = self
                    .client
                    .post(url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string());
                if let Some(key) = &sink.key {
                    r = r.header("webhook-signature", key.sign(id, ts, body.as_bytes()));
                }
                r.body(body.to_string())
            }
            SinkKind::Slack => self
                .client
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(format::slack(payloads).to_string()),
            SinkKind::Discord => {
                let mut u = url.clone();
                if !u.query_pairs().any(|(k, _)| k == "wait") {
                    u.query_pairs_mut().append_pair("wait", "true");
                }
                self.client
                    .post(u)
                    .header(CONTENT_TYPE, "application/json")
                    .body(format::discord(payloads).to_string())
            }
            SinkKind::Stdout | SinkKind::Email => {
                unreachable!("stdout sinks have no url, email sinks are sent above")
            }
        };
        let _permit = match &self.hosts {
            Some(h) => Some(h.acquire(url.host_str().unwrap_or("")).await),
            None => None,
        };
        match request.send().await {
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    "cannot connect".to_string()
                } else {
                    "request failed".to_string()
                };
                (Outcome::Retry { after: None }, None, Some(what))
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                // Only a little of the answer matters (an error code).
                let text = read_some(resp, 4096).await;
                let outcome = classify(sink.cfg.kind, status, &headers, &text);
                let error = (!matches!(outcome, Outcome::Delivered)).then(|| {
                    // A receiver's words reach `alerts list`: no escapes.
                    let t: String = crate::terminal::plain(&text).chars().take(200).collect();
                    format!(
                        "HTTP {status}{}",
                        if t.trim().is_empty() {
                            String::new()
                        } else {
                            format!(": {}", t.trim())
                        }
                    )
                });
                (outcome, Some(status), error)
            }
        }
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(StoreError::Task(e.to_string())),
        }
    }
}

async fn read_some(mut resp: reqwest::Response, max: usize) -> String {
    let mut buf = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buf.extend_from_slice(&chunk);
        if buf.len() >= max {
            buf.truncate(max);
            break;
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
