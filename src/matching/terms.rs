//! Texts as bags of content-word stems, and BM25 between them: how much of
//! a reference article's specific wording an item shares beyond chance.

use rustc_hash::{FxHashMap, FxHashSet};

use super::text::{fold, fold_into};

/// A text's content-word stems with their counts, sorted by stem: the
/// reference article as a BM25 query, or an item as the document it is
/// compared with.
///
/// The distinct stems sit back to back in one string: an item has a few
/// hundred, and one allocation each was a fifth of a cold poll's.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub(super) stems: String,
    /// Each stem's (start, end) in `stems` and its count.
    pub(super) terms: Vec<(u32, u32, u32)>,
    pub(super) len: usize,
}

impl Reference {
    pub fn terms(&self) -> impl Iterator<Item = &str> {
        self.counted().map(|(t, _)| t)
    }

    /// The stems with their counts, in order.
    pub fn counted(&self) -> impl Iterator<Item = (&str, u32)> {
        self.terms
            .iter()
            .map(|&(a, b, n)| (&self.stems[a as usize..b as usize], n))
    }

    /// The `i`th stem and its count.
    pub(super) fn term(&self, i: usize) -> (&str, u32) {
        let (a, b, n) = self.terms[i];
        (&self.stems[a as usize..b as usize], n)
    }
}

/// Document frequencies of the stored corpus, for BM25's idf.
pub trait CorpusStats {
    fn n_docs(&self) -> u64;
    fn df(&self, term: &str) -> u64;
}

/// Used when no corpus is at hand (tests, `explain` of a URL): every term
/// counts the same.
pub struct UniformCorpus;

impl CorpusStats for UniformCorpus {
    fn n_docs(&self) -> u64 {
        0
    }
    fn df(&self, _: &str) -> u64 {
        0
    }
}

/// The terms of `reference` that `doc` has, with `doc`'s BM25 term weights:
/// one merge of the two sorted term lists.
pub(super) fn hits_of(reference: &Reference, doc: &Reference) -> Vec<(usize, f64)> {
    let mut hits = Vec::new();
    let mut theirs = doc.counted().peekable();
    for (i, (term, _)) in reference.counted().enumerate() {
        while theirs.next_if(|(t, _)| *t < term).is_some() {}
        if let Some((_, tf)) = theirs.next_if(|(t, _)| *t == term) {
            hits.push((i, bm25_norm(tf, doc.len)));
        }
    }
    hits
}

/// BM25 of a document (its `hits` of the reference's terms) against
/// `reference`, over BM25 of the reference against itself.
pub(super) fn bm25_ratio(
    reference: &Reference,
    own_norms: &[f64],
    hits: &[(usize, f64)],
    corpus: &dyn CorpusStats,
) -> f64 {
    if reference.terms.is_empty() {
        return 0.0;
    }
    let n = corpus.n_docs() as f64;
    let weight = |i: usize, norm: f64| {
        let (t, qtf) = reference.term(i);
        qtf.min(3) as f64 * bm25_idf(n, corpus.df(t) as f64) * norm
    };
    let own: f64 = own_norms
        .iter()
        .enumerate()
        .map(|(i, norm)| weight(i, *norm))
        .sum();
    if own <= 0.0 {
        return 0.0;
    }
    let doc: f64 = hits.iter().map(|&(i, norm)| weight(i, norm)).sum();
    (doc / own).min(1.0)
}

/// A text as a BM25 query: its terms and their own norms.
#[derive(Debug, Clone)]
pub(super) struct Query {
    pub(super) terms: Reference,
    pub(super) own_norms: Vec<f64>,
}

impl Query {
    pub(super) fn of(texts: &[&str]) -> Query {
        let terms = reference_terms(texts);
        let own_norms = terms
            .counted()
            .map(|(_, n)| bm25_norm(n, terms.len))
            .collect();
        Query { terms, own_norms }
    }
}

/// Items of prior news a store is taken to hold beside its own, each with a
/// term at [`PRIOR_RATE`]: a store that has read little cannot yet say which
/// words are rare (in a first poll of one topic's feeds every word of the
/// topic looks common), so its document frequencies are smoothed toward
/// those of ordinary news. A store of thousands of items is barely moved.
pub(super) const PRIOR_DOCS: f64 = 200.0;
pub(super) const PRIOR_RATE: f64 = 0.02;

/// BM25's idf of a term in `df` of `n` stored items, smoothed by the prior.
pub(super) fn bm25_idf(n: f64, df: f64) -> f64 {
    let (n, df) = (n + PRIOR_DOCS, df + PRIOR_DOCS * PRIOR_RATE);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln().max(0.1)
}

/// The length of an average item, in terms, for BM25's length normalisation.
pub(super) const AVG_LEN: f64 = 250.0;

/// BM25's saturated, length-normalised weight of a term seen `tf` times in
/// a text of `len` terms.
pub(super) fn bm25_norm(tf: u32, len: usize) -> f64 {
    const K1: f64 = 1.2;
    const B: f64 = 0.75;
    let tf = tf as f64;
    tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len as f64 / AVG_LEN))
}

/// Content-word stems of texts: folded words of four letters or more, not
/// function words, cut to seven characters (a crude stemmer that works
/// across the languages we read).
pub fn reference_terms(texts: &[&str]) -> Reference {
    let mut folded = String::with_capacity(texts.iter().map(|t| t.len() + 2).sum());
    for t in texts {
        fold_into(t, &mut folded);
    }
    terms_of_folded(&folded)
}

