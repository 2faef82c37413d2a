//! HTML → clean text. Feed summaries and article bodies arrive as HTML (often
//! hostile or broken); matching wants words and sentences. Nothing here runs
//! scripts or fetches anything: scripts, styles and embedded objects are
//! dropped, entities decoded, block elements become paragraph breaks.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Upper bound on extracted text per document, so one hostile entry cannot
/// make matching or storage cost unbounded.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Elements whose content is never reader-visible text.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "rt", "rp", "template", "iframe", "object", "embed", "svg",
    "math", "head", "title", "select", "button", "canvas", "audio", "video", "picture", "map",
];

/// Elements that start and end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "aside",
    "header",
    "footer",
    "main",
    "nav",
    "blockquote",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "address",
    "hr",
    "details",
    "summary",
    "caption",
];

/// Converts an HTML fragment into text: paragraphs separated by a blank line,
/// `<br>` as a line break, whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    // Fast path: no markup and no entities means nothing to parse.
    if !html.contains(['<', '&']) {
        return plain_to_text(html);
    }
    // html5ever's scope checks walk the stack of open elements, so hostile
    // nesting costs quadratic time; such input is flattened first.
    if nesting_depth(html) > MAX_NESTING {
        return tree_to_text(&flatten(html));
    }
    tree_to_text(html)
}

fn tree_to_text(html: &str) -> String {
    let doc = Html::parse_fragment(html);
    let mut out = TextBuilder::default();
    let mut skip_until: Option<ego_tree::NodeId> = None;
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if skip_until.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => out.push_text(t),
                    Node::Element(e) => {
                        let name = e.name();
                        if SKIPPED.contains(&name) {
                            skip_until = Some(node.id());
                        } else if name == "br" {
                            out.line_break();
                        } else if BLOCKS.contains(&name) {
                            out.paragraph_break();
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if skip_until == Some(node.id()) {
                    skip_until = None;
                } else if skip_until.is_none() {
                    if let Node::Element(e) = node.value() {
                        if BLOCKS.contains(&e.name()) {
                            out.paragraph_break();
                        }
                    }
                }
            }
        }
        if out.full() {
            break;
        }
    }
    out.finish()
}

/// Nesting beyond this is not a real article; see [`flatten`].
pub(crate) const MAX_NESTING: usize = 512;

/// Elements that never have an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// The deepest element nesting a quick scan of the tags finds.
pub(crate) fn nesting_depth(html: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for tag in tags(html) {
        match tag {
            Tag::Open(name, self_closing) => {
                if !self_closing && !is_one_of(name, VOID) {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            Tag::Close => depth = depth.saturating_sub(1),
        }
    }
    max
}

/// Rewrites markup without nesting: block elements become `<p>`, `<br>`
/// stays, skipped elements lose their content, other tags disappear.
pub(crate) fn flatten(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        out.push_str(&html[i..i + off]);
        let start = i + off;
        let Some(len) = html[start..].find('>') else {
            i = html.len();
            break;
        };
        let tag = &html[start..start + len + 1];
        i = start + len + 1;
        if tag.starts_with("<!--") {
            i = html[start..]
                .find("-->")
                .map(|e| start + e + 3)
                .unwrap_or(html.len());
            continue;
        }
        let (name, closing) = tag_name(tag);
        if !closing && is_one_of(name, SKIPPED) {
            let end = format!("</{name}");
            i = find_ascii_ci(&html[i..], &end)
                .and_then(|e| html[i + e..].find('>').map(|g| i + e + g + 1))
                .unwrap_or(html.len());
        } else if name.eq_ignore_ascii_case("br") {
            out.push_str("<br>");
        } else if is_one_of(name, BLOCKS) {
            out.push_str("<p>");
        }
    }
    out.push_str(&html[i..]);
    out
}

enum Tag<'a> {
    Open(&'a str, bool),
    Close,
}

/// The tags of `html` in one forward pass (never rescans: linear on any input).
fn tags(html: &str) -> impl Iterator<Item = Tag<'_>> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        let start = pos + html.get(pos..)?.find('<')?;
        let end = start + html[start..].find('>')?;
        pos = end + 1;
        let tag = &html[start..=end];
        let (name, closing) = tag_name(tag);
        if name.is_empty() {
            continue;
        }
        return Some(if closing {
            Tag::Close
        } else {
            Tag::Open(name, tag.ends_with("/>"))
        });
    })
}

