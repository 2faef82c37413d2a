//! The SQLite store: the only module that speaks SQL.
//!
//! One file holds feeds (with their schedule and HTTP validators) and items.
//! Migrations are embedded, append-only and applied at open; the schema
//! version lives in `PRAGMA user_version`, and a database written by a newer
//! storywatch is refused rather than silently downgraded.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction};

/// Applied in order; the position (1-based) is the schema version. Append only.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_stories.sql"),
    include_str!("migrations/0003_near_duplicates.sql"),
    include_str!("migrations/0004_band_index.sql"),
    include_str!("migrations/0005_outbox.sql"),
    include_str!("migrations/0006_feed_health.sql"),
    include_str!("migrations/0007_compact_bands.sql"),
    include_str!("migrations/0008_article_pages.sql"),
    include_str!("migrations/0009_report_pairs.sql"),
    include_str!("migrations/0010_item_prints.sql"),
    include_str!("migrations/0011_body_hash.sql"),
    include_str!("migrations/0012_alerts_by_item.sql"),
    include_str!("migrations/0013_recent_bands.sql"),
    include_str!("migrations/0014_feedback.sql"),
    include_str!("migrations/0015_instance.sql"),
];

/// SQLite page cache per connection, in KiB, until the config sets one
/// (SQLite's own default): the commands that only look need no more.
const PAGE_CACHE_KIB: i64 = 2 * 1024;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {}", explain(source))]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create database {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the folder for database {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this storywatch knows ({known}); \
         upgrade storywatch or point [storage] path at another file"
    )]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("migration to schema version {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database error: {}", explain(.0))]
    Sqlite(#[from] rusqlite::Error),
    /// A failed write transaction, with the database it was for.
    #[error("database {path}: {}", explain(source))]
    Write {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("internal error in a database task: {0}")]
    Task(String),
    /// The transaction this write shared with other feeds' failed as a whole.
    #[error("the transaction shared with other feeds failed: {0}")]
    Shared(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQLite says the file is damaged, or a column holds bytes that a healthy
/// database of ours never holds (text that is not UTF-8).
fn looks_corrupt(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(e.sqlite_error_code(), Some(DatabaseCorrupt | NotADatabase))
        || matches!(e, rusqlite::Error::Utf8Error(..))
}

impl StoreError {
    fn sqlite(&self) -> Option<&rusqlite::Error> {
        match self {
            StoreError::Open { source, .. }
            | StoreError::Migration { source, .. }
            | StoreError::Write { source, .. }
            | StoreError::Sqlite(source) => Some(source),
            _ => None,
        }
    }

    /// The database cannot be used as it is: another process holds it
    /// locked, it is corrupt, or a newer storywatch wrote it (exit code 3).
    pub fn database_unusable(&self) -> bool {
        use rusqlite::ErrorCode::*;
        if matches!(self, StoreError::SchemaTooNew { .. }) {
            return true;
        }
        self.sqlite().is_some_and(|e| {
            looks_corrupt(e) || matches!(e.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked))
        })
    }
}

/// SQLite's message, with what it means for an operator where SQLite's own
/// words ("disk I/O error") leave the cause open.
pub(crate) fn explain(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    if looks_corrupt(e) {
        return format!(
            "{e} (the database is corrupt: `storywatch db check` tells what is damaged; \
             restore the last backup, see docs/deployment.md)"
        );
    }
    let hint = match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => {
            "another process holds it locked; storywatch waited 5s and tries again at the next poll"
        }
        Some(ReadOnly) => "the file is read-only: check its permissions and its folder's",
        Some(DiskFull) => "the disk holding it is full",
        Some(SystemIoFailure) => {
            "a read or write failed: a full disk, a file-size limit or a failing device"
        }
        Some(CannotOpen) => "check that its folder exists and is writable",
        _ => return e.to_string(),
    };
    format!("{e} ({hint})")
}

mod alerts;
mod band_filter;
mod bands;
mod corpus;
mod feeds;
mod items;
mod lock;
mod maintenance;
mod outbox;
mod pages;
mod reports;
mod stories;

