//! Finding a story's patterns in folded text. Every pattern starts with the
//! space before a word (see [`super::text::fold`]), so instead of one
//! unanchored pass that steps the automaton on every byte, each word start
//! gets a short anchored walk that ends as soon as no pattern continues the
//! text read so far. Before any walk, a bit filter of the patterns' first
//! bytes turns away most words of a text (all but 8 % on the benchmark's
//! news stream against 10,000 aliases).

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind};

use super::text::{load8, space_lanes};

/// The compiled patterns of one story.
pub struct Scanner {
    /// Anchored only: no failure transitions are followed, so a miss is a
    /// dead state at once. A contiguous NFA is a thirtieth of an anchored
    /// DFA's memory (0.9 against 27 MiB for 10,000 aliases) and, for walks
    /// this short and this rare, within a few per cent of its speed.
    nfa: NFA,
    /// The state after the space every pattern starts with.
    after_space: StateID,
    /// A filter of the first four bytes after a word's space in every
    /// pattern that long (hashed, so it may pass a word that no pattern
    /// starts, but never fails one that some pattern does): most words of a
    /// text fail it and need no walk at all.
    prefixes: Box<[u64; PREFIX_WORDS]>,
    /// The same for patterns of one or two bytes ("xi"), exact; `None`
    /// when a story has none.
    short: Option<Box<[u64; 1024]>>,
}

/// 2^17 bits (16 KiB): a few thousand prefixes leave it sparse.
const PREFIX_BITS: u32 = 17;
const PREFIX_WORDS: usize = (1 << PREFIX_BITS) / 64;

/// The bit of two bytes after a word's space, for short patterns.
fn pair_bit(b1: u8, b2: u8) -> usize {
    (b1 as usize) << 8 | b2 as usize
}

/// The filter bit of the four bytes after a word's space.
fn prefix_bit(b1: u8, b2: u8, b3: u8, b4: u8) -> usize {
    let key = u32::from_le_bytes([b1, b2, b3, b4]);
    (key.wrapping_mul(0x9E37_79B1) >> (32 - PREFIX_BITS)) as usize
}

impl Scanner {
    /// `None` when there is nothing to look for.
    pub fn new(patterns: &[String]) -> Option<Scanner> {
        if patterns.is_empty() {
            return None;
        }
        debug_assert!(patterns.iter().all(|p| p.starts_with(' ')));
        let nfa = NFA::builder()
            .match_kind(MatchKind::Standard)
            .dense_depth(4)
            .build(patterns)
            .expect("patterns are plain strings");
        let mut prefixes = Box::new([0u64; PREFIX_WORDS]);
        let mut short: Option<Box<[u64; 1024]>> = None;
        let set = |bits: &mut [u64], i: usize| bits[i / 64] |= 1 << (i % 64);
        for p in patterns {
            match p.as_bytes() {
                [_, b1, b2, b3, b4, ..] => set(&mut prefixes[..], prefix_bit(*b1, *b2, *b3, *b4)),
                // Three bytes: any fourth may follow them.
                [_, b1, b2, b3] => {
                    (0..=255).for_each(|b4| set(&mut prefixes[..], prefix_bit(*b1, *b2, *b3, b4)))
                }
                [_, b1, rest @ ..] => {
                    let bits = short.get_or_insert_with(|| Box::new([0; 1024]));
                    match rest.first() {
                        Some(b2) => set(&mut bits[..], pair_bit(*b1, *b2)),
                        // One byte: any may follow it.
                        None => (0..=255).for_each(|b2| set(&mut bits[..], pair_bit(*b1, b2))),
                    }
                }
                _ => {}
            }
        }
        let start = nfa
            .start_state(Anchored::Yes)
            .expect("an NFA supports anchored searches");
        let after_space = nfa.next_state(Anchored::Yes, start, b' ');
        Some(Scanner {
            nfa,
            after_space,
            prefixes,
            short,
        })
    }

