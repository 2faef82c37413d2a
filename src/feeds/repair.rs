//! Making real-world XML feeds readable.
//!
//! [`prepare`] always runs on decoded text: it drops what precedes the first
//! markup and the XML declaration (the text is UTF-8 now, whatever it said),
//! and rewrites root namespaces that feed-rs silently ignores (a default
//! namespace on `<rss>`, RSS 0.90, Atom 0.3).
//!
//! [`repair`] runs only when strict parsing failed: it escapes raw `&`,
//! turns HTML entities into character references, closes a CDATA section or
//! elements left open by a truncated download.

use std::borrow::Cow;

const RSS090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS10_NS: &str = "http://purl.org/rss/1.0/";
const ATOM03_NS: &str = "http://purl.org/atom/ns#";
const ATOM10_NS: &str = "http://www.w3.org/2005/Atom";

/// Normalises the prolog and root element of a decoded XML feed.
pub fn prepare(text: &str) -> Cow<'_, str> {
    let mut s: Cow<'_, str> =
        Cow::Borrowed(text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}'));
    // The XML declaration may sit after a comment or a blank line, where
    // strict parsers reject it; the text is UTF-8 now, so drop it wherever it is.
    if let Some(start) = find_xml_decl(&s) {
        if let Some(len) = s[start..].find("?>") {
            s = match s {
                // Where it leads (nearly always), skipping it copies nothing.
                Cow::Borrowed(t) if start == 0 => Cow::Borrowed(&t[len + 2..]),
                other => {
                    let mut owned = other.into_owned();
                    owned.replace_range(start..start + len + 2, "");
                    Cow::Owned(owned)
                }
            };
        }
    }
    // A second document glued on (a CMS bug) brings its own declaration,
    // which is only legal at the start: drop every later one.
    if s.contains("<?xml") {
        s = Cow::Owned(drop_xml_decls(&s));
    }
    let Some((root_start, root_end)) = root_tag(&s) else {
        return s;
    };
    let root = &s[root_start..root_end];
    let name = root[1..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .next()
        .unwrap_or("");
    let new_root = if name.eq_ignore_ascii_case("rss") {
        // RSS 2.0 has no namespace; one declared as default hides every element.
        let mut r = if root.contains("xmlns=") {
            remove_default_xmlns(root)
        } else {
            root.to_string()
        };
        // feed-rs only reads `<rss>` with a version it knows; 0.93, 0.94 or
        // none at all are RSS 2.0 in practice.
        if ![
            "\"0.91\"", "\"0.92\"", "\"2.0\"", "'0.91'", "'0.92'", "'2.0'",
        ]
        .iter()
        .any(|v| r.contains(v))
        {
            r = set_rss_version(&r);
        }
        (r != root).then_some(r)
    } else if root.contains(RSS090_NS) {
        Some(root.replace(RSS090_NS, RSS10_NS))
    } else if root.contains(ATOM03_NS) {
        Some(root.replace(ATOM03_NS, ATOM10_NS))
    } else {
        None
    };
    let Some(new_root) = new_root else {
        return s;
    };
    let atom03 = root.contains(ATOM03_NS);
    let mut owned = String::with_capacity(s.len());
    owned.push_str(&s[..root_start]);
    owned.push_str(&new_root);
    let body = &s[root_end..];
    if atom03 {
        // Atom 0.3 element names that Atom 1.0 renamed.
        let body = body
            .replace("<modified>", "<updated>")
            .replace("</modified>", "</updated>")
            .replace("<issued>", "<published>")
            .replace("</issued>", "</published>")
            .replace("<tagline", "<subtitle")
            .replace("</tagline>", "</subtitle>");
        owned.push_str(&body);
    } else {
        owned.push_str(body);
    }
    Cow::Owned(owned)
}

