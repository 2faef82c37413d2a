//! Value formats the config shares with the command line: feed URLs and sizes.

use std::path::Path;

use url::Url;

/// Accepts `http(s)://…`, `file:///abs/path`, `file://relative/path` or
/// `file:relative/path`; relative file paths resolve against `base_dir`.
pub fn parse_feed_url(s: &str, base_dir: &Path) -> Result<Url, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("file:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        if rest.is_empty() {
            return Err("file URL has no path".into());
        }
        let p = Path::new(rest);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            let joined = base_dir.join(p);
            if joined.is_absolute() {
                joined
            } else {
                std::env::current_dir()
                    .map_err(|e| format!("cannot resolve relative file path: {e}"))?
                    .join(joined)
            }
        };
        return Url::from_file_path(&abs)
            .map_err(|_| format!("invalid file path {}", abs.display()));
    }
    let url = Url::parse(s).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("URL {s:?} has no host")),
        other => Err(format!(
            "unsupported URL scheme {other:?} in {s:?}: use http://, https:// or file://"
        )),
    }
}

/// Parses sizes such as `10MiB`, `512 KiB`, `1MB` or a bare byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}; write e.g. \"10MiB\""))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?}; use B, KiB, MiB or GiB"
            ))
        }
    };
    let bytes = num * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size {s:?} is out of range"));
    }
    Ok(bytes as u64)
}
