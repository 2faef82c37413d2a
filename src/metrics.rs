//! Counters for `/metrics`, in the Prometheus text format. A handful of
//! series, updated once per poll or delivery, so one mutex is plenty; the
//! gauges (outbox depth, paused feeds) are read from the store per scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the poll duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Default)]
struct Inner {
    polls: BTreeMap<(String, String), u64>,
    poll_buckets: [u64; BUCKETS.len()],
    poll_count: u64,
    poll_sum: f64,
    items: BTreeMap<String, u64>,
    pages: BTreeMap<String, u64>,
    matches: BTreeMap<String, u64>,
    alerts: BTreeMap<(String, String), u64>,
    deliveries: BTreeMap<(String, String), u64>,
}

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
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

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One poll of a feed: `result` is fetched, not_modified or failed.
    pub fn poll(&self, feed: &str, result: &str, took: Duration) {
        self.with(|m| {
            *m.polls.entry((feed.into(), result.into())).or_default() += 1;
            let s = took.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if s <= *b {
                    m.poll_buckets[i] += 1;
                }
            }
            m.poll_count += 1;
            m.poll_sum += s;
        })
    }

    pub fn items(&self, kind: &str, n: usize) {
        if n > 0 {
            self.with(|m| *m.items.entry(kind.into()).or_default() += n as u64)
        }
    }

    /// Article pages for full text: `text` (used), `failed`, `reused`.
    pub fn pages(&self, outcome: &str, n: usize) {
        if n > 0 {
            self.with(|m| *m.pages.entry(outcome.into()).or_default() += n as u64)
        }
    }

    pub fn matched(&self, story: &str) {
        self.with(|m| *m.matches.entry(story.into()).or_default() += 1)
    }

    pub fn alert(&self, story: &str, kind: &str) {
        self.with(|m| *m.alerts.entry((story.into(), kind.into())).or_default() += 1)
    }

    /// `outcome`: delivered, retry, failed or dead; `n` alerts in the request.
    pub fn delivery(&self, sink: &str, outcome: &str, n: usize) {
        self.with(|m| {
            *m.deliveries
                .entry((sink.into(), outcome.into()))
                .or_default() += n as u64
        })
    }

    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        self.with(|m| {
            family(
                &mut out,
                "storywatch_polls_total",
                "counter",
                "Feed polls by result.",
            );
            for ((feed, result), n) in &m.polls {
                sample(
                    &mut out,
                    "storywatch_polls_total",
                    &[("feed", feed), ("result", result)],
                    *n as f64,
                );
            }
            family(
                &mut out,
                "storywatch_poll_duration_seconds",
                "histogram",
                "Time to fetch, parse, match and store one feed.",
            );
            for (i, b) in BUCKETS.iter().enumerate() {
                sample(
                    &mut out,
                    "storywatch_poll_duration_seconds_bucket",
                    &[("le", &format!("{b}"))],
                    m.poll_buckets[i] as f64,
                );
            }
            sample(
                &mut out,
                "storywatch_poll_duration_seconds_bucket",
                &[("le", "+Inf")],
                m.poll_count as f64,
            );
            sample(
                &mut out,
                "storywatch_poll_duration_seconds_sum",
                &[],
                m.poll_sum,
            );
            sample(
                &mut out,
                "storywatch_poll_duration_seconds_count",
                &[],
                m.poll_count as f64,
            );
            family(
                &mut out,
                "storywatch_items_total",
                "counter",
                "Items read, by kind: new, duplicate, near_duplicate.",
            );
            for kind in ["new", "duplicate", "near_duplicate"] {
                let n = m.items.get(kind).copied().unwrap_or(0);
                sample(
                    &mut out,
                    "storywatch_items_total",
                    &[("kind", kind)],
                    n as f64,
                );
            }
            family(
                &mut out,
                "storywatch_article_pages_total",
                "counter",
                "Article pages for full text, by outcome: text, failed, reused.",
            );
            for outcome in ["text", "failed", "reused"] {
                let n = m.pages.get(outcome).copied().unwrap_or(0);
                sample(
                    &mut out,
                    "storywatch_article_pages_total",
                    &[("outcome", outcome)],
                    n as f64,
                );
            }
            family(
                &mut out,
                "storywatch_matches_total",
                "counter",
                "Items at or above a story's threshold.",
            );
            for (story, n) in &m.matches {
                sample(
                    &mut out,
                    "storywatch_matches_total",
                    &[("story", story)],
                    *n as f64,
                );
            }
            family(
                &mut out,
                "storywatch_alerts_total",
                "counter",
                "Alerts queued, by story and kind.",
            );
            for ((story, kind), n) in &m.alerts {
                sample(
                    &mut out,
                    "storywatch_alerts_total",
                    &[("story", story), ("kind", kind)],
                    *n as f64,
                );
            }
            family(
                &mut out,
                "storywatch_deliveries_total",
                "counter",
                "Delivery attempts by sink and outcome (alerts per attempt).",
            );
            for ((sink, outcome), n) in &m.deliveries {
                sample(
                    &mut out,
                    "storywatch_deliveries_total",
                    &[("sink", sink), ("outcome", outcome)],
                    *n as f64,
                );
            }
        });
        family(
            &mut out,
            "storywatch_outbox_pending",
            "gauge",
            "Deliveries waiting in the outbox.",
        );
        sample(
            &mut out,
            "storywatch_outbox_pending",
            &[],
            g.outbox_pending as f64,
        );
        family(
            &mut out,
            "storywatch_outbox_oldest_age_seconds",
            "gauge",
            "Age of the oldest pending delivery.",
        );
        sample(
            &mut out,
            "storywatch_outbox_oldest_age_seconds",
            &[],
            g.outbox_oldest_seconds,
        );
        family(&mut out, "storywatch_feeds", "gauge", "Configured feeds.");
        sample(&mut out, "storywatch_feeds", &[], g.feeds as f64);
        family(
            &mut out,
            "storywatch_feeds_paused",
            "gauge",
            "Feeds paused after too many consecutive failures.",
        );
        sample(
            &mut out,
            "storywatch_feeds_paused",
            &[],
            g.feeds_paused as f64,
        );
        family(
            &mut out,
            "storywatch_sinks_paused",
            "gauge",
            "Sinks paused because the receiver is gone.",
        );
        sample(
            &mut out,
            "storywatch_sinks_paused",
            &[],
            g.sinks_paused as f64,
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = write!(out, "{k}=\"{v}\"");
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
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
    }
}
