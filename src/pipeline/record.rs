//! What a poll writes into its feed's row: the next poll's time after a
//! success or a failure, pausing, and the `feed_health` alerts.

use chrono::{DateTime, Utc};

use super::{FeedError, MatchContext, Pipeline};
use crate::alerts::{feed_health, payload, raise};
use crate::backoff;
use crate::config::FeedConfig;
use crate::feeds::fetch::Validators;
use crate::store::{PollRecord, PollStatus, StoreError, StoreTx};

impl Pipeline {
    /// A poll of `feed` that ended in a panic counts as a failed poll.
    pub async fn record_crash(&self, feed: &FeedConfig, why: &str) -> Result<(), FeedError> {
        self.record_failure(feed, format!("internal error: {why}"), None, None)
            .await
    }

    pub(super) async fn record_failure(
        &self,
        feed: &FeedConfig,
        reason: String,
        http_status: Option<u16>,
        retry_after: Option<std::time::Duration>,
    ) -> Result<(), FeedError> {
        let feed = feed.clone();
        let commit = self.commit;
        let poll = self.poll.clone();
        let ctx = self.matching.clone();
        self.blocking(move |store| {
            let state = store.feed_state(&feed.name)?;
            let errors = state.as_ref().map(|s| s.consecutive_errors).unwrap_or(0);
            let at = Utc::now();
            let now = at.timestamp();
            // A 429 is the site asking us to slow down, not a broken feed.
            let throttled = http_status == Some(429);
            let (status, delay) = if throttled {
                (
                    PollStatus::Throttled,
                    backoff::next_delay(feed.interval, 2, retry_after),
                )
            } else {
                (
                    PollStatus::Failed,
                    backoff::next_delay(feed.interval, errors + 1, retry_after),
                )
            };
            // Jitter spreads the schedule but never undercuts `Retry-After`.
            let delay = backoff::jittered(delay, now as u64 ^ crate::neardup::fnv1a(feed.name.as_bytes()))
                .max(retry_after.unwrap_or_default());
            let rec = PollRecord {
                status,
                http_status,
                error: Some(reason.clone()),
                etag: None,
                last_modified: None,
                body_hash: None,
                polled_at: now,
                next_poll_at: backoff::due_at(at, delay),
            };
            store.write(commit, |tx| {
                let id = tx.upsert_feed(&feed, now)?;
                tx.record_poll(id, &rec)?;
                if throttled {
                    return Ok(());
                }
                if errors + 1 >= poll.disable_after {
                    tx.pause_feed(id, now)?;
                    tracing::error!(feed = %feed.name, errors = errors + 1, "FEED PAUSED after consecutive failures: `storywatch feeds resume {}` once it is fixed", feed.name);
                }
                if let Some(since) =
                    feed_health::down_due(state.as_ref(), now, poll.alert_after.as_secs() as i64)
                {
                    let alert = feed_health::alert(tx.instance(), &feed, "down", since, errors + 1, Some(&reason), now);
                    raise::queue_alert(tx, &ctx.sinks, &alert, now)?;
                    tx.set_health_alert(id, Some(&alert.id))?;
                    tracing::warn!(feed = %feed.name, "feed has failed for too long: feed_health alert");
                }
                Ok(())
            })
        })
        .await
    }

    /// The feed's row after a success: the interval stretched to the feed's
    /// hint within the bounds, with jitter.
    pub(super) fn success_record(
        &self,
        feed: &FeedConfig,
        status: PollStatus,
        http_status: u16,
        validators: Option<Validators>,
        hint: Option<std::time::Duration>,
        now: DateTime<Utc>,
    ) -> PollRecord {
        let validators = validators.unwrap_or_default();
        let interval = backoff::polite_interval(
            feed.interval,
            hint,
            self.poll.min_interval,
            self.poll.max_interval,
        );
        let delay = backoff::jittered(
            interval,
            now.timestamp() as u64 ^ crate::neardup::fnv1a(feed.name.as_bytes()),
        );
        PollRecord {
            status,
            http_status: Some(http_status),
            error: None,
            etag: validators.etag,
            last_modified: validators.last_modified,
            body_hash: None,
            polled_at: now.timestamp(),
            next_poll_at: backoff::due_at(now, delay),
        }
    }

    /// Feeds that have gone quiet for far longer than their rhythm raise one
    /// `feed_health` alert ("silent"); their next new item says "recovered".
    pub async fn check_silent_feeds(&self, feeds: &[FeedConfig]) -> Result<usize, FeedError> {
        let feeds = feeds.to_vec();
        let (ctx, commit) = (self.matching.clone(), self.commit);
        self.blocking(move |store| {
            let now = Utc::now().timestamp();
            let mut raised = 0;
            for feed in &feeds {
                let Some(state) = store.feed_state(&feed.name)? else {
                    continue;
                };
                if state.paused_at.is_some() || state.health_alert.is_some() {
                    continue;
                }
                let times = store.recent_item_times(&feed.name, 21)?;
                let Some(last) = feed_health::silent_since(&times, now) else {
                    continue;
                };
                let alert = feed_health::alert(store.instance(), feed, "silent", last, 0, None, now);
                store.write(commit, |tx| {
                    raise::queue_alert(tx, &ctx.sinks, &alert, now)?;
                    tx.set_health_alert(state.id, Some(&format!("silent|{}", alert.id)))
                })?;
                tracing::warn!(feed = %feed.name, since = %payload::rfc3339(last), "feed has gone silent: feed_health alert");
                raised += 1;
            }
            Ok(raised)
        })
        .await
    }
}

/// A success after a `feed_health` "down" alert: say it recovered.
pub(super) fn recovered(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    feed: &FeedConfig,
    feed_id: i64,
    state: Option<&crate::store::FeedState>,
    has_new_items: bool,
    now: i64,
) -> Result<(), StoreError> {
    let Some(s) = state.filter(|s| s.health_alert.is_some()) else {
        return Ok(());
    };
    // A silent feed recovers when it publishes, not when it answers.
    let silent = s
        .health_alert
        .as_deref()
        .is_some_and(|a| a.starts_with("silent|"));
    if silent && !has_new_items {
        return Ok(());
    }
    let since = s.failing_since.unwrap_or(now);
    let alert = feed_health::alert(
        tx.instance(),
        feed,
        "recovered",
        since,
        s.consecutive_errors,
        None,
        now,
    );
    raise::queue_alert(tx, &ctx.sinks, &alert, now)?;
    tx.set_health_alert(feed_id, None)?;
    tracing::info!(feed = %feed.name, "feed recovered");
    Ok(())
}
