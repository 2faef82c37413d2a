//! Feed text wherever it is shown: a title may carry escape sequences or
//! bidi overrides that would rewrite what a terminal, a chat message or a
//! mail shows around it. Items are stored with them removed ([`text`]), and
//! listings print every stored or received text through [`plain`] as well.

use std::borrow::Cow;

/// Bidi embeddings, overrides, isolates and marks (Unicode's Bidi_Control).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` safe to print on one line of a terminal.
pub fn plain(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|c| !is_bidi_control(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// `s` as [`plain`] makes it, with runs of white space as one space.
pub fn one_line(s: &str) -> String {
    plain(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` with bidi controls dropped and control characters other than line
/// breaks and tabs turned into spaces: what an item's text keeps.
pub fn text(s: &str) -> Cow<'_, str> {
    let bad = |c: char| is_bidi_control(c) || (c.is_control() && c != '\n' && c != '\t');
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .filter(|c| !is_bidi_control(*c))
            .map(|c| if bad(c) { ' ' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_overrides_do_not_reach_the_terminal() {
        assert_eq!(plain("Quake hits Kobe"), "Quake hits Kobe");
        assert!(matches!(plain("plain"), Cow::Borrowed(_)));
        assert_eq!(plain("a\u{1b}[2Jb\nc\u{9b}d"), "a [2Jb c d");
        assert_eq!(
            plain("evil\u{202E}txt.exe\u{2066}x\u{2069}"),
            "eviltxt.exex"
        );
        assert_eq!(text("a\u{1b}[31mb\n\tc\u{202E}d"), "a [31mb\n\tcd");
    }
}
