//! How often a feed says it changes: RSS `<ttl>` (minutes) and the
//! syndication module's `sy:updatePeriod` / `sy:updateFrequency`. Polling
//! faster than a feed asks is impolite; the scheduler stretches the
//! configured interval to the hint (within `[poll] max_interval`).

use std::time::Duration;

/// Only the head of a document carries channel-level elements.
const SCAN: usize = 64 * 1024;

/// The longest update period the document asks for, if any.
pub fn update_hint(bytes: &[u8], ttl_minutes: Option<u32>) -> Option<Duration> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(SCAN)]);
    let ttl = ttl_minutes
        .filter(|m| *m > 0)
        .map(|m| Duration::from_secs(m as u64 * 60));
    let period = element(&head, "updatePeriod").and_then(|p| match p.trim() {
        "hourly" => Some(3600u64),
        "daily" => Some(86_400),
        "weekly" => Some(7 * 86_400),
        "monthly" => Some(30 * 86_400),
        "yearly" => Some(365 * 86_400),
        _ => None,
    });
    let sy = period.map(|p| {
        let freq = element(&head, "updateFrequency")
            .and_then(|f| f.trim().parse::<u64>().ok())
            .filter(|f| *f > 0)
            .unwrap_or(1);
        Duration::from_secs(p / freq)
    });
    match (ttl, sy) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The RSS `<ttl>` (minutes) in the head of a document that is not parsed
/// (its body is the same as last time).
pub fn raw_ttl(bytes: &[u8]) -> Option<u32> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(SCAN)]);
    let open = head.find("<ttl>")? + "<ttl>".len();
    let rest = &head[open..];
    rest[..rest.find('<')?].trim().parse().ok()
}

/// The text of the first `<prefix:name>…</…>` element, whatever the prefix.
fn element<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let open = doc.find(&format!(":{name}>"))? + name.len() + 2;
    let rest = &doc[open..];
    Some(&rest[..rest.find('<')?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_and_sy_hints() {
        assert_eq!(update_hint(b"<rss/>", None), None);
        assert_eq!(
            update_hint(b"<rss/>", Some(60)),
            Some(Duration::from_secs(3600))
        );
        let sy = b"<rss xmlns:sy=\"http://purl.org/rss/1.0/modules/syndication/\"><channel>\
                   <sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>";
        assert_eq!(update_hint(sy, None), Some(Duration::from_secs(21_600)));
        assert_eq!(
            update_hint(sy, Some(600)),
            Some(Duration::from_secs(36_000))
        );
        assert_eq!(
            update_hint(b"<x:updatePeriod>often</x:updatePeriod>", None),
            None
        );
    }
}
