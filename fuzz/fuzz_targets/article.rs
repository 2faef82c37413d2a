//! Whole news pages → article: never a panic, text within its cap.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = url::Url::parse("https://fuzz.example/world/story").unwrap();
    let article = storywatch::article::extract(data, Some("text/html"), Some(&base));
    assert!(
        article.text.len() <= 256 * 1024 + 4,
        "text over the cap: {}",
        article.text.len()
    );
});
