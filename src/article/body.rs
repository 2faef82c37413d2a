//! The main text: Readability's block, checked against the publisher's
//! JSON-LD `articleBody`, with a paragraph scan when both come up empty.

use dom_smoothie::Readability;

use super::jsonld::LdArticle;
use super::{cleanup, Method};
use crate::extract::html_to_text;

/// Which of storywatch's own steps run after Readability. All are on in
/// production; the evaluation turns them off to show what each adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// Check Readability's block against JSON-LD `articleBody`.
    pub json_ld: bool,
    /// Drop captions, reading-time and related-links labels, follow-us
    /// sign-offs and link lists that Readability keeps.
    pub cleanup: bool,
    /// Scan the page's paragraphs when nothing else found an article.
    pub fallback: bool,
}

impl Steps {
    /// Readability alone, for comparison.
    pub const READABILITY: Steps = Steps {
        json_ld: false,
        cleanup: false,
        fallback: false,
    };
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            json_ld: true,
            cleanup: true,
            fallback: true,
        }
    }
}

/// The main text, how it was found, and Readability's byline.
pub fn main_text(
    html: &str,
    readability: &mut Readability,
    ld: Option<&LdArticle>,
    steps: Steps,
) -> (String, Method, Option<String>) {
    let parsed = readability.parse().ok();
    let byline = parsed.as_ref().and_then(|a| a.byline.clone());
    let (text, method) = choose(html, parsed, ld, steps);
    (text, method, byline)
}

fn choose(
    html: &str,
    parsed: Option<dom_smoothie::Article>,
    ld: Option<&LdArticle>,
    steps: Steps,
) -> (String, Method) {
    let found = parsed
        .map(|a| {
            if steps.cleanup {
                html_to_text(&cleanup::clean(&a.content))
            } else {
                html_to_text(&a.content)
            }
        })
        .filter(|t| !t.trim().is_empty());
    let ld_body = ld
        .and_then(|l| l.body.as_deref())
        .filter(|_| steps.json_ld)
        .map(html_to_text)
        .filter(|t| t.chars().count() >= 80);
    match (found, ld_body) {
        (Some(text), None) => (text, Method::Readability),
        // The publisher's body is the check on Readability's choice: when
        // Readability's block holds less than half of it, Readability picked
        // the wrong block (a teaser, a gallery, a comment thread).
        (Some(text), Some(body)) => {
            if coverage(&text, &body) < 0.5 {
                (body, Method::JsonLd)
            } else {
                (text, Method::Readability)
            }
        }
        (None, Some(body)) => (body, Method::JsonLd),
        (None, None) if steps.fallback => {
            let text = paragraphs(html);
            let method = if text.is_empty() {
                Method::Empty
            } else {
                Method::Paragraphs
            };
            (text, method)
        }
        (None, None) => (String::new(), Method::Empty),
    }
}

/// The share of `of`'s words that also occur in `text`.
fn coverage(text: &str, of: &str) -> f64 {
    let have: std::collections::HashSet<String> = super::words(text).collect();
    let want: Vec<String> = super::words(of).collect();
    if want.is_empty() {
        return 1.0;
    }
    want.iter().filter(|w| have.contains(*w)).count() as f64 / want.len() as f64
}

/// Text of the page's prose paragraphs: `<p>` elements long enough to be
/// sentences, in document order.
fn paragraphs(html: &str) -> String {
    let doc = dom_query::Document::from(html);
    let mut out = String::new();
    for p in doc.select("p").iter() {
        let t = p.text();
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.chars().count() >= 40 {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&t);
        }
    }
    out
}