/// Element name of a tag as written (ASCII letters and digits; compare it
/// with [`is_one_of`]), and whether it is an end tag. A slice of the tag:
/// every tag of every item's HTML passes here.
fn tag_name(tag: &str) -> (&str, bool) {
    let inner = &tag[1..];
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    if !inner.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return ("", closing);
    }
    let end = inner
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(inner.len());
    (&inner[..end], closing)
}

/// Whether an element name, in any case, is on a list of lower-case names.
fn is_one_of(name: &str, list: &[&str]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..h.len().saturating_sub(n.len() - 1)).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Normalises plain text the same way: paragraphs (blank-line separated) kept,
/// other whitespace collapsed.
pub fn plain_to_text(s: &str) -> String {
    let mut out = TextBuilder::default();
    for para in s.split("\n\n") {
        out.push_text(para);
        out.paragraph_break();
        if out.full() {
            break;
        }
    }
    out.finish()
}

#[derive(Default)]
struct TextBuilder {
    paragraphs: Vec<String>,
    current: String,
    pending_space: bool,
    bytes: usize,
}

impl TextBuilder {
    fn full(&self) -> bool {
        self.bytes >= MAX_TEXT_BYTES
    }

    /// Appends `t` with its whitespace collapsed. Runs of visible ASCII (most
    /// of a news text) go in with one copy each; every other character takes
    /// [`TextBuilder::push_char`], and both stop at the same byte as it alone
    /// would (a test checks that).
    fn push_text(&mut self, t: &str) {
        let bytes = t.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if self.full() {
                return;
            }
            match bytes[i] {
                b' ' => {
                    self.pending_space = true;
                    i += 1;
                }
                b if b.is_ascii_graphic() => {
                    let run = bytes[i..]
                        .iter()
                        .position(|b| !b.is_ascii_graphic())
                        .unwrap_or(bytes.len() - i);
                    self.space_if_pending();
                    // The first character goes in; each further one while not full.
                    let room = MAX_TEXT_BYTES.saturating_sub(self.bytes).max(1);
                    let end = i + run.min(room);
                    self.current.push_str(&t[i..end]);
                    self.bytes += end - i;
                    i = end;
                }
                _ => {
                    let c = t[i..].chars().next().expect("i is on a char boundary");
                    self.push_char(c);
                    i += c.len_utf8();
                }
            }
        }
    }

    /// One character of text (the caller has checked [`TextBuilder::full`]).
    fn push_char(&mut self, c: char) {
        if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
            self.pending_space = true;
        } else if c == '\u{ad}' || c == '\u{2060}' {
            // A soft hyphen or word joiner splits a word only for layout:
            // "Ukrai\u{ad}ne" is "Ukraine" to a reader and to matching.
        } else if !c.is_control() {
            self.space_if_pending();
            self.current.push(c);
            self.bytes += c.len_utf8();
        }
    }

    fn space_if_pending(&mut self) {
        if self.pending_space && !self.current.is_empty() && !self.current.ends_with('\n') {
            self.current.push(' ');
            self.bytes += 1;
        }
        self.pending_space = false;
    }

    fn line_break(&mut self) {
        let trimmed = self.current.trim_end_matches(' ').len();
        self.current.truncate(trimmed);
        if !self.current.is_empty() && !self.current.ends_with('\n') {
            self.current.push('\n');
            self.bytes += 1;
        }
        self.pending_space = false;
    }

    fn paragraph_break(&mut self) {
        let p = self.current.trim();
        if !p.is_empty() {
            self.paragraphs.push(p.to_string());
        }
        self.current.clear();
        self.pending_space = false;
    }

    fn finish(mut self) -> String {
        self.paragraph_break();
        self.paragraphs.join("\n\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The char-by-char `push_text` that the ASCII runs replaced.
    fn push_text_by_char(b: &mut TextBuilder, t: &str) {
        for c in t.chars() {
            if b.full() {
                return;
            }
            b.push_char(c);
        }
    }

    #[test]
    fn ascii_runs_push_what_single_characters_would() {
        let pieces = [
            "Witkoff",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u{b}",
            "\u{c}",
            "\u{1c}",
            "\u{0}",
            "\u{7f}",
            "Kyiv,",
            "Путин",
            "é",
            "\u{ad}",
            "\u{200b}",
            "\u{feff}",
            "\u{a0}",
            "\u{2060}",
            "—",
            "🇺🇦",
            "a",
            "9",
            "€21bn",
            "\u{85}",
            "\u{2028}",
            ".",
            "\"",
            "x\u{301}",
        ];
        let mut seed = 0x5eed_u64;
        for case in 0..3000 {
            let mut t = String::new();
            let n = (crate::matching::text::tests::xorshift(&mut seed) % 24) as usize;
            for _ in 0..n {
                let k = crate::matching::text::tests::xorshift(&mut seed) as usize % pieces.len();
                t.push_str(pieces[k]);
            }
            // Some builders start next to the cap, to stop both at the same byte.
            let start = match case % 3 {
                0 => 0,
                1 => MAX_TEXT_BYTES - (case % 17),
                _ => MAX_TEXT_BYTES - 1,
            };
            let fresh = |pending| TextBuilder {
                current: "lead".to_string(),
                bytes: start,
                pending_space: pending,
                ..TextBuilder::default()
            };
            for pending in [false, true] {
                let (mut fast, mut slow) = (fresh(pending), fresh(pending));
                fast.push_text(&t);
                push_text_by_char(&mut slow, &t);
                assert_eq!(
                    (&fast.current, fast.bytes, fast.pending_space),
                    (&slow.current, slow.bytes, slow.pending_space),
                    "{t:?} from {start}"
                );
            }
        }
    }

    #[test]
    fn soft_hyphens_do_not_split_words() {
        assert_eq!(
            html_to_text("<p>Selen&shy;skyj and Ukrai\u{ad}ne</p>"),
            "Selenskyj and Ukraine"
        );
    }

    #[test]
    fn entities_are_decoded_once() {
        assert_eq!(
            html_to_text("AT&amp;T &ndash; caf&eacute; &#8220;q&#x201D;"),
            "AT&T – café “q”"
        );
        // A double-escaped entity is shown as the reader would see it.
        assert_eq!(html_to_text("5 &amp;gt; 4"), "5 &gt; 4");
        assert_eq!(html_to_text("a&nbsp;b"), "a b");
    }

    #[test]
    fn scripts_styles_and_objects_are_dropped() {
        let html = "<p>Before</p><script>alert('x')</script><style>p{}</style>\
                    <iframe src=x>frame</iframe><noscript>enable js</noscript><p>After</p>";
        assert_eq!(html_to_text(html), "Before\n\nAfter");
    }

    #[test]
    fn paragraphs_and_line_breaks_are_kept() {
        let html = "<div><h2>Talks</h2><p>Witkoff met   Putin\n in <b>St&nbsp;Petersburg</b>.</p>\
                    <ul><li>one</li><li>two</li></ul>Line<br>break</div>";
        assert_eq!(
            html_to_text(html),
            "Talks\n\nWitkoff met Putin in St Petersburg.\n\none\n\ntwo\n\nLine\nbreak"
        );
    }

    #[test]
    fn nested_and_broken_markup() {
        assert_eq!(
            html_to_text("<B>bold <i>and <a HREF=x>link</b> tail"),
            "bold and link tail"
        );
        assert_eq!(html_to_text("<p>unclosed <div>block"), "unclosed\n\nblock");
        assert_eq!(html_to_text("<p></p><p>  </p>"), "");
    }

    #[test]
    fn plain_text_keeps_paragraphs() {
        assert_eq!(
            plain_to_text("One  two\nthree\n\n Four "),
            "One two three\n\nFour"
        );
        assert_eq!(html_to_text("no markup at all"), "no markup at all");
    }

    #[test]
    fn deep_nesting_is_flattened_not_parsed_quadratically() {
        let html =
            "<div><span>".repeat(100_000) + "deep <b>text</b>" + &"</span></div>".repeat(100_000);
        assert_eq!(nesting_depth(&html), 200_001);
        assert_eq!(html_to_text(&html), "deep text");
        let hostile = "<p>".repeat(600) + "a<script>x</script>b<!-- c -->d<br/>e &amp; f";
        assert_eq!(html_to_text(&hostile), "abd\ne & f");
    }

    #[test]
    fn tag_names_match_in_any_case() {
        assert_eq!(
            nesting_depth("<DIV><Div><div>x<BR><Img src=x></div></DIV></div>"),
            3
        );
        assert_eq!(
            flatten("<DIV>a<SCRIPT>x</script>b<Br>c<H2>d</h2><Span>e"),
            "<p>ab<br>c<p>d<p>e"
        );
    }

    #[test]
    fn output_is_bounded() {
        let html = "<p>".to_string() + &"word ".repeat(200_000) + "</p>";
        assert!(html_to_text(&html).len() <= MAX_TEXT_BYTES + 8);
    }
}