pub use alerts::{AlertFilter, StoredAlert};
use band_filter::BandFilter;
pub use feeds::{FeedState, PollRecord, PollStatus};
use items::stored_under_other_keys;
pub use items::{DuplicateOf, ItemFilter, NearMiss, StoredItem};
pub use lock::{lock_path, LockError, ProcessLock};
pub use maintenance::{backup, check, quick_check, BackupError, CheckReport};
pub use outbox::{AttemptResult, Delivery, DeliveryState, PausedSink};
pub use pages::StoredPage;
pub use stories::{EmergedName, Feedback, MatchRow, RemovedStory, StoredArticle};

pub struct Store {
    conn: Connection,
    label: String,
    /// Which band keys the index may hold (see `band_filter`); built from
    /// the tables at the first lookup or print.
    bands: RefCell<BandFilter>,
    /// This database's random id (`meta.instance`), part of every alert id.
    instance: String,
}

/// Creates a missing database file readable by its owner only: it holds
/// feed URLs (with any credentials in them) and what was read. SQLite gives
/// the WAL and shared-memory files the main file's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
/// A database written by a newer storywatch is refused, never migrated down.
fn known_schema(found: i64, label: &str) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: label.to_string(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// A write transaction; see [`Store::write`].
pub struct StoreTx<'a> {
    tx: Transaction<'a>,
    bands: &'a RefCell<BandFilter>,
    /// The band filter was brought up to date in this transaction.
    bands_ready: Cell<bool>,
    instance: &'a str,
}

impl StoreTx<'_> {
    /// This database's random id: alerts raised here derive their ids from it.
    pub fn instance(&self) -> &str {
        self.instance
    }
}