    /// Calls `on_match(pattern, start, end)` for every occurrence of every
    /// pattern, overlapping ones included, in the order of their starts.
    pub fn for_each(&self, folded: &str, mut on_match: impl FnMut(usize, usize, usize)) {
        let aut = &self.nfa;
        let bytes = folded.as_bytes();
        let mut at_word = |start: usize| {
            let byte = |i: usize| bytes.get(start + i).copied().unwrap_or(0);
            let has = |bits: &[u64], i: usize| bits[i / 64] & (1 << (i % 64)) != 0;
            let (b1, b2) = (byte(1), byte(2));
            if !has(&self.prefixes[..], prefix_bit(b1, b2, byte(3), byte(4)))
                && !self
                    .short
                    .as_ref()
                    .is_some_and(|bits| has(&bits[..], pair_bit(b1, b2)))
            {
                return;
            }
            // Every pattern's first byte is the space itself.
            let mut sid = self.after_space;
            for (end, &b) in bytes.iter().enumerate().skip(start + 1) {
                sid = aut.next_state(Anchored::Yes, sid, b);
                if !aut.is_special(sid) {
                    continue;
                }
                if aut.is_dead(sid) {
                    break;
                }
                if aut.is_match(sid) {
                    let depth = end + 1 - start;
                    for k in 0..aut.match_len(sid) {
                        let pid = aut.match_pattern(sid, k);
                        // A state also carries the patterns that end its
                        // text as a suffix; those start at a later word and
                        // are found from there.
                        if aut.pattern_len(pid) == depth {
                            on_match(pid.as_usize(), start, end + 1);
                        }
                    }
                }
            }
        };
        // The spaces, eight bytes at a time.
        for at in (0..bytes.len()).step_by(8) {
            let mut spaces = space_lanes(load8(bytes, at));
            while spaces != 0 {
                at_word(at + spaces.trailing_zeros() as usize / 8);
                spaces &= spaces - 1;
            }
        }
    }

    /// Heap bytes of the automaton.
    pub fn memory_usage(&self) -> usize {
        self.nfa.memory_usage()
            + std::mem::size_of_val(&*self.prefixes)
            + self
                .short
                .as_ref()
                .map_or(0, |b| std::mem::size_of_val(&**b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::text::fold;
    use crate::matching::text::tests::xorshift;
    use aho_corasick::AhoCorasick;

    /// Every occurrence an unanchored overlapping search finds, and no other.
    #[test]
    fn finds_what_an_unanchored_overlapping_search_finds() {
        let patterns: Vec<String> = [
            " putin",
            " vladimir putin",
            " vladimir",
            " st petersburg",
            " petersburg",
            " _us",
            " ceasefir",
            " cease",
            " a",
            " a b",
            " b",
            " xi",
        ]
        .map(String::from)
        .to_vec();
        let texts = [
            " vladimir putin met _us envoy in st petersburg \n ceasefire a b a \n",
            " putinist vladimirovich petersburgers \n a \n b a b \n",
            " xi xin _xi \n xi",
            " ",
            "",
            " \n \n",
        ];
        let scanner = Scanner::new(&patterns).unwrap();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .unwrap();
        for text in texts {
            let mut got = Vec::new();
            scanner.for_each(text, |p, s, e| got.push((p, s, e)));
            let mut want: Vec<_> = ac
                .find_overlapping_iter(text)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            want.sort_by_key(|&(p, s, e)| (s, e, p));
            got.sort_by_key(|&(p, s, e)| (s, e, p));
            assert_eq!(got, want, "{text:?}");
        }
    }

    /// The same on folded random text over words that share prefixes with
    /// the patterns, long and short ones, and multi-word patterns.
    #[test]
    fn finds_the_same_on_random_folded_text() {
        let words = [
            "Putin",
            "Putina",
            "Vladimir",
            "vlad",
            "Xi",
            "xin",
            "EU",
            "eus",
            "St.",
            "Petersburg",
            "ceasefire",
            "cease",
            "talks",
            "a",
            "b",
            "ab",
            "Witkoff",
            "witkoffs",
            "US",
            "us",
            "2025",
            "G7",
            "Péskov",
            "Песков",
            "Пескова",
            ",",
            "—",
            "\n",
            "Kremlin",
            "kreml",
        ];
        let patterns: Vec<String> = [
            "Putin",
            "Vladimir Putin",
            "Xi",
            "EU",
            "St Petersburg",
            "Petersburg",
            "Witkoff",
            "US",
            "G7",
            "Peskov",
            "Песков",
            "Kremlin",
            "a",
            "a b",
            "ceasefir",
            "cease",
            "talk",
        ]
        .iter()
        .map(|p| fold(p).trim_end().to_string())
        .collect();
        let scanner = Scanner::new(&patterns).unwrap();
        assert!(scanner.short.is_some());
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                text.push_str(words[(xorshift(&mut seed) % words.len() as u64) as usize]);
                text.push(' ');
            }
            let folded = fold(&text);
            let mut got = Vec::new();
            scanner.for_each(&folded, |p, s, e| got.push((s, e, p)));
            let mut want: Vec<_> = ac
                .find_overlapping_iter(&folded)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{folded:?}");
        }
    }

    #[test]
    fn nothing_to_look_for_is_none() {
        assert!(Scanner::new(&[]).is_none());
    }
}
