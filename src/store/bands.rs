//! The near-duplicate band index's SQL: 32 rows of (band key, item id) per
//! fingerprinted item, in one WITHOUT ROWID B-tree, for the items within
//! the dedup window.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};

use super::{Result, Store, StoreTx};
use crate::neardup::{Fingerprint, MIN_SHARED_BANDS};

/// The migration after which bands are re-derived from signatures.
pub(super) const REINDEX_AT: i64 = 7;

impl Store {
    /// Re-derives the band index from the stored signatures (after the
    /// banding or its table changed). Pruning removes what is past the window.
    pub(super) fn reindex_bands(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut n = 0;
        {
            let mut read = tx
                .prepare("SELECT id, signature, shingles FROM items WHERE signature IS NOT NULL")?;
            let mut ins =
                tx.prepare("INSERT OR IGNORE INTO lsh_bands (key, item_id) VALUES (?1, ?2)")?;
            let mut mark = tx.prepare("UPDATE items SET banded = 1 WHERE id = ?1")?;
            let mut rows = read.query([])?;
            while let Some(r) = rows.next()? {
                let (id, sig, shingles): (i64, Vec<u8>, u32) = (r.get(0)?, r.get(1)?, r.get(2)?);
                if let Some(fp) = Fingerprint::from_bytes(&sig, shingles) {
                    for key in fp.band_keys() {
                        ins.execute(params![key, id])?;
                    }
                    mark.execute([id])?;
                    n += 1;
                }
            }
        }
        tx.commit()?;
        tracing::info!(db = %self.label, items = n, "re-indexed near-duplicate bands");
        Ok(())
    }

    /// Removes the band rows of items first seen before `before`: lookups
    /// never reach them, and the index stays the size of the window, not of
    /// the store. Returns the items taken out of the index.
    pub fn prune_bands(&mut self, before: i64) -> Result<usize> {
        self.write(true, |tx| {
            let old: Vec<(i64, Vec<u8>, u32)> = {
                let mut stmt = tx.tx.prepare_cached(
                    "SELECT i.id, p.signature, p.shingles FROM items i JOIN item_prints p ON p.item_id = i.id
                     WHERE i.banded = 1 AND i.first_seen_at < ?1 LIMIT 50000",
                )?;
                let rows = stmt.query_map([before], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            let mut del = tx
                .tx
                .prepare_cached("DELETE FROM lsh_bands WHERE key = ?1 AND item_id = ?2")?;
            let mut unmark = tx
                .tx
                .prepare_cached("UPDATE items SET banded = 0 WHERE id = ?1")?;
            for (id, sig, shingles) in &old {
                if let Some(fp) = Fingerprint::from_bytes(sig, *shingles) {
                    for key in fp.band_keys() {
                        del.execute(params![key, id])?;
                    }
                }
                unmark.execute([id])?;
            }
            Ok(old.len())
        })
    }
}

/// Candidates compared in full per lookup. Boilerplate-heavy feeds can
/// share bands with hundreds of stored items; without a cap each lookup
/// would grow with the history it is meant to be flat in.
pub const MAX_CANDIDATES: usize = 64;

/// Postings read per band, newest first. A band key shared by thousands of
/// items is boilerplate, not a copy; reading all of it made each lookup grow
/// with the items stored (a true copy shares most of its 32 bands, and the
/// rest of them are rare).
pub const MAX_POSTINGS: i64 = 256;

impl StoreTx<'_> {
    /// Stored items within the window that share at least
    /// [`MIN_SHARED_BANDS`] bands with `keys`: (item id, fingerprint). The
    /// probes read only the band B-tree; signatures are read, from their
    /// narrow table, for the few that pass: at most [`MAX_CANDIDATES`],
    /// those sharing the most bands.
    pub fn near_duplicate_candidates(
        &self,
        keys: &[i64],
        since: i64,
    ) -> Result<Vec<(i64, Fingerprint)>> {
        // Item ids grow with first_seen_at: the window is an id range.
        let first: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT id FROM items WHERE first_seen_at >= ?1 ORDER BY first_seen_at, id LIMIT 1",
            )?
            .query_row([since], |r| r.get(0))
            .optional()?;
        let Some(first) = first else {
            return Ok(Vec::new());
        };
        let mut probe = self.tx.prepare_cached(
            "SELECT item_id FROM lsh_bands WHERE key = ?1 AND item_id >= ?2
                 ORDER BY item_id DESC LIMIT ?3",
        )?;
        let mut shared: HashMap<i64, usize> = HashMap::new();
        for key in keys {
            for id in probe.query_map(params![key, first, MAX_POSTINGS], |r| r.get::<_, i64>(0))? {
                *shared.entry(id?).or_insert(0) += 1;
            }
        }
        let mut ranked: Vec<(usize, i64)> = shared
            .into_iter()
            .filter(|(_, n)| *n >= MIN_SHARED_BANDS)
            .map(|(id, n)| (n, id))
            .collect();
        // Most shared bands first, then the newest: a true copy shares most
        // of its bands, so the cap drops only chance overlaps of common text.
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked.truncate(MAX_CANDIDATES);
        let mut ids: Vec<i64> = ranked.into_iter().map(|(_, id)| id).collect();
        ids.sort_unstable();
        let mut read = self
            .tx
            .prepare_cached("SELECT signature, shingles FROM item_prints WHERE item_id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = read
                .query_row([id], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u32>(1)?)))
                .optional()?;
            if let Some(fp) =
                row.and_then(|(sig, shingles)| Fingerprint::from_bytes(&sig, shingles))
            {
                out.push((id, fp));
            }
        }
        Ok(out)
    }

    /// The cluster an item belongs to (its own id when it has none).
    pub fn cluster_id_of(&self, item_id: i64) -> Result<i64> {
        Ok(self
            .tx
            .prepare_cached("SELECT COALESCE(cluster_id, id) FROM items WHERE id = ?1")?
            .query_row([item_id], |r| r.get(0))
            .optional()?
            .unwrap_or(item_id))
    }

    /// Puts an item in a cluster and indexes its fingerprint.
    pub fn attach_cluster(
        &self,
        item_id: i64,
        cluster_id: i64,
        fp: Option<&Fingerprint>,
    ) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE items SET cluster_id = ?2, banded = ?3 WHERE id = ?1")?
            .execute(params![item_id, cluster_id, fp.is_some()])?;
        if let Some(fp) = fp {
            self.tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO item_prints (item_id, shingles, signature) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![item_id, fp.shingles, fp.to_bytes()])?;
            let mut ins = self
                .tx
                .prepare_cached("INSERT OR IGNORE INTO lsh_bands (key, item_id) VALUES (?1, ?2)")?;
            for key in fp.band_keys() {
                ins.execute(params![key, item_id])?;
            }
        }
        Ok(())
    }
}
