//! `storywatch feeds`: every feed's health, resuming paused feeds, and
//! moving subscriptions in and out as OPML (what every feed reader speaks).

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::Utc;
use quick_xml::events::Event;

use crate::alerts::payload::rfc3339;
use crate::config::Config;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FeedsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no paused feed named {0:?}")]
    NotPaused(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not OPML: {reason}")]
    Opml { path: String, reason: String },
}

impl FeedsError {
    pub fn is_usage(&self) -> bool {
        !matches!(self, FeedsError::Store(_))
    }
}

/// `feeds list`: status, last success, next poll, error streak per feed.
pub fn list(config: &Config, json: bool) -> Result<String, FeedsError> {
    let store = Store::open_existing(&config.storage.path)?;
    let states = store.feed_states()?;
    let now = Utc::now().timestamp();
    let mut out = String::new();
    if !json {
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:<21} {:<12} {:>6}  LAST ERROR",
            "FEED", "STATUS", "LAST SUCCESS", "NEXT POLL", "ERRORS"
        );
    }
    for f in &config.feeds {
        let st = states.iter().find(|s| s.name == f.name);
        let status = match st {
            None => "never polled".to_string(),
            Some(s) if s.paused_at.is_some() => "PAUSED".to_string(),
            Some(s) if s.last_status.is_none() => "never polled".to_string(),
            Some(s) if s.consecutive_errors > 0 => "failing".to_string(),
            Some(s) => s.last_status.clone().unwrap_or_default(),
        };
        let next = st.and_then(|s| s.next_poll_at);
        if json {
            let v = serde_json::json!({
                "feed": f.name,
                "url": crate::redact::url(&f.url),
                "status": status,
                "last_success": st.and_then(|s| s.last_success_at).map(rfc3339),
                "last_polled": st.and_then(|s| s.last_polled_at).map(rfc3339),
                "next_poll": next.map(rfc3339),
                "consecutive_errors": st.map(|s| s.consecutive_errors).unwrap_or(0),
                "failing_since": st.and_then(|s| s.failing_since).map(rfc3339),
                "paused_at": st.and_then(|s| s.paused_at).map(rfc3339),
                "last_error": st.and_then(|s| s.last_error.clone()),
            });
            let _ = writeln!(out, "{v}");
            continue;
        }
        let next = match (st.and_then(|s| s.paused_at), next) {
            (Some(_), _) => "-".to_string(),
            (None, Some(t)) if t <= now => "due".to_string(),
            (None, Some(t)) => format!(
                "in {}",
                humantime::format_duration(std::time::Duration::from_secs((t - now) as u64))
            ),
            (None, None) => "due".to_string(),
        };
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:<21} {:<12} {:>6}  {}",
            f.name,
            status,
            st.and_then(|s| s.last_success_at)
                .map(rfc3339)
                .unwrap_or_else(|| "-".into()),
            next,
            st.map(|s| s.consecutive_errors).unwrap_or(0),
            st.and_then(|s| s.last_error.clone()).unwrap_or_default()
        );
    }
    Ok(out)
}

/// `feeds resume NAME`: polls a paused feed again (due now).
pub fn resume(config: &Config, name: &str) -> Result<String, FeedsError> {
    let store = Store::open(&config.storage.path)?;
    if store.resume_feed(name, Utc::now().timestamp())? {
        Ok(format!("feed {name} resumed; it is due now\n"))
    } else {
        Err(FeedsError::NotPaused(name.to_string()))
    }
}

/// One subscription read from OPML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub title: String,
    pub url: String,
}

