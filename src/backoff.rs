//! When a feed is next due. Pure functions of their inputs, so the schedule
//! can be tested without a clock.

use std::time::Duration;

/// Failures back off exponentially from the feed's interval up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// The delay before the next poll: the interval after a success; after
/// `errors` consecutive failures, the interval doubled per failure (capped),
/// but never sooner than a `Retry-After` the server sent.
pub fn next_delay(interval: Duration, errors: u32, retry_after: Option<Duration>) -> Duration {
    let base = if errors == 0 {
        interval
    } else {
        let factor = 1u32 << errors.saturating_sub(1).min(16);
        interval
            .saturating_mul(factor)
            .min(MAX_BACKOFF.max(interval))
    };
    match retry_after {
        Some(ra) => base.max(ra),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_per_failure_and_caps() {
        let i = Duration::from_secs(600);
        assert_eq!(next_delay(i, 0, None), i);
        assert_eq!(next_delay(i, 1, None), i);
        assert_eq!(next_delay(i, 2, None), 2 * i);
        assert_eq!(next_delay(i, 4, None), 8 * i);
        assert_eq!(next_delay(i, 40, None), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let i = Duration::from_secs(60);
        assert_eq!(
            next_delay(i, 1, Some(Duration::from_secs(3600))),
            Duration::from_secs(3600)
        );
        assert_eq!(next_delay(i, 1, Some(Duration::from_secs(5))), i);
    }
}
