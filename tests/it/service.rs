//! `storywatch run` as a child process: systemd notifications on a socket
//! the test owns, real signals, feeds and receivers on 127.0.0.1, and the
//! unit files checked with systemd-analyze where it exists.

use crate::common;

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::http::{Response, TestServer};
use crate::common::news::{three_followups, REFERENCE};
use crate::common::{run, stdout, wait_until, WEBHOOK_SECRET};

struct Setup {
    dir: tempfile::TempDir,
    cfg: PathBuf,
}

fn setup(body: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reference.txt"), REFERENCE).unwrap();
    let cfg = dir.path().join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!("[[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n{body}"),
    )
    .unwrap();
    Setup { dir, cfg }
}

fn spawn(cfg: &Path, envs: &[(&str, &str)]) -> Child {
    let mut cmd = common::storywatch();
    cmd.arg("--config")
        .arg(cfg)
        .args(["--log-level", "info", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig}");
}

/// SIGTERM, then the exit status and stderr (must exit 0 in time).
fn stop(mut child: Child, within: Duration) -> String {
    signal(&child, "TERM");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert_eq!(status.code(), Some(0), "exit status {status:?}\n{err}");
            return err;
        }
        if start.elapsed() > within {
            let _ = child.kill();
            panic!("run did not stop within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn systemd_hears_ready_watchdog_status_and_stopping() {
    let feed_body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let s = setup(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\ninterval = \"1h\"\n",
        feed.url("/rss")
    ));
    let sock_path = s.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let child = spawn(
        &s.cfg,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let read = |got: &Arc<Mutex<Vec<String>>>| {
        let mut buf = [0u8; 4096];
        // One datagram holds newline-separated assignments.
        if let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            got.lock().unwrap().extend(text.lines().map(str::to_string));
        }
    };
    let has = |got: &Arc<Mutex<Vec<String>>>, m: &str| {
        got.lock().unwrap().iter().any(|g| g.starts_with(m))
    };
    wait_until("READY=1", Duration::from_secs(20), || {
        read(&got);
        has(&got, "READY=1")
    });
    // The watchdog is fed at half its interval while the loop runs.
    let ready_at = got.lock().unwrap().len();
    wait_until("two WATCHDOG=1", Duration::from_secs(5), || {
        read(&got);
        got.lock().unwrap()[ready_at..]
            .iter()
            .filter(|g| *g == "WATCHDOG=1")
            .count()
            >= 2
    });
    wait_until("a STATUS line", Duration::from_secs(5), || {
        read(&got);
        got.lock()
            .unwrap()
            .iter()
            .any(|g| g.starts_with("STATUS=1 feeds, "))
    });
    wait_until("the feed polled", Duration::from_secs(10), || {
        !feed.requests().is_empty()
    });
    let started = Instant::now();
    signal(&child, "TERM");
    wait_until("STOPPING=1", Duration::from_secs(5), || {
        read(&got);
        has(&got, "STOPPING=1")
    });
    stop(child, Duration::from_secs(12));
    assert!(
        started.elapsed() < Duration::from_secs(11),
        "took longer than the grace period"
    );
}

#[test]
fn sighup_reloads_the_config_and_a_broken_one_keeps_the_old() {
    let a = TestServer::start(|_| {
        Response::new(
            200,
            "<rss version=\"2.0\"><channel><title>a</title></channel></rss>",
        )
    });
    let b = TestServer::start(|_| {
        Response::new(
            200,
            "<rss version=\"2.0\"><channel><title>b</title></channel></rss>",
        )
    });
    let port = free_port();
    let base = format!(
        "[service]\nlisten = \"127.0.0.1:{port}\"\n\n[[feed]]\nname = \"a\"\nurl = \"{}\"\ninterval = \"1h\"\n",
        a.url("/rss")
    );
    let s = setup(&base);
    let child = spawn(&s.cfg, &[]);
    wait_until("feed a polled", Duration::from_secs(20), || {
        !a.requests().is_empty()
    });
    let with_b = format!(
        "{base}\n[[feed]]\nname = \"b\"\nurl = \"{}\"\ninterval = \"1h\"\n",
        b.url("/rss")
    );
    std::fs::write(&s.cfg, with_b).unwrap();
    signal(&child, "HUP");
    wait_until(
        "feed b polled after SIGHUP",
        Duration::from_secs(20),
        || !b.requests().is_empty(),
    );
    // Feed a is not due again: the reload kept its schedule.
    assert_eq!(a.requests().len(), 1);
    // A broken config is refused; the service keeps running the old one.
    std::fs::write(&s.cfg, "[poll]\ninterval = \"soon\"\n").unwrap();
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = http_get(port, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // Another database is refused too: the service keeps the one it opened.
    let polled_b = b.requests().len();
    let c = TestServer::start(|_| {
        Response::new(
            200,
            "<rss version=\"2.0\"><channel><title>c</title></channel></rss>",
        )
    });
    std::fs::write(
        &s.cfg,
        format!(
            "[storage]\npath = \"other.db\"\n{base}\n[[feed]]\nname = \"c\"\nurl = \"{}\"\n",
            c.url("/rss")
        ),
    )
    .unwrap();
    signal(&child, "HUP");
    std::thread::sleep(Duration::from_millis(800));
    let (status, _) = http_get(port, "/healthz");
    assert_eq!(status, 200);
    let err = stop(child, Duration::from_secs(12));
    assert!(
        err.contains("config reload failed") && err.contains("poll.interval"),
        "{err}"
    );
    assert!(
        err.contains("config reload refused") && err.contains("other.db"),
        "{err}"
    );
    assert!(
        c.requests().is_empty(),
        "the refused config's feed was polled"
    );
    assert!(!s.dir.path().join("other.db").exists());
    assert_eq!(b.requests().len(), polled_b);
    assert!(err.contains("config reloaded"), "{err}");
}

#[test]
fn failures_back_off_a_429_is_honoured_and_a_dead_feed_is_paused() {
    let times = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let t = times.clone();
    let failing = TestServer::start(move |_| {
        t.lock().unwrap().push(Instant::now());
        Response::new(500, "down")
    });
    let slow_times = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let st = slow_times.clone();
    let throttled = TestServer::start(move |_| {
        st.lock().unwrap().push(Instant::now());
        Response::new(429, "slow down").header("Retry-After", "3")
    });
    let s = setup(&format!(
        "[poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\ndisable_after = 4\n\n\
         [[feed]]\nname = \"failing\"\nurl = \"{}\"\n\n[[feed]]\nname = \"throttled\"\nurl = \"{}\"\n",
        failing.url("/rss"),
        throttled.url("/rss")
    ));
    let child = spawn(&s.cfg, &[]);
    wait_until("four failed polls", Duration::from_secs(30), || {
        times.lock().unwrap().len() >= 4
    });
    // Paused after the fourth: no fifth request comes.
    std::thread::sleep(Duration::from_millis(2500));
    let err = stop(child, Duration::from_secs(12));
    let t = times.lock().unwrap().clone();
    assert_eq!(t.len(), 4, "{err}");
    let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
    // 1s, 2s, 4s (±10% jitter): each wait longer than the one before.
    assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(3500), "{gaps:?}");
    let slow = slow_times.lock().unwrap().clone();
    assert!(slow.len() >= 2, "{slow:?}");
    for w in slow.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(2900),
            "Retry-After not honoured: {:?}",
            w[1] - w[0]
        );
    }
    let list = stdout(&run(&s.cfg, &["feeds", "list"]));
    let line = |name: &str| {
        list.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("failing ").contains("PAUSED") && line("failing ").contains("HTTP 500"),
        "{list}"
    );
    // A 429 is not a broken feed: never paused, however often.
    assert!(!line("throttled").contains("PAUSED"), "{list}");
    let out = run(&s.cfg, &["feeds", "resume", "failing"]);
    assert!(out.status.success());
    assert!(!stdout(&run(&s.cfg, &["feeds", "list"])).contains("PAUSED"));
}

