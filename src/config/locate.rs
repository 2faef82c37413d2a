//! Where a config problem is: its line, column and dotted key
//! (`poll.timeout`, `feed[2].url`), read off the TOML parser's own spans.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::Problem;

/// Every key of a document with the byte range from its name to the end of
/// its value. Tables of an array of tables are numbered from 1, as the
/// `[[feed]]` headers a user counts; plain arrays are one key.
pub(super) struct Locator<'s> {
    src: &'s str,
    keys: Vec<(String, Range<usize>)>,
}

impl<'s> Locator<'s> {
    /// A document that does not parse has no keys: its problems carry
    /// only their line and column.
    pub(super) fn new(src: &'s str) -> Locator<'s> {
        let mut keys = Vec::new();
        if let Ok(doc) = DeTable::parse(src) {
            walk(src, doc.get_ref(), "", &mut keys);
        }
        Locator { src, keys }
    }

    /// The problem at `span`, without its message. The key is the innermost
    /// one whose range holds the span's start.
    pub(super) fn locate(&self, span: Range<usize>) -> Problem {
        let start = span.start.min(self.src.len());
        let before = &self.src[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        let key = self
            .keys
            .iter()
            .filter(|(_, r)| r.start <= start && start < r.end.max(r.start + 1))
            .min_by_key(|(_, r)| r.end - r.start)
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| {
                if self.keys.is_empty() {
                    String::new()
                } else {
                    "(top level)".to_string()
                }
            });
        Problem {
            line,
            column,
            key,
            message: String::new(),
        }
    }
}

fn walk(src: &str, table: &DeTable<'_>, prefix: &str, out: &mut Vec<(String, Range<usize>)>) {
    for (k, v) in table.iter() {
        let path = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        out.push((path.clone(), k.span().start..v.span().end));
        match v.get_ref() {
            DeValue::Table(t) => walk(src, t, &path, out),
            // `[[feed]]`: the name follows the double bracket.
            DeValue::Array(a) if src[..k.span().start].trim_end().ends_with("[[") => {
                for (i, entry) in a.iter().enumerate() {
                    let at = format!("{path}[{}]", i + 1);
                    if let DeValue::Table(t) = entry.get_ref() {
                        out.push((at.clone(), entry.span()));
                        walk(src, t, &at, out);
                    }
                }
            }
            _ => {}
        }
    }
}
