//! The main text: Readability's block, checked against the publisher's
//! JSON-LD `articleBody`, with a paragraph scan when both come up empty.

use dom_smoothie::Readability;

use super::jsonld::LdArticle;
use super::{cleanup, prune, squash, Method};
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
    let (lede, container) = if steps.cleanup {
        prune::remove_overlays(&readability.doc);
        (
            standfirst(&readability.doc),
            marked_container(&readability.doc),
        )
    } else {
        (None, None)
    };
    // The paragraph scan is the rare case: it parses the page again (the
    // tree as it was before Readability rewrote it) only when asked.
    let paras = || {
        steps.fallback.then(|| {
            let doc = dom_query::Document::from(html);
            if steps.cleanup {
                prune::remove_overlays(&doc);
            }
            paragraphs(&doc)
        })
    };
    let parsed = readability.parse().ok();
    let byline = parsed.as_ref().and_then(|a| a.byline.clone());
    let (mut text, mut method) = choose(parsed, ld, paras, steps);
    // Readability scores blocks by text and commas; on a short article a
    // newsletter box or an author bio can outscore the story. When the page
    // marks its article and Readability's text is mostly not from it, the
    // marked article wins.
    if let Some(container) = container {
        let own = html_to_text(&cleanup::clean(&container));
        if own.chars().count() >= 100
            && (method != Method::Readability || coverage(&own, &text) < 0.5)
        {
            text = own;
            method = Method::Container;
        }
    }
    // Readability often starts below the standfirst, which sits in the
    // article's header beside the headline; a reader reads it first.
    if let Some(lede) = lede {
        if method != Method::Empty && !squash(&text).contains(&squash(&lede)) {
            text = format!("{lede}\n\n{text}");
        }
    }
    (text, method, byline)
}

/// Class tokens of the element that holds a post's text in common CMS themes.
const BODY_CLASSES: &[&str] = &[
    "entry-content",
    "post-content",
    "article-content",
    "article-body",
    "article__body",
    "story-body",
    "post-body",
    "td-post-content",
];

/// The page's own marking of its article text: one `itemprop=articleBody`,
/// else one element with a CMS body class, else the `<article>` holding the
/// only `<h1>`. Its HTML, taken before Readability rewrites the tree.
fn marked_container(doc: &dom_query::Document) -> Option<String> {
    let single = |sel: &str| {
        let found = doc.select(sel);
        (found.length() == 1).then(|| found.html().to_string())
    };
    single("[itemprop=articleBody]")
        .or_else(|| {
            BODY_CLASSES
                .iter()
                .find_map(|c| single(&format!("[class~=\"{c}\"]")))
        })
        .or_else(|| {
            let h1 = doc.select("h1");
            if h1.length() != 1 {
                return None;
            }
            let article = h1.ancestors(None).filter("article");
            (article.length() == 1 && doc.select("article").length() > 1)
                .then(|| article.html().to_string())
        })
}

/// Class or id parts that name a standfirst (lede, deck, intro, chapô).
const LEDE_PARTS: &[&str] = &[
    "lead",
    "lede",
    "intro",
    "standfirst",
    "subtitle",
    "subheadline",
    "dek",
    "deck",
    "excerpt",
    "chapo",
    "abstract",
    "kicker-text",
    "summary",
];

const MEDIA_PARTS: &[&str] = &[
    "image", "img", "photo", "picture", "media", "asset", "figure", "video", "caption", "gallery",
];

/// The standfirst of the article that holds the headline: a short block
/// named as such, inside the same `<article>`, `<main>` or `<header>`.
fn standfirst(doc: &dom_query::Document) -> Option<String> {
    let h1 = doc.select("h1").iter().next()?;
    let scope = h1.ancestors(None).filter("article, main, header");
    let scope = scope.iter().next()?;
    scope
        .select("p[class], div[class], h2[class], p[id], div[id]")
        .iter()
        .find_map(|el| {
            let names = format!(
                "{} {}",
                el.attr("class").unwrap_or_default(),
                el.attr("id").unwrap_or_default()
            )
            .to_lowercase();
            let named = names.split_whitespace().any(|t| {
                let parts: Vec<&str> = t.split(['-', '_']).collect();
                parts.iter().any(|p| LEDE_PARTS.contains(p))
                    // "lead-image", "lead-asset": the lead picture, not the lede.
                    && !parts.iter().any(|p| MEDIA_PARTS.contains(p))
            });
            // The innermost named block: not a wrapper of the headline itself,
            // nor of a picture and its caption.
            if !named
                || el
                    .select("h1, h2, img, figure, picture, video, figcaption")
                    .exists()
            {
                return None;
            }
            let text = squash(&el.text());
            let links: usize = el.select("a").iter().map(|a| squash(&a.text()).len()).sum();
            let len = text.chars().count();
            ((40..=800).contains(&len) && links * 2 < text.len()).then_some(text)
        })
}

fn choose(
    parsed: Option<dom_smoothie::Article>,
    ld: Option<&LdArticle>,
    paras: impl FnOnce() -> Option<String>,
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
    let paras = || paras().filter(|p| !p.is_empty());
    match (found, ld_body) {
        // A few words from Readability beside a page of prose paragraphs:
        // Readability kept a fragment (a tagline, a teaser) of a page whose
        // text is spread over blocks it did not join.
        (Some(text), None) if text.chars().count() < SHORT_RESULT_CHARS => match paras() {
            Some(p) if p.chars().count() >= 3 * text.chars().count() => (p, Method::Paragraphs),
            _ => (text, Method::Readability),
        },
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
        (None, None) => match paras() {
            Some(p) => (p, Method::Paragraphs),
            None => (String::new(), Method::Empty),
        },
    }
}

/// Readability results shorter than this are checked against the page's
/// paragraphs.
const SHORT_RESULT_CHARS: usize = 250;

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
/// sentences, in document order, outside navigation, headers, footers,
/// asides and forms.
fn paragraphs(doc: &dom_query::Document) -> String {
    let mut out = String::new();
    for p in doc.select("p").iter() {
        if p.ancestors(None).is("nav, header, footer, aside, form") {
            continue;
        }
        let t = squash(&p.text());
        if t.chars().count() >= 40 {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&t);
            if out.len() > crate::extract::MAX_TEXT_BYTES {
                let mut end = crate::extract::MAX_TEXT_BYTES;
                while !out.is_char_boundary(end) {
                    end -= 1;
                }
                out.truncate(end);
                break;
            }
        }
    }
    out
}
