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
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head",
    "title", "select", "button", "canvas", "audio", "video", "picture", "map",
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

    fn push_text(&mut self, t: &str) {
        for c in t.chars() {
            if self.full() {
                return;
            }
            if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
                self.pending_space = true;
            } else if !c.is_control() {
                if self.pending_space && !self.current.is_empty() && !self.current.ends_with('\n') {
                    self.current.push(' ');
                    self.bytes += 1;
                }
                self.pending_space = false;
                self.current.push(c);
                self.bytes += c.len_utf8();
            }
        }
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
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
        assert_eq!(html_to_text(&html), "deep");
    }

    #[test]
    fn output_is_bounded() {
        let html = "<p>".to_string() + &"word ".repeat(200_000) + "</p>";
        assert!(html_to_text(&html).len() <= MAX_TEXT_BYTES + 8);
    }
}
