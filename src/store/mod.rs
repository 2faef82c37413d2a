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
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::alerts::AlertKind;
use crate::config::FeedConfig;
use crate::dedup::ExactKeys;
use crate::feeds::normalize::Item;

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
];

/// SQLite page cache per connection, in KiB: SQLite's own default size.
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

/// SQLite's message, with what it means for an operator where SQLite's own
/// words ("disk I/O error") leave the cause open.
pub(crate) fn explain(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
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

mod band_filter;
mod bands;
mod feeds;
mod outbox;
mod pages;
mod reports;

use band_filter::BandFilter;
use feeds::{feed_state_row, FEED_STATE_BY_NAME};
pub use outbox::{AttemptResult, Delivery, DeliveryState, PausedSink};
pub use pages::StoredPage;

/// Which exact key made an item a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateOf {
    Guid,
    CanonicalUrl,
    ContentHash,
}

/// A feed's stored state: identity, validators and health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub consecutive_errors: u32,
    pub last_polled_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub next_poll_at: Option<i64>,
    /// Set when the feed was paused after too many consecutive failures.
    pub paused_at: Option<i64>,
    /// The first failure of the current streak.
    pub failing_since: Option<i64>,
    /// The open `feed_health` "down" alert, if one was raised.
    pub health_alert: Option<String>,
    /// Digest of the last body the feed answered with.
    pub body_hash: Option<Vec<u8>>,
}

/// What one poll of a feed did, written with its items in one transaction.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub status: PollStatus,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// New validators; only written when the body was fetched.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Digest of the body; written with the validators.
    pub body_hash: Option<Vec<u8>>,
    pub polled_at: i64,
    pub next_poll_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollStatus {
    Fetched,
    NotModified,
    /// A 200 with the same body as last time: nothing parsed.
    Unchanged,
    Failed,
    /// 429: the site asks us to slow down. Not a failure of the feed: it
    /// neither counts toward pausing nor ends a failure streak.
    Throttled,
}

impl PollStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PollStatus::Fetched => "fetched",
            PollStatus::NotModified => "not_modified",
            PollStatus::Unchanged => "unchanged",
            PollStatus::Failed => "failed",
            PollStatus::Throttled => "throttled",
        }
    }
}

