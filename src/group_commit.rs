//! Group commit for the polls' small writes.
//!
//! A warm cycle over many feeds is many tiny transactions (one feed row
//! each), and a store turn and a commit cost more than such a write. Polls
//! therefore queue these writes as jobs; whoever finds the queue empty starts
//! a flush, which, once it is the store's turn, runs every job queued by then
//! in one transaction, each under its own savepoint. Under load the queue
//! fills while the previous flush runs, so batches grow with the load and a
//! lone poll still commits at once.
//!
//! Each job's caller is answered only after the commit: a poll never reports
//! rows that are not on disk. A failing job rolls back to its savepoint and
//! alone gets the error; a failed commit fails every job of the batch.
//!
//! Writes of new items are not grouped: a few feeds' dirty index pages
//! overflow the page cache and spill to the WAL before the commit, which
//! measured slower than a transaction per feed.

use std::any::Any;
use std::sync::Mutex;

use tokio::sync::oneshot;

use crate::store::{Store, StoreError, StoreTx};

type Output = Box<dyn Any + Send>;
type Write = Box<dyn FnOnce(&StoreTx<'_>) -> Result<Output, StoreError> + Send>;

struct Job {
    write: Write,
    done: oneshot::Sender<Result<Output, StoreError>>,
}

/// The queue of writes waiting for the next shared transaction.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Vec<Job>>,
}

/// How a queued job ended.
pub enum Queued<T> {
    Done(Result<T, StoreError>),
    /// The flush never ran (the runtime is shutting down).
    Dropped,
}

impl GroupCommit {
    /// Queues `write`; returns whether the caller must start a flush (the
    /// queue was empty) and the receiver of the job's result.
    pub fn push<T: Send + 'static>(
        &self,
        write: impl FnOnce(&StoreTx<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> (bool, Pending<T>) {
        let (done, rx) = oneshot::channel();
        let job = Job {
            write: Box::new(move |tx| write(tx).map(|v| Box::new(v) as Output)),
            done,
        };
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.push(job);
        (
            queue.len() == 1,
            Pending {
                rx,
                _t: std::marker::PhantomData,
            },
        )
    }

    /// Runs every queued job in one transaction (committed when `commit`).
    pub fn flush(&self, store: &mut Store, commit: bool) {
        let jobs = std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()));
        if jobs.is_empty() {
            return;
        }
        tracing::debug!(jobs = jobs.len(), "group commit");
        let (writes, dones): (Vec<Write>, Vec<_>) =
            jobs.into_iter().map(|j| (j.write, j.done)).unzip();
        let mut results: Vec<Result<Output, StoreError>> = Vec::with_capacity(writes.len());
        let outcome = store.write(commit, |tx| {
            for write in writes {
                let result = tx.savepoint(write);
                if result.is_err() && tx.transaction_lost() {
                    // Some errors (a full disk, I/O) end the whole
                    // transaction in SQLite: nothing after this may run
                    // outside one.
                    return result.map(|_| ());
                }
                results.push(result);
            }
            Ok(())
        });
        match outcome {
            Ok(()) => {
                for (done, result) in dones.into_iter().zip(results) {
                    let _ = done.send(result.map_err(|e| store.named(e)));
                }
            }
            Err(e) => {
                let reason = e.to_string();
                for done in dones {
                    let _ = done.send(Err(StoreError::Shared(reason.clone())));
                }
            }
        }
    }
}

/// A queued job's result, available once its batch is committed.
pub struct Pending<T> {
    rx: oneshot::Receiver<Result<Output, StoreError>>,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: 'static> Pending<T> {
    pub async fn wait(self) -> Queued<T> {
        match self.rx.await {
            Ok(Ok(out)) => Queued::Done(Ok(*out
                .downcast::<T>()
                .expect("a job's output has the job's type"))),
            Ok(Err(e)) => Queued::Done(Err(e)),
            Err(_) => Queued::Dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FeedConfig, FullText};
    use std::time::Duration;

    fn feed(name: &str) -> FeedConfig {
        FeedConfig {
            name: name.into(),
            url: url::Url::parse(&format!("https://{name}.example/rss")).unwrap(),
            interval: Duration::from_secs(60),
            full_text: FullText::Off,
            allow_hosts: Vec::new(),
            title: None,
            category: None,
        }
    }

    #[tokio::test]
    async fn a_failing_job_is_undone_alone_and_each_caller_gets_its_own_result() {
        let mut store = Store::open_in_memory().unwrap();
        let group = GroupCommit::default();
        let (first, a) = group.push(|tx| tx.upsert_feed(&feed("a"), 1));
        let (second, b) = group.push(|tx| -> Result<(), StoreError> {
            tx.upsert_feed(&feed("b"), 1)?;
            Err(StoreError::Task("refused".into()))
        });
        let (_, c) = group.push(|tx| tx.upsert_feed(&feed("c"), 1).map(|id| format!("c={id}")));
        assert!(first && !second, "only the first to queue starts a flush");
        group.flush(&mut store, true);
        let Queued::Done(Ok(a)) = a.wait().await else {
            panic!("job a failed")
        };
        assert!(matches!(
            b.wait().await,
            Queued::Done(Err(StoreError::Task(_)))
        ));
        let Queued::Done(Ok(c)) = c.wait().await else {
            panic!("job c failed")
        };
        assert!(c.starts_with("c="), "{c}");
        assert_eq!(store.feed_state("a").unwrap().map(|s| s.id), Some(a));
        assert!(
            store.feed_state("b").unwrap().is_none(),
            "b's write was rolled back"
        );
        assert!(store.feed_state("c").unwrap().is_some());
        // The queue is empty again: the next job starts a flush of its own.
        let (first, _) = group.push(|_| Ok(()));
        assert!(first);
    }

    #[tokio::test]
    async fn without_commit_the_batch_is_rolled_back() {
        let mut store = Store::open_in_memory().unwrap();
        let group = GroupCommit::default();
        let (_, a) = group.push(|tx| tx.upsert_feed(&feed("a"), 1));
        group.flush(&mut store, false);
        assert!(matches!(a.wait().await, Queued::Done(Ok(_))));
        assert!(store.feed_state("a").unwrap().is_none());
    }

    #[tokio::test]
    async fn a_job_never_flushed_is_reported_dropped() {
        let group = GroupCommit::default();
        let (_, a) = group.push(|_| Ok(()));
        drop(group);
        assert!(matches!(a.wait().await, Queued::Dropped));
    }
}
