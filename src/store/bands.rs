//! The near-duplicate band index's SQL: 32 rows of (band key, item id) per
//! fingerprinted item, for the items within the dedup window, and the upkeep
//! of its in-memory filter (`band_filter.rs`). The rows live in two WITHOUT
//! ROWID B-trees of one shape: new ones in the small `lsh_recent`, merged in
//! key order into the big `lsh_bands` every [`RECENT_ROWS`] rows.

use rustc_hash::FxHashMap;

use rusqlite::{params, OptionalExtension};

use super::{BandFilter, Result, Store, StoreTx};
use crate::neardup::{Fingerprint, BANDS, MIN_SHARED_BANDS};

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

    /// The band filter's heap in bytes (the benches print it).
    pub fn band_filter_bytes(&self) -> usize {
        self.bands.borrow().bytes()
    }

    /// Removes the band rows of items first seen before `before`: lookups
    /// never reach them, and the index stays the size of the window, not of
    /// the store. Returns the items taken out of the index.
    pub fn prune_bands(&mut self, before: i64) -> Result<usize> {
        self.write(true, |tx| {
            // One table to delete from.
            tx.merge_recent_bands()?;
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
            tx.bands
                .borrow_mut()
                .note_pruned((old.len() * BANDS) as u64);
            Ok(old.len())
        })
    }
}

/// Band rows gathered in `lsh_recent` before they move into `lsh_bands`
/// (2,048 items): small enough to stay in the page cache beside the hot
/// pages of the other tables.
const RECENT_ROWS: u64 = 65_536;

