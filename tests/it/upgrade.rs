//! Upgrades: a database made at every earlier schema version (by applying
//! the migrations as they were up to it), holding an item and, from the
//! version that has an outbox, a queued alert; the current binary migrates
//! it, keeps what it held and delivers the queued alert under its id. A
//! database from a newer storywatch is refused and left as it was.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::http::{Response, TestServer};
use crate::common::news::{three_followups, REFERENCE};
use crate::common::{stderr, stdout};
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::common::WEBHOOK_SECRET as SECRET;

/// The migration files in their order; the position is the version.
fn migrations() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Inserts a row with `given` values; every other NOT NULL column without
/// a default gets a value of its declared type, so one filler serves the
/// table at every version.
fn insert(conn: &Connection, table: &str, given: &[(&str, Value)]) {
    let mut cols: Vec<String> = given.iter().map(|(c, _)| c.to_string()).collect();
    let mut vals: Vec<Value> = given.iter().map(|(_, v)| v.clone()).collect();
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .unwrap();
    let info: Vec<(String, String, bool, bool, bool)> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)? != 0,
                r.get::<_, Option<String>>(4)?.is_some(),
                r.get::<_, i64>(5)? != 0,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (name, ty, not_null, has_default, pk) in info {
        if !not_null || has_default || pk || cols.contains(&name) {
            continue;
        }
        let v = match ty.to_ascii_uppercase().as_str() {
            t if t.contains("INT") => Value::Integer(1),
            t if t.contains("REAL") => Value::Real(0.5),
            t if t.contains("BLOB") => Value::Blob(vec![0]),
            _ => Value::Text(String::new()),
        };
        cols.push(name);
        vals.push(v);
    }
    let marks = vec!["?"; cols.len()].join(", ");
    conn.execute(
        &format!("INSERT INTO {table} ({}) VALUES ({marks})", cols.join(", ")),
        rusqlite::params_from_iter(vals),
    )
    .unwrap_or_else(|e| panic!("insert into {table}: {e}"));
}

fn has_table(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

/// A database at schema `version`, with one old item and, where there is an
/// outbox, one queued alert (its id returned).
fn database_at(path: &Path, version: usize, all: &[String]) -> Option<String> {
    let conn = Connection::open(path).unwrap();
    for sql in &all[..version] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    insert(
        &conn,
        "feeds",
        &[
            ("name", "news".to_string().into()),
            ("url", "http://127.0.0.1:9/old".to_string().into()),
            ("created_at", now.into()),
        ],
    );
    insert(
        &conn,
        "items",
        &[
            ("feed_id", 1.into()),
            ("guid", "old-item".to_string().into()),
            (
                "title",
                "A report stored before the upgrade".to_string().into(),
            ),
            ("text", "Council notes from last year.".to_string().into()),
            ("first_seen_at", now.into()),
        ],
    );
    if !has_table(&conn, "outbox") {
        return None;
    }
    let id = format!("swa_queued_before_upgrade_v{version}");
    let payload = serde_json::json!({
        "type": "storywatch.alert.v1", "id": id, "created_at": "2026-01-01T00:00:00Z",
        "story": "talks", "kind": "followup", "score": 0.9, "item": null,
        "matched": {"entities": [], "events": [], "new_entities": []},
        "snippets": [], "cluster": null
    });
    insert(
        &conn,
        "alerts",
        &[
            ("id", id.clone().into()),
            ("story_id", "talks".to_string().into()),
            ("kind", "followup".to_string().into()),
            ("created_at", now.into()),
            ("payload", payload.to_string().into()),
        ],
    );
    insert(
        &conn,
        "outbox",
        &[
            ("alert_id", id.clone().into()),
            ("sink", "hook".to_string().into()),
            ("queued_at", now.into()),
            ("next_attempt_at", now.into()),
        ],
    );
    Some(id)
}

fn config(dir: &Path, db: &Path, feed: &str, hook: &str) -> PathBuf {
    std::fs::write(dir.join("reference.txt"), REFERENCE).unwrap();
    let cfg = dir.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\npath = \"{}\"\n\n[delivery]\ndrain = \"10s\"\n\n\
             [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
             [[feed]]\nname = \"news\"\nurl = \"{feed}\"\n\n\
             [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret_env = \"SW_TEST_SECRET\"\n",
            db.display()
        ),
    )
    .unwrap();
    cfg
}

fn poll(cfg: &Path) -> std::process::Output {
    common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(cfg)
        .args(["poll", "--json"])
        .output()
        .unwrap()
}

#[test]
fn a_database_of_every_earlier_version_is_migrated_and_its_queue_delivered() {
    let all = migrations();
    let body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, body.clone()));
    let hook = TestServer::start(|_| Response::new(204, ""));
    for version in 1..all.len() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("old.db");
        let queued = database_at(&db, version, &all);
        let cfg = config(dir.path(), &db, &feed.url("/rss"), &hook.url("/hook"));
        let out = poll(&cfg);
        assert!(
            out.status.success(),
            "from version {version}: {}",
            stderr(&out)
        );
        let conn = Connection::open(&db).unwrap();
        let now: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(now as usize, all.len(), "from version {version}");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "from version {version}");
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM items WHERE guid = 'old-item'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 1, "the old item is kept (from version {version})");
        let new: i64 = conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            new, 4,
            "the poll stored the feed's items (from version {version})"
        );
        if let Some(id) = queued {
            let sent = hook
                .requests_to("/hook")
                .iter()
                .filter(|r| r.header("webhook-id") == Some(id.as_str()))
                .count();
            assert_eq!(sent, 1, "{id} delivered once (from version {version})");
            let state: String = conn
                .query_row("SELECT state FROM outbox WHERE alert_id = ?1", [&id], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(state, "delivered");
        }
    }
}

#[test]
fn a_database_from_a_newer_storywatch_is_refused_and_left_alone() {
    let all = migrations();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    database_at(&db, all.len(), &all);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", all.len() as i64 + 1)
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    let cfg = config(
        dir.path(),
        &db,
        "http://127.0.0.1:9/rss",
        "http://127.0.0.1:9/hook",
    );
    let out = poll(&cfg);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("newer than this storywatch knows"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read(&db).unwrap() == before,
        "the file was modified"
    );
    let out = common::storywatch()
        .arg("--config")
        .arg(&cfg)
        .args(["db", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        std::fs::read(&db).unwrap() == before,
        "db check modified the file"
    );
}
