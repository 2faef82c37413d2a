//! The store-free part of matching, done on the blocking pool before the
//! feed queues for the store.

use super::MatchContext;
use crate::dedup::ExactKeys;
use crate::feeds::normalize::Item;
use crate::matching::terms::terms_of_folded;
use crate::matching::text::fold_into;
use crate::matching::Draft;
use crate::neardup::{fingerprints_of_shingles, shingles_of_folded, Fingerprint};

/// The store-free part of matching one entry, worked out on the blocking
/// pool before the store is locked (the single writer then only runs SQL).
pub struct Prepared {
    pub keys: ExactKeys,
    /// The near-duplicate fingerprint, boilerplate of the feed left out.
    pub print: Option<Fingerprint>,
    /// One draft per story, in [`MatchContext::stories`] order.
    pub drafts: Vec<Draft>,
    /// The entry's distinct vocabulary terms, for the document frequencies.
    pub terms: Vec<String>,
}

/// [`Prepared`] for each of one feed's entries.
pub fn prepare(ctx: &MatchContext, items: &[Item]) -> Vec<Prepared> {
    // Each entry is folded once, for its shingles and for its terms.
    let mut folded = String::new();
    let mut sets = Vec::with_capacity(items.len());
    let mut drafted = Vec::with_capacity(items.len());
    for item in items {
        fold_item(&item.title, &item.text, &mut folded);
        sets.push(shingles_of_folded(&folded));
        drafted.push(drafts_and_terms(ctx, &item.title, &item.text, &folded));
    }
    items
        .iter()
        .zip(fingerprints_of_shingles(sets))
        .zip(drafted)
        .map(|((item, print), (drafts, terms))| Prepared {
            keys: ExactKeys::of(item),
            print,
            drafts,
            terms,
        })
        .collect()
}

/// Folds an entry's title and then its text into `out` (cleared first):
/// the fold of title + "\n" + text, which shingles and terms are read from.
pub(super) fn fold_item(title: &str, text: &str, out: &mut String) {
    out.clear();
    fold_into(title, out);
    fold_into(text, out);
}

/// One draft per story and the item's vocabulary terms, from one pass over
/// its words (`folded` is [`fold_item`]'s).
pub(super) fn drafts_and_terms(
    ctx: &MatchContext,
    title: &str,
    text: &str,
    folded: &str,
) -> (Vec<Draft>, Vec<String>) {
    if !ctx.has_stories() {
        return (Vec::new(), Vec::new());
    }
    let doc = terms_of_folded(folded);
    let drafts = ctx
        .stories()
        .iter()
        .map(|s| s.matcher.draft_with(title, text, Some(&doc)))
        .collect();
    let terms = doc
        .terms()
        .filter(|t| ctx.vocabulary().contains(*t))
        .map(str::to_string)
        .collect();
    (drafts, terms)
}