/// The newest fingerprint's item id: how far the filter's `covered_to` can go.
const LAST_PRINT: &str = "SELECT COALESCE(max(item_id), 0) FROM item_prints";

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
    /// Brings the band filter up to the committed tables, once per
    /// transaction and before its first lookup or print: rebuilt whole when
    /// stale, else given the prints other connections committed since it
    /// last looked. Under the write lock nobody else adds any until this
    /// transaction ends; polls that store nothing new never pay for it.
    fn bands_ready(&self) -> Result<()> {
        if self.bands_ready.get() {
            return Ok(());
        }
        let mut filter = self.bands.borrow_mut();
        let rebuild = filter.stale;
        let mut covered = filter.covered_to;
        let mut rows;
        let mut found = if rebuild {
            let items = self.scalar("SELECT count(*) FROM items WHERE banded = 1")?;
            *filter = BandFilter::with_capacity(items.max(0) as u64);
            filter.recent = self.scalar("SELECT count(*) FROM lsh_recent")?.max(0) as u64;
            covered = self.scalar(LAST_PRINT)?;
            rows = self.tx.prepare_cached(
                "SELECT p.item_id, p.signature FROM items i JOIN item_prints p ON p.item_id = i.id
                 WHERE i.banded = 1",
            )?;
            rows.query([])?
        } else {
            rows = self
                .tx
                .prepare_cached("SELECT item_id, signature FROM item_prints WHERE item_id > ?1")?;
            rows.query([covered])?
        };
        while let Some(r) = found.next()? {
            covered = covered.max(r.get(0)?);
            let sig = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            if let Some(fp) = Fingerprint::from_bytes(sig, 0) {
                for key in fp.band_keys() {
                    filter.insert(key);
                }
                if !rebuild {
                    filter.recent += BANDS as u64;
                }
            }
        }
        filter.covered_to = covered;
        self.bands_ready.set(true);
        Ok(())
    }

    /// Just before a commit that attached prints: merges the recent band
    /// rows into the big index when there are enough of them, and returns
    /// the last print this transaction can see, which becomes `covered_to`
    /// once the commit went through.
    pub(super) fn before_commit_bands(&self) -> Result<Option<i64>> {
        if !self.bands.borrow().attached {
            return Ok(None);
        }
        if self.bands.borrow().recent >= RECENT_ROWS {
            self.merge_recent_bands()?;
        }
        Ok(Some(self.scalar(LAST_PRINT)?))
    }

    /// The one integer a statement without parameters returns.
    fn scalar(&self, sql: &str) -> Result<i64> {
        Ok(self.tx.prepare_cached(sql)?.query_row([], |r| r.get(0))?)
    }

    /// Moves every row of `lsh_recent` into `lsh_bands`, in key order, so
    /// each leaf of the big index is read and written once per merge.
    pub(super) fn merge_recent_bands(&self) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO lsh_bands (key, item_id)
                 SELECT key, item_id FROM lsh_recent ORDER BY key, item_id",
            )?
            .execute([])?;
        self.tx
            .prepare_cached("DELETE FROM lsh_recent")?
            .execute([])?;
        self.bands.borrow_mut().recent = 0;
        Ok(())
    }

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
        self.bands_ready()?;
        // Keys no stored item has need no probe, and an item sharing fewer
        // than two bands is no candidate: a text that is not a copy usually
        // reads nothing at all.
        let keys: Vec<i64> = {
            let filter = self.bands.borrow();
            keys.iter()
                .copied()
                .filter(|k| filter.may_contain(*k))
                .collect()
        };
        if keys.len() < MIN_SHARED_BANDS {
            return Ok(Vec::new());
        }
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
        // The recent rows are the newest: they come first within the cap.
        let mut recent = self.tx.prepare_cached(
            "SELECT item_id FROM lsh_recent WHERE key = ?1 AND item_id >= ?2
                 ORDER BY item_id DESC LIMIT ?3",
        )?;
        let mut merged = self.tx.prepare_cached(
            "SELECT item_id FROM lsh_bands WHERE key = ?1 AND item_id >= ?2
                 ORDER BY item_id DESC LIMIT ?3",
        )?;
        // Up to 32 x MAX_POSTINGS integer keys per lookup: no need for SipHash.
        let mut shared: FxHashMap<i64, usize> = FxHashMap::default();
        for key in &keys {
            let mut left = MAX_POSTINGS;
            for id in recent.query_map(params![key, first, left], |r| r.get::<_, i64>(0))? {
                *shared.entry(id?).or_insert(0) += 1;
                left -= 1;
            }
            if left > 0 {
                for id in merged.query_map(params![key, first, left], |r| r.get::<_, i64>(0))? {
                    *shared.entry(id?).or_insert(0) += 1;
                }
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
        if fp.is_some() {
            // Before this print is written: the catch-up must see only
            // committed ones.
            self.bands_ready()?;
        }
        self.tx
            .prepare_cached("UPDATE items SET cluster_id = ?2, banded = ?3 WHERE id = ?1")?
            .execute(params![item_id, cluster_id, fp.is_some()])?;
        if let Some(fp) = fp {
            self.tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO item_prints (item_id, shingles, signature) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![item_id, fp.shingles, fp.to_bytes()])?;
            let keys = fp.band_keys();
            // One statement for the item's rows: a statement's bind, step
            // and reset cost about as much as the B-tree insert of a row.
            self.tx
                .prepare_cached(insert_recent_sql())?
                .execute(rusqlite::params_from_iter(
                    keys.iter().chain(std::iter::once(&item_id)),
                ))?;
            let mut filter = self.bands.borrow_mut();
            filter.attached = true;
            for key in keys {
                filter.insert(key);
            }
            filter.recent += BANDS as u64;
        }
        Ok(())
    }
}

/// `INSERT OR IGNORE INTO lsh_recent` of one item's [`BANDS`] rows: band
/// keys are `?1` to `?BANDS`, the item id the last parameter.
fn insert_recent_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let item = BANDS + 1;
        let rows: Vec<String> = (1..=BANDS).map(|k| format!("(?{k}, ?{item})")).collect();
        format!(
            "INSERT OR IGNORE INTO lsh_recent (key, item_id) VALUES {}",
            rows.join(", ")
        )
    })
}