/// `s` without `<?xml …?>` declarations (but with other `<?xml-…?>` processing instructions).
fn drop_xml_decls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("<?xml") {
        let is_decl = rest[i + 5..]
            .chars()
            .next()
            .is_some_and(char::is_whitespace);
        match rest[i..].find("?>").filter(|_| is_decl) {
            Some(len) => {
                out.push_str(&rest[..i]);
                rest = &rest[i + len + 2..];
            }
            None => {
                out.push_str(&rest[..i + 5]);
                rest = &rest[i + 5..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn find_xml_decl(s: &str) -> Option<usize> {
    // Only in the prolog, before the root element.
    let root = root_tag(s).map(|(a, _)| a).unwrap_or(s.len());
    let head = &s[..root];
    let i = head.find("<?xml")?;
    let after = head[i + 5..].chars().next()?;
    after.is_whitespace().then_some(i)
}

/// Byte range of the root element's start tag.
fn root_tag(s: &str) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let start = i + off;
        let rest = &s[start..];
        if rest.starts_with("<?") {
            i = start + rest.find("?>")? + 2;
        } else if rest.starts_with("<!--") {
            i = start + rest.find("-->")? + 3;
        } else if rest.starts_with("<!") {
            i = start + rest.find('>')? + 1;
        } else {
            let end = start + rest.find('>')? + 1;
            return Some((start, end));
        }
    }
    None
}

/// Replaces or adds the `version` attribute of an `<rss>` start tag.
fn set_rss_version(root: &str) -> String {
    let mut r = root.to_string();
    if let Some(i) = r.find("version=") {
        let value = i + "version=".len();
        // Only a quoted value is replaced; anything else (a stray byte
        // decoded as '¢', say) is left for the parser to reject.
        if let Some(quote) = r[value..]
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\''))
        {
            if let Some(len) = r[value + 1..].find(quote) {
                r.replace_range(i..value + 1 + len + 1, "version=\"2.0\"");
                return r;
            }
        }
    }
    r.insert_str(4, " version=\"2.0\"");
    r
}

fn remove_default_xmlns(root: &str) -> String {
    let mut out = root.to_string();
    while let Some(i) = out
        .find(" xmlns=")
        .or_else(|| out.find("\txmlns="))
        .or_else(|| out.find("\nxmlns="))
    {
        let after = &out[i + 7..];
        let quote = after.chars().next().unwrap_or('"');
        let end = after[1..]
            .find(quote)
            .map(|e| i + 7 + 1 + e + 1)
            .unwrap_or(out.len() - 1);
        out.replace_range(i..end, "");
    }
    out
}

/// What [`repair`] changed, for the log line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    pub ampersands: usize,
    pub entities: usize,
    pub closed_cdata: bool,
    pub closed_elements: usize,
}

impl Repairs {
    pub fn any(&self) -> bool {
        *self != Repairs::default()
    }
}

/// Fixes the well-formedness errors real feeds make; see the module doc.
pub fn repair(text: &str) -> (String, Repairs) {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rep = Repairs::default();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let rest = &text[i..];
        match bytes[i] {
            b'<' => {
                if rest.starts_with("<![CDATA[") {
                    match rest.find("]]>") {
                        Some(end) => {
                            out.push_str(&rest[..end + 3]);
                            i += end + 3;
                        }
                        None => {
                            out.push_str(rest);
                            out.push_str("]]>");
                            rep.closed_cdata = true;
                            i = text.len();
                        }
                    }
                } else if rest.starts_with("<!--")
                    || rest.starts_with("<?")
                    || rest.starts_with("<!")
                {
                    let close = if rest.starts_with("<!--") { "-->" } else { ">" };
                    match rest.find(close) {
                        Some(e) => {
                            out.push_str(&rest[..e + close.len()]);
                            i += e + close.len();
                        }
                        // Cut off by the end of the download: drop it.
                        None => i = text.len(),
                    }
                } else {
                    let Some(end) = tag_end(rest) else {
                        // A tag cut off by the end of the download.
                        i = text.len();
                        continue;
                    };
                    let tag = &rest[..end];
                    track_element(tag, &mut stack);
                    out.push_str(&escape_tag_ampersands(tag, &mut rep));
                    i += end;
                }
            }
            b'&' => {
                let (piece, consumed) = fix_ampersand(rest, &mut rep);
                out.push_str(&piece);
                i += consumed;
            }
            _ => {
                let next = rest.find(['<', '&']).unwrap_or(rest.len());
                out.push_str(&rest[..next]);
                i += next;
            }
        }
    }
    while let Some(name) = stack.pop() {
        out.push_str("</");
        out.push_str(&name);
        out.push('>');
        rep.closed_elements += 1;
    }
    (out, rep)
}

/// End of a start or end tag, honouring quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"') | (None, b'\'') => quote = Some(b),
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn track_element(tag: &str, stack: &mut Vec<String>) {
    let inner = tag.trim_start_matches('<').trim_end_matches('>');
    if let Some(name) = inner.strip_prefix('/') {
        let name = name.trim();
        if let Some(pos) = stack.iter().rposition(|n| n == name) {
            stack.truncate(pos);
        }
    } else if !inner.ends_with('/') {
        let name: String = inner
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        if !name.is_empty() {
            stack.push(name);
        }
    }
}

