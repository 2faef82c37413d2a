//! Which sinks take an alert: the sink's story, kind and score filters, and
//! for digest sinks, when its period ends.

use crate::config::SinkConfig;
use crate::store::StoredAlert;

/// True when the sink asks for this alert.
pub fn takes(sink: &SinkConfig, alert: &StoredAlert) -> bool {
    (sink.stories.is_empty() || sink.stories.contains(&alert.story))
        && (sink.kinds.is_empty() || sink.kinds.contains(&alert.kind))
        && match (sink.min_score, alert.score) {
            (Some(min), Some(score)) => score >= min,
            _ => true,
        }
}

/// When the first attempt is due: now, or the end of the digest period the
/// alert falls in (periods are aligned to the Unix epoch, so a daily digest
/// goes out at midnight UTC).
pub fn first_due(sink: &SinkConfig, now: i64) -> i64 {
    match sink.digest {
        Some(p) if p.as_secs() > 0 => {
            let p = p.as_secs() as i64;
            (now / p + 1) * p
        }
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::AlertKind;
    use crate::config::SinkKind;
    use std::time::Duration;

    fn sink() -> SinkConfig {
        SinkConfig {
            name: "s".into(),
            kind: SinkKind::Stdout,
            url: None,
            secret: None,
            stories: vec!["talks".into()],
            kinds: vec![AlertKind::Followup],
            min_score: Some(0.6),
            digest: None,
            rate: Duration::ZERO,
            email: None,
        }
    }

    fn alert(story: &str, kind: AlertKind, score: Option<f64>) -> StoredAlert {
        StoredAlert {
            id: "a".into(),
            story: story.into(),
            kind,
            item_id: None,
            score,
            created_at: 0,
            payload: String::new(),
        }
    }

    #[test]
    fn filters_by_story_kind_and_score() {
        let s = sink();
        assert!(takes(&s, &alert("talks", AlertKind::Followup, Some(0.7))));
        assert!(!takes(&s, &alert("other", AlertKind::Followup, Some(0.7))));
        assert!(!takes(&s, &alert("talks", AlertKind::Update, Some(0.7))));
        assert!(!takes(&s, &alert("talks", AlertKind::Followup, Some(0.5))));
        let all = SinkConfig {
            stories: vec![],
            kinds: vec![],
            min_score: None,
            ..sink()
        };
        assert!(takes(&all, &alert("x", AlertKind::NewEntity, None)));
    }

    #[test]
    fn digests_wait_for_the_end_of_their_period() {
        let mut s = sink();
        assert_eq!(first_due(&s, 1000), 1000);
        s.digest = Some(Duration::from_secs(3600));
        assert_eq!(first_due(&s, 3600 * 5 + 10), 3600 * 6);
    }
}