pub struct Store {
    conn: Connection,
    label: String,
    /// Which band keys the index may hold (see `band_filter`); built from
    /// the tables at the first lookup or print.
    bands: RefCell<BandFilter>,
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
        // holds one feed's dirty pages, so a write transaction does not
        // spill to the WAL before its commit; other pages come from the
        // OS's file cache. 8 MiB held 6 MiB more and was no faster, on an
        // empty store or on one of a million items.
        conn.pragma_update(None, "mmap_size", 0)?;
        conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
        let mut store = Store {
            conn,
            label,
            bands: RefCell::new(BandFilter::stale()),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        known_schema(found, &self.label)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let version = i as i64 + 1;
            let tx = self.conn.transaction()?;
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
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Makes sure every configured feed has a row; see [`StoreTx::upsert_feed`].
    pub fn sync_feeds(&mut self, feeds: &[FeedConfig], now: i64) -> Result<()> {
        self.write(true, |tx| {
            for f in feeds {
                tx.upsert_feed(f, now)?;
            }
            Ok(())
        })
    }

    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>> {
        let mut stmt = self.conn.prepare_cached(FEED_STATE_BY_NAME)?;
        Ok(stmt.query_row([name], feed_state_row).optional()?)
    }

    /// Reference articles of a story, oldest first: (source, title, text).
    pub fn story_articles(&self, story: &str) -> Result<Vec<StoredArticle>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT source, title, text FROM story_articles WHERE story_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(StoredArticle {
                source: r.get(0)?,
                title: r.get(1)?,
                text: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Story ids that have articles in the store (some only through `story add`).
    pub fn stored_story_ids(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT story_id FROM story_articles ORDER BY story_id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The feedback given for a story's items: (item id, relevant, title, text).
    pub fn feedback(&self, story: &str) -> Result<Vec<Feedback>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_id, verdict = 'relevant', title, text FROM feedback
             WHERE story_id = ?1 ORDER BY created_at, item_id",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(Feedback {
                item_id: r.get(0)?,
                relevant: r.get(1)?,
                title: r.get(2)?,
                text: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The names a story learned from its follow-ups, each with the items
    /// it was seen in beside the story.
    pub fn emerged_sources(&self, story: &str) -> Result<Vec<(String, Vec<i64>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.name, s.item_id FROM emerged_entities e
             JOIN entity_sightings s ON s.story_id = e.story_id AND s.name = e.name
             WHERE e.story_id = ?1 ORDER BY e.created_at, e.name, s.item_id",
        )?;
        let mut out: Vec<(String, Vec<i64>)> = Vec::new();
        for row in stmt.query_map([story], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (name, item) = row?;
            match out.last_mut() {
                Some((n, items)) if *n == name => items.push(item),
                _ => out.push((name, vec![item])),
            }
        }
        Ok(out)
    }

    /// The story an alert is for and the item that raised it.
    pub fn alert_subject(&self, alert_id: &str) -> Result<Option<(String, Option<i64>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT story_id, item_id FROM alerts WHERE id = ?1")?;
        Ok(stmt
            .query_row([alert_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The names a story learned, each with when it was last seen beside
    /// the story (its newest follow-up's publication, else arrival) and in
    /// how many follow-ups.
    pub fn emerged_entities(&self, story: &str) -> Result<Vec<EmergedName>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.name, e.kind, MAX(COALESCE(i.published_at, i.first_seen_at)), COUNT(i.id)
             FROM emerged_entities e
             LEFT JOIN entity_sightings s ON s.story_id = e.story_id AND s.name = e.name
             LEFT JOIN items i ON i.id = s.item_id
             WHERE e.story_id = ?1 GROUP BY e.name, e.kind ORDER BY e.created_at, e.name",
        )?;
        let rows = stmt.query_map([story], |r| {
            Ok(EmergedName {
                name: r.get(0)?,
                kind: r.get(1)?,
                last_seen: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                sightings: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Alerts, newest first, optionally filtered.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, story_id, kind, item_id, score, created_at, payload FROM alerts a
             WHERE (?1 IS NULL OR story_id = ?1) AND (?2 IS NULL OR kind = ?2)
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id
                    AND instr(?4, ',' || o.state || ',') > 0))
             ORDER BY created_at DESC, rowid DESC LIMIT ?3",
        )?;
        let states = filter.delivery.map(|s| format!(",{},", s.join(",")));
        let rows = stmt.query_map(
            params![
                filter.story,
                filter.kind,
                filter.limit.map(|l| l as i64).unwrap_or(-1),
                states
            ],
            |r| {
                Ok(StoredAlert {
                    id: r.get(0)?,
                    story: r.get(1)?,
                    kind: r.get(2)?,
                    item_id: r.get(3)?,
                    score: r.get(4)?,
                    created_at: r.get(5)?,
                    payload: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items by id or by link / canonical URL.
    pub fn find_items(&self, key: &str) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id)
             FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.id = ?1 OR i.link = ?2 OR i.canonical_url = ?2 OR i.canonical_url = ?3
             ORDER BY i.id",
        )?;
        let id: i64 = key.parse().unwrap_or(-1);
        let canonical = crate::canonical::canonicalize_str(key, None);
        let rows = stmt.query_map(params![id, key, canonical], stored_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items first seen at or after `since` (unix seconds), oldest first.
    pub fn items_since(&self, since: i64) -> Result<Vec<StoredItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, COALESCE(i.cluster_id, i.id)
             FROM items i JOIN feeds f ON f.id = i.feed_id
             WHERE i.first_seen_at >= ?1 ORDER BY i.id",
        )?;
        let rows = stmt.query_map([since], stored_item)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Recent clusters with more than one member, newest first, optionally
    /// only those with a follow-up match for `story`: (cluster id, members).
    pub fn clusters(
        &self,
        story: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<StoredItem>)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT cluster_id FROM items
             WHERE cluster_id IS NOT NULL
               AND (?1 IS NULL OR cluster_id IN (
                    SELECT i.cluster_id FROM matches m JOIN items i ON i.id = m.item_id
                    WHERE m.story_id = ?1 AND m.matched = 1))
             GROUP BY cluster_id HAVING count(*) > 1
             ORDER BY max(first_seen_at) DESC, cluster_id DESC LIMIT ?2",
        )?;
        let ids: Vec<i64> = stmt
            .query_map(params![story, limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut members = self.conn.prepare_cached(
            "SELECT i.id, f.name, i.guid, i.link, i.canonical_url, i.title, i.text, i.published_at, i.first_seen_at, i.cluster_id
             FROM items i JOIN feeds f ON f.id = i.feed_id WHERE i.cluster_id = ?1 ORDER BY i.id",
        )?;
        let mut out = Vec::new();
        for id in ids {
            let items = members
                .query_map([id], stored_item)?
                .collect::<Result<_, _>>()?;
            out.push((id, items));
        }
        Ok(out)
    }

    /// Stored match explanations of an item: (story, score, matched, explanation JSON).
    pub fn matches_of(&self, item_id: i64) -> Result<Vec<(String, f64, bool, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT story_id, score, matched, explanation FROM matches WHERE item_id = ?1 ORDER BY story_id",
        )?;
        let rows = stmt.query_map([item_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Documents in the corpus statistics (see [`StoreTx::add_documents`]).
    pub fn n_docs(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT n_docs FROM corpus WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }

    pub fn df(&self, term: &str) -> Result<u64> {
        let n: Option<i64> = self
            .conn
            .prepare_cached("SELECT df FROM term_df WHERE term = ?1")?
            .query_row([term], |r| r.get(0))
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }

    pub fn count_items(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))?;
        Ok(n as u64)
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArticle {
    pub source: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub story: Option<String>,
    pub kind: Option<AlertKind>,
    pub limit: Option<usize>,
    /// Only alerts with an outbox row in one of these states.
    pub delivery: Option<&'static [&'static str]>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub id: String,
    pub story: String,
    pub kind: AlertKind,
    pub item_id: Option<i64>,
    pub score: Option<f64>,
    pub created_at: i64,
    pub payload: String,
}

/// A name a story learned from its follow-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergedName {
    pub name: String,
    pub kind: String,
    /// Unix seconds of its newest sighting beside the story.
    pub last_seen: i64,
    pub sightings: u32,
}

/// One item a user judged for a story, as it was when judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub item_id: i64,
    pub relevant: bool,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub id: i64,
    pub feed: String,
    pub guid: String,
    pub link: Option<String>,
    pub canonical_url: Option<String>,
    pub title: String,
    pub text: String,
    pub published_at: Option<i64>,
    pub first_seen_at: i64,
    /// The near-duplicate cluster (the item's own id when it copies nothing).
    pub cluster_id: i64,
}

fn stored_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    Ok(StoredItem {
        id: r.get(0)?,
        feed: r.get(1)?,
        guid: r.get(2)?,
        link: r.get(3)?,
        canonical_url: r.get(4)?,
        title: r.get(5)?,
        text: r.get(6)?,
        published_at: r.get(7)?,
        first_seen_at: r.get(8)?,
        cluster_id: r.get(9)?,
    })
}

/// A match result as stored.
#[derive(Debug, Clone)]
pub struct MatchRow<'a> {
    pub item_id: i64,
    pub story: &'a str,
    pub score: f64,
    pub matched: bool,
    pub explanation: &'a str,
}

/// A write transaction; see [`Store::write`].
pub struct StoreTx<'a> {
    tx: Transaction<'a>,
    bands: &'a RefCell<BandFilter>,
    /// The band filter was brought up to date in this transaction.
    bands_ready: Cell<bool>,
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

    /// A feed's state as this transaction sees it.
    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>> {
        let mut stmt = self.tx.prepare_cached(FEED_STATE_BY_NAME)?;
        Ok(stmt.query_row([name], feed_state_row).optional()?)
    }
}

/// The URL and text keys of [`StoreTx::find_duplicate`], shared with the
/// read-only check before full-text fetching (`Store::is_known_item`).
pub(super) fn stored_under_other_keys(
    conn: &Connection,
    keys: &ExactKeys,
) -> Result<Option<DuplicateOf>> {
    let exists = |sql: &str, p: &dyn rusqlite::ToSql| -> Result<bool> {
        Ok(conn.prepare_cached(sql)?.exists([p])?)
    };
    // The item's canonical URL and its page's, each against both stored
    // columns: a link that redirects to an article another feed carried
    // is that article.
    for url in keys.urls() {
        if exists("SELECT 1 FROM items WHERE canonical_url = ?1", &url)?
            || exists("SELECT 1 FROM items WHERE page_url = ?1", &url)?
        {
            return Ok(Some(DuplicateOf::CanonicalUrl));
        }
    }
    if let Some(hash) = &keys.content_hash {
        if exists(
            "SELECT 1 FROM items WHERE content_hash = ?1",
            &hash.as_slice(),
        )? {
            return Ok(Some(DuplicateOf::ContentHash));
        }
    }
    Ok(None)
}

impl StoreTx<'_> {
    /// Makes sure the feed has a row and returns its id. A feed whose URL
    /// changed keeps its history but loses its validators, which belonged to
    /// the old URL.
    pub fn upsert_feed(&self, feed: &FeedConfig, now: i64) -> Result<i64> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO feeds (name, url, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET url = excluded.url, etag = NULL, last_modified = NULL
                WHERE feeds.url <> excluded.url",
        )?;
        stmt.execute(params![feed.name, feed.url.as_str(), now])?;
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM feeds WHERE name = ?1")?;
        Ok(stmt.query_row([&feed.name], |r| r.get(0))?)
    }

    /// The first exact key under which the item is already stored, cheapest first.
    pub fn find_duplicate(&self, feed_id: i64, keys: &ExactKeys) -> Result<Option<DuplicateOf>> {
        let by_guid = self
            .tx
            .prepare_cached("SELECT 1 FROM items WHERE feed_id = ?1 AND guid = ?2")?
            .exists(params![feed_id, keys.guid])?;
        if by_guid {
            return Ok(Some(DuplicateOf::Guid));
        }
        stored_under_other_keys(&self.tx, keys)
    }

    pub fn insert_item(
        &self,
        feed_id: i64,
        item: &Item,
        keys: &ExactKeys,
        now: i64,
    ) -> Result<i64> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO items (feed_id, guid, link, canonical_url, title, text, published_at,
                                first_seen_at, content_hash, authors, categories, page_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        stmt.execute(params![
            feed_id,
            keys.guid,
            item.link,
            keys.canonical_url,
            item.title,
            item.text,
            item.published.map(|d| d.timestamp()),
            now,
            keys.content_hash.as_ref().map(|h| h.as_slice()),
            serde_json::to_string(&item.authors).unwrap_or_else(|_| "[]".into()),
            serde_json::to_string(&item.categories).unwrap_or_else(|_| "[]".into()),
            keys.page_url,
        ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Stores a reference article; returns false when it was already stored
    /// with the same text.
    pub fn upsert_story_article(
        &self,
        story: &str,
        source: &str,
        title: &str,
        text: &str,
        now: i64,
    ) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO story_articles (story_id, source, title, text, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (story_id, source) DO UPDATE SET title = excluded.title, text = excluded.text
                WHERE story_articles.text <> excluded.text OR story_articles.title <> excluded.title",
        )?;
        Ok(stmt.execute(params![story, source, title, text, now])? > 0)
    }

    pub fn insert_match(&self, m: &MatchRow<'_>, now: i64) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO matches (item_id, story_id, score, matched, explanation, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (item_id, story_id) DO UPDATE SET
                score = excluded.score, matched = excluded.matched, explanation = excluded.explanation",
        )?;
        stmt.execute(params![
            m.item_id,
            m.story,
            m.score,
            m.matched,
            m.explanation,
            now
        ])?;
        Ok(())
    }

    /// Forgets an item's match with a story (a rescore found it no longer matches).
    pub fn delete_match(&self, item_id: i64, story: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM matches WHERE item_id = ?1 AND story_id = ?2")?
            .execute(params![item_id, story])?;
        Ok(())
    }

    /// Inserts an alert unless one with the same id exists; true when inserted.
    pub fn insert_alert(&self, a: &StoredAlert) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO alerts (id, story_id, kind, item_id, score, created_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
        )?;
        Ok(stmt.execute(params![
            a.id,
            a.story,
            a.kind,
            a.item_id,
            a.score,
            a.created_at,
            a.payload
        ])? > 0)
    }

    /// Records that `name` appeared beside the story in a matched item and
    /// returns in how many distinct matched items it has appeared so far, up
    /// to `cap`: a name in the news every day would otherwise cost a count of
    /// all its sightings each time it is seen again.
    pub fn record_sighting(
        &self,
        story: &str,
        name: &str,
        kind: &str,
        item_id: i64,
        cap: u32,
    ) -> Result<u32> {
        let mut ins = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO entity_sightings (story_id, name, kind, item_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        ins.execute(params![story, name, kind, item_id])?;
        let mut count = self.tx.prepare_cached(
            "SELECT count(*) FROM (SELECT 1 FROM entity_sightings WHERE story_id = ?1 AND name = ?2 LIMIT ?3)",
        )?;
        Ok(count.query_row(params![story, name, cap], |r| r.get(0))?)
    }

    pub fn sighting_items(&self, story: &str, name: &str) -> Result<Vec<i64>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT item_id FROM entity_sightings WHERE story_id = ?1 AND name = ?2 ORDER BY item_id",
        )?;
        let rows = stmt.query_map(params![story, name], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds an emerged entity; true when it is new to the story.
    pub fn insert_emerged(&self, story: &str, name: &str, kind: &str, now: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO emerged_entities (story_id, name, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        Ok(stmt.execute(params![story, name, kind, now])? > 0)
    }

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
        let n: i64 = self
            .tx
            .prepare_cached("SELECT n_docs FROM corpus WHERE id = 1")?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }

    pub fn df(&self, term: &str) -> Result<u64> {
        let n: Option<i64> = self
            .tx
            .prepare_cached("SELECT df FROM term_df WHERE term = ?1")?
            .query_row([term], |r| r.get(0))
            .optional()?;
        Ok(n.unwrap_or(0) as u64)
    }

    /// Moves an item (alone in its cluster) into another cluster.
    pub fn move_to_cluster(&self, item_id: i64, cluster_id: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE items SET cluster_id = ?2 WHERE id = ?1")?
            .execute(params![item_id, cluster_id])?;
        Ok(())
    }

    pub fn cluster_size(&self, cluster_id: i64) -> Result<u32> {
        Ok(self
            .tx
            .prepare_cached("SELECT count(*) FROM items WHERE cluster_id = ?1")?
            .query_row([cluster_id], |r| r.get(0))?)
    }

    /// Payloads of the follow-up and update alerts the cluster raised for the story.
    pub fn cluster_alert_payloads(&self, story: &str, cluster_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.tx.prepare_cached(
            // CROSS JOIN keeps the cluster as the outer loop: by story, the
            // planner would walk every alert the story ever raised.
            "SELECT a.payload FROM items i CROSS JOIN alerts a ON a.item_id = i.id
             WHERE i.cluster_id = ?2 AND a.story_id = ?1 AND a.kind IN ('followup', 'update')
             ORDER BY a.created_at",
        )?;
        let rows = stmt.query_map(params![story, cluster_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records what a user said of an item for a story (the last word wins).
    /// An item judged irrelevant no longer counts toward names emerging.
    pub fn set_feedback(
        &self,
        story: &str,
        item: &StoredItem,
        relevant: bool,
        now: i64,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO feedback (story_id, item_id, verdict, title, text, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (story_id, item_id) DO UPDATE SET verdict = excluded.verdict,
                created_at = excluded.created_at",
        )?;
        let verdict = if relevant { "relevant" } else { "irrelevant" };
        stmt.execute(params![story, item.id, verdict, item.title, item.text, now])?;
        if !relevant {
            self.tx
                .prepare_cached(
                    "DELETE FROM entity_sightings WHERE story_id = ?1 AND item_id = ?2",
                )?
                .execute(params![story, item.id])?;
        }
        Ok(())
    }

    /// Whether a user judged an item irrelevant to a story.
    pub fn rejected(&self, story: &str, item_id: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM feedback
             WHERE story_id = ?1 AND item_id = ?2 AND verdict = 'irrelevant')",
        )?;
        Ok(stmt.query_row(params![story, item_id], |r| r.get(0))?)
    }

    /// The follow-up alert a cluster raised for a story that no sink has
    /// been sent yet: (alert id, the alerting item's publication or first
    /// sight, its canonical URL or link).
    pub fn unsent_cluster_followup(
        &self,
        story: &str,
        cluster_id: i64,
    ) -> Result<Option<(String, i64, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT a.id, coalesce(i.published_at, i.first_seen_at),
                    coalesce(i.canonical_url, i.link, i.guid)
             FROM items i CROSS JOIN alerts a ON a.item_id = i.id
             WHERE i.cluster_id = ?2 AND a.story_id = ?1 AND a.kind = 'followup'
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_id = a.id
                               AND (o.attempts > 0 OR o.state <> 'pending'))
             LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![story, cluster_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?)
    }

    /// Withdraws an alert nothing was sent for, with its outbox rows.
    pub fn withdraw_alert(&self, alert_id: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM alerts WHERE id = ?1")?
            .execute([alert_id])?;
        Ok(())
    }

    /// Whether an item already raised a follow-up or update alert for a story.
    pub fn item_alerted(&self, story: &str, item_id: i64) -> Result<bool> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM alerts
             WHERE item_id = ?2 AND story_id = ?1 AND kind IN ('followup', 'update'))",
        )?;
        Ok(stmt.query_row(params![story, item_id], |r| r.get(0))?)
    }

    /// Records the outcome of a poll on the feed row: status, validators,
    /// error streak and the next due time.
    pub fn record_poll(&self, feed_id: i64, rec: &PollRecord) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "UPDATE feeds SET
                last_status = ?2,
                last_http_status = ?3,
                last_error = ?4,
                etag = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?5 ELSE etag END,
                last_modified = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?6 ELSE last_modified END,
                body_hash = CASE WHEN ?2 IN ('fetched', 'unchanged') THEN ?9 ELSE body_hash END,
                consecutive_errors = CASE ?2 WHEN 'failed' THEN consecutive_errors + 1
                    WHEN 'throttled' THEN consecutive_errors ELSE 0 END,
                failing_since = CASE ?2 WHEN 'failed' THEN COALESCE(failing_since, ?7)
                    WHEN 'throttled' THEN failing_since ELSE NULL END,
                last_polled_at = ?7,
                last_success_at = CASE WHEN ?2 IN ('failed', 'throttled') THEN last_success_at ELSE ?7 END,
                next_poll_at = ?8
             WHERE id = ?1",
        )?;
        stmt.execute(params![
            feed_id,
            rec.status.as_str(),
            rec.http_status,
            rec.error,
            rec.etag,
            rec.last_modified,
            rec.polled_at,
            rec.next_poll_at,
            rec.body_hash,
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebinding_a_limit_does_not_compile_the_statement_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let mut stmt = store
            .conn
            .prepare_cached(
                "SELECT item_id FROM lsh_bands WHERE key = ?1 AND item_id >= ?2
                 ORDER BY item_id DESC LIMIT ?3",
            )
            .unwrap();
        for (key, limit) in [(1_i64, 256_i64), (2, 17), (3, 1), (4, 0), (5, 256)] {
            let rows: Vec<i64> = stmt
                .query_map(params![key, 0, limit], |r| r.get(0))
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            assert!(rows.is_empty());
        }
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "each new LIMIT value recompiled the statement"
        );
    }

