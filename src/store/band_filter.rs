//! A Bloom filter over the band index's keys, held beside the connection.
//!
//! Most of a lookup's 32 band probes ask for keys no stored item has: all of
//! them for a text that is not a copy. Once the band index outgrows the page
//! cache (from about 10,000 items in the window on), each such probe reads a
//! leaf page from the file, so a lookup cost twice as much at 1M items as at
//! 10k. The filter answers "certainly absent" for most of those keys from
//! memory, and a lookup with fewer than two keys left needs no probe at all.
//!
//! The filter may only err towards "maybe present": it holds every key of
//! every `item_prints` row up to `covered_to`, plus the keys this connection
//! added since. A write transaction's first lookup or print adds the rows
//! committed after `covered_to` (by other connections: it holds the write
//! lock, so none come while it runs), and a transaction that attached prints
//! moves `covered_to` to the last of them just before it commits. Keys of
//! pruned or rolled-back rows stay until the next rebuild; they cost a
//! probe, never a missed copy.

/// Bits per key when the filter is (re)built: 32 bytes per item in the
/// window, about 4 % false positives with three bits per key in one 64-bit
/// block.
const BITS_PER_KEY: u64 = 8;
/// Below this many bits per key (the window has doubled since the build;
/// about 15 % false positives) the filter asks to be rebuilt larger.
const MIN_BITS_PER_KEY: u64 = 4;
/// Smallest filter, in 64-bit words (8 KiB).
const MIN_WORDS: usize = 1024;
/// Largest filter, in 64-bit words (64 MiB): past about 67 million keys
/// (two million items in the window) it only grows less useful, never wrong.
const MAX_WORDS: usize = 8 << 20;

/// Three bits in one 64-bit word per key: one cache line per test.
#[derive(Debug)]
pub(super) struct BandFilter {
    words: Vec<u64>,
    /// Keys added since the last build; repeats are counted, so this can
    /// only overstate how full the filter is.
    keys: u64,
    /// Keys deleted from the index since the last build (still set here).
    pruned: u64,
    /// Every `item_prints` row with an id up to this one is in the filter.
    pub(super) covered_to: i64,
    /// Rows in `lsh_recent` as far as this connection knows (another one's
    /// merge can only make it an overstatement).
    pub(super) recent: u64,
    /// This transaction attached prints: before it commits, `covered_to`
    /// moves past them, so the next catch-up does not add them twice.
    pub(super) attached: bool,
    /// Set when the filter is too full (or holds many pruned keys) and should
    /// be rebuilt from the tables at a transaction's first lookup or print.
    pub(super) stale: bool,
}

impl BandFilter {
    /// An empty filter sized for `items` fingerprinted items.
    pub(super) fn with_capacity(items: u64) -> BandFilter {
        let bits = items
            .saturating_mul(crate::neardup::BANDS as u64)
            .saturating_mul(BITS_PER_KEY);
        let words = (bits / 64).clamp(MIN_WORDS as u64, MAX_WORDS as u64) as usize;
        BandFilter {
            words: vec![0; words],
            keys: 0,
            pruned: 0,
            recent: 0,
            covered_to: 0,
            attached: false,
            stale: false,
        }
    }

    /// A filter to be built before its first use.
    pub(super) fn stale() -> BandFilter {
        BandFilter {
            stale: true,
            ..BandFilter::with_capacity(0)
        }
    }

    /// The word and the three-bit mask of `key`. Keys are already mixed
    /// hashes (`Fingerprint::band_keys`); the high half picks the word by a
    /// multiply-shift (no power-of-two size needed), the low bits the bits.
    fn slot(&self, key: i64) -> (usize, u64) {
        let k = key as u64;
        let word = (((k >> 32) * self.words.len() as u64) >> 32) as usize;
        let mask = 1u64 << (k & 63) | 1u64 << ((k >> 6) & 63) | 1u64 << ((k >> 12) & 63);
        (word, mask)
    }

    pub(super) fn insert(&mut self, key: i64) {
        let (w, mask) = self.slot(key);
        self.words[w] |= mask;
        self.keys += 1;
        if self.words.len() < MAX_WORDS && self.keys * MIN_BITS_PER_KEY > self.bits() {
            self.stale = true;
        }
    }

    /// `keys` were deleted from the index: when they are a quarter of what
    /// the filter holds, a rebuild makes it smaller and sharper.
    pub(super) fn note_pruned(&mut self, keys: u64) {
        self.pruned += keys;
        if self.pruned * 4 > self.keys {
            self.stale = true;
        }
    }

    /// False only when no key equal to `key` was ever inserted.
    pub(super) fn may_contain(&self, key: i64) -> bool {
        let (w, mask) = self.slot(key);
        self.words[w] & mask == mask
    }

    fn bits(&self) -> u64 {
        self.words.len() as u64 * 64
    }

    /// Heap bytes, for the benches.
    pub(super) fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::text::tests::xorshift;

    #[test]
    fn never_forgets_a_key_and_rejects_most_others() {
        let mut seed = 7u64;
        let keys: Vec<i64> = (0..100_000).map(|_| xorshift(&mut seed) as i64).collect();
        let mut f = BandFilter::with_capacity(keys.len() as u64 / 32);
        for &k in &keys {
            f.insert(k);
        }
        assert!(keys.iter().all(|&k| f.may_contain(k)));
        let passed = (0..100_000)
            .filter(|_| f.may_contain(xorshift(&mut seed) as i64))
            .count();
        // Three bits of a 64-bit word at 8 bits per key: about 3.7 %.
        assert!(passed < 5_500, "{passed} of 100000 absent keys passed");
        assert!(passed > 0, "a Bloom filter this full has false positives");
        assert!(!f.stale);
    }

    #[test]
    fn asks_for_a_rebuild_when_too_full() {
        let mut seed = 11u64;
        let mut f = BandFilter::with_capacity(0);
        let room = f.bits() / MIN_BITS_PER_KEY;
        for _ in 0..room {
            f.insert(xorshift(&mut seed) as i64);
        }
        assert!(!f.stale);
        f.insert(xorshift(&mut seed) as i64);
        assert!(f.stale);
    }
}
