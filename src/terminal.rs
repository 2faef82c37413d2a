//! Feed text on a terminal: a title may carry escape sequences or bidi
//! overrides that would rewrite what the listing shows around it, so
//! listings print it with control characters turned into spaces and
//! direction overrides dropped.

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
    }
}
