//! Document frequencies of the stored corpus, which the matcher weighs
//! shared names by. The reads are one query each over a connection, so that
//! the store and a write transaction (which sees its own additions) share it.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Result, Store, StoreTx};

/// Documents in the corpus statistics (see [`StoreTx::add_documents`]).
fn n_docs(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT n_docs FROM corpus WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    Ok(n as u64)
}

/// Documents `term` occurs in.
fn df(conn: &Connection, term: &str) -> Result<u64> {
    let n: Option<i64> = conn
        .prepare_cached("SELECT df FROM term_df WHERE term = ?1")?
        .query_row([term], |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0) as u64)
}

impl Store {
    pub fn n_docs(&self) -> Result<u64> {
        n_docs(&self.conn)
    }

    pub fn df(&self, term: &str) -> Result<u64> {
        df(&self.conn, term)
    }
}

impl StoreTx<'_> {
    /// Adds `docs` documents to the corpus statistics, and `n` to the
    /// document frequency of each term.
    pub fn add_documents<'t>(
        &self,
        docs: u64,
        terms: impl IntoIterator<Item = (&'t str, u64)>,
    ) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE corpus SET n_docs = n_docs + ?1 WHERE id = 1")?
            .execute([docs as i64])?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO term_df (term, df) VALUES (?1, ?2) ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
        )?;
        for (t, n) in terms {
            stmt.execute(params![t, n as i64])?;
        }
        Ok(())
    }

    pub fn n_docs(&self) -> Result<u64> {
        n_docs(&self.tx)
    }

    pub fn df(&self, term: &str) -> Result<u64> {
        df(&self.tx, term)
    }
}