#[test]
fn health_and_metrics_match_what_happened_and_a_restart_repolls_nothing() {
    let feed_body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let hook_hits = Arc::new(AtomicUsize::new(0));
    let h = hook_hits.clone();
    let hook = TestServer::start(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        Response::new(200, "ok")
    });
    let port = free_port();
    let s = setup(&format!(
        "[service]\nlisten = \"127.0.0.1:{port}\"\n\n[[feed]]\nname = \"news\"\nurl = \"{}\"\ninterval = \"1h\"\n\n\
         [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"SW_SECRET\"\n",
        feed.url("/rss"),
        hook.url("/hook")
    ));
    let env = [("SW_SECRET", WEBHOOK_SECRET)];
    let child = spawn(&s.cfg, &env);
    wait_until("three deliveries", Duration::from_secs(20), || {
        hook_hits.load(Ordering::SeqCst) >= 3
    });
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = http_get(port, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, metrics) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
    };
    assert_eq!(
        value("storywatch_polls_total{feed=\"news\",result=\"fetched\"}"),
        feed.requests().len() as f64
    );
    assert_eq!(value("storywatch_items_total{kind=\"new\"}"), 3.0);
    let listed = stdout(&run(&s.cfg, &["alerts", "list", "--json"]));
    let mut kinds: std::collections::BTreeMap<String, f64> = Default::default();
    for l in listed.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *kinds
            .entry(v["kind"].as_str().unwrap().to_string())
            .or_default() += 1.0;
    }
    assert!(
        kinds.get("followup").copied().unwrap_or(0.0) >= 2.0,
        "{kinds:?}"
    );
    for (kind, n) in &kinds {
        assert_eq!(
            value(&format!(
                "storywatch_alerts_total{{story=\"talks\",kind=\"{kind}\"}}"
            )),
            *n
        );
    }
    assert_eq!(
        value("storywatch_deliveries_total{sink=\"hook\",outcome=\"delivered\"}"),
        hook_hits.load(Ordering::SeqCst) as f64
    );
    assert_eq!(value("storywatch_outbox_pending"), 0.0);
    assert_eq!(value("storywatch_poll_duration_seconds_count"), 1.0);
    assert_eq!(http_get(port, "/nope").0, 404);
    // The story pages, read-only, as `storywatch report` writes them.
    let (status, index) = http_get(port, "/stories");
    assert_eq!(status, 200);
    assert!(index.contains("href=\"/stories/talks\""), "{index}");
    let (status, page) = http_get(port, "/stories/talks");
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("<li id=\"alert-").count(),
        kinds.get("followup").copied().unwrap_or(0.0) as usize
            + kinds.get("update").copied().unwrap_or(0.0) as usize,
        "{page}"
    );
    assert_eq!(http_get(port, "/stories/nosuch").0, 404);
    stop(child, Duration::from_secs(12));

    // A second start: the feed is not due, nothing delivered is sent again.
    let child = spawn(&s.cfg, &env);
    wait_until("the service up again", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    std::thread::sleep(Duration::from_millis(1500));
    stop(child, Duration::from_secs(12));
    assert_eq!(feed.requests().len(), 1);
    assert_eq!(hook_hits.load(Ordering::SeqCst), 3);
}

