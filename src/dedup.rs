//! Exact duplicate keys. An item is a duplicate when its (feed, GUID), its
//! canonical URL or the hash of its normalised title and text is already
//! stored; the store answers those lookups, this module decides the keys.

use sha2::{Digest, Sha256};

use crate::feeds::normalize::Item;

/// Title + text shorter than this (after normalisation) is too generic to
/// identify a story ("Live updates", an empty podcast entry), so it gets no hash.
const MIN_HASHED_CHARS: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactKeys {
    pub guid: String,
    pub canonical_url: Option<String>,
    /// The canonical URL the article page declares, when its full text was
    /// fetched and it differs from `canonical_url`.
    pub page_url: Option<String>,
    pub content_hash: Option<[u8; 16]>,
}

impl ExactKeys {
    pub fn of(item: &Item) -> ExactKeys {
        ExactKeys {
            guid: item.guid.clone(),
            canonical_url: item.canonical_url.clone(),
            page_url: item
                .page_url
                .clone()
                .filter(|p| Some(p) != item.canonical_url.as_ref()),
            content_hash: content_hash(&item.title, &item.text),
        }
    }

    /// The URL keys: the item's canonical URL and its page's.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.canonical_url
            .iter()
            .chain(&self.page_url)
            .map(String::as_str)
    }
}

/// A hash of the title and text, case- and whitespace-insensitive, so that the
/// same report re-served with other markup or spacing hashes the same.
pub fn content_hash(title: &str, text: &str) -> Option<[u8; 16]> {
    let mut norm = String::with_capacity(title.len() + text.len() + 1);
    for part in [title, text] {
        for word in part.split_whitespace() {
            if !norm.is_empty() {
                norm.push(' ');
            }
            if word.is_ascii() {
                // The common case, byte-wise: the same as `char::to_lowercase` on ASCII.
                let start = norm.len();
                norm.push_str(word);
                norm[start..].make_ascii_lowercase();
            } else {
                norm.extend(word.chars().flat_map(char::to_lowercase));
            }
        }
        norm.push('\n');
    }
    let alnum = norm.chars().filter(|c| c.is_alphanumeric());
    if alnum.take(MIN_HASHED_CHARS).count() < MIN_HASHED_CHARS {
        return None;
    }
    let digest = Sha256::digest(norm.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_case_and_spacing_but_not_words() {
        let a = content_hash(
            "Envoy meets Putin",
            "Talks  lasted\nfour hours in St Petersburg.",
        );
        let b = content_hash(
            "envoy meets putin",
            "Talks lasted four hours in St Petersburg.",
        );
        let c = content_hash(
            "Envoy meets Putin",
            "Talks lasted five hours in St Petersburg.",
        );
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn title_and_text_boundary_matters() {
        assert_ne!(
            content_hash("Ceasefire talks resume", "in Riyadh on Monday morning"),
            content_hash("Ceasefire talks resume in Riyadh", "on Monday morning")
        );
    }

    #[test]
    fn hash_is_of_the_lower_cased_words_as_stored_hashes_were() {
        // Pins the normalisation: stores hold hashes made by it. Title words and
        // body words joined by spaces, each part ending in a newline, every
        // character lower-cased by Unicode's rules (ASCII and not).
        let norm = "envoy meets putin in été\n talks lasted четыре hours\n";
        let digest = Sha256::digest(norm.as_bytes());
        assert_eq!(
            content_hash("Envoy MEETS  Putin in ÉTÉ", "Talks\tlasted ЧЕТЫРЕ hours"),
            Some(digest[..16].try_into().unwrap())
        );
    }

    #[test]
    fn short_generic_items_get_no_hash() {
        assert_eq!(content_hash("Live updates", ""), None);
    }
}
