//! Page metadata: title, canonical URL, publication time, authors, site name
//! and language. Each field has an order of sources, most deliberate first:
//! what the publisher declares for sharing (Open Graph, JSON-LD) before what
//! the markup happens to show.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dom_query::Document;
use url::Url;

use super::jsonld::LdArticle;
use super::squash;
use crate::{canonical, feeds::dates::parse_date};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Meta {
    pub title: Option<String>,
    pub canonical_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
}

/// Longest title or name kept; anything longer is not a title.
const MAX_FIELD: usize = 400;

pub fn read(doc: &Document, ld: Option<&LdArticle>, page_url: Option<&Url>) -> Meta {
    let tags = Tags::of(doc);
    let site_name = tags
        .first(&["og:site_name", "application-name", "twitter:site"])
        .filter(|s| !s.starts_with('@'))
        .or_else(|| ld.and_then(|l| l.publisher.clone()));
    let title = title(doc, &tags, ld, site_name.as_deref());
    let canonical_url = canonical_url(doc, &tags, ld, page_url);
    let published = published(doc, &tags, ld);
    let authors = authors(&tags, ld);
    let language = attr(doc, "html", "lang")
        .or_else(|| attr(doc, r#"meta[http-equiv="content-language" i]"#, "content"))
        .or_else(|| ld.and_then(|l| l.language.clone()))
        .or_else(|| tags.first(&["og:locale"]).map(|l| l.replace('_', "-")))
        .map(|l| l.split(',').next().unwrap_or_default().trim().to_string())
        .filter(|l| !l.is_empty() && l.len() <= 35);
    Meta {
        title,
        canonical_url,
        published,
        authors,
        site_name: site_name.map(|s| clip(&s)),
        language,
    }
}

/// The page's `<meta property|name=KEY content=…>` tags, read in one pass
/// (a page has dozens; each field looks up several keys).
struct Tags {
    property: HashMap<String, String>,
    name: HashMap<String, String>,
}

impl Tags {
    fn of(doc: &Document) -> Tags {
        let mut tags = Tags {
            property: HashMap::new(),
            name: HashMap::new(),
        };
        for m in doc.select("meta[content]").iter() {
            let content = squash(&m.attr("content").unwrap_or_default());
            if content.is_empty() {
                continue;
            }
            for (attr, map) in [("property", &mut tags.property), ("name", &mut tags.name)] {
                if let Some(key) = m.attr(attr) {
                    map.entry(key.to_lowercase())
                        .or_insert_with(|| content.clone());
                }
            }
        }
        tags
    }

    /// The first non-empty content over `keys`, `property` before `name`.
    fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| {
            let k = k.to_lowercase();
            self.property.get(&k).or_else(|| self.name.get(&k)).cloned()
        })
    }
}

fn attr(doc: &Document, selector: &str, name: &str) -> Option<String> {
    doc.select(selector).iter().find_map(|s| {
        let v = s.attr(name)?;
        let v = squash(&v);
        (!v.is_empty()).then_some(v)
    })
}

