//! `/metrics` in the OpenMetrics text format, through `prometheus-client`.
//! Counters are updated once per poll or delivery; the gauges (outbox
//! depth, paused feeds and sinks) are read from the store per scrape.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The Content-Type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the poll duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Item kinds and page outcomes are listed from the start, at zero, so that a
/// rate over them never begins with a missing series.
const ITEM_KINDS: [&str; 3] = ["new", "duplicate", "near_duplicate"];
const PAGE_OUTCOMES: [&str; 3] = ["text", "failed", "reused"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PollLabels {
    feed: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoryLabels {
    story: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    story: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    feed: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    task: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    sink: String,
    outcome: String,
}

/// Every series storywatch exports, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    polls: Family<PollLabels, Counter>,
    poll_duration: Histogram,
    items: Family<KindLabels, Counter>,
    pages: Family<OutcomeLabels, Counter>,
    matches: Family<StoryLabels, Counter>,
    alerts: Family<AlertLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_pending: Gauge,
    outbox_oldest: Gauge<f64, AtomicU64>,
    feeds: Gauge,
    feeds_paused: Gauge,
    sinks_paused: Gauge,
    task_failures: Family<TaskLabels, Counter>,
    entries_dropped: Family<FeedLabels, Counter>,
    polls_waiting: Gauge,
    /// The last failed task, for `/healthz`.
    pub failures: crate::supervise::Failures,
}

/// Values read from the store at scrape time.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gauges {
    pub outbox_pending: u64,
    pub outbox_oldest_seconds: f64,
    pub feeds: u64,
    pub feeds_paused: u64,
    pub sinks_paused: u64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            polls: Family::default(),
            poll_duration: Histogram::new(BUCKETS),
            items: Family::default(),
            pages: Family::default(),
            matches: Family::default(),
            alerts: Family::default(),
            deliveries: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest: Gauge::default(),
            feeds: Gauge::default(),
            feeds_paused: Gauge::default(),
            sinks_paused: Gauge::default(),
            task_failures: Family::default(),
            entries_dropped: Family::default(),
            polls_waiting: Gauge::default(),
            failures: Default::default(),
        };
        let mut r = Registry::with_prefix("storywatch");
        r.register("polls", "Feed polls by result", m.polls.clone());
        r.register(
            "poll_duration_seconds",
            "Time to fetch, parse, match and store one feed",
            m.poll_duration.clone(),
        );
        r.register(
            "items",
            "Items read, by kind: new, duplicate, near_duplicate",
            m.items.clone(),
        );
        r.register(
            "article_pages",
            "Article pages for full text, by outcome: text, failed, reused",
            m.pages.clone(),
        );
        r.register(
            "matches",
            "Items at or above a story's threshold",
            m.matches.clone(),
        );
        r.register(
            "alerts",
            "Alerts queued, by story and kind",
            m.alerts.clone(),
        );
        r.register(
            "deliveries",
            "Delivery attempts by sink and outcome (alerts per attempt)",
            m.deliveries.clone(),
        );
        r.register(
            "outbox_pending",
            "Deliveries waiting in the outbox",
            m.outbox_pending.clone(),
        );
        r.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest pending delivery",
            m.outbox_oldest.clone(),
        );
        r.register("feeds", "Configured feeds", m.feeds.clone());
        r.register(
            "feeds_paused",
            "Feeds paused after too many consecutive failures",
            m.feeds_paused.clone(),
        );
        r.register(
            "sinks_paused",
            "Sinks paused because the receiver is gone",
            m.sinks_paused.clone(),
        );
        r.register(
            "task_failures",
            "Poll tasks and delivery workers that panicked or ended early (restarted)",
            m.task_failures.clone(),
        );
        r.register(
            "polls_waiting",
            "Feeds due whose poll waits for one of [poll] concurrency slots",
            m.polls_waiting.clone(),
        );
        r.register(
            "entries_dropped",
            "Feed entries left unread past [poll] max_entries (the oldest)",
            m.entries_dropped.clone(),
        );
        for kind in ITEM_KINDS {
            m.items
                .get_or_create(&KindLabels { kind: kind.into() })
                .inc_by(0);
        }
        for outcome in PAGE_OUTCOMES {
            m.pages
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.into(),
                })
                .inc_by(0);
        }
        Metrics { registry: r, ..m }
    }
}