#[test]
fn opml_moves_subscriptions_in_and_out() {
    let s =
        setup("[[feed]]\nname = \"bbc\"\nurl = \"https://feeds.bbci.co.uk/news/world/rss.xml\"\n");
    let opml = s.dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><head/><body>
           <outline text="World"><outline text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
           <outline text="Le Monde" xmlUrl="https://www.lemonde.fr/rss/une.xml"/>
           <outline text="Le Monde" xmlUrl="https://www.lemonde.fr/international/rss_full.xml"/></outline></body></opml>"#,
    )
    .unwrap();
    let out = run(&s.cfg, &["feeds", "import-opml", opml.to_str().unwrap()]);
    assert!(out.status.success());
    let tables = stdout(&out);
    assert!(
        tables.contains(
            "# skipped (already configured): https://feeds.bbci.co.uk/news/world/rss.xml"
        ),
        "{tables}"
    );
    assert!(
        tables.contains("name = \"le-monde\"\ntitle = \"Le Monde\"\ncategory = \"World\"\nurl = \"https://www.lemonde.fr/rss/une.xml\""),
        "{tables}"
    );
    assert!(tables.contains("name = \"le-monde-2\""), "{tables}");
    // The output is a valid include file.
    std::fs::create_dir(s.dir.path().join("feeds.d")).unwrap();
    std::fs::write(s.dir.path().join("feeds.d/imported.toml"), &tables).unwrap();
    let cfg = std::fs::read_to_string(&s.cfg).unwrap();
    std::fs::write(&s.cfg, format!("include = [\"feeds.d/*.toml\"]\n{cfg}")).unwrap();
    let check = stdout(&run(&s.cfg, &["check-config"]));
    assert!(check.contains("feeds: 3"), "{check}");
    let exported = stdout(&run(&s.cfg, &["feeds", "export-opml"]));
    // Three feeds, the two imported ones in their folder.
    assert_eq!(exported.matches("xmlUrl=").count(), 3, "{exported}");
    assert!(exported.contains("<outline text=\"World\">"), "{exported}");
    assert!(exported.contains("xmlUrl=\"https://www.lemonde.fr/international/rss_full.xml\""));
    // An include file with a problem is named in the error.
    std::fs::write(
        s.dir.path().join("feeds.d/bad.toml"),
        "[[feed]]\nname = \"x\"\nurl = \"ftp://x\"\n",
    )
    .unwrap();
    let out = run(&s.cfg, &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("feeds.d/bad.toml:3:7: feed[1].url"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn unit_files_pass_systemd_analyze() {
    let Ok(out) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        if std::env::var_os("CI").is_some() {
            panic!("systemd-analyze is missing under CI (.ci/run installs it)");
        }
        eprintln!("skipping: systemd-analyze not found");
        return;
    };
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    for unit in [
        "storywatch.service",
        "storywatch-poll.service",
        "storywatch-poll.timer",
    ] {
        // verify checks that ExecStart exists: point it at the built binary.
        let text = std::fs::read_to_string(root.join(unit)).unwrap().replace(
            "/usr/local/bin/storywatch",
            env!("CARGO_BIN_EXE_storywatch"),
        );
        std::fs::write(dir.path().join(unit), text).unwrap();
    }
    let out = std::process::Command::new("systemd-analyze")
        .current_dir(dir.path())
        .args([
            "verify",
            "storywatch.service",
            "storywatch-poll.service",
            "storywatch-poll.timer",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "verify: {err}"
    );
    for unit in ["storywatch.service", "storywatch-poll.service"] {
        let out = std::process::Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(dir.path().join(unit))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let level: f64 = text
            .lines()
            .find_map(|l| l.split("exposure level for ").nth(1))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in {text}"));
        assert!(level <= 1.5, "{unit}: exposure {level}");
    }
}

#[test]
fn with_stderr_closed_every_feed_and_sink_keeps_working() {
    let failing_hits = Arc::new(AtomicUsize::new(0));
    let f = failing_hits.clone();
    let failing = TestServer::start(move |_| {
        f.fetch_add(1, Ordering::SeqCst);
        Response::new(500, "down")
    });
    let body = three_followups();
    let news = TestServer::start(move |_| Response::new(200, body.clone()));
    let hook_hits = Arc::new(AtomicUsize::new(0));
    let h = hook_hits.clone();
    let hook = TestServer::start(move |_| {
        h.fetch_add(1, Ordering::SeqCst);
        Response::new(204, "")
    });
    let port = free_port();
    let s = setup(&format!(
        "[service]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [poll]\ninterval = \"1s\"\nmin_interval = \"1s\"\n\n\
         [[feed]]\nname = \"failing\"\nurl = \"{}\"\n\n[[feed]]\nname = \"news\"\nurl = \"{}\"\n\n\
         [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"SW_TEST_SECRET\"\n",
        failing.url("/rss"),
        news.url("/rss"),
        hook.url("/hook")
    ));
    // Every log line (a WARN for each failed poll) meets a closed pipe.
    let mut child = common::storywatch()
        .env("SW_TEST_SECRET", WEBHOOK_SECRET)
        .arg("--config")
        .arg(&s.cfg)
        .args(["--log-level", "debug", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    wait_until("three failed polls", Duration::from_secs(30), || {
        failing_hits.load(Ordering::SeqCst) >= 3
    });
    wait_until("three deliveries", Duration::from_secs(30), || {
        hook_hits.load(Ordering::SeqCst) >= 3
    });
    assert!(child.try_wait().unwrap().is_none(), "run exited");
    let (status, body) = http_get(port, "/healthz");
    assert_eq!(status, 200, "{body}");
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