/// [`reference_terms`] of texts already folded, one `fold_into` after the
/// other.
pub fn terms_of_folded(folded: &str) -> Reference {
    let stop = stopwords();
    let concepts = Concepts::get();
    // Stems borrow from the folded text and are counted in a map (fewer
    // string comparisons than sorting every occurrence); only distinct ones
    // are sorted and copied out.
    let mut counts: FxHashMap<&str, u32> = FxHashMap::default();
    let mut len = 0;
    for w in folded
        .split(' ')
        .filter(|w| w.chars().nth(2).is_some() && !w.bytes().all(|b| b.is_ascii_digit()))
    {
        // A word too short or too common to compare on may still carry a
        // concept ("aid"; German nouns are capitalised, so "Waffenstillstand"
        // is listed among the capitalised words that are not names).
        let concept = concepts.of(w);
        if w.chars().nth(3).is_none() || stop.contains(w) {
            if concept.is_none() {
                continue;
            }
        } else {
            *counts.entry(stem(w)).or_insert(0) += 1;
        }
        len += 1;
        if let Some(c) = concept {
            *counts.entry(c).or_insert(0) += 1;
        }
    }
    let mut distinct: Vec<(&str, u32)> = counts.into_iter().collect();
    distinct.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut stems = String::with_capacity(distinct.iter().map(|(t, _)| t.len()).sum());
    let terms = distinct
        .into_iter()
        .map(|(stem, n)| {
            let start = stems.len() as u32;
            stems.push_str(stem);
            (start, stems.len() as u32, n)
        })
        .collect();
    Reference { stems, terms, len }
}

/// The concepts of data/concepts.txt by stem: a word starting with a stem
/// also counts as the concept's term, `~` and its name, so that reports in
/// different languages share terms.
struct Concepts {
    /// Each concept's term.
    terms: Vec<String>,
    /// Folded stem → its concept's index in `terms`.
    stems: FxHashMap<String, usize>,
    /// The first four characters of every stem (most words start with none).
    heads: FxHashSet<String>,
}

impl Concepts {
    fn get() -> &'static Concepts {
        static CELL: std::sync::OnceLock<Concepts> = std::sync::OnceLock::new();
        CELL.get_or_init(|| {
            let mut terms = Vec::new();
            let mut stems = FxHashMap::default();
            let mut heads = FxHashSet::default();
            for (i, c) in super::gazetteer::concepts().iter().enumerate() {
                terms.push(format!("~{}", c.name));
                for s in &c.aliases {
                    let f = fold(s).trim().to_string();
                    heads.insert(f.chars().take(4).collect());
                    stems.insert(f, i);
                }
            }
            Concepts {
                terms,
                stems,
                heads,
            }
        })
    }

    /// The concept a folded word belongs to, if any.
    fn of(&'static self, word: &str) -> Option<&'static str> {
        if word.chars().nth(3).is_none() {
            // Three letters: the whole word only.
            return self.stems.get(word).map(|&i| self.terms[i].as_str());
        }
        let ends: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .skip(4)
            .chain(std::iter::once(word.len()))
            .collect();
        if !self.heads.contains(&word[..ends[0]]) {
            return None;
        }
        let chars = ends.len() + 3;
        ends.iter().enumerate().rev().find_map(|(k, &end)| {
            let stem_chars = k + 4;
            // A four-letter stem takes at most two letters more.
            if stem_chars == 4 && chars > 6 {
                return None;
            }
            self.stems
                .get(&word[..end])
                .map(|&i| self.terms[i].as_str())
        })
    }
}

/// A folded word's stem: its first seven characters.
pub fn stem(word: &str) -> &str {
    word.char_indices()
        .nth(7)
        .map_or(word, |(end, _)| &word[..end])
}

/// Folded words too common to compare on: function words and capitalised
/// words that are not names.
pub(crate) fn stopwords() -> &'static FxHashSet<String> {
    static SET: std::sync::OnceLock<FxHashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        super::gazetteer::common_capitalised()
            .iter()
            .chain(super::gazetteer::function_words())
            .map(|w| fold(w).trim().to_string())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_sorted_counted_stems_of_content_words() {
        let r = reference_terms(&[
            "The ceasefire talks, ceasefires and TALKS",
            "with 2025 Ukrainians",
        ]);
        let terms: Vec<(&str, u32)> = r.counted().collect();
        // Stems cut at seven characters; "with", "the", "and" and numbers
        // left out; words of a concept also count as its term.
        assert_eq!(
            terms,
            [
                ("ceasefi", 2),
                ("talks", 2),
                ("ukraini", 1),
                ("~ceasefire", 2),
                ("~negotiation", 2)
            ]
        );
        assert_eq!(r.len, 5);
    }

    #[test]
    fn concepts_carry_terms_across_languages() {
        let has = |text: &str, term: &str| reference_terms(&[text]).terms().any(|t| t == term);
        assert!(has("Перемирие объявлено", "~ceasefire"));
        assert!(has("Waffenstillstand vereinbart", "~ceasefire"));
        assert!(has("A new earthquake struck", "~earthquake"));
        assert!(has("Erdbeben der Stärke 6", "~earthquake"));
        // A four-letter stem takes at most two letters more.
        assert!(has("Three dead", "~death"));
        assert!(!has("The deadline passed", "~death"));
    }
}
