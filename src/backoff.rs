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

/// The interval after a success: the configured one, stretched to what the
/// feed asks for (`<ttl>`, `sy:updatePeriod`, `Cache-Control: max-age`),
/// within `[min, max]`.
pub fn polite_interval(
    configured: Duration,
    hint: Option<Duration>,
    min: Duration,
    max: Duration,
) -> Duration {
    let wanted = hint.map_or(configured, |h| configured.max(h));
    wanted.clamp(min, max.max(min))
}

/// The whole second at which a poll `delay` after `now` falls due, rounded
/// up: the schedule counts in seconds, and rounding down would poll before a
/// server's `Retry-After` has passed.
pub fn due_at(now: chrono::DateTime<chrono::Utc>, delay: Duration) -> i64 {
    let ms = now.timestamp_millis() + delay.as_millis().min(i64::MAX as u128 / 2) as i64;
    (ms + 999).div_euclid(1000).max(now.timestamp() + 1)
}

/// ±10%, so that feeds with one interval do not all fall due together.
pub fn jittered(d: Duration, seed: u64) -> Duration {
    d.mul_f64(0.9 + 0.2 * unit(seed))
}

/// A number in [0, 1) from a seed (SplitMix64): jitter needs spread, not secrecy.
pub fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_round_up_to_the_next_whole_second() {
        use chrono::TimeZone;
        let at = |ms: i64| chrono::Utc.timestamp_millis_opt(ms).unwrap();
        let s = Duration::from_secs;
        assert_eq!(due_at(at(10_990), s(3)), 14);
        assert_eq!(due_at(at(10_000), s(3)), 13);
        assert_eq!(due_at(at(10_000), Duration::ZERO), 11);
        assert_eq!(due_at(at(10_002), Duration::from_millis(2_999)), 14);
    }

    #[test]
    fn hints_stretch_the_interval_within_bounds() {
        let m = Duration::from_secs(60);
        let (min, max) = (m, 1440 * m);
        assert_eq!(polite_interval(15 * m, None, min, max), 15 * m);
        assert_eq!(polite_interval(15 * m, Some(60 * m), min, max), 60 * m);
        assert_eq!(polite_interval(15 * m, Some(5 * m), min, max), 15 * m);
        assert_eq!(polite_interval(15 * m, Some(100_000 * m), min, max), max);
        for seed in 0..100 {
            let j = jittered(100 * m, seed);
            assert!(j >= 90 * m && j <= 110 * m);
        }
        assert_ne!(jittered(100 * m, 1), jittered(100 * m, 2));
    }

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
