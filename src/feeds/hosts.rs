//! Politeness: at most `concurrency` requests in flight overall and
//! `per_host` per host. Per-host state is created on first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub struct HostPool {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held for the duration of one request; dropping it frees both slots.
#[derive(Debug)]
pub struct HostPermit {
    _host: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl HostPool {
    pub fn new(concurrency: usize, per_host: usize) -> HostPool {
        HostPool {
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot on `host` and then a global one; in that order, so a
    /// queue for one busy host never holds global slots other hosts could use.
    pub async fn acquire(&self, host: &str) -> HostPermit {
        let sem = {
            let mut hosts = self.hosts.lock().expect("host pool lock poisoned");
            hosts
                .entry(host.to_ascii_lowercase())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        let host = sem
            .acquire_owned()
            .await
            .expect("host semaphore is never closed");
        let global = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("global semaphore is never closed");
        HostPermit {
            _host: host,
            _global: global,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn limits_hold_per_host_and_globally() {
        let pool = Arc::new(HostPool::new(3, 2));
        let (now_a, max_a, now_all, max_all) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let mut tasks = Vec::new();
        for i in 0..12 {
            let host = if i % 3 == 0 { "b.example" } else { "A.example" };
            let (pool, now_a, max_a, now_all, max_all) = (
                pool.clone(),
                now_a.clone(),
                max_a.clone(),
                now_all.clone(),
                max_all.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _p = pool.acquire(host).await;
                let all = now_all.fetch_add(1, Ordering::SeqCst) + 1;
                max_all.fetch_max(all, Ordering::SeqCst);
                if host == "A.example" {
                    let a = now_a.fetch_add(1, Ordering::SeqCst) + 1;
                    max_a.fetch_max(a, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                if host == "A.example" {
                    now_a.fetch_sub(1, Ordering::SeqCst);
                }
                now_all.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(max_a.load(Ordering::SeqCst) <= 2);
        assert!(max_all.load(Ordering::SeqCst) <= 3);
        assert!(max_all.load(Ordering::SeqCst) >= 2);
    }
}
