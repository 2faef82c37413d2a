//! What goes before Readability scores the page: overlays that are no part
//! of any article but can outscore a short one (cookie and consent banners,
//! newsletter and login forms, modals, pop-ups, "update your browser"
//! notices). Readability's own "unlikely candidate" list misses most of
//! them. Each is recognised by its role or by words in its class or id; an
//! element that holds the page's headline, an `<article>`, `<main>` or much
//! text is never removed, so a page wrapped in one big `<form>` survives.

use dom_query::{Document, Selection};

/// Class or id words of overlays, matched inside a token ("eu-cookie-law").
const OVERLAY_WORDS: &[&str] = &[
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "popup",
    "modal",
    "flyout",
    "login",
    "signup",
    "sign-up",
    "paywall",
    "update-browser",
    "outdated-browser",
];

/// Class or id words matched only as a whole `-`/`_` part ("dialog" but not
/// "dialogue").
const OVERLAY_PARTS: &[&str] = &[
    "dialog",
    "overlay",
    "subscribe",
    "subscription",
    "registration",
];

/// Text beyond this is content, whatever the element is called.
const MAX_OVERLAY_CHARS: usize = 2_000;

pub fn remove_overlays(doc: &Document) {
    let candidates = doc.select(
        "[role=dialog], [aria-modal=true], form, div[class], div[id], section[class], section[id], \
         aside[class], aside[id], ul[class], p[class], span[class]",
    );
    for el in candidates.iter() {
        if is_overlay(&el) && !holds_content(&el) {
            el.remove();
        }
    }
}

fn is_overlay(el: &Selection) -> bool {
    if el
        .attr("role")
        .is_some_and(|r| r.eq_ignore_ascii_case("dialog"))
        || el
            .attr("aria-modal")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return true;
    }
    if el.is("form")
        && el
            .select("input[type=email], input[type=password]")
            .exists()
    {
        return true;
    }
    let mut names = String::new();
    for a in ["id", "class"] {
        if let Some(v) = el.attr(a) {
            names.push(' ');
            names.push_str(&v.to_lowercase());
        }
    }
    names.split_whitespace().any(|token| {
        OVERLAY_WORDS.iter().any(|w| token.contains(w))
            || token
                .split(['-', '_'])
                .any(|part| OVERLAY_PARTS.contains(&part))
    })
}

fn holds_content(el: &Selection) -> bool {
    el.is("html, body, main, article")
        || el
            .select("h1, article, main, [itemprop=articleBody]")
            .exists()
        || el.text().chars().filter(|c| !c.is_whitespace()).count() > MAX_OVERLAY_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(html: &str) -> String {
        let doc = Document::from(html);
        remove_overlays(&doc);
        doc.select("body")
            .text()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn overlays_go() {
        let html = r#"<body><div id="eu-cookie-law">We use cookies. Accept</div>
            <div class="modal-login"><p>Sign in to continue</p></div>
            <form><input type=email> Get our newsletter</form>
            <div role="dialog">Update your browser</div>
            <div class="post"><p>A short post.</p></div></body>"#;
        assert_eq!(after(html), "A short post.");
    }

    #[test]
    fn content_and_look_alikes_stay() {
        // A page-wide form (ASP.NET) holding the article, and a "dialogue".
        let html = r#"<body><form id="aspnetForm"><input type=password>
            <article><h1>Headline</h1><p>Body.</p></article></form>
            <div class="dialogue">Peace dialogue resumes.</div></body>"#;
        let kept = after(html);
        for text in ["Headline", "Body.", "Peace dialogue resumes."] {
            assert!(kept.contains(text), "{text:?} lost: {kept}");
        }
    }
}