    #[test]
    fn migrations_apply_once_and_newer_schemas_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/test.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        drop(store);
        // Re-opening is a no-op.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        store
            .conn
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(store);
        match Store::open(&path) {
            Err(StoreError::SchemaTooNew { found, known, .. }) => {
                assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
            }
            other => panic!("expected SchemaTooNew, got {:?}", other.err()),
        }
    }

    #[test]
    fn every_migration_is_valid_sql_and_append_only_numbering_holds() {
        // Each file applies on top of the previous ones.
        let conn = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_new_store_file_is_created_with_incremental_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let store = Store::open(&path).unwrap();
        let mode: i64 = store
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap();
        let journal: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!((mode, journal.as_str()), (2, "wal"));
    }

    #[test]
    fn a_changed_url_drops_the_old_validators() {
        let mut store = Store::open_in_memory().unwrap();
        let feed = |url: &str| FeedConfig {
            name: "f".into(),
            url: url::Url::parse(url).unwrap(),
            interval: Duration::from_secs(60),
            full_text: crate::config::FullText::Off,
            allow_hosts: Vec::new(),
        };
        store
            .sync_feeds(&[feed("https://a.example/rss")], 1)
            .unwrap();
        let id = store.feed_state("f").unwrap().unwrap().id;
        store
            .write(true, |tx| {
                tx.record_poll(
                    id,
                    &PollRecord {
                        status: PollStatus::Fetched,
                        body_hash: None,
                        http_status: Some(200),
                        error: None,
                        etag: Some("\"v1\"".into()),
                        last_modified: None,
                        polled_at: 2,
                        next_poll_at: 62,
                    },
                )
            })
            .unwrap();
        store
            .sync_feeds(&[feed("https://a.example/rss")], 3)
            .unwrap();
        assert_eq!(
            store.feed_state("f").unwrap().unwrap().etag.as_deref(),
            Some("\"v1\"")
        );
        store
            .sync_feeds(&[feed("https://b.example/rss")], 4)
            .unwrap();
        let s = store.feed_state("f").unwrap().unwrap();
        assert_eq!(
            (s.id, s.etag, s.url.as_str()),
            (id, None, "https://b.example/rss")
        );
    }

    #[test]
    fn bands_are_rederived_after_the_banding_changed_and_pruned_past_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bands.db");
        let mut store = Store::open(&path).unwrap();
        let feed = feed_f();
        let text = "Russian President Vladimir Putin declared a unilateral Easter ceasefire in Ukraine on Saturday, \
                    and Kyiv said it would mirror a real halt in fighting along the whole front line.";
        let item = Item {
            guid: "g1".into(),
            link: Some("https://a.example/1".into()),
            canonical_url: Some("https://a.example/1".into()),
            title: "Easter ceasefire".into(),
            text: text.into(),
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            page_url: None,
        };
        let fp = crate::neardup::fingerprint(&item.title, text).unwrap();
        store
            .write(true, |tx| {
                let fid = tx.upsert_feed(&feed, 100)?;
                let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
                tx.attach_cluster(id, id, Some(&fp))
            })
            .unwrap();
        let rows = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT (SELECT count(*) FROM lsh_bands) + (SELECT count(*) FROM lsh_recent)",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(rows(&store), crate::neardup::BANDS as i64);
        // A store written before migration 7: the old band table, no rows,
        // signatures in the items table (and nothing of the later migrations).
        store
            .conn
            .execute_batch(
                "ALTER TABLE items ADD COLUMN shingles INTEGER; ALTER TABLE items ADD COLUMN signature BLOB;
                 UPDATE items SET shingles = (SELECT shingles FROM item_prints WHERE item_id = items.id),
                                  signature = (SELECT signature FROM item_prints WHERE item_id = items.id);
                 DROP INDEX alerts_item;
                 DROP TABLE item_prints; DROP TABLE report_pairs; ALTER TABLE feeds DROP COLUMN body_hash;
                 DROP TABLE article_pages; DROP INDEX items_page_url; ALTER TABLE items DROP COLUMN page_url;
                 DROP TABLE lsh_recent; DROP TABLE lsh_bands; DROP INDEX items_banded; ALTER TABLE items DROP COLUMN banded;
                 CREATE TABLE lsh_bands (key INTEGER NOT NULL, item_id INTEGER NOT NULL, seen_at INTEGER NOT NULL);
                 DROP TABLE feedback;",
            )
            .unwrap();
        store.conn.pragma_update(None, "user_version", 6).unwrap();
        drop(store);
        let mut store = Store::open(&path).unwrap();
        assert_eq!(rows(&store), crate::neardup::BANDS as i64);
        let found = store
            .write(false, |tx| tx.near_duplicate_candidates(&fp.band_keys(), 0))
            .unwrap();
        assert_eq!(found.len(), 1);
        // Out of the window: no candidate, and pruning removes exactly its rows.
        let none = store
            .write(false, |tx| {
                tx.near_duplicate_candidates(&fp.band_keys(), 101)
            })
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(store.prune_bands(100).unwrap(), 0);
        assert_eq!(store.prune_bands(101).unwrap(), 1);
        assert_eq!(rows(&store), 0);
    }

    /// The feed "f" the store tests write under.
    fn feed_f() -> FeedConfig {
        FeedConfig {
            name: "f".into(),
            url: url::Url::parse("https://a.example/rss").unwrap(),
            interval: Duration::from_secs(60),
            full_text: crate::config::FullText::Off,
            allow_hosts: Vec::new(),
        }
    }

    /// The band filter may only say "maybe" wrongly, never "absent": what
    /// another connection commits, an id a rolled-back write had used, and
    /// what is left after a pruning are all found.
    #[test]
    fn the_band_filter_never_hides_a_stored_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("filter.db");
        let (mut a, mut b) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
        let feed = feed_f();
        let texts = [
            "Kremlin spokesman Dmitry Peskov said the process of normalising relations \
             between Moscow and Washington was continuing after the talks in St Petersburg.",
            "Germany pledged a further military aid package worth billions of euros to Kyiv, \
             the defence minister told reporters in Berlin on Thursday evening.",
            "A prisoner exchange between the United States and Russia freed a dual national \
             held for more than a year, the White House confirmed on Friday.",
        ];
        let fps: Vec<_> = texts
            .iter()
            .map(|t| crate::neardup::fingerprint("", t).unwrap())
            .collect();
        let store_item = |s: &mut Store, n: usize, at: i64, commit: bool| -> i64 {
            s.write(commit, |tx| {
                let fid = tx.upsert_feed(&feed, at)?;
                let item = Item {
                    guid: format!("g{n}-{at}"),
                    link: None,
                    canonical_url: None,
                    title: String::new(),
                    text: texts[n].into(),
                    published: None,
                    authors: Vec::new(),
                    categories: Vec::new(),
                    page_url: None,
                };
                let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), at)?;
                tx.attach_cluster(id, id, Some(&fps[n]))?;
                Ok(id)
            })
            .unwrap()
        };
        let lookup = |s: &mut Store, n: usize| -> Vec<i64> {
            s.write(false, |tx| {
                tx.near_duplicate_candidates(&fps[n].band_keys(), 0)
            })
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
        };
        let first = store_item(&mut a, 0, 100, true);
        assert_eq!(lookup(&mut a, 0), [first]);
        assert!(lookup(&mut a, 1).is_empty());
        // A rolls back a write of text 2; B then stores text 1 under that id.
        let undone = store_item(&mut a, 2, 200, false);
        let other = store_item(&mut b, 1, 200, true);
        assert_eq!(undone, other, "SQLite hands the freed id out again");
        // A commit with no band work in between (a warm poll's feed row).
        a.write(true, |_| Ok(())).unwrap();
        assert_eq!(lookup(&mut a, 1), [other]);
        assert!(lookup(&mut a, 2).is_empty());
        // Pruning text 0 away marks the filter for a rebuild; the rest stays found.
        assert_eq!(a.prune_bands(150).unwrap(), 1);
        assert!(a.bands.borrow().stale);
        assert!(lookup(&mut a, 0).is_empty());
        assert_eq!(lookup(&mut a, 1), [other]);
        assert!(!a.bands.borrow().stale);
    }

    /// Sightings count distinct items, up to the cap.
    #[test]
    fn sightings_are_counted_per_item_up_to_the_cap() {
        let mut store = Store::open_in_memory().unwrap();
        let feed = feed_f();
        let counts = store
            .write(true, |tx| {
                let fid = tx.upsert_feed(&feed, 100)?;
                let mut counts = Vec::new();
                for n in 0..5 {
                    let item = Item {
                        guid: format!("g{n}"),
                        link: None,
                        canonical_url: None,
                        title: format!("Item {n}"),
                        text: format!("Text of item number {n} about the talks."),
                        published: None,
                        authors: Vec::new(),
                        categories: Vec::new(),
                        page_url: None,
                    };
                    let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
                    counts.push(tx.record_sighting("talks", "Rustem Umerov", "person", id, 3)?);
                    // The same item again is not another sighting.
                    counts.push(tx.record_sighting("talks", "Rustem Umerov", "person", id, 3)?);
                }
                counts.push(tx.record_sighting("other", "Rustem Umerov", "person", 1, 3)?);
                Ok(counts)
            })
            .unwrap();
        assert_eq!(counts, [1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 1]);
    }

    /// Many stored copies of one text, the older ones merged into the big
    /// band index and the newer still in the recent rows: a lookup compares
    /// only the capped number, the newest among equally close ones.
    #[test]
    fn a_near_duplicate_lookup_reads_at_most_the_capped_candidates() {
        let mut store = Store::open_in_memory().unwrap();
        let feed = feed_f();
        let text = "Kremlin spokesman Dmitry Peskov said the process of normalising relations \
                    between Moscow and Washington was continuing after the talks in St Petersburg.";
        let fp = crate::neardup::fingerprint("Peskov on relations", text).unwrap();
        let copies = crate::store::bands::MAX_CANDIDATES + 20;
        let ids = store
            .write(true, |tx| {
                let fid = tx.upsert_feed(&feed, 100)?;
                let mut ids = Vec::new();
                for n in 0..copies {
                    let item = Item {
                        guid: format!("g{n}"),
                        link: Some(format!("https://a.example/{n}")),
                        canonical_url: Some(format!("https://a.example/{n}")),
                        title: "Peskov on relations".into(),
                        text: text.into(),
                        published: None,
                        authors: Vec::new(),
                        categories: Vec::new(),
                        page_url: None,
                    };
                    let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
                    tx.attach_cluster(id, id, Some(&fp))?;
                    ids.push(id);
                    if n == 50 {
                        tx.merge_recent_bands()?;
                    }
                }
                Ok(ids)
            })
            .unwrap();
        let count = |table: &str| -> i64 {
            store
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        let bands = crate::neardup::BANDS as i64;
        assert_eq!(count("lsh_bands"), 51 * bands);
        assert_eq!(count("lsh_recent"), (copies as i64 - 51) * bands);
        let found: Vec<i64> = store
            .write(false, |tx| tx.near_duplicate_candidates(&fp.band_keys(), 0))
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(found, ids[copies - crate::store::bands::MAX_CANDIDATES..]);
    }

    #[test]
    fn retention_keeps_matched_items_and_items_in_the_window() {
        let mut store = Store::open_in_memory().unwrap();
        let feed = feed_f();
        let item = |g: &str| Item {
            guid: g.into(),
            link: None,
            canonical_url: None,
            title: format!("title {g}"),
            text: format!("text {g}"),
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            page_url: None,
        };
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let fp = crate::neardup::fingerprint("", text).unwrap();
        store
            .write(true, |tx| {
                let f = tx.upsert_feed(&feed, 100)?;
                for (g, banded) in [("old", false), ("matched", false), ("in-window", true)] {
                    let it = item(g);
                    let id = tx.insert_item(f, &it, &ExactKeys::of(&it), 100)?;
                    tx.attach_cluster(id, id, banded.then_some(&fp))?;
                    if g == "matched" {
                        tx.insert_match(
                            &MatchRow {
                                item_id: id,
                                story: "s",
                                score: 0.9,
                                matched: true,
                                explanation: "{}",
                            },
                            100,
                        )?;
                    }
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(store.prune_items(50).unwrap(), 0);
        assert_eq!(store.prune_items(200).unwrap(), 1);
        let left: Vec<String> = store
            .conn
            .prepare("SELECT guid FROM items ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(left, vec!["matched".to_string(), "in-window".to_string()]);
    }
}
