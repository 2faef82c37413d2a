//! Near-duplicate fingerprints: MinHash over word shingles, banded for
//! locality-sensitive lookup.
//!
//! Syndicated copies of one report differ in headline, trimmed paragraphs and
//! boilerplate, so the measure is *containment* — how much of the shorter
//! text's shingles the longer one holds — estimated from the MinHash
//! Jaccard and the two shingle counts. A copy trimmed to half its original
//! has a Jaccard of only 0.5 however exact the copy, so the index is tuned
//! for low Jaccard: 32 bands of 2 minima, and a stored item is a candidate
//! when it shares at least two bands. A pair with Jaccard 0.34 (containment
//! 0.51 at equal length) is then found with probability ≈ 0.9, one with 0.44
//! with ≈ 0.99, and unrelated news (Jaccard < 0.05) almost never; sharing
//! one band of two minima alone would let one in a thousand through.
//! Pure functions; the store keeps band keys and signatures.

use crate::matching::text::fold;

/// Minima per signature.
pub const NUM_HASHES: usize = 64;
/// Bands × rows = NUM_HASHES.
pub const BANDS: usize = 32;
pub const ROWS: usize = NUM_HASHES / BANDS;
/// Bands a stored item must share with a new one to be compared with it.
pub const MIN_SHARED_BANDS: usize = 2;
/// Words per shingle.
const SHINGLE: usize = 3;
/// The containment that corresponds to a word-level `similarity`: a shingle
/// survives an edit only if all its words do, so 80% shared words leave
/// about 0.8³ ≈ 51% shared shingles.
pub fn containment_threshold(similarity: f64) -> f64 {
    similarity.powi(SHINGLE as i32)
}

/// Texts with fewer shingles than this carry too little to call a copy.
pub const MIN_SHINGLES: u32 = 8;

/// A MinHash signature and the number of distinct shingles it summarises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub minima: [u32; NUM_HASHES],
    pub shingles: u32,
}

/// FNV-1a, 64 bit: stable across Rust versions and platforms (signatures
/// are stored), and fast enough for short shingles.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_more(FNV_OFFSET, bytes)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues an FNV-1a hash over more bytes.
fn fnv1a_more(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// [`fnv1a`] of the words joined by single spaces, without joining them.
fn fnv1a_joined(words: &[&str]) -> u64 {
    let mut h = FNV_OFFSET;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            h = fnv1a_more(h, b" ");
        }
        h = fnv1a_more(h, w.as_bytes());
    }
    h
}

/// SplitMix64, to derive the per-hash permutations from one value.
const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The distinct shingle hashes of an item's text (title and body), folded
/// like matching folds, so that case, accents and punctuation do not
/// separate copies.
fn shingle_hashes(title: &str, text: &str) -> Vec<u64> {
    shingles_of_folded(&fold(&format!("{title}\n{text}")))
}

/// [`shingle_hashes`] of a title and text already folded: `fold_into` of
/// the title and then of the text is the fold of title + "\n" + text.
pub fn shingles_of_folded(folded: &str) -> Vec<u64> {
    // Acronym marks say how a word was cased, which copies do not agree on.
    let words: Vec<&str> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_start_matches('_'))
        .collect();
    if words.len() < SHINGLE {
        return Vec::new();
    }
    let mut hashes: Vec<u64> = words.windows(SHINGLE).map(fnv1a_joined).collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

fn minhash(hashes: &[u64]) -> Option<Fingerprint> {
    let shingles = hashes.len() as u32;
    if shingles < MIN_SHINGLES {
        return None;
    }
    let mut minima = [u32::MAX; NUM_HASHES];
    lower_minima(hashes, &mut minima);
    Some(Fingerprint { minima, shingles })
}

/// The minima over `hashes`, with 64-bit vector multiplies where the CPU
/// has them (AVX-512 DQ, else AVX2): a tenth of a cold poll's instructions were this
/// loop, one lane at a time. Integer arithmetic, so every path gives the
/// same minima.
fn lower_minima(hashes: &[u64], minima: &mut [u32; NUM_HASHES]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the CPU has the features this function is compiled for.
            unsafe { lower_minima_avx512(hashes, minima) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            unsafe { lower_minima_avx2(hashes, minima) };
            return;
        }
    }
    lower_minima_portable(hashes, minima);
}

