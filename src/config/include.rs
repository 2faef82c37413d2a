//! `include = ["feeds.d/*.toml"]`: more `[[feed]]` tables from other files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::raw::RawInclude;
use super::validate::validated;
use super::{ConfigError, FeedConfig};

/// The files an include pattern names, sorted: one `*` in the file name
/// matches any run of characters; a pattern without one names one file.
pub(super) fn expand(pattern: &str) -> std::io::Result<Vec<PathBuf>> {
    let p = Path::new(pattern);
    let file = p
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((prefix, suffix)) = file.split_once('*') else {
        return Ok(vec![p.to_path_buf()]);
    };
    let dir = p.parent().unwrap_or(Path::new("."));
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
                && !name.starts_with('.')
                && f.is_file()
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Validates an included file (feeds only); names stay unique across files.
pub(super) fn included_feeds(
    text: &str,
    path: &Path,
    default_interval: Duration,
    names: &mut HashSet<String>,
) -> Result<Vec<FeedConfig>, ConfigError> {
    validated(text, path, |v, raw: RawInclude, base_dir| {
        v.feeds(raw.feeds, base_dir, default_interval, names)
    })
}
