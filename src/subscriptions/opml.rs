//! Subscriptions in and out as OPML, what every feed reader speaks.

use std::collections::HashSet;
use std::fmt::Write as _;

use quick_xml::events::Event;

use super::FeedsError;
use crate::config::{Config, FeedConfig};

/// One subscription read from OPML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub title: String,
    pub url: String,
    /// The folders it sits in, outermost first, joined by `/` (else the
    /// outline's own `category` attribute).
    pub category: Option<String>,
}

/// The `outline` elements with an `xmlUrl`, in document order, with the
/// folders around them. A file that is not well-formed XML (HTML entities
/// such as `&eacute;`, a raw `&` in a title: other readers write both) is
/// read again after the repairs feeds get.
pub fn parse_opml(text: &str) -> Result<Vec<Outline>, String> {
    match parse_strict(text) {
        Ok(o) => Ok(o),
        Err(e) => {
            // Only escaping is repaired: a cut-off file stays an error.
            let (fixed, repairs) = crate::feeds::repair::repair(text);
            let escaped_only = !repairs.closed_cdata && repairs.closed_elements == 0;
            if escaped_only && repairs.ampersands + repairs.entities > 0 {
                parse_strict(&fixed).map_err(|_| e)
            } else {
                Err(e)
            }
        }
    }
}

fn parse_strict(text: &str) -> Result<Vec<Outline>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = Vec::new();
    let mut saw_opml = false;
    // One entry per open <outline>: the folder title it adds, if any.
    let mut folders: Vec<Option<String>> = Vec::new();
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("outline") {
                    folders.pop();
                }
                continue;
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(format!("at byte {}: {e}", reader.buffer_position())),
            _ => continue,
        };
        let name = e.local_name();
        if name.as_ref().eq_ignore_ascii_case("opml") {
            saw_opml = true;
        }
        if !name.as_ref().eq_ignore_ascii_case("outline") {
            continue;
        }
        let (mut url, mut title, mut text, mut category) = (None, None, None, None);
        for a in e.attributes() {
            let a = a.map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?
                .trim()
                .to_string();
            match a.key.local_name().as_ref() {
                "xmlUrl" | "xmlurl" => url = Some(v),
                "title" => title = Some(v),
                "text" => text = Some(v),
                "category" => category = Some(v),
                _ => {}
            }
        }
        let label = title
            .filter(|t| !t.is_empty())
            .or(text.filter(|t| !t.is_empty()));
        match url.filter(|u| !u.is_empty()) {
            Some(url) => {
                let path: Vec<&str> = folders.iter().flatten().map(String::as_str).collect();
                let category = if path.is_empty() {
                    // OPML 2.0: comma-separated, slash-delimited; the first one.
                    category
                        .as_deref()
                        .and_then(|c| c.split(',').next())
                        .map(|c| c.trim().trim_matches('/').to_string())
                        .filter(|c| !c.is_empty())
                } else {
                    Some(path.join("/"))
                };
                out.push(Outline {
                    title: label.unwrap_or_default(),
                    url,
                    category,
                });
                if !empty {
                    folders.push(None);
                }
            }
            None if !empty => folders.push(label.map(|l| l.replace('/', "-"))),
            None => {}
        }
    }
    if !saw_opml {
        return Err("no <opml> element".into());
    }
    Ok(out)
}

/// A feed name from a title: lower-case letters and digits joined by '-'.
pub(super) fn slug(title: &str, url: &str) -> String {
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

pub(super) fn toml_string(s: &str) -> String {
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
        let _ = writeln!(out, "\n[[feed]]\nname = {}", toml_string(&name));
        if !o.title.is_empty() {
            let _ = writeln!(out, "title = {}", toml_string(&o.title));
        }
        if let Some(c) = &o.category {
            let _ = writeln!(out, "category = {}", toml_string(c));
        }
        let _ = writeln!(out, "url = {}", toml_string(parsed.as_str()));
    }
    Ok(out)
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `feeds export-opml`: every configured http(s) feed as OPML 2.0, inside
/// folders for its category (`a/b` nests `b` in `a`), titled as configured.
pub fn export_opml(config: &Config) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head><title>storywatch feeds</title></head>\n  <body>\n",
    );
    let feeds: Vec<&FeedConfig> = config
        .feeds
        .iter()
        .filter(|f| f.url.scheme() != "file")
        .collect();
    // Folders in the order their first feed comes, feeds without one first.
    let mut paths: Vec<Vec<&str>> = Vec::new();
    for f in &feeds {
        let path: Vec<&str> = f
            .category
            .as_deref()
            .map(|c| c.split('/').collect())
            .unwrap_or_default();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths.sort_by_key(|p| !p.is_empty());
    let mut open: Vec<&str> = Vec::new();
    for path in &paths {
        let shared = open.iter().zip(path).take_while(|(a, b)| a == b).count();
        while open.len() > shared {
            open.pop();
            let _ = writeln!(out, "{}</outline>", indent(open.len()));
        }
        for folder in &path[shared..] {
            let _ = writeln!(
                out,
                "{}<outline text=\"{}\">",
                indent(open.len()),
                xml_attr(folder)
            );
            open.push(folder);
        }
        for f in feeds.iter().filter(|f| {
            f.category
                .as_deref()
                .map(|c| c.split('/').collect::<Vec<_>>())
                .unwrap_or_default()
                == *path
        }) {
            let title = f.title.as_deref().unwrap_or(&f.name);
            let _ = writeln!(
                out,
                "{}<outline type=\"rss\" text=\"{1}\" title=\"{1}\" xmlUrl=\"{2}\"/>",
                indent(open.len()),
                xml_attr(title),
                xml_attr(f.url.as_str())
            );
        }
    }
    while !open.is_empty() {
        open.pop();
        let _ = writeln!(out, "{}</outline>", indent(open.len()));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

/// Four spaces for `<body>`, two more per open folder.
fn indent(depth: usize) -> String {
    " ".repeat(4 + 2 * depth)
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