/// AVX2 has no 64-bit multiply; the compiler builds it from 32-bit ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn lower_minima_avx2(hashes: &[u64], minima: &mut [u32; NUM_HASHES]) {
    lower_minima_portable(hashes, minima)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn lower_minima_avx512(hashes: &[u64], minima: &mut [u32; NUM_HASHES]) {
    lower_minima_portable(hashes, minima)
}

/// Shingle by shingle, all permutations at once: one pass over the hashes,
/// and an inner loop over fixed-size arrays that the compiler vectorises
/// for whatever features the caller was compiled with.
#[inline(always)]
fn lower_minima_portable(hashes: &[u64], minima: &mut [u32; NUM_HASHES]) {
    for h in hashes {
        for (m, seed) in minima.iter_mut().zip(SEEDS.iter()) {
            *m = (*m).min((mix(h ^ seed) >> 32) as u32);
        }
    }
}

/// The seed of each permutation.
const SEEDS: [u64; NUM_HASHES] = {
    let mut seeds = [0; NUM_HASHES];
    let mut i = 0;
    while i < NUM_HASHES {
        seeds[i] = mix(i as u64 + 1);
        i += 1;
    }
    seeds
};

/// The fingerprint of one text.
pub fn fingerprint(title: &str, text: &str) -> Option<Fingerprint> {
    minhash(&shingle_hashes(title, text))
}

/// Fingerprints of one feed's items. Shingles that recur across many items
/// of the feed (a blog's footer, a podcast's sponsor blurb, a news site's
/// "read more" box) are boilerplate, not the report, and are left out, so
/// that two short posts with one footer are not taken for copies.
pub fn fingerprint_batch<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<Option<Fingerprint>> {
    fingerprints_of_shingles(
        items
            .into_iter()
            .map(|(t, x)| shingle_hashes(t, x))
            .collect(),
    )
}

/// [`fingerprint_batch`] of one feed's shingle sets ([`shingles_of_folded`]).
pub fn fingerprints_of_shingles(sets: Vec<Vec<u64>>) -> Vec<Option<Fingerprint>> {
    let n = sets.len();
    let mut counts: rustc_hash::FxHashMap<u64, u32> = Default::default();
    for set in &sets {
        for h in set {
            *counts.entry(*h).or_insert(0) += 1;
        }
    }
    // Three items and a fifth of the batch: two copies of one report in a
    // feed are not boilerplate of each other.
    let limit = 3.max(n.div_ceil(5)) as u32;
    sets.iter()
        .map(|set| {
            let kept: Vec<u64> = set.iter().copied().filter(|h| counts[h] < limit).collect();
            minhash(&kept)
        })
        .collect()
}

impl Fingerprint {
    /// Estimated Jaccard similarity of the two shingle sets.
    pub fn jaccard(&self, other: &Fingerprint) -> f64 {
        let same = self
            .minima
            .iter()
            .zip(other.minima.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / NUM_HASHES as f64
    }

    /// Estimated share of the smaller set's shingles found in the larger:
    /// |A∩B| = J(|A|+|B|)/(1+J).
    pub fn containment(&self, other: &Fingerprint) -> f64 {
        let j = self.jaccard(other);
        let (a, b) = (self.shingles as f64, other.shingles as f64);
        let inter = j * (a + b) / (1.0 + j);
        (inter / a.min(b)).min(1.0)
    }

    /// A copy of a whole document (a reference article): contained, and at
    /// least a third of its length, so that an item quoting one of its
    /// sentences is not taken for the document itself.
    pub fn is_copy_of_document(&self, document: &Fingerprint, threshold: f64) -> bool {
        self.shingles as f64 >= document.shingles as f64 / 3.0
            && self.containment(document) >= threshold
    }

    /// True when the band index would offer `other` as a candidate copy.
    pub fn is_candidate(&self, other: &Fingerprint) -> bool {
        let theirs = other.band_keys();
        self.band_keys()
            .iter()
            .zip(theirs.iter())
            .filter(|(a, b)| a == b)
            .count()
            >= MIN_SHARED_BANDS
    }

    /// One key per band (band index mixed in, so bands never collide).
    pub fn band_keys(&self) -> [i64; BANDS] {
        let mut keys = [0i64; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let mut h = mix(band as u64 + 0x5157);
            for v in &self.minima[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ *v as u64);
            }
            *key = h as i64;
        }
        keys
    }