/// The `outline` elements with an `xmlUrl`, in document order.
pub fn parse_opml(text: &str) -> Result<Vec<Outline>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    let mut saw_opml = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = e.local_name();
                if name.as_ref().eq_ignore_ascii_case("opml") {
                    saw_opml = true;
                }
                if !name.as_ref().eq_ignore_ascii_case("outline") {
                    continue;
                }
                let (mut url, mut title, mut text) = (None, None, None);
                for a in e.attributes().flatten() {
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    match a.key.local_name().as_ref() {
                        "xmlUrl" | "xmlurl" => url = Some(v),
                        "title" => title = Some(v),
                        "text" => text = Some(v),
                        _ => {}
                    }
                }
                if let Some(url) = url.filter(|u| !u.is_empty()) {
                    let title = title.filter(|t| !t.is_empty()).or(text).unwrap_or_default();
                    out.push(Outline { title, url });
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("at byte {}: {e}", reader.buffer_position())),
            _ => {}
        }
    }
    if !saw_opml {
        return Err("no <opml> element".into());
    }
    Ok(out)
}

/// A feed name from a title: lower-case letters and digits joined by '-'.
fn slug(title: &str, url: &str) -> String {
    let source = if title.trim().is_empty() {
        url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_else(|| "feed".into())
    } else {
        title.to_string()
    };
    let mut s = String::new();
    for c in source.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s: String = s.trim_matches('-').chars().take(40).collect();
    if s.is_empty() {
        "feed".into()
    } else {
        s.trim_end_matches('-').to_string()
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `feeds import-opml FILE`: `[[feed]]` tables for an include file. Names
/// are made unique against the config and each other; URLs the config
/// already has are skipped (and said so in a comment).
pub fn import_opml(config: &Config, path: &str) -> Result<String, FeedsError> {
    let text = std::fs::read_to_string(path).map_err(|source| FeedsError::Read {
        path: path.to_string(),
        source,
    })?;
    let outlines = parse_opml(&text).map_err(|reason| FeedsError::Opml {
        path: path.to_string(),
        reason,
    })?;
    let mut names: HashSet<String> = config.feeds.iter().map(|f| f.name.clone()).collect();
    let mut urls: HashSet<String> = config.feeds.iter().map(|f| f.url.to_string()).collect();
    let mut out = format!("# Imported from {path} by storywatch feeds import-opml.\n");
    for o in outlines {
        let Ok(parsed) = url::Url::parse(&o.url) else {
            let _ = writeln!(out, "# skipped (not a URL): {}", o.url.replace('\n', " "));
            continue;
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            let _ = writeln!(out, "# skipped (not http/https): {parsed}");
            continue;
        }
        if !urls.insert(parsed.to_string()) {
            let _ = writeln!(out, "# skipped (already configured): {parsed}");
            continue;
        }
        let base = slug(&o.title, &o.url);
        let mut name = base.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let _ = writeln!(
            out,
            "\n[[feed]]\nname = {}\nurl = {}",
            toml_string(&name),
            toml_string(parsed.as_str())
        );
    }
    Ok(out)
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `feeds export-opml`: every configured http(s) feed as OPML 2.0.
pub fn export_opml(config: &Config) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>storywatch feeds</title></head>\n  <body>\n",
    );
    for f in config.feeds.iter().filter(|f| f.url.scheme() != "file") {
        let _ = writeln!(
            out,
            "    <outline type=\"rss\" text=\"{0}\" title=\"{0}\" xmlUrl=\"{1}\"/>",
            xml_attr(&f.name),
            xml_attr(f.url.as_str())
        );
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opml_outlines_are_read_and_names_made() {
        let doc = r#"<?xml version="1.0"?><opml version="1.0"><body>
            <outline text="News"><outline text="BBC &amp; World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
            <outline title="" text="" xmlUrl="https://example.org/feed"/></outline>
            <outline text="folder only"/></body></opml>"#;
        let o = parse_opml(doc).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].title, "BBC & World");
        assert_eq!(slug(&o[0].title, &o[0].url), "bbc-world");
        assert_eq!(slug(&o[1].title, &o[1].url), "example-org");
        assert!(parse_opml("<html/>").is_err());
        // A cut-off file is an error that says where, not an empty list.
        let err = parse_opml("<opml><body><outline xmlUrl=\"x\"").unwrap_err();
        assert!(err.starts_with("at byte "), "{err}");
        assert_eq!(toml_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
    }
}
