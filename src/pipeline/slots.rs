//! How much of a poll runs at once. One pipeline owns one of these, so two
//! pipelines (a reload's old and new generation, two tests) never share a
//! queue.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::FeedError;
use crate::store::{Store, StoreError};

#[derive(Debug)]
pub struct Slots {
    /// One turn at the store at a time. Feeds queue here, not on blocking
    /// threads: each thread parked on the store's mutex held its feed's
    /// items and grew its own malloc arena.
    store: Semaphore,
    /// CPU work (parsing, HTML to text, drafts): one task per core. More
    /// feeds in flight than cores only held more parsed feeds in memory at
    /// once, and finished none sooner.
    cpu: Semaphore,
    /// Feeds parsed and not yet written: one per core, plus one being
    /// written. The single store writer sets the pace of a cold poll; feeds
    /// parsed further ahead of it finished no sooner and held their items
    /// and drafts in memory meanwhile.
    backlog: Semaphore,
}

impl Default for Slots {
    fn default() -> Slots {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Slots {
            store: Semaphore::new(1),
            cpu: Semaphore::new(cores),
            backlog: Semaphore::new(cores + 1),
        }
    }
}

fn task_error(e: impl std::fmt::Display) -> FeedError {
    FeedError::Task(e.to_string())
}

impl Slots {
    /// Runs `f` on the store, on the blocking pool, once it is this caller's turn.
    pub fn store_turn<T: Send + 'static>(
        self: &Arc<Self>,
        store: Arc<Mutex<Store>>,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> impl Future<Output = Result<T, FeedError>> + Send + 'static {
        let slots = self.clone();
        async move {
            let _turn = slots.store.acquire().await.map_err(task_error)?;
            tokio::task::spawn_blocking(move || {
                let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(task_error)?
            .map_err(FeedError::from)
        }
    }

    /// Runs CPU-bound work on the blocking pool within the per-core limit.
    pub async fn on_cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, FeedError> {
        let _permit = self.cpu.acquire().await.map_err(task_error)?;
        tokio::task::spawn_blocking(f).await.map_err(task_error)
    }

    /// A place among the feeds parsed and not yet written.
    pub async fn backlog(&self) -> Result<SemaphorePermit<'_>, FeedError> {
        self.backlog.acquire().await.map_err(task_error)
    }
}