/// A SQLite error from a write, with the database it was for.
fn named(label: &str, e: StoreError) -> StoreError {
    match e {
        StoreError::Sqlite(source) => StoreError::Write {
            path: label.to_string(),
            source,
        },
        other => other,
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        create_private(path).map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Store::init(conn, path.display().to_string()).map_err(|e| match e {
            StoreError::Sqlite(source) => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// The schema version of the database at `path`, read without creating,
    /// migrating or writing anything: `None` when there is no file yet.
    pub fn probe(path: &Path) -> Result<Option<i64>> {
        if !path.exists() {
            return Ok(None);
        }
        let opened = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        );
        let version = opened
            .and_then(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.pragma_query_value(None, "user_version", |r| r.get(0))
            })
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        known_schema(version, &path.display().to_string())?;
        Ok(Some(version))
    }

    /// The database at `path` for a command that only reads it: when there
    /// is none yet, an empty one in memory, so that looking creates nothing.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if path.exists() {
            Store::open(path)
        } else {
            Store::open_in_memory()
        }
    }

    /// A private database that disappears with the process (for `--dry-run`
    /// without a database, and for tests).
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?, ":memory:".into())
    }

    fn init(conn: Connection, label: String) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // A newer storywatch's file is refused before anything below
        // (vacuum mode, WAL) writes to it.
        known_schema(
            conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
            &label,
        )?;
        // Every statement of the hot path stays prepared: the default cache
        // of 16 was smaller than one feed's transaction uses, so statements
        // were compiled again for every item.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans never depend on bound values. SQLite 3.54 otherwise marks a
        // statement with `LIMIT ?` to be compiled again each time the limit
        // is bound, which the band probes do for every key of every item:
        // 9 % of a cold poll's CPU went to recompiling them. There are no
        // ANALYZE statistics for values to refine a plan with anyway.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Freed pages go back to the file system a little at a time (see
        // `prune_items`); an older file is converted once. Set before WAL
        // mode: switching a new file to WAL writes its header, after which
        // the setting takes a VACUUM (new stores used to be created without
        // it and vacuumed whole on their second open).
        let auto_vacuum: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
        if auto_vacuum != 2 {
            conn.pragma_update(None, "auto_vacuum", "incremental")?;
            let tables: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            if tables > 0 {
                conn.execute_batch("VACUUM")?;
            }
        }
        if label != ":memory:" {
            conn.pragma_update(None, "journal_mode", "wal")?;
            // WAL with NORMAL is durable across process crashes; only an OS
            // crash can lose the last transactions, never corrupt the file.
            conn.pragma_update(None, "synchronous", "normal")?;
        }
        // No memory map: mapped pages count in the process's resident set
        // (a cold poll touched 250 MiB of them), and probes through read
        // calls and a page cache of our own measured the same. The cache
        // holds at least one feed's dirty pages, so a write transaction
        // does not spill to the WAL before its commit; pages it cannot hold
        // come from the OS's file cache.
        conn.pragma_update(None, "mmap_size", 0)?;
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        let mut store = Store {
            conn,
            label,
            bands: RefCell::new(BandFilter::stale()),
            instance: String::new(),
        };
        store.migrate()?;
        store.instance =
            store
                .conn
                .query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                    r.get(0)
                })?;
        Ok(store)
    }

    /// Sizes the page cache for polling (`[storage] cache`): what the cache
    /// holds is read again without a system call, and what it holds is
    /// resident memory.
    pub fn set_page_cache(&self, bytes: u64) -> Result<()> {
        let kib = i64::try_from(bytes / 1024).unwrap_or(i64::MAX).max(1);
        self.conn.pragma_update(None, "cache_size", -kib)?;
        Ok(())
    }

    /// Applies the migrations the file lacks, one write transaction each.
    /// The version is read again inside the transaction, which holds the
    /// write lock: processes opening one file at once apply each migration
    /// once, the others wait and then find it done.
    fn migrate(&mut self) -> Result<()> {
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        known_schema(found, &self.label)?;
        if found == SCHEMA_VERSION {
            // Up to date: no write lock taken, so read-only files open.
            return Ok(());
        }
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            known_schema(found, &self.label)?;
            let Some(sql) = MIGRATIONS.get(found as usize) else {
                return Ok(());
            };
            let version = found + 1;
            tx.execute_batch(sql)
                .and_then(|_| tx.pragma_update(None, "user_version", version))
                .and_then(|_| tx.commit())
                .map_err(|source| StoreError::Migration { version, source })?;
            tracing::info!(db = %self.label, version, "applied schema migration");
            if version == bands::REINDEX_AT {
                self.reindex_bands()?;
            }
            if version == reports::BACKFILL_AT {
                self.backfill_report_pairs()?;
            }
        }
    }

    /// This database's random id (see [`StoreTx::instance`]).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Every write names the database when it fails (a locked, read-only or
    /// full file is the operator's to fix, and they need to know which).
    pub fn named(&self, e: StoreError) -> StoreError {
        named(&self.label, e)
    }

    /// Runs `f` in one write transaction, committed when `commit` is true and
    /// `f` succeeds, rolled back otherwise (`--dry-run` passes false).
    pub fn write<T>(
        &mut self,
        commit: bool,
        f: impl FnOnce(&StoreTx<'_>) -> Result<T>,
    ) -> Result<T> {
        let label = self.label.clone();
        let named = |e: StoreError| named(&label, e);
        // A transaction that failed before its commit left this set.
        self.bands.borrow_mut().attached = false;
        let tx = StoreTx {
            tx: self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| named(e.into()))?,
            bands: &self.bands,
            bands_ready: Cell::new(false),
            instance: &self.instance,
        };
        let out = f(&tx).map_err(named)?;
        if commit {
            // Read under the write lock: every print up to it is this
            // transaction's or already in the filter.
            let covered = tx.before_commit_bands().map_err(named)?;
            tx.tx.commit().map_err(|e| named(e.into()))?;
            if let Some(to) = covered {
                let mut filter = self.bands.borrow_mut();
                filter.covered_to = filter.covered_to.max(to);
            }
        } else {
            tx.tx.rollback().map_err(|e| named(e.into()))?;
        }
        Ok(out)
    }
}

impl StoreTx<'_> {
    /// Runs `f` under a savepoint: when it fails its writes are undone and
    /// the rest of the transaction stands.
    pub fn savepoint<T>(&self, f: impl FnOnce(&StoreTx<'_>) -> Result<T>) -> Result<T> {
        self.tx.execute_batch("SAVEPOINT job")?;
        match f(self) {
            Ok(v) => {
                self.tx.execute_batch("RELEASE job")?;
                Ok(v)
            }
            Err(e) => {
                if !self.transaction_lost() {
                    self.tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
                }
                Err(e)
            }
        }
    }

    /// SQLite ended the transaction itself (it does on a full disk or an
    /// I/O error): nothing more may be written in it.
    pub fn transaction_lost(&self) -> bool {
        self.tx.is_autocommit()
    }
}

#[cfg(test)]
mod tests;
