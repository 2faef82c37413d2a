//! `[service] listen`: `GET /healthz` and `GET /metrics` over plain HTTP/1.1
//! on a local address, served by hyper (already the HTTP client's); two
//! read-only endpoints need no router.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::{self, Gauges, Metrics};
use crate::pipeline::MatchContext;
use crate::store::Store;

/// What the endpoints read.
pub struct HealthState {
    pub metrics: Arc<Metrics>,
    pub store: Arc<Mutex<Store>>,
    /// Unix time of the scheduler loop's last turn.
    pub last_tick: AtomicI64,
    /// The loop is late (unhealthy) past this.
    pub tick_limit: Duration,
    pub feeds: u64,
    /// The stories of the running config, for `/stories`.
    pub matching: Option<Arc<MatchContext>>,
}

impl HealthState {
    pub fn tick(&self) {
        self.last_tick
            .store(Utc::now().timestamp(), Ordering::Relaxed);
    }

    /// `Ok` when the scheduler ticked recently and the store takes a write lock.
    fn health(&self) -> Result<(), String> {
        let age = Utc::now().timestamp() - self.last_tick.load(Ordering::Relaxed);
        if age > self.tick_limit.as_secs() as i64 {
            return Err(format!("scheduler loop last ran {age}s ago"));
        }
        if let Some(failed) = self.metrics.failures.recent(Utc::now().timestamp()) {
            return Err(failed);
        }
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store
            .write(false, |_| Ok(()))
            .map_err(|e| format!("store not writable: {e}"))
    }

    /// `/stories` and `/stories/ID`: the story pages `storywatch report`
    /// writes, over the last 30 days. `None` for a story that is not there.
    fn story_page(&self, path: &str) -> Option<Result<String, String>> {
        let stories = self.matching.as_ref()?.stories();
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let now = Utc::now().timestamp();
        let id = path
            .strip_prefix("/stories")
            .unwrap_or("")
            .trim_matches('/');
        if id.is_empty() {
            let mut list = Vec::new();
            for s in stories {
                match store.alert_count(&s.id, crate::alerts::AlertKind::Followup) {
                    Ok(n) => list.push((s.id.clone(), n)),
                    Err(e) => return Some(Err(e.to_string())),
                }
            }
            return Some(Ok(crate::report::index(&list)));
        }
        let story = stories.iter().find(|s| s.id == id)?;
        Some(
            crate::report::gather(&store, story, now - STORY_PAGE_DAYS * 86_400, now)
                .map(|r| crate::report::render(&r))
                .map_err(|e| e.to_string()),
        )
    }

    fn gauges(&self) -> Gauges {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let (pending, oldest) = store
            .outbox_pending_age(Utc::now().timestamp())
            .unwrap_or((0, 0));
        Gauges {
            outbox_pending: pending,
            outbox_oldest_seconds: oldest as f64,
            feeds: self.feeds,
            feeds_paused: store.paused_feed_count().unwrap_or(0),
            sinks_paused: store.paused_sinks().map(|p| p.len() as u64).unwrap_or(0),
        }
    }
}

/// Serves until cancelled: one request per connection (HTTP/1.1 through
/// hyper, the request head at most 8 KiB, 10 s per connection).
pub async fn serve(listener: TcpListener, state: Arc<HealthState>, cancel: CancellationToken) {
    loop {
        let conn = tokio::select! {
            _ = cancel.cancelled() => return,
            c = listener.accept() => c,
        };
        match conn {
            Ok((stream, _)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(answer(&req, &state)) }
                    });
                    let conn = http1::Builder::new()
                        .keep_alive(false)
                        .max_buf_size(8192)
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(Duration::from_secs(10), conn).await;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "health listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn answer(req: &Request<Incoming>, state: &HealthState) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n".into());
    }
    match req.uri().path() {
        "/healthz" => match tokio::task::block_in_place(|| state.health()) {
            Ok(()) => respond(StatusCode::OK, TEXT, "ok\n".into()),
            Err(reason) => respond(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                format!("unhealthy: {reason}\n"),
            ),
        },
        p if p == "/stories" || p.starts_with("/stories/") => {
            match tokio::task::block_in_place(|| state.story_page(p)) {
                Some(Ok(page)) => respond(StatusCode::OK, HTML, page),
                Some(Err(e)) => respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    TEXT,
                    format!("cannot read the store: {e}\n"),
                ),
                None => respond(
                    StatusCode::NOT_FOUND,
                    TEXT,
                    "no such story: try /stories\n".into(),
                ),
            }
        }
        "/metrics" => {
            let g = tokio::task::block_in_place(|| state.gauges());
            respond(
                StatusCode::OK,
                metrics::CONTENT_TYPE,
                state.metrics.render(&g),
            )
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found: try /healthz, /metrics or /stories\n".into(),
        ),
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// Days of alerts a served story page shows.
const STORY_PAGE_DAYS: i64 = 30;

fn respond(status: StatusCode, kind: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_loop_is_unhealthy() {
        let state = HealthState {
            metrics: Arc::new(Metrics::default()),
            store: Arc::new(Mutex::new(Store::open_in_memory().unwrap())),
            last_tick: AtomicI64::new(Utc::now().timestamp()),
            tick_limit: Duration::from_secs(90),
            feeds: 1,
            matching: None,
        };
        assert_eq!(state.health(), Ok(()));
        state
            .last_tick
            .store(Utc::now().timestamp() - 600, Ordering::Relaxed);
        let err = state.health().unwrap_err();
        assert!(err.starts_with("scheduler loop last ran"), "{err}");
    }
}