    /// The signature as stored: little-endian minima.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.minima.iter().flat_map(|m| m.to_le_bytes()).collect()
    }

    pub fn from_bytes(bytes: &[u8], shingles: u32) -> Option<Fingerprint> {
        if bytes.len() != NUM_HASHES * 4 {
            return None;
        }
        let mut minima = [0u32; NUM_HASHES];
        for (i, m) in minima.iter_mut().enumerate() {
            *m = u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().ok()?);
        }
        Some(Fingerprint { minima, shingles })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Russian President Vladimir Putin declared a unilateral 30-hour Easter ceasefire in Ukraine on Saturday, \
        after Washington said it could abandon peace efforts unless both sides made progress. Ukrainian President \
        Volodymyr Zelensky said Russian attacks continued in several regions despite the announcement. The Kremlin said \
        troops would stop all military activity until midnight on Sunday but would respond to any violations. Kyiv said \
        it would mirror a real halt in fighting.";

    #[test]
    fn every_minima_path_gives_the_same_fingerprint() {
        let mut seed = 0x6d69_6e68_6173_6821_u64;
        for n in [0usize, 1, 7, 8, 9, 63, 64, 65, 300, 1000] {
            let hashes: Vec<u64> = (0..n)
                .map(|_| crate::matching::text::tests::xorshift(&mut seed))
                .collect();
            let mut portable = [u32::MAX; NUM_HASHES];
            lower_minima_portable(&hashes, &mut portable);
            let mut chosen = [u32::MAX; NUM_HASHES];
            lower_minima(&hashes, &mut chosen);
            assert_eq!(chosen, portable, "{n} hashes");
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut avx2 = [u32::MAX; NUM_HASHES];
                    // SAFETY: checked just above.
                    unsafe { lower_minima_avx2(&hashes, &mut avx2) };
                    assert_eq!(avx2, portable, "{n} hashes, AVX2");
                }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    let mut avx512 = [u32::MAX; NUM_HASHES];
                    // SAFETY: checked just above.
                    unsafe { lower_minima_avx512(&hashes, &mut avx512) };
                    assert_eq!(avx512, portable, "{n} hashes, AVX-512");
                }
            }
        }
    }

    #[test]
    fn copies_retitled_and_trimmed_are_contained() {
        let a = fingerprint("Putin declares Easter ceasefire", REPORT).unwrap();
        let trimmed: String = REPORT.split(". ").take(3).collect::<Vec<_>>().join(". ");
        let b = fingerprint("Kremlin announces 30-hour truce over Easter", &trimmed).unwrap();
        assert!(a.containment(&b) >= 0.8, "{}", a.containment(&b));
        // Same text with other case and punctuation is the same text.
        let c = fingerprint(
            "PUTIN DECLARES EASTER CEASEFIRE",
            &REPORT.to_uppercase().replace(',', ""),
        )
        .unwrap();
        assert!(a.jaccard(&c) > 0.9, "{}", a.jaccard(&c));
        // And the index offers one for the other.
        assert!(a.is_candidate(&b));
    }

    #[test]
    fn title_and_text_folded_in_turn_shingle_as_joined() {
        // The pipeline folds title and text one after the other and reads
        // shingles and terms from that; `fingerprint` joins them with "\n".
        let cases = [
            ("", REPORT),
            ("Putin declares Easter ceasefire", REPORT),
            (
                "Talks with the US",
                "UK and EU envoys met in Kyiv on Friday, the Kremlin said.",
            ),
            (
                "Café ends in e\u{301}",
                "\u{301}Éric met NATO's chief; the talks went on.",
            ),
            ("  ", "  "),
        ];
        for (title, text) in cases {
            let mut folded = String::new();
            crate::matching::text::fold_into(title, &mut folded);
            crate::matching::text::fold_into(text, &mut folded);
            assert_eq!(fold(&format!("{title}\n{text}")), folded, "{title:?}");
            assert_eq!(shingles_of_folded(&folded), shingle_hashes(title, text));
        }
    }

    #[test]
    fn different_reports_about_the_same_people_are_not() {
        let a = fingerprint("Putin declares Easter ceasefire", REPORT).unwrap();
        let b = fingerprint(
            "Witkoff meets Putin in St Petersburg",
            "US envoy Steve Witkoff met Russian President Vladimir Putin in St Petersburg on Friday for more than four hours. \
             The Kremlin said the talks covered a possible ceasefire in Ukraine and the normalisation of relations. \
             Dmitry Peskov said no breakthrough should be expected, but contacts would continue in the coming weeks.",
        )
        .unwrap();
        assert!(a.containment(&b) < 0.3, "{}", a.containment(&b));
    }

    #[test]
    fn signatures_round_trip_and_are_stable() {
        let a = fingerprint("t", REPORT).unwrap();
        assert_eq!(
            Fingerprint::from_bytes(&a.to_bytes(), a.shingles),
            Some(a.clone())
        );
        // Stored signatures must not change with the toolchain: pin one value.
        assert_eq!(fnv1a(b"putin declared a"), 0x148b_cbb8_b311_3a5e);
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(&a.minima[..3], &PINNED_MINIMA, "{:?}", &a.minima[..3]);
    }

    const PINNED_MINIMA: [u32; 3] = [157_756_975, 89_601_642, 16_614_645];

    /// The shingle hashes and minima as first defined (one joined string per
    /// shingle, one pass per permutation); the faster forms must agree.
    #[test]
    fn fast_hashing_equals_the_definition() {
        let words: Vec<&str> = REPORT.split(' ').collect();
        for w in words.windows(SHINGLE) {
            assert_eq!(fnv1a_joined(w), fnv1a(w.join(" ").as_bytes()));
        }
        let hashes = shingle_hashes("t", REPORT);
        let fast = minhash(&hashes).unwrap();
        for (i, m) in fast.minima.iter().enumerate() {
            let seed = mix(i as u64 + 1);
            let slow = hashes.iter().map(|h| (mix(h ^ seed) >> 32) as u32).min();
            assert_eq!(Some(*m), slow, "permutation {i}");
        }
    }

    #[test]
    fn feed_boilerplate_does_not_make_copies() {
        let footer = "Thank you for reading via RSS. If you would like to support my writing about design and art, \
                      please consider contributing to the coffee fund or write to me by email or on Mastodon.";
        let posts = [
            format!("Today we start a new typeface design and share the whole process. {footer}"),
            format!(
                "Music is a large part of my daily life and I should post more about it. {footer}"
            ),
            format!(
                "A new foundry in Manchester shows real type prowess with its numerals. {footer}"
            ),
            format!(
                "Printing a zine on the risograph took longer than planned this week. {footer}"
            ),
        ];
        let plain: Vec<Fingerprint> = posts.iter().map(|p| fingerprint("", p).unwrap()).collect();
        assert!(
            plain[0].containment(&plain[1]) >= 0.5,
            "the footer alone makes them look alike"
        );
        let batch = fingerprint_batch(posts.iter().map(|p| ("", p.as_str())));
        let (a, b) = (batch[0].as_ref().unwrap(), batch[1].as_ref().unwrap());
        assert!(a.containment(b) < 0.2, "{}", a.containment(b));
        // Two copies of one report in a batch stay copies.
        let report = REPORT.to_string();
        let batch = fingerprint_batch([
            ("a", report.as_str()),
            ("b", report.as_str()),
            ("c", posts[0].as_str()),
        ]);
        assert!(
            batch[0]
                .as_ref()
                .unwrap()
                .containment(batch[1].as_ref().unwrap())
                > 0.95
        );
    }

    #[test]
    fn short_texts_have_no_fingerprint() {
        assert!(fingerprint("Live", "updates").is_none());
    }
}
