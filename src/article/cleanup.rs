//! What Readability keeps that a reader skips. Readability picks the right
//! block but leaves in it the small furniture news sites put between
//! paragraphs: photo captions, "4 min read", "Related coverage" labels whose
//! links were scripted in, "follow us on…" sign-offs and lists of links to
//! other stories. Each rule is about the shape of such furniture, never about
//! one site's markup.

use dom_query::{Document, Selection};

use super::squash;

/// Whole-block labels that introduce or stand in for page furniture, in the
/// languages of the feeds storywatch is used with. Compared folded, without
/// trailing punctuation.
const LABELS: &[&str] = &[
    "advertisement",
    "advertising",
    "anzeige",
    "publicidad",
    "publicité",
    "related",
    "related coverage",
    "related content",
    "related articles",
    "related stories",
    "related topics",
    "read more",
    "read more here",
    "more on this story",
    "more from",
    "see also",
    "most read",
    "most popular",
    "recommended",
    "recommended stories",
    "share this article",
    "share this",
    "share",
    "topics",
    "mehr zum thema",
    "lesen sie auch",
    "leia também",
    "leia mais",
    "lea también",
    "más información",
    "à lire aussi",
    "lire aussi",
    "sur le même sujet",
    "related posts",
    "you may also like",
    "you might also like",
    "more stories",
    "more articles",
    "further reading",
    "comments",
    "leave a reply",
    "leave a comment",
    "das könnte sie auch interessieren",
    "das könnte dich auch interessieren",
    "ähnliche beiträge",
    "verwandte beiträge",
    "verwandte artikel",
    "weitere artikel",
    "weitere beiträge",
    "beiträge zum thema",
    "auch interessant",
    "weiterführende links",
    "siehe auch",
    "zum weiterlesen",
    "kommentare",
    "schreibe einen kommentar",
    "artikel teilen",
    "teilen",
    "te puede interesar",
    "noticias relacionadas",
    "artículos relacionados",
    "vous aimerez aussi",
];

/// Hosts whose links make a paragraph a "follow us" sign-off.
const SOCIAL: &[&str] = &[
    "facebook.com",
    "twitter.com",
    "x.com",
    "instagram.com",
    "t.me",
    "telegram.me",
    "whatsapp.com",
    "linkedin.com",
    "youtube.com",
    "tiktok.com",
    "threads.net",
    "bsky.app",
];

/// Cleans the content HTML Readability returned.
pub fn clean(content: &str) -> String {
    let doc = Document::fragment(content);
    drop_after_marked_body(&doc);
    doc.select("figcaption").remove();
    let total = text_len(&doc.select("#readability-page-1"));
    for el in doc.select("[class], [id]").iter() {
        // Never the whole article, whatever its wrapper is called. The names
        // are checked first: measuring text walks the element's subtree.
        if is_named_furniture(&el) && !el.is("#readability-page-1") && text_len(&el) * 2 <= total {
            el.remove();
        }
    }
    for block in doc
        .select("p, div, section, span, h2, h3, h4, h5, h6, li, ul, ol")
        .iter()
    {
        if is_label(&block) || is_sign_off(&block) || is_link_list(&block) {
            block.remove();
        }
    }
    doc.html().to_string()
}

/// Readability appends well-scoring siblings of its main block, which is
/// right when a story is split across blocks. But when the publisher marked
/// the block as the article body, what follows it is the page's (legends,
/// notes, tag lists), not the story's.
fn drop_after_marked_body(doc: &Document) {
    let top: Vec<Selection> = doc.select("#readability-page-1 > *").iter().collect();
    if let Some(i) = top.iter().position(is_marked_body) {
        for later in &top[i + 1..] {
            later.remove();
        }
    }
}

