//! Document frequencies inside one write transaction, for the BM25 weights.

use rustc_hash::FxHashMap;

use crate::matching::CorpusStats;
use crate::store::{StoreError, StoreTx};

/// Document frequencies inside one write transaction: each term is read
/// once, new documents are counted in memory, and [`TxCorpus::flush`] writes
/// the counts once per term at the end (one feed's items used to cost an
/// upsert per term per item).
pub struct TxCorpus<'a, 'b> {
    tx: &'a StoreTx<'b>,
    n_docs: std::cell::Cell<Option<u64>>,
    stored: std::cell::RefCell<FxHashMap<String, u64>>,
    added_docs: std::cell::Cell<u64>,
    added: std::cell::RefCell<FxHashMap<String, u64>>,
}

impl<'a, 'b> TxCorpus<'a, 'b> {
    pub fn new(tx: &'a StoreTx<'b>) -> Self {
        TxCorpus {
            tx,
            n_docs: Default::default(),
            stored: Default::default(),
            added_docs: Default::default(),
            added: Default::default(),
        }
    }

    /// Counts one new document with these (distinct) terms.
    pub(super) fn count(&self, terms: &[String]) {
        self.added_docs.set(self.added_docs.get() + 1);
        let mut added = self.added.borrow_mut();
        for t in terms {
            *added.entry(t.clone()).or_insert(0) += 1;
        }
    }

    /// Writes what [`TxCorpus::count`] counted, in the same transaction.
    pub fn flush(&self) -> Result<(), StoreError> {
        let added = std::mem::take(&mut *self.added.borrow_mut());
        let docs = self.added_docs.replace(0);
        if docs > 0 {
            self.tx
                .add_documents(docs, added.iter().map(|(t, n)| (t.as_str(), *n)))?;
        }
        self.n_docs.set(None);
        self.stored.borrow_mut().clear();
        Ok(())
    }
}

impl CorpusStats for TxCorpus<'_, '_> {
    fn n_docs(&self) -> u64 {
        let stored = match self.n_docs.get() {
            Some(n) => n,
            None => {
                let n = self.tx.n_docs().unwrap_or(0);
                self.n_docs.set(Some(n));
                n
            }
        };
        stored + self.added_docs.get()
    }
    fn df(&self, term: &str) -> u64 {
        let stored = self.stored.borrow().get(term).copied();
        let stored = stored.unwrap_or_else(|| {
            let n = self.tx.df(term).unwrap_or(0);
            self.stored.borrow_mut().insert(term.to_string(), n);
            n
        });
        stored + self.added.borrow().get(term).copied().unwrap_or(0)
    }
}