fn text_of(doc: &Document, selector: &str) -> Vec<String> {
    doc.select(selector)
        .iter()
        .map(|s| squash(&s.text()))
        .filter(|t| !t.is_empty())
        .collect()
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn title(
    doc: &Document,
    tags: &Tags,
    ld: Option<&LdArticle>,
    site: Option<&str>,
) -> Option<String> {
    let declared = tags
        .first(&["og:title", "twitter:title", "dc.title"])
        .or_else(|| ld.and_then(|l| l.headline.clone()));
    let from_title_tag = text_of(doc, "head title")
        .into_iter()
        .next()
        .map(|t| strip_site_suffix(&t, site));
    let h1: Vec<String> = text_of(doc, "h1");
    // The headline on the page, when the <title> confirms it, beats a
    // sharing variant in og:title: two sources agree on it.
    if let Some(t) = &from_title_tag {
        if let Some(h) = h1.iter().find(|h| same_headline(h, t)) {
            return Some(clip(h));
        }
    }
    // A page with exactly one h1 says what it is about there; a one-word
    // <title> ("Home", "Article") says less.
    let only_h1 = (h1.len() == 1).then(|| h1[0].clone());
    let from_title_tag = match (from_title_tag, &only_h1) {
        (Some(t), Some(h))
            if t.split_whitespace().count() < 2 && h.split_whitespace().count() >= 3 =>
        {
            None
        }
        (t, _) => t,
    };
    let t = declared
        .map(|d| strip_site_suffix(&d, site))
        .or(from_title_tag)
        .or(only_h1)?;
    Some(clip(&t))
}

/// Whether the `<title>` is the headline, or the headline and then a
/// separator and the site's name.
fn same_headline(h1: &str, title: &str) -> bool {
    if h1.eq_ignore_ascii_case(title) {
        return true;
    }
    title.len() > h1.len()
        && title.is_char_boundary(h1.len())
        && title[..h1.len()].eq_ignore_ascii_case(h1)
        && title[h1.len()..]
            .trim_start()
            .starts_with(['|', '-', '–', '—', ':', '·', '»'])
}

/// "Headline - Site", "Headline | Section | Site" → "Headline". The tail goes
/// when it names the site, or when it is short beside a long head, as site
/// names are.
pub fn strip_site_suffix(title: &str, site: Option<&str>) -> String {
    const SEPARATORS: &[&str] = &[" | ", "|", " - ", " – ", " — ", " :: ", " · ", " « ", " » "];
    let mut t = title.trim().to_string();
    // "Site | Headline": the site first, as some publishers do.
    if let Some(site) = site.filter(|s| !s.is_empty()) {
        if t.len() > site.len()
            && t.is_char_boundary(site.len())
            && t[..site.len()].eq_ignore_ascii_case(site)
        {
            let rest = t[site.len()..].trim_start();
            if let Some(rest) = rest.strip_prefix(['|', '-', '–', '—', ':', '·']) {
                if !rest.trim().is_empty() {
                    t = rest.trim().to_string();
                }
            }
        }
    }
    for _ in 0..3 {
        let Some((head, tail)) = SEPARATORS
            .iter()
            .filter_map(|sep| t.rfind(sep).map(|i| (i, sep.len())))
            .max_by_key(|(i, _)| *i)
            .map(|(i, n)| (t[..i].trim().to_string(), t[i + n..].trim().to_string()))
        else {
            break;
        };
        let names_site = site.is_some_and(|s| {
            let (s, tl) = (s.to_lowercase(), tail.to_lowercase());
            tl == s || tl.contains(&s) || s.contains(&tl)
        });
        let words = |s: &str| s.split_whitespace().count();
        if names_site || (words(&tail) <= 3 && words(&head) >= 4) {
            t = head;
        } else {
            break;
        }
    }
    t
}

fn canonical_url(
    doc: &Document,
    tags: &Tags,
    ld: Option<&LdArticle>,
    page: Option<&Url>,
) -> Option<String> {
    let candidates = [
        attr(doc, r#"link[rel="canonical" i]"#, "href"),
        tags.first(&["og:url"]),
        ld.and_then(|l| l.url.clone()),
    ];
    candidates.into_iter().flatten().find_map(|u| {
        let c = canonical::canonicalize_str(&u, page)?;
        // A canonical that points at the site's home page is a template
        // mistake, not this article's address.
        let parsed = Url::parse(&c).ok()?;
        (matches!(parsed.scheme(), "http" | "https") && parsed.path().len() > 1).then_some(c)
    })
}

fn published(doc: &Document, tags: &Tags, ld: Option<&LdArticle>) -> Option<DateTime<Utc>> {
    const KEYS: &[&str] = &[
        "article:published_time",
        "og:published_time",
        "datePublished",
        "pubdate",
        "publishdate",
        "publish-date",
        "dc.date.issued",
        "dc.date",
        "dcterms.created",
        "sailthru.date",
        "parsely-pub-date",
        "date",
    ];
    // In order; the markup is only searched when the declarations fail.
    let sources: [&dyn Fn() -> Option<String>; 6] = [
        &|| tags.first(KEYS),
        &|| ld.and_then(|l| l.published.clone()),
        &|| attr(doc, r#"[itemprop="datePublished"]"#, "content"),
        &|| attr(doc, r#"[itemprop="datePublished"]"#, "datetime"),
        &|| attr(doc, "article time[datetime]", "datetime"),
        &|| attr(doc, "time[datetime]", "datetime"),
    ];
    sources
        .iter()
        .filter_map(|source| source())
        .find_map(|d| parse_date(&d))
}

/// Authors the publisher declares. Bylines in the markup are Readability's
/// to find ([`add_byline`]), as it already weighs `rel`, `itemprop` and class
/// names for them.
fn authors(tags: &Tags, ld: Option<&LdArticle>) -> Vec<String> {
    let mut raw: Vec<String> = ld.map(|l| l.authors.clone()).unwrap_or_default();
    if raw.is_empty() {
        raw.extend(
            tags.first(&["author", "article:author", "dc.creator", "parsely-author"])
                .filter(|a| !a.starts_with("http")),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for a in raw {
        push_names(&mut out, &a);
    }
    out
}

/// Adds the byline Readability found in the markup when nothing declared
/// the authors.
pub fn add_byline(meta: &mut Meta, byline: Option<&str>) {
    if meta.authors.is_empty() {
        if let Some(b) = byline {
            push_names(&mut meta.authors, b);
        }
    }
}

fn push_names(out: &mut Vec<String>, raw: &str) {
    for name in split_byline(raw) {
        if out.len() < 16 && !out.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
}

/// "By Jane Roe and John Doe" → ["Jane Roe", "John Doe"].
fn split_byline(s: &str) -> Vec<String> {
    let s = squash(s);
    let s = [
        "By ", "by ", "BY ", "Von ", "von ", "Por ", "por ", "Par ", "par ",
    ]
    .iter()
    .find_map(|p| s.strip_prefix(p))
    .unwrap_or(&s);
    s.split([',', ';'])
        .flat_map(|p| p.split(" and "))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty() && p.chars().count() <= 80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(head: &str, body: &str) -> Document {
        Document::from(format!(
            "<html lang=en-GB><head>{head}</head><body>{body}</body></html>"
        ))
    }

    #[test]
    fn title_prefers_open_graph_and_drops_the_site_suffix() {
        let d = doc(
            r#"<title>Envoy meets Putin in St Petersburg - Example News</title>
               <meta property="og:site_name" content="Example News">"#,
            "<h1>Envoy meets Putin</h1>",
        );
        let m = read(&d, None, None);
        assert_eq!(
            m.title.as_deref(),
            Some("Envoy meets Putin in St Petersburg")
        );
        assert_eq!(m.site_name.as_deref(), Some("Example News"));
        assert_eq!(m.language.as_deref(), Some("en-GB"));
        assert_eq!(
            strip_site_suffix("US - Russia talks resume | World | Daily Paper", None),
            "US - Russia talks resume"
        );
        assert_eq!(
            strip_site_suffix("Brexit - what next", None),
            "Brexit - what next"
        );
        assert_eq!(
            strip_site_suffix(
                "NEWS WEB EASY|子どもへの法律ができる",
                Some("NEWS WEB EASY")
            ),
            "子どもへの法律ができる"
        );
    }

    #[test]
    fn canonical_published_and_authors() {
        let d = doc(
            r#"<link rel="canonical" href="/world/story-1?utm_source=x">
               <meta property="article:published_time" content="2025-04-11T09:30:00+01:00">
               <meta name="author" content="By Jane Roe and John Doe">"#,
            "",
        );
        let base = Url::parse("https://www.example.org/amp/world/story-1").unwrap();
        let m = read(&d, None, Some(&base));
        assert_eq!(
            m.canonical_url.as_deref(),
            Some("https://example.org/world/story-1")
        );
        assert_eq!(
            m.published.unwrap().to_rfc3339(),
            "2025-04-11T08:30:00+00:00"
        );
        assert_eq!(m.authors, ["Jane Roe", "John Doe"]);
    }

    #[test]
    fn a_home_page_canonical_is_ignored() {
        let d = doc(r#"<link rel="canonical" href="https://example.org/">"#, "");
        assert_eq!(read(&d, None, None).canonical_url, None);
    }
}