fn is_marked_body(block: &Selection) -> bool {
    const MARKERS: &[&str] = &[
        "articlebody",
        "storybody",
        "postbody",
        "entrycontent",
        "articletext",
    ];
    if block
        .attr("itemprop")
        .is_some_and(|v| v.as_ref() == "articleBody")
        || block
            .attr("property")
            .is_some_and(|v| v.as_ref() == "articleBody")
    {
        return true;
    }
    block.attr("id").is_some_and(|id| {
        let id: String = id
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        MARKERS.iter().any(|m| id.contains(m))
    })
}

/// Class or id parts (split at `-`, `_` and spaces) of page furniture that
/// Readability keeps inside an article: captions and photo credits, bylines
/// and date lines, author boxes, related and "more" teasers, share bars,
/// comment sections, tag lists. Readability has already removed what its
/// own list catches; these are the ones it leaves.
const FURNITURE_PARTS: &[&str] = &[
    "caption",
    "credit",
    "credits",
    "copyright",
    "byline",
    "dateline",
    "postmetadata",
    "metadata",
    "meta",
    "author",
    "authors",
    "bio",
    "related",
    "teaser",
    "teasers",
    "recommended",
    "share",
    "sharing",
    "social",
    "comments",
    "comment",
    "respond",
    "tags",
    "breadcrumb",
    "breadcrumbs",
    "newsletter",
];

fn is_named_furniture(el: &Selection) -> bool {
    let class = el.attr("class").unwrap_or_default().to_lowercase();
    let id = el.attr("id").unwrap_or_default().to_lowercase();
    // Long ids are slugs of headings ("sharing-with-a-single-developer").
    let id = (id.split(['-', '_']).count() <= 3).then_some(id);
    class
        .split_whitespace()
        .chain(id.as_deref())
        .any(names_furniture)
}

/// One class or id token: a furniture part, not negated ("no_caption",
/// "has-comments").
fn names_furniture(token: &str) -> bool {
    let parts: Vec<&str> = token.split(['-', '_']).filter(|p| !p.is_empty()).collect();
    parts.iter().enumerate().any(|(i, p)| {
        FURNITURE_PARTS.contains(p)
            && !(i > 0 && matches!(parts[i - 1], "no" | "has" | "with" | "without" | "show"))
    })
}

fn text_len(el: &Selection) -> usize {
    el.text().chars().filter(|c| !c.is_whitespace()).count()
}

fn fold(s: &str) -> String {
    squash(s)
        .trim_end_matches([':', '.', '…', '»', '›', '>', '!', '?'])
        .trim()
        .to_lowercase()
}

/// A block whose whole text is a furniture label or a reading time.
fn is_label(block: &Selection) -> bool {
    let text = block.text();
    if text.len() > 48 {
        return false;
    }
    let t = fold(&text);
    !t.is_empty() && (LABELS.contains(&t.as_str()) || is_reading_time(&t))
}

/// "4 min read", "5 minute read", "Lesezeit: 3 Min."
fn is_reading_time(t: &str) -> bool {
    let words: Vec<&str> = t.split_whitespace().collect();
    match words.as_slice() {
        [n, unit, "read"] => {
            n.parse::<u32>().is_ok() && matches!(*unit, "min" | "mins" | "minute" | "minutes")
        }
        ["lesezeit", n, _] | ["lesezeit:", n, _] => n.parse::<u32>().is_ok(),
        _ => false,
    }
}

/// A short paragraph whose links are mostly to social networks, mail or a
/// newsletter: the site asking to be followed, not the story.
fn is_sign_off(block: &Selection) -> bool {
    if !block.is("p") || block.text().len() > 400 {
        return false;
    }
    let links = block.select("a[href]");
    let promo = links
        .iter()
        .filter(|a| {
            let href = a.attr("href").unwrap_or_default().to_lowercase();
            href.starts_with("mailto:")
                || href.contains("newsletter")
                || SOCIAL.iter().any(|h| {
                    href.split("//")
                        .nth(1)
                        .and_then(|rest| rest.split(['/', '?', '#']).next())
                        .is_some_and(|host| host == *h || host.ends_with(&format!(".{h}")))
                })
        })
        .count();
    promo >= 2
}

