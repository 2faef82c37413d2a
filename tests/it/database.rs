//! The database file over a service's life: one process polls and delivers
//! it at a time, damage is found and named before anything is written, and
//! a backup taken while storywatch writes opens as a sound database.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups, REFERENCE};
use crate::common::{run, stderr, stdout};

use crate::common::{wait_until, WEBHOOK_SECRET as SECRET};

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    cfg: PathBuf,
    db: PathBuf,
}

fn setup(feed_url: &str, hook_url: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), REFERENCE).unwrap();
    let db = path.join("news.db");
    let cfg = path.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\npath = \"{}\"\n\n[poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n\n\
             [delivery]\nschedule = [\"200ms\"]\ndrain = \"10s\"\ntimeout = \"2s\"\n\n\
             [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
             [[feed]]\nname = \"news\"\nurl = \"{feed_url}\"\n\n\
             [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{hook_url}\"\nsecret_env = \"SW_TEST_SECRET\"\n",
            db.display()
        ),
    )
    .unwrap();
    Setup {
        _dir: dir,
        dir: path,
        cfg,
        db,
    }
}

fn cmd(s: &Setup, args: &[&str]) -> std::process::Output {
    common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(&s.cfg)
        .args(args)
        .output()
        .unwrap()
}

fn spawn_run(s: &Setup) -> Child {
    common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(&s.cfg)
        .args(["--log-level", "info", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(child: Child) -> String {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_poll_beside_the_running_service_is_refused_and_nothing_is_sent_twice() {
    let body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, body.clone()));
    let hook = TestServer::start(|_| Response::new(204, ""));
    let s = setup(&feed.url("/rss"), &hook.url("/hook"));
    let child = spawn_run(&s);
    wait_until("three deliveries", Duration::from_secs(30), || {
        hook.requests_to("/hook").len() >= 3
    });
    let out = cmd(&s, &["poll", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("news.db is in use by another storywatch process")
            && err.contains(&format!("pid {}", child.id())),
        "{err}"
    );
    // A requeue beside the service leaves the sending to it.
    let out = cmd(&s, &["alerts", "retry", "--all-failed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("the running storywatch"),
        "{}",
        stdout(&out)
    );
    // Reading commands need no lock.
    assert!(cmd(&s, &["alerts", "list"]).status.success());
    std::thread::sleep(Duration::from_millis(1500));
    let err = stop(child);
    let ids: Vec<String> = hook
        .requests_to("/hook")
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 3, "each alert sent once: {ids:?}\n{err}");
    assert_eq!(distinct.len(), 3);
    // Once the service is gone, a poll runs.
    let out = cmd(&s, &["poll", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Overwrites the middle of the file's b-tree pages with junk.
fn damage(db: &Path) {
    let len = std::fs::metadata(db).unwrap().len();
    assert!(len > 8 * 4096, "a database of {len} bytes");
    let mut f = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    for page in [len / 4096 / 2, len / 4096 / 2 + 1, 2] {
        f.seek(SeekFrom::Start(page * 4096 + 16)).unwrap();
        f.write_all(&[0xA5; 4000]).unwrap();
    }
    f.sync_all().unwrap();
}

#[test]
fn a_damaged_database_is_named_and_not_written() {
    let body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, body.clone()));
    let hook = TestServer::start(|_| Response::new(204, ""));
    let s = setup(&feed.url("/rss"), &hook.url("/hook"));
    let out = cmd(&s, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cmd(&s, &["db", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("news.db: ok") && report.contains("schema version"),
        "{report}"
    );
    assert!(report.contains(" 3 alerts"), "{report}");

    damage(&s.db);
    let before = std::fs::read(&s.db).unwrap();
    let out = cmd(&s, &["db", "check", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let j: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(!j["problems"].as_array().unwrap().is_empty(), "{j}");
    let child = spawn_run(&s);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("news.db is damaged") && err.contains("Nothing was written"),
        "{err}"
    );
    assert!(
        std::fs::read(&s.db).unwrap() == before,
        "run wrote to a damaged file"
    );
}

#[test]
fn a_backup_taken_while_the_service_writes_is_a_sound_copy() {
    // A feed that has new items at every poll, so the service keeps writing.
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = n.clone();
    let feed = TestServer::start(move |_| {
        let round = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let now = now_rfc2822();
        let items: Vec<String> = (0..30)
            .map(|i| {
                item(
                    &format!("r{round}-{i}"),
                    &format!("Council notice {round}-{i}"),
                    &format!("Notice {round} {i} about roads, parks and the library budget."),
                    &now,
                )
            })
            .collect();
        Response::new(200, rss(&items))
    });
    let hook = TestServer::start(|_| Response::new(204, ""));
    let s = setup(&feed.url("/rss"), &hook.url("/hook"));
    let child = spawn_run(&s);
    wait_until("two polls", Duration::from_secs(30), || {
        n.load(std::sync::atomic::Ordering::SeqCst) >= 2
    });
    let copy = s.dir.join("copy.db");
    for _ in 0..3 {
        let out = cmd(&s, &["backup", copy.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("backup written and checked"),
            "{}",
            stdout(&out)
        );
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let items: i64 = conn
            .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
            .unwrap();
        assert!(items >= 30, "{items}");
        std::thread::sleep(Duration::from_millis(700));
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&copy).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // The database itself is refused as a target.
    let out = cmd(&s, &["backup", s.db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is the database itself"),
        "{}",
        stderr(&out)
    );
    // A target that cannot be written is an error that names it, and the
    // service goes on.
    let out = cmd(&s, &["backup", "/proc/storywatch/copy.db"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/proc/storywatch/copy.db"),
        "{}",
        stderr(&out)
    );
    let polled = n.load(std::sync::atomic::Ordering::SeqCst);
    wait_until("another poll", Duration::from_secs(30), || {
        n.load(std::sync::atomic::Ordering::SeqCst) > polled
    });
    let err = stop(child);
    assert!(!err.contains("ERROR"), "{err}");
    // The copy is a database storywatch opens.
    let restored = s.dir.join("restored.toml");
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("news.db", "copy.db");
    std::fs::write(&restored, cfg).unwrap();
    let out = run(&restored, &["db", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("copy.db: ok"), "{}", stdout(&out));
}