impl Metrics {
    /// One poll of a feed: `result` is fetched, not_modified or failed.
    pub fn poll(&self, feed: &str, result: &str, took: Duration) {
        self.polls
            .get_or_create(&PollLabels {
                feed: feed.into(),
                result: result.into(),
            })
            .inc();
        self.poll_duration.observe(took.as_secs_f64());
    }

    pub fn items(&self, kind: &str, n: usize) {
        if n > 0 {
            self.items
                .get_or_create(&KindLabels { kind: kind.into() })
                .inc_by(n as u64);
        }
    }

    /// Article pages for full text: `text` (used), `failed`, `reused`.
    pub fn pages(&self, outcome: &str, n: usize) {
        if n > 0 {
            self.pages
                .get_or_create(&OutcomeLabels {
                    outcome: outcome.into(),
                })
                .inc_by(n as u64);
        }
    }

    pub fn matched(&self, story: &str) {
        self.matches
            .get_or_create(&StoryLabels {
                story: story.into(),
            })
            .inc();
    }

    pub fn alert(&self, story: &str, kind: &str) {
        self.alerts
            .get_or_create(&AlertLabels {
                story: story.into(),
                kind: kind.into(),
            })
            .inc();
    }

    /// `outcome`: delivered, retry, failed or dead; `n` alerts in the request.
    pub fn delivery(&self, sink: &str, outcome: &str, n: usize) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                sink: sink.into(),
                outcome: outcome.into(),
            })
            .inc_by(n as u64);
    }

    /// A poll of `feed` read its newest entries and left `n` out; true the
    /// first time this process saw the feed over the cap (log it once).
    pub fn entries_dropped(&self, feed: &str, n: usize) -> bool {
        let c = self
            .entries_dropped
            .get_or_create(&FeedLabels { feed: feed.into() });
        c.inc_by(n as u64) == 0
    }

    /// Set by the scheduler at each turn.
    pub fn set_polls_waiting(&self, n: usize) {
        self.polls_waiting.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// A supervised task failed (see `supervise`): logged, counted, and
    /// remembered for `/healthz`.
    pub fn task_failed(&self, task: &str, why: &str) {
        tracing::error!(
            task,
            why,
            "task failed; the work goes on without it until it restarts"
        );
        self.task_failures
            .get_or_create(&TaskLabels { task: task.into() })
            .inc();
        self.failures.record(task, why);
    }

    /// Every series, with the gauges set to what the store says now.
    pub fn render(&self, g: &Gauges) -> String {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.outbox_pending.set(count(g.outbox_pending));
        self.outbox_oldest.set(g.outbox_oldest_seconds);
        self.feeds.set(count(g.feeds));
        self.feeds_paused.set(count(g.feeds_paused));
        self.sinks_paused.set(count(g.sinks_paused));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::default();
        m.poll("a\"b", "fetched", Duration::from_millis(300));
        m.poll("a\"b", "fetched", Duration::from_secs(2));
        m.items("new", 3);
        m.alert("talks", "followup");
        m.delivery("hook", "delivered", 1);
        let text = m.render(&Gauges {
            outbox_pending: 2,
            ..Default::default()
        });
        assert!(
            text.contains("storywatch_polls_total{feed=\"a\\\"b\",result=\"fetched\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("storywatch_poll_duration_seconds_bucket{le=\"0.25\"} 0\n"));
        assert!(text.contains("storywatch_poll_duration_seconds_bucket{le=\"0.5\"} 1\n"));
        assert!(text.contains("storywatch_poll_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("storywatch_poll_duration_seconds_count 2\n"));
        assert!(text.contains("storywatch_items_total{kind=\"new\"} 3\n"));
        assert!(text.contains("storywatch_items_total{kind=\"duplicate\"} 0\n"));
        assert!(text.contains("storywatch_alerts_total{story=\"talks\",kind=\"followup\"} 1\n"));
        assert!(
            text.contains("storywatch_deliveries_total{sink=\"hook\",outcome=\"delivered\"} 1\n")
        );
        assert!(
            text.contains("# TYPE storywatch_outbox_pending gauge\nstorywatch_outbox_pending 2\n")
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
