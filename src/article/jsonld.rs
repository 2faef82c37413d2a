//! schema.org JSON-LD: the article as the publisher describes it to search
//! engines. When present it is the most reliable source of the headline, the
//! publication time and the authors, and often of the whole body
//! (`articleBody`). Blocks that do not parse are skipped: pages ship broken
//! JSON-LD as often as broken HTML.

use serde_json::Value;

/// What one page's JSON-LD says about its article.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LdArticle {
    pub headline: Option<String>,
    pub body: Option<String>,
    pub published: Option<String>,
    pub authors: Vec<String>,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub language: Option<String>,
}

/// schema.org types that describe an article (and its common subtypes).
const ARTICLE_TYPES: &[&str] = &[
    "Article",
    "NewsArticle",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "ReviewNewsArticle",
    "BlogPosting",
    "LiveBlogPosting",
    "Report",
    "ScholarlyArticle",
    "TechArticle",
    "WebPage",
];

/// Objects nested deeper than this are not looked at: JSON-LD is shallow and
/// hostile input should not recurse without bound.
const MAX_DEPTH: usize = 8;

/// Reads the article description out of the page's JSON-LD blocks (their
/// text contents). The first article-typed object wins, but a `WebPage`
/// only fills what no real article object gave.
pub fn read<'a>(blocks: impl IntoIterator<Item = &'a str>) -> Option<LdArticle> {
    let mut found: Vec<(bool, &Value)> = Vec::new();
    let parsed: Vec<Value> = blocks
        .into_iter()
        .filter_map(|b| serde_json::from_str(strip_cdata(b)).ok())
        .collect();
    for v in &parsed {
        collect(v, 0, &mut found);
    }
    // Real article objects first, `WebPage` after.
    found.sort_by_key(|(is_page, _)| *is_page);
    let mut out = LdArticle::default();
    for (_, obj) in found {
        fill(&mut out, obj);
    }
    (out != LdArticle::default()).then_some(out)
}

fn strip_cdata(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix("<![CDATA[").unwrap_or(s);
    let s = s.strip_suffix("]]>").unwrap_or(s);
    s.trim()
}

fn collect<'v>(v: &'v Value, depth: usize, out: &mut Vec<(bool, &'v Value)>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, depth + 1, out)),
        Value::Object(map) => {
            if let Some(kind) = article_type(map.get("@type")) {
                out.push((kind == "WebPage", v));
            }
            if let Some(graph) = map.get("@graph") {
                collect(graph, depth + 1, out);
            }
            // Some sites wrap the article as the main entity of a page.
            if let Some(main) = map.get("mainEntity") {
                collect(main, depth + 1, out);
            }
        }
        _ => {}
    }
}

fn article_type(t: Option<&Value>) -> Option<&'static str> {
    let matches = |s: &str| ARTICLE_TYPES.iter().copied().find(|k| *k == s);
    match t? {
        Value::String(s) => matches(s),
        Value::Array(a) => a.iter().filter_map(Value::as_str).find_map(matches),
        _ => None,
    }
}

fn fill(out: &mut LdArticle, obj: &Value) {
    let text = |key: &str| obj.get(key).and_then(as_text);
    set(&mut out.headline, text("headline").or_else(|| text("name")));
    set(&mut out.body, text("articleBody").or_else(|| text("text")));
    set(
        &mut out.published,
        text("datePublished").or_else(|| text("dateCreated")),
    );
    set(
        &mut out.publisher,
        obj.get("publisher")
            .and_then(|p| names(p).into_iter().next()),
    );
    set(
        &mut out.url,
        text("url").or_else(|| obj.get("mainEntityOfPage").and_then(entity_id)),
    );
    set(&mut out.language, text("inLanguage"));
    if out.authors.is_empty() {
        if let Some(a) = obj.get("author").or_else(|| obj.get("creator")) {
            out.authors = names(a);
        }
    }
}

fn set(slot: &mut Option<String>, v: Option<String>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(a) => a.iter().find_map(as_text),
        _ => None,
    }
}

fn entity_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("@id").or_else(|| m.get("url")).and_then(as_text),
        _ => None,
    }
}

/// Person or organisation names: a string, an object with `name`, or a list.
fn names(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !s.starts_with("http") && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    match v {
        Value::String(s) => push(s),
        Value::Object(m) => {
            if let Some(n) = m.get("name").and_then(as_text) {
                push(&n);
            }
        }
        Value::Array(a) => {
            for item in a.iter().take(32) {
                for n in names_flat(item) {
                    push(&n);
                }
            }
        }
        _ => {}
    }
    out
}

fn names_flat(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(m) => m.get("name").and_then(as_text).into_iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_article_in_a_graph_with_a_webpage() {
        let page = r#"{"@context":"https://schema.org","@graph":[
            {"@type":"WebPage","name":"Page name","url":"https://x.org/page"},
            {"@type":["NewsArticle"],"headline":"Envoy meets Putin","articleBody":"Body text.",
             "datePublished":"2025-04-11T10:00:00Z",
             "author":[{"@type":"Person","name":"A. Writer"},{"name":"B. Writer"},"A. Writer"],
             "publisher":{"@type":"Organization","name":"Example News"},
             "mainEntityOfPage":{"@id":"https://x.org/story"}}]}"#;
        let ld = read([page]).unwrap();
        assert_eq!(ld.headline.as_deref(), Some("Envoy meets Putin"));
        assert_eq!(ld.body.as_deref(), Some("Body text."));
        assert_eq!(ld.authors, ["A. Writer", "B. Writer"]);
        assert_eq!(ld.publisher.as_deref(), Some("Example News"));
        // The article's own URL beats the WebPage's.
        assert_eq!(ld.url.as_deref(), Some("https://x.org/story"));
    }

    #[test]
    fn broken_and_unrelated_blocks_are_skipped() {
        let blocks = [
            "{not json",
            r#"{"@type":"BreadcrumbList","name":"Home"}"#,
            "<![CDATA[ {\"@type\":\"Article\",\"headline\":\"H\"} ]]>",
        ];
        let ld = read(blocks).unwrap();
        assert_eq!(ld.headline.as_deref(), Some("H"));
        assert!(read(["[]", "{}"]).is_none());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(read([deep.as_str()]).is_none());
    }
}
