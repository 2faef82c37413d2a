//! URL canonicalisation: never a panic, always an http(s) URL that parses,
//! and idempotent (a stored canonical URL must compare equal to the
//! canonical form of itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use storywatch::canonical::canonicalize_str;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let base = url::Url::parse("https://fuzz.example/news/feed.xml").unwrap();
    for base in [None, Some(&base)] {
        let Some(canonical) = canonicalize_str(s, base) else {
            continue;
        };
        let again = canonicalize_str(&canonical, None)
            .unwrap_or_else(|| panic!("{canonical:?} (from {s:?}) does not canonicalise again"));
        assert_eq!(again, canonical, "not idempotent for {s:?}");
    }
});
