//! HTML fragments from feeds → text: never a panic, no markup-level
//! control characters, and text without markup passes through unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storywatch::extract::html_to_text;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let text = html_to_text(&html);
    assert!(!text.contains('\0'), "NUL in text from {html:?}");
    assert!(
        !text.starts_with(char::is_whitespace) && !text.ends_with(char::is_whitespace),
        "untrimmed: {text:?}"
    );
    assert!(
        !text.contains("\n\n\n"),
        "more than one blank line: {text:?}"
    );
});
