//! `db check` and `backup`: looking at a database file from outside the
//! process that writes it. Both read through their own connection, so the
//! running service goes on writing while they work.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{known_schema, StoreError, BUSY_TIMEOUT, SCHEMA_VERSION};

/// Problems `integrity_check` lists at most.
const MAX_PROBLEMS: usize = 100;

/// What `db check` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub path: String,
    pub schema_version: i64,
    /// The version this binary writes; an older file is migrated at the
    /// next `poll` or `run`.
    pub current_version: i64,
    pub instance: Option<String>,
    pub bytes: u64,
    pub items: i64,
    pub alerts: i64,
    pub queued_deliveries: i64,
    /// Empty when the file is sound.
    pub problems: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the backup {}: {source}", path.display())]
    Target {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("backup to {}: {}", path.display(), super::explain(source))]
    Copy {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the copy {} failed its check: {}", path.display(), problems.join("; "))]
    Unsound {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{} is the database itself: give the backup another path", path.display())]
    SameFile { path: PathBuf },
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let open = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        return Err(open(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some("no such file".into()),
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
    Ok(conn)
}

/// SQLite's `quick_check` of the database at `path` (every page, not the
/// index contents): what `run` does before it writes anything. A file not
/// made yet has nothing to check.
pub fn quick_check(path: &Path) -> Result<Vec<String>, StoreError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    Ok(pragma_check(&open_read_only(path)?, "quick_check"))
}

/// What `PRAGMA integrity_check` or `quick_check` lists besides "ok"; a
/// check that cannot finish is a problem too.
fn pragma_check(conn: &Connection, pragma: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let checked = conn.prepare(&format!("PRAGMA {pragma}")).and_then(|mut s| {
        let rows = s.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows.take(MAX_PROBLEMS) {
            let line = row?;
            if line != "ok" {
                problems.push(line);
            }
        }
        Ok(())
    });
    if let Err(e) = checked {
        problems.push(super::explain(&e));
    }
    problems
}

/// Runs SQLite's `integrity_check` (every page, every index entry) over
/// the database at `path`, and reads its schema version and sizes.
pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
    let conn = open_read_only(path)?;
    let sql = |e| StoreError::Open {
        path: path.to_path_buf(),
        source: e,
    };
    let schema_version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql)?;
    known_schema(schema_version, &path.display().to_string())?;
    let problems = pragma_check(&conn, "integrity_check");
    let count = |table: &str, filter: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table} {filter}"), [], |r| {
            r.get(0)
        })
        .unwrap_or(0)
    };
    let has_table = |table: &str| -> bool {
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get::<_, i64>(0),
        )
        .is_ok_and(|n| n > 0)
    };
    let instance = has_table("meta")
        .then(|| {
            conn.query_row("SELECT value FROM meta WHERE key = 'instance'", [], |r| {
                r.get(0)
            })
            .ok()
        })
        .flatten();
    Ok(CheckReport {
        path: path.display().to_string(),
        schema_version,
        current_version: SCHEMA_VERSION,
        instance,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        // A table an older schema lacks counts 0.
        items: count("items", ""),
        alerts: count("alerts", ""),
        queued_deliveries: count("outbox", "WHERE state = 'pending'"),
        problems,
    })
}

/// A consistent copy of the database at `from` in `to`, taken with
/// SQLite's online backup in one read transaction, so writers go on and
/// the copy holds one moment of the database. The copy is written beside
/// `to` and renamed into place once it has passed `integrity_check`: a
/// failed backup leaves no half file and never replaces a good one.
pub fn backup(from: &Path, to: &Path) -> Result<CheckReport, BackupError> {
    let src = open_read_only(from)?;
    // Renaming a copy over the live file would lose what is written meanwhile.
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(from, to) {
        return Err(BackupError::SameFile {
            path: to.to_path_buf(),
        });
    }
    let target = |source| BackupError::Target {
        path: to.to_path_buf(),
        source,
    };
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    // Created private: the copy holds what the database holds.
    super::create_private(&partial).map_err(target)?;
    let copied = (|| {
        let mut dst = Connection::open(&partial)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // All pages in one step: a step-wise copy starts over whenever the
        // service commits between steps.
        backup.step(-1)?;
        drop(backup);
        dst.pragma_update(None, "journal_mode", "delete")?;
        Ok::<_, rusqlite::Error>(())
    })();
    if let Err(source) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Copy {
            path: to.to_path_buf(),
            source,
        });
    }
    let report = check(&partial)?;
    if !report.problems.is_empty() {
        let _ = std::fs::remove_file(&partial);
        return Err(BackupError::Unsound {
            path: to.to_path_buf(),
            problems: report.problems,
        });
    }
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&partial, to))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            target(e)
        })?;
    Ok(CheckReport {
        path: to.display().to_string(),
        ..report
    })
}
