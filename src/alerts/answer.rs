//! What a receiver's answer means for an alert: delivered, worth another
//! try (and when), or refused for good; and the id a digest is sent under.

use std::time::Duration;

use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};

use crate::config::SinkKind;

/// Longest wait a receiver's `Retry-After` can impose on us.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// What one request came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Worth trying again (network, 5xx, 408, 429), not before `after` if given.
    Retry {
        after: Option<Duration>,
    },
    /// Refused for good; `pause` when the receiver is gone altogether.
    Failed {
        pause: bool,
    },
}

/// Classifies a receiver's answer. Chat services say "gone" their own way:
/// Slack's `channel_is_archived`, Discord's 404 for a deleted webhook.
pub fn classify(kind: SinkKind, status: u16, headers: &HeaderMap, body: &str) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        408 => Outcome::Retry { after: None },
        429 => Outcome::Retry {
            after: retry_after(headers, body),
        },
        410 => Outcome::Failed { pause: true },
        404 if kind == SinkKind::Discord => Outcome::Failed { pause: true },
        400..=499 => Outcome::Failed {
            pause: kind == SinkKind::Slack
                && ["channel_is_archived", "channel_not_found", "no_service"]
                    .iter()
                    .any(|e| body.contains(e)),
        },
        _ => Outcome::Retry {
            after: retry_after(headers, body),
        },
    }
}

/// `Retry-After` (read as feed polling reads it), else Discord's JSON
/// `retry_after` (float seconds); nonsense is ignored, long waits capped.
pub fn retry_after(headers: &HeaderMap, body: &str) -> Option<Duration> {
    let from_body = || {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let secs = match &v["retry_after"] {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
    };
    crate::feeds::fetch::retry_after(headers)
        .or_else(from_body)
        .map(|d| d.min(MAX_RETRY_AFTER))
}

/// The wait after the `attempt`-th failure (1-based): the schedule's step,
/// ±20% jitter so that many alerts do not retry in lockstep, never less
/// than the receiver asked for.
pub fn next_wait(
    schedule: &[Duration],
    attempt: u32,
    asked: Option<Duration>,
    seed: u64,
) -> Duration {
    let step = schedule
        .get((attempt.max(1) - 1) as usize)
        .or(schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(60));
    let jitter = 0.8 + 0.4 * crate::backoff::unit(seed);
    let wait = step.mul_f64(jitter);
    asked.map_or(wait, |a| wait.max(a))
}

/// A digest's id: stable for one set of alerts, so its retries share it.
pub fn digest_id(alert_ids: &[&str]) -> String {
    let mut ids = alert_ids.to_vec();
    ids.sort_unstable();
    let mut h = Sha256::new();
    for id in ids {
        h.update(id.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("swd_{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};
    use url::Url;

    #[test]
    fn answers_are_classified() {
        let h = HeaderMap::new();
        assert_eq!(classify(SinkKind::Webhook, 204, &h, ""), Outcome::Delivered);
        assert_eq!(
            classify(SinkKind::Webhook, 500, &h, ""),
            Outcome::Retry { after: None }
        );
        assert_eq!(
            classify(SinkKind::Webhook, 408, &h, ""),
            Outcome::Retry { after: None }
        );
        assert_eq!(
            classify(SinkKind::Webhook, 400, &h, ""),
            Outcome::Failed { pause: false }
        );
        assert_eq!(
            classify(SinkKind::Webhook, 410, &h, ""),
            Outcome::Failed { pause: true }
        );
        assert_eq!(
            classify(SinkKind::Webhook, 404, &h, ""),
            Outcome::Failed { pause: false }
        );
        assert_eq!(
            classify(SinkKind::Discord, 404, &h, ""),
            Outcome::Failed { pause: true }
        );
        assert_eq!(
            classify(SinkKind::Slack, 410, &h, "channel_is_archived"),
            Outcome::Failed { pause: true }
        );
        assert_eq!(
            classify(SinkKind::Slack, 403, &h, "channel_is_archived"),
            Outcome::Failed { pause: true }
        );
        assert_eq!(
            classify(SinkKind::Slack, 400, &h, "invalid_payload"),
            Outcome::Failed { pause: false }
        );
    }

    #[test]
    fn retry_after_is_read_defensively() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h, ""), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h, ""), Some(MAX_RETRY_AFTER));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, ""), None);
        let none = HeaderMap::new();
        assert_eq!(
            retry_after(&none, r#"{"retry_after": 1.5, "global": false}"#),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&none, r#"{"retry_after": "0.25"}"#),
            Some(Duration::from_millis(250))
        );
        assert_eq!(retry_after(&none, r#"{"retry_after": -3}"#), None);
        assert_eq!(retry_after(&none, r#"{"retry_after": null}"#), None);
        assert_eq!(retry_after(&none, "not json"), None);
    }

    #[test]
    fn waits_follow_the_schedule_with_jitter_and_floor() {
        let s = [Duration::from_secs(5), Duration::from_secs(300)];
        for seed in 0..200 {
            let w = next_wait(&s, 1, None, seed);
            assert!(
                w >= Duration::from_secs(4) && w <= Duration::from_secs(6),
                "{w:?}"
            );
            let w = next_wait(&s, 7, None, seed);
            assert!(
                w >= Duration::from_secs(240) && w <= Duration::from_secs(360),
                "{w:?}"
            );
        }
        assert_eq!(
            next_wait(&s, 1, Some(Duration::from_secs(30)), 1),
            Duration::from_secs(30)
        );
        // Jitter spreads retries.
        let distinct: std::collections::HashSet<Duration> =
            (0..50).map(|i| next_wait(&s, 1, None, i)).collect();
        assert!(distinct.len() > 40);
    }

    #[test]
    fn urls_are_redacted_and_digest_ids_stable() {
        let u = Url::parse("https://hooks.slack.com/services/T000/B000/XXXX?x=1").unwrap();
        assert_eq!(
            crate::redact::url(&u),
            "https://hooks.slack.com/services/***"
        );
        assert_eq!(digest_id(&["b", "a"]), digest_id(&["a", "b"]));
        assert_ne!(digest_id(&["a"]), digest_id(&["a", "b"]));
    }
}
