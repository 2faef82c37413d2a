//! `[service] listen`: `GET /healthz` and `GET /metrics` over plain HTTP/1.1
//! on a local address. Two read-only endpoints do not need a web framework:
//! one small request per connection, bounded in size and time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::metrics::{Gauges, Metrics};
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
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store
            .write(false, |_| Ok(()))
            .map_err(|e| format!("store not writable: {e}"))
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

/// Serves until cancelled.
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
                    let _ =
                        tokio::time::timeout(Duration::from_secs(10), answer(stream, &state)).await;
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "health listener: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, state: &HealthState) -> std::io::Result<()> {
    // The request head only; anything longer than 8 KiB is not for us.
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        if len == buf.len() {
            return respond(&mut stream, 431, "text/plain", "request too large\n").await;
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(());
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", "only GET\n").await;
    }
    match path.split('?').next().unwrap_or("") {
        "/healthz" => {
            let h = tokio::task::block_in_place(|| state.health());
            match h {
                Ok(()) => respond(&mut stream, 200, "text/plain", "ok\n").await,
                Err(reason) => {
                    respond(
                        &mut stream,
                        503,
                        "text/plain",
                        &format!("unhealthy: {reason}\n"),
                    )
                    .await
                }
            }
        }
        "/metrics" => {
            let g = tokio::task::block_in_place(|| state.gauges());
            let body = state.metrics.render(&g);
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
            .await
        }
        _ => {
            respond(
                &mut stream,
                404,
                "text/plain",
                "not found: try /healthz or /metrics\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
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
        };
        assert_eq!(state.health(), Ok(()));
        state
            .last_tick
            .store(Utc::now().timestamp() - 600, Ordering::Relaxed);
        let err = state.health().unwrap_err();
        assert!(err.starts_with("scheduler loop last ran"), "{err}");
    }
}
