//! What polls count: one type for a feed's report, for the items of one
//! transaction and for the summary of a whole poll, added with `+=`.

use std::ops::AddAssign;

use serde::Serialize;

/// Items and what became of them. The field names are those of
/// `poll --json`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items stored for the first time.
    pub items_new: usize,
    /// Items already stored (same GUID, canonical URL or text): not stored again.
    pub items_duplicate: usize,
    /// New items that copy a stored one (they join its cluster).
    pub items_near_duplicate: usize,
    /// New items whose text came from their article page (`full_text`).
    pub pages_used: usize,
    /// Article fetches that gave no text (those items kept their feed text).
    pub pages_failed: usize,
    /// Items at or above a story's threshold.
    pub matches: usize,
    /// Alerts queued.
    pub alerts: usize,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.items_new += o.items_new;
        self.items_duplicate += o.items_duplicate;
        self.items_near_duplicate += o.items_near_duplicate;
        self.pages_used += o.pages_used;
        self.pages_failed += o.pages_failed;
        self.matches += o.matches;
        self.alerts += o.alerts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_field_by_field() {
        let mut a = Counts {
            items_new: 2,
            matches: 1,
            ..Counts::default()
        };
        a += Counts {
            items_new: 3,
            items_duplicate: 4,
            alerts: 1,
            ..Counts::default()
        };
        assert_eq!(
            a,
            Counts {
                items_new: 5,
                items_duplicate: 4,
                matches: 1,
                alerts: 1,
                ..Counts::default()
            }
        );
    }
}
