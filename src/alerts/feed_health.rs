//! Feeds must not die silently. A feed failing for `[poll] alert_after`
//! raises one `feed_health` alert ("down"), and its first success after that
//! one more ("recovered"); a feed failing `[poll] disable_after` times in a
//! row is paused (`storywatch feeds list` shows it, `feeds resume` ends it).

use crate::alerts::payload::{self, AlertPayload, FeedHealth, Matched};
use crate::alerts::AlertKind;
use crate::config::FeedConfig;
use crate::store::{FeedState, StoredAlert};

/// The story field of feed alerts: `feed:<name>`.
pub fn story_of(feed: &str) -> String {
    format!("feed:{feed}")
}

/// A `feed_health` alert of the database `instance`; its id is stable per
/// failure streak and state.
pub fn alert(
    instance: &str,
    feed: &FeedConfig,
    state: &str,
    failing_since: i64,
    errors: u32,
    last_error: Option<&str>,
    now: i64,
) -> StoredAlert {
    let story = story_of(&feed.name);
    let id = payload::alert_id(
        instance,
        &story,
        AlertKind::FeedHealth,
        &format!("{state}:{failing_since}"),
    );
    let p = AlertPayload {
        kind_of_payload: payload::ALERT_TYPE.to_string(),
        id: id.clone(),
        created_at: payload::rfc3339(now),
        story: story.clone(),
        kind: AlertKind::FeedHealth,
        score: None,
        item: None,
        matched: Matched::default(),
        snippets: vec![match state {
            "down" => format!(
                "Feed {} has failed since {} ({} attempts): {}",
                feed.name,
                payload::rfc3339(failing_since),
                errors,
                last_error.unwrap_or("unknown error")
            ),
            _ => format!(
                "Feed {} works again (it had failed since {}).",
                feed.name,
                payload::rfc3339(failing_since)
            ),
        }],
        components: None,
        cluster: None,
        feed: Some(FeedHealth {
            name: feed.name.clone(),
            url: crate::redact::url(&feed.url),
            state: state.into(),
            failing_since: payload::rfc3339(failing_since),
            consecutive_errors: errors,
            last_error: last_error.map(String::from),
        }),
        novelty: None,
    };
    StoredAlert {
        id,
        story,
        kind: AlertKind::FeedHealth,
        item_id: None,
        score: None,
        created_at: now,
        payload: serde_json::to_string(&p).unwrap_or_default(),
    }
}

/// After a failure: is a "down" alert due?
pub fn down_due(state: Option<&FeedState>, now: i64, alert_after_secs: i64) -> Option<i64> {
    let since = state.and_then(|s| s.failing_since).unwrap_or(now);
    let open = state.is_some_and(|s| s.health_alert.is_some());
    (!open && now - since >= alert_after_secs).then_some(since)
}

/// Silence that is news: a feed with a rhythm (at least 5 dated items)
/// whose newest item is older than ten of its usual gaps, and at least
/// [`MIN_SILENCE`]. `times` are the publication times of its latest items.
pub fn silent_since(times: &[i64], now: i64) -> Option<i64> {
    if times.len() < 5 {
        return None;
    }
    let mut t = times.to_vec();
    t.sort_unstable();
    let mut gaps: Vec<i64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    let last = *t.last()?;
    (now - last > (10 * median).max(MIN_SILENCE)).then_some(last)
}

/// Shortest silence reported, however busy the feed usually is.
pub const MIN_SILENCE: i64 = 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_measured_against_the_feeds_rhythm() {
        let h = 3600;
        let hourly: Vec<i64> = (0..20).map(|i| i * h).collect();
        let last = 19 * h;
        assert_eq!(silent_since(&hourly, last + 5 * h), None);
        assert_eq!(silent_since(&hourly, last + 25 * h), Some(last));
        let weekly: Vec<i64> = (0..10).map(|i| i * 7 * 24 * h).collect();
        let last = 9 * 7 * 24 * h;
        assert_eq!(silent_since(&weekly, last + 30 * 24 * h), None);
        assert_eq!(silent_since(&weekly, last + 71 * 24 * h), Some(last));
        assert_eq!(silent_since(&[1, 2, 3], 1_000_000), None);
    }
}