fn escape_tag_ampersands<'a>(tag: &'a str, rep: &mut Repairs) -> Cow<'a, str> {
    if !tag.contains('&') {
        return Cow::Borrowed(tag);
    }
    let mut out = String::with_capacity(tag.len() + 8);
    let mut i = 0;
    while let Some(off) = tag[i..].find('&') {
        out.push_str(&tag[i..i + off]);
        let (piece, consumed) = fix_ampersand(&tag[i + off..], rep);
        out.push_str(&piece);
        i += off + consumed;
    }
    out.push_str(&tag[i..]);
    Cow::Owned(out)
}

/// `s` starts with '&'. Returns the replacement and how many bytes it covers.
fn fix_ampersand(s: &str, rep: &mut Repairs) -> (Cow<'static, str>, usize) {
    let body: String = s[1..]
        .chars()
        .take(33)
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .collect();
    let terminated = s[1 + body.len()..].starts_with(';');
    if terminated && !body.is_empty() {
        let len = 1 + body.len() + 1;
        if let Some(num) = body.strip_prefix('#') {
            let ok = match num.strip_prefix(['x', 'X']) {
                Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
                None => !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()),
            };
            if ok {
                return (Cow::Owned(s[..len].to_string()), len);
            }
        } else if matches!(body.as_str(), "amp" | "lt" | "gt" | "quot" | "apos") {
            return (Cow::Owned(s[..len].to_string()), len);
        } else if let Some(&(cp1, cp2)) =
            markup5ever::data::NAMED_ENTITIES.get(format!("{body};").as_str())
        {
            rep.entities += 1;
            let mut r = format!("&#{cp1};");
            if cp2 != 0 {
                r.push_str(&format!("&#{cp2};"));
            }
            return (Cow::Owned(r), len);
        }
    }
    rep.ampersands += 1;
    (Cow::Borrowed("&amp;"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prolog_junk_and_declarations_go() {
        assert_eq!(
            prepare("\n\n<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<feed/>").trim(),
            "<feed/>"
        );
        assert_eq!(
            prepare("<!-- c -->\r\n<?xml version=\"1.0\"?><rss version=\"2.0\"/>"),
            "<!-- c -->\r\n<rss version=\"2.0\"/>"
        );
        // A processing instruction that merely starts like one stays.
        assert_eq!(
            prepare("<?phpxml version=\"1.0\"?><feed/>"),
            "<?phpxml version=\"1.0\"?><feed/>"
        );
    }

    #[test]
    fn root_namespaces_that_hide_entries_are_rewritten() {
        assert_eq!(
            prepare("<rss xmlns=\"http://backend.userland.com/rss2\" version=\"2.0\" xmlns:y=\"urn:y\"><channel/></rss>"),
            "<rss version=\"2.0\" xmlns:y=\"urn:y\"><channel/></rss>"
        );
        assert!(
            prepare("<rdf:RDF xmlns=\"http://my.netscape.com/rdf/simple/0.9/\">")
                .contains(RSS10_NS)
        );
        let atom = prepare("<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><entry><modified>x</modified></entry></feed>");
        assert!(atom.contains(ATOM10_NS) && atom.contains("<updated>x</updated>"));
    }

    #[test]
    fn raw_ampersands_and_html_entities() {
        let (s, r) =
            repair("<a href=\"/x?a=1&b=2\">Tom & Jerry&nbsp;&amp; &#233; &copy;&bogus;</a>");
        assert_eq!(
            s,
            "<a href=\"/x?a=1&amp;b=2\">Tom &amp; Jerry&#160;&amp; &#233; &#169;&amp;bogus;</a>"
        );
        assert_eq!((r.ampersands, r.entities), (3, 2));
    }

    #[test]
    fn cdata_is_left_alone_and_closed_when_cut() {
        let (s, r) = repair("<rss><channel><item><description><![CDATA[a & b <p>");
        assert_eq!(s, "<rss><channel><item><description><![CDATA[a & b <p>]]></description></item></channel></rss>");
        assert!(r.closed_cdata);
        assert_eq!(r.closed_elements, 4);
    }

    #[test]
    fn rss_without_a_known_version_is_read_as_rss2() {
        assert_eq!(prepare("<rss>\n</rss>"), "<rss version=\"2.0\">\n</rss>");
        assert_eq!(
            prepare("<rss version='0.94'><channel/></rss>"),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(prepare("<rss version=\"2.0\"/>"), "<rss version=\"2.0\"/>");
    }

    #[test]
    fn a_cut_off_marker_is_dropped() {
        let (s, _) = repair("<rss><channel><item><title><![CD");
        assert_eq!(
            s,
            "<rss><channel><item><title></title></item></channel></rss>"
        );
    }

    #[test]
    fn a_tag_cut_in_half_is_dropped_and_the_rest_closed() {
        let (s, _) = repair("<rss><channel><title>x</title><descr");
        assert_eq!(s, "<rss><channel><title>x</title></channel></rss>");
    }
}