/// A list of three or more items that are each nothing but a link: other
/// stories, not this one. Lists with prose around their links stay.
fn is_link_list(block: &Selection) -> bool {
    if !block.is("ul, ol") {
        return false;
    }
    let items: Vec<Selection> = block.select("li").iter().collect();
    items.len() >= 3
        && items.iter().all(|li| {
            let all = fold(&li.text());
            let linked: usize = li.select("a").iter().map(|a| fold(&a.text()).len()).sum();
            !all.is_empty() && linked * 10 >= all.len() * 9
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::html_to_text;

    fn cleaned(html: &str) -> String {
        html_to_text(&clean(html))
    }

    #[test]
    fn furniture_goes_and_prose_stays() {
        let html = r#"<div><p>By Jane Roe</p><div><p>4 Min Read</p></div>
            <p>The envoy met the president for five hours.</p>
            <figure><img src=x><figcaption>The envoy arrives. Photograph: Agency</figcaption></figure>
            <div><p>Related Coverage</p></div>
            <p>Talks will continue next week, officials said.</p>
            <p>Write to us at <a href="mailto:desk@x.org">desk@x.org</a> or follow us on
               <a href="https://www.facebook.com/x">Facebook</a> and <a href="https://twitter.com/x">Twitter</a>.</p>
            <ul><li><a href="/a">Other story one</a></li><li><a href="/b">Other story two</a></li>
                <li><a href="/c">Other story three</a></li></ul></div>"#;
        let text = cleaned(html);
        assert_eq!(
            text,
            "By Jane Roe\n\nThe envoy met the president for five hours.\n\nTalks will continue next week, officials said."
        );
    }

    #[test]
    fn named_furniture_goes_but_not_slugs_states_or_content() {
        let html = r#"<div id="readability-page-1"><div class="entry-content">
            <p>The envoy met the president for five hours on Friday in the city.</p>
            <div class="author-bio"><p>Jane writes about diplomacy.</p></div>
            <p class="wp-caption-text">The envoy arrives. Photo: Agency</p>
            <div class="item no_caption"><p>Talks will resume next week, officials said.</p></div>
            <h2 id="sharing-with-a-single-developer">Sharing with one developer</h2>
            <div class="related-posts"><a href="/x">Another story</a></div></div></div>"#;
        assert_eq!(
            cleaned(html),
            "The envoy met the president for five hours on Friday in the city.\n\n\
             Talks will resume next week, officials said.\n\nSharing with one developer"
        );
    }

    #[test]
    fn blocks_after_a_marked_body_go() {
        let html = r#"<div id="readability-page-1" class="page"><div>Standfirst of the story.</div>
            <div id="js-article-body"><p>The body of the story.</p></div>
            <div><p>How to use this page.</p></div></div>"#;
        assert_eq!(
            cleaned(html),
            "Standfirst of the story.\n\nThe body of the story."
        );
        // Unmarked siblings are one story split across blocks: all stay.
        let html = r#"<div id="readability-page-1" class="page"><div><p>Part one.</p></div>
            <div><p>Part two.</p></div></div>"#;
        assert_eq!(cleaned(html), "Part one.\n\nPart two.");
    }

    #[test]
    fn lists_with_prose_and_paragraphs_that_mention_labels_stay() {
        let html = r#"<p>Read more about the talks below.</p>
            <ul><li><a href="/eu">The UK must stay in the EU</a> to have influence</li>
                <li>He is confident of the deal</li><li>Syria needs a solution</li></ul>
            <p>See also <a href="https://twitter.com/x">his post</a>.</p>"#;
        let text = cleaned(html);
        assert!(text.contains("Read more about the talks below."));
        assert!(text.contains("The UK must stay in the EU to have influence"));
        assert!(text.contains("See also his post."));
    }
}
