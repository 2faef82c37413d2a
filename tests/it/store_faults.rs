//! The store under faults: a database another process holds locked, a
//! database file made read-only, a disk that is full (a file-size limit,
//! as `ulimit -f` sets). Each poll must fail with an error that names the
//! database and the cause, leave the file intact, lose nothing stored
//! before, and write again once the cause is gone.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups, REFERENCE};
use crate::common::proc::{measure, Measured};

/// A feed whose body the test can change between polls.
struct Feed {
    server: TestServer,
    body: Arc<Mutex<String>>,
}

fn feed() -> Feed {
    let body = Arc::new(Mutex::new(three_followups()));
    let b = body.clone();
    let server = TestServer::start(move |_| Response::new(200, b.lock().unwrap().clone()));
    Feed { server, body }
}

/// Forty more items, each with a paragraph of its own: enough pages to
/// outgrow a small file-size limit.
fn more_items() -> String {
    let now = now_rfc2822();
    let items: Vec<String> = (0..40)
        .map(|i| {
            let text = format!("Notice {i}: ")
                + &(0..120)
                    .map(|w| format!("w{i}x{w}"))
                    .collect::<Vec<_>>()
                    .join(" ");
            item(
                &format!("m{i}"),
                &format!("Council notice number {i}"),
                &text,
                &now,
            )
        })
        .collect();
    rss(&items)
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    cfg: PathBuf,
    db: PathBuf,
}

fn setup(feed: &Feed) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), REFERENCE).unwrap();
    let s = Setup {
        cfg: path.join("storywatch.toml"),
        db: path.join(storywatch::config::DEFAULT_DB_FILE),
        dir: path,
        _dir: dir,
    };
    s.write_config(feed, "", "");
    s
}

impl Setup {
    /// The story, the feed and the database path, with `top` before the
    /// story and `feed_extra` in the feed's table.
    fn write_config(&self, feed: &Feed, top: &str, feed_extra: &str) {
        std::fs::write(
            &self.cfg,
            format!(
                "[storage]\npath = \"{}\"\n\n{top}\
                 [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
                 [[feed]]\nname = \"news\"\nurl = \"{}\"\n{feed_extra}",
                self.db.display(),
                feed.server.url("/rss")
            ),
        )
        .unwrap();
    }

    /// Moves the database onto a 4 MiB tmpfs, if one can be mounted here
    /// (the caller then writes the config).
    fn on_tmpfs(&mut self) -> Option<Tmpfs> {
        let disk = self.dir.join("disk");
        let tmpfs = Tmpfs::mount(&disk, "4m")?;
        self.db = disk.join("storywatch.db");
        Some(tmpfs)
    }
}

fn poll_cmd(s: &Setup) -> std::process::Command {
    let mut cmd = common::storywatch();
    cmd.arg("--config").arg(&s.cfg).args(["poll", "--json"]);
    cmd
}

fn poll(s: &Setup) -> Measured {
    measure(poll_cmd(s), std::time::Duration::from_secs(60))
}

fn items(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "integrity_check");
    let mut guids: Vec<String> = conn
        .prepare("SELECT guid FROM items")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    guids.sort();
    guids
}

/// The first poll stores the three follow-ups; the feed then offers more.
fn first_poll(s: &Setup, feed: &Feed, run: impl Fn(&Setup) -> Measured) -> Vec<String> {
    let m = run(s);
    assert_eq!(m.code, Some(0), "{}\n{}", m.stdout, m.stderr);
    let before = items(&s.db);
    assert_eq!(before.len(), 3);
    *feed.body.lock().unwrap() = more_items();
    before
}

/// A failed poll: exit status, and the message must name the database and say `cause`.
fn assert_store_error(m: &Measured, s: &Setup, cause: &str) {
    assert!(!m.stderr.contains("panicked"), "{}", m.stderr);
    let out = format!("{}\n{}", m.stdout, m.stderr);
    assert_ne!(m.code, Some(0), "the poll succeeded:\n{out}");
    assert!(
        out.contains(&s.db.display().to_string()),
        "the database is not named:\n{out}"
    );
    assert!(out.contains(cause), "{cause:?} not said:\n{out}");
}

fn assert_resumed(m: &Measured, s: &Setup, before: &[String]) {
    assert_eq!(m.code, Some(0), "{}\n{}", m.stdout, m.stderr);
    let after = items(&s.db);
    assert_eq!(after.len(), before.len() + 40, "{after:?}");
    assert!(
        before.iter().all(|g| after.contains(g)),
        "an item stored before was lost"
    );
}

