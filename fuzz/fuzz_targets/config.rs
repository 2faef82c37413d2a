//! The config loader: any text gives a config or a list of problems, never
//! a panic, and every problem names a line within the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use storywatch::config::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dir = std::path::Path::new("/nonexistent-storywatch-fuzz/storywatch.toml");
    match Config::from_toml(text, dir) {
        Ok(_) => {}
        Err(ConfigError::Invalid { problems, .. }) => {
            let lines = text.lines().count().max(1);
            for p in problems {
                assert!(
                    p.line >= 1 && p.line <= lines + 1,
                    "{p:?} outside a {lines}-line text"
                );
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
