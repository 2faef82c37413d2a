//! Feed bytes → parsed feed → normalised items: never a panic, and every
//! item within the limits the store relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storywatch::feeds::{normalize::normalize_feed, parse::parse_feed};

/// The first byte picks the Content-Type the server sent with the body.
const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("application/rss+xml"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/feed+json"),
    Some("text/html; charset=utf-16"),
    Some("application/atom+xml; charset=shift_jis"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[pick as usize % CONTENT_TYPES.len()];
    let base = url::Url::parse("https://fuzz.example/feed.xml").unwrap();
    let now = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
    if let Ok(parsed) = parse_feed(body, content_type, &base) {
        for item in normalize_feed(&parsed.feed, &base, now) {
            assert!(!item.guid.is_empty(), "an item without a key: {item:?}");
            if let Some(published) = item.published {
                assert!(
                    published <= now + chrono::Duration::hours(24),
                    "published in the future: {item:?}"
                );
            }
        }
    }
});