#[test]
fn a_locked_database_fails_clearly_and_writes_resume_when_released() {
    let feed = feed();
    let s = setup(&feed);
    let before = first_poll(&s, &feed, poll);

    // Another process (this test) holds the write lock past the busy timeout.
    let holder = rusqlite::Connection::open(&s.db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let m = poll(&s);
    assert_store_error(&m, &s, "locked");
    assert_eq!(m.code, Some(3), "the code for an unusable database");
    assert_eq!(items(&s.db), before);

    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    assert_resumed(&poll(&s), &s, &before);
}

/// Runs storywatch as an unprivileged user when the test runs as root
/// (file permissions do not bind root).
fn as_unprivileged(s: &Setup, mut cmd: std::process::Command) -> std::process::Command {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        std::fs::set_permissions(&s.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        for f in [&s.cfg, &s.dir.join("reference.txt")] {
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        cmd.uid(65534).gid(65534);
    }
    cmd
}

#[test]
fn a_read_only_database_fails_clearly_and_writes_resume_when_writable() {
    let feed = feed();
    let s = setup(&feed);
    let run = |s: &Setup| {
        measure(
            as_unprivileged(s, poll_cmd(s)),
            std::time::Duration::from_secs(60),
        )
    };
    let before = first_poll(&s, &feed, run);

    std::fs::set_permissions(&s.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let m = run(&s);
    assert_store_error(&m, &s, "read-only");
    assert_eq!(items(&s.db), before);

    std::fs::set_permissions(&s.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_resumed(&run(&s), &s, &before);
}

/// A small tmpfs mounted for the test (needs root or CAP_SYS_ADMIN),
/// unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a child still holding a file there must not keep it mounted.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes a file until the file system is full; returns its path.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let block = vec![0u8; 4096];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
    path
}

/// A full disk: a 4 MiB tmpfs filled to the last block where the test may
/// mount one, else `ulimit -f` (a file-size limit) with SIGXFSZ ignored, so
/// writes past it fail as they do on a full disk.
#[test]
fn a_full_disk_fails_clearly_and_writes_resume_when_space_returns() {
    let feed = feed();
    let mut s = setup(&feed);
    let tmpfs = s.on_tmpfs();
    s.write_config(&feed, "", "");
    let disk = s.dir.join("disk");
    let before = first_poll(&s, &feed, poll);

    let m = if tmpfs.is_some() {
        let filler = fill(&disk);
        let m = poll(&s);
        std::fs::remove_file(filler).unwrap();
        m
    } else {
        eprintln!("cannot mount a tmpfs here; a file-size limit stands in for a full disk");
        let mut cmd = poll_cmd(&s);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 64 * 1024,
                    rlim_max: 64 * 1024,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        measure(cmd, std::time::Duration::from_secs(60))
    };
    assert_store_error(&m, &s, "full");
    assert_eq!(items(&s.db), before);

    assert_resumed(&poll(&s), &s, &before);
    drop(tmpfs);
}

/// The service through the same faults: it logs the cause with the
/// database's name, keeps running, and stores what it missed once the lock
/// is released and the disk has room again.
#[test]
fn the_service_rides_out_a_locked_and_a_full_database() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};

    let feed = feed();
    let mut s = setup(&feed);
    let tmpfs = s.on_tmpfs();
    if tmpfs.is_none() {
        eprintln!("cannot mount a tmpfs here; the full-disk half is skipped");
    }
    s.write_config(
        &feed,
        "[poll]\nmin_interval = \"1s\"\n\n",
        "interval = \"1s\"\n",
    );
    let disk = s.dir.join("disk");
    let mut child = common::storywatch()
        .arg("--config")
        .arg(&s.cfg)
        .args(["--log-level", "info", "run"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push(line);
        }
    });
    let count = |db: &Path| -> usize {
        rusqlite::Connection::open(db)
            .and_then(|c| c.query_row("SELECT count(*) FROM items", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0) as usize
    };
    let wait_for = |what: &str, ok: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !ok() {
            if start.elapsed() > Duration::from_secs(40) {
                let log = log.lock().unwrap();
                panic!(
                    "timed out waiting for {what}; log:\n{}",
                    log[log.len().saturating_sub(30)..].join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let logged = |needle: &str, from: usize| {
        let db = s.db.display().to_string();
        let log = log.lock().unwrap();
        let line = log[from..]
            .iter()
            .find(|l| l.contains(needle) && l.contains(&db));
        if let Some(l) = line {
            println!("{l}");
        }
        line.is_some()
    };
    wait_for("the first poll", &|| count(&s.db) == 3);

    // Locked: the next polls fail and say why; released, they catch up.
    let mark = log.lock().unwrap().len();
    let holder = rusqlite::Connection::open(&s.db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    *feed.body.lock().unwrap() = more_items();
    wait_for("a logged lock error", &|| logged("locked", mark));
    assert_eq!(count(&s.db), 3);
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    wait_for("the missed items after the lock", &|| count(&s.db) == 43);

    if tmpfs.is_some() {
        let mark = log.lock().unwrap().len();
        let filler = fill(&disk);
        let extra: Vec<String> = (0..20)
            .map(|i| {
                item(
                    &format!("k{i}"),
                    &format!("Harbour notice {i}"),
                    &format!("Harbour notice {i} about berths and tides for the week."),
                    &now_rfc2822(),
                )
            })
            .collect();
        *feed.body.lock().unwrap() = rss(&extra);
        wait_for("a logged full-disk error", &|| logged("full", mark));
        assert_eq!(count(&s.db), 43);
        std::fs::remove_file(filler).unwrap();
        wait_for("the missed items after the disk filled", &|| {
            count(&s.db) == 63
        });
    }

    // SAFETY: the child is ours and not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(items(&s.db).len(), if tmpfs.is_some() { 63 } else { 43 });
    drop(tmpfs);
}

/// The database holds feed URLs (with any credentials in them): it and its
/// WAL and shared-memory files are readable by their owner only, whatever
/// the umask.
#[test]
fn a_new_database_and_its_wal_are_private() {
    let feed = feed();
    let s = setup(&feed);
    let m = poll(&s);
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.db), 0o600, "{}", s.db.display());
    // While a connection holds it open, SQLite gives the -wal and -shm
    // files the database file's mode.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    conn.execute_batch("BEGIN; SELECT count(*) FROM items;")
        .unwrap();
    let m = poll(&s);
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    for ext in ["db-wal", "db-shm"] {
        let p = s.db.with_extension(ext);
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    drop(conn);
}
