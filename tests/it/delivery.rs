//! Alert delivery end to end: the real binary, a feed and webhook receivers
//! on 127.0.0.1, real signals. Retry schedules are short so tests are quick.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::http::{Request, Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups, REFERENCE};
use crate::common::{poll_json, run, stderr, stdout};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

use crate::common::{alert_ids, wait_until, WEBHOOK_SECRET as SECRET};

struct Setup {
    _dir: tempfile::TempDir,
    cfg: PathBuf,
}

/// A story, one feed, and `sinks` (TOML) with a short retry schedule.
fn setup(feed_url: &str, sinks: &str) -> Setup {
    setup_delivering(
        "schedule = [\"200ms\", \"400ms\"]\nmax_age = \"1h\"\ndrain = \"15s\"\ntimeout = \"2s\"",
        feed_url,
        sinks,
    )
}

/// As [`setup`], with `delivery` as the `[delivery]` table's lines.
fn setup_delivering(delivery: &str, feed_url: &str, sinks: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reference.txt"), REFERENCE).unwrap();
    let cfg = dir.path().join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[delivery]\n{delivery}\n\n\
             [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
             [[feed]]\nname = \"news\"\nurl = \"{feed_url}\"\ninterval = \"1h\"\n\n{sinks}"
        ),
    )
    .unwrap();
    Setup { _dir: dir, cfg }
}

fn webhook(url: &str) -> String {
    format!("[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"SW_TEST_SECRET\"\n")
}

fn run_env(cfg: &Path, args: &[&str]) -> std::process::Output {
    common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .unwrap()
}

/// Standard Webhooks verification, written here from the spec.
fn verify(req: &Request) -> bool {
    let (Some(id), Some(ts), Some(sig)) = (
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        req.header("webhook-signature"),
    ) else {
        return false;
    };
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&req.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh && sig.split(' ').any(|s| s == expected)
}

fn feed_server() -> TestServer {
    let body = three_followups();
    TestServer::start(move |_| Response::new(200, body.clone()))
}

#[test]
fn signed_webhook_retries_until_delivered_under_one_id() {
    let feed = feed_server();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // 500 three times, then 200 for everything.
    let hook = TestServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < 3 {
            Response::new(500, "busy")
        } else {
            Response::new(204, "")
        }
    });
    let s = setup(&feed.url("/rss"), &webhook(&hook.url("/hook")));
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    let ids = alert_ids(&s.cfg);
    assert_eq!(ids.len(), 3, "{j}");
    assert_eq!(j["alerts"], 3, "{j}");
    assert_eq!(j["delivered"], 3, "{j}");
    assert_eq!(j["deliveries_pending"], 0, "{j}");
    let reqs = hook.requests_to("/hook");
    assert_eq!(reqs.len(), 6, "3 failures + 3 deliveries");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in &reqs {
        assert!(verify(r), "bad signature on {:?}", r.header("webhook-id"));
        let id = r.header("webhook-id").unwrap().to_string();
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["id"], id.as_str(), "webhook-id is the alert id");
        assert_eq!(body["type"], "storywatch.alert.v1");
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), ids);
    // The first alert took all three failures: the sink waits, not spreads them.
    assert_eq!(seen.values().max(), Some(&4));
    // Nothing left to do: a second poll sends nothing again.
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["delivered"], 0, "{j}");
    assert_eq!(hook.requests_to("/hook").len(), 6);
    // A tampered body fails the receiver's check.
    let mut bad = reqs[5].clone();
    bad.body.push(b' ');
    assert!(!verify(&bad));
}

#[test]
fn retry_after_is_waited_for_and_a_gone_receiver_pauses_until_retry() {
    let feed = feed_server();
    let phase = Arc::new(AtomicUsize::new(0));
    let p = phase.clone();
    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let t = times.clone();
    let hook = TestServer::start(move |_| {
        t.lock().unwrap().push(Instant::now());
        match p.fetch_add(1, Ordering::SeqCst) {
            0 => Response::new(429, "slow down").header("Retry-After", "2"),
            1 => Response::new(200, "ok"),
            _ if p.load(Ordering::SeqCst) < 100 => Response::new(410, "gone"),
            _ => Response::new(200, "ok"),
        }
    });
    let s = setup(&feed.url("/rss"), &webhook(&hook.url("/hook")));
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    let reqs = hook.requests();
    let t = times.lock().unwrap().clone();
    assert!(
        t[1] - t[0] >= Duration::from_millis(1900),
        "Retry-After not honoured: {:?}",
        t[1] - t[0]
    );
    // 429, the wait, the same alert again (delivered), then a 410 that
    // fails its alert at once and pauses the sink: the third is not tried.
    assert_eq!(reqs.len(), 3, "{j}");
    assert_eq!(reqs[0].header("webhook-id"), reqs[1].header("webhook-id"));
    assert_eq!(
        (j["delivered"].as_u64(), j["delivery_failed"].as_u64()),
        (Some(1), Some(1)),
        "{j}"
    );
    assert_eq!(j["deliveries_pending"], 1, "{j}");
    let listing = stdout(&run(&s.cfg, &["alerts", "list", "--failed"]));
    assert!(listing.starts_with("SINK PAUSED: hook"), "{listing}");
    assert!(
        listing.contains("1 alert\n")
            && listing.contains("hook failed after 1 attempt(s) (HTTP 410"),
        "{listing}"
    );
    let failed = reqs[2].header("webhook-id").unwrap().to_string();
    // A poll does not hammer a paused sink.
    poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    assert_eq!(hook.requests().len(), 3);
    // The receiver is back; the operator retries that alert.
    phase.store(100, Ordering::SeqCst);
    let out = run_env(&s.cfg, &["alerts", "retry", &failed]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("requeued 1 delivery; 2 sent"),
        "{}",
        stdout(&out)
    );
    let after: Vec<_> = hook.requests().into_iter().skip(3).collect();
    assert_eq!(after[0].header("webhook-id"), Some(failed.as_str()));
    assert_eq!(
        after.len(),
        2,
        "the retried alert and the one held by the pause"
    );
    let listing = stdout(&run(&s.cfg, &["alerts", "list", "--failed"]));
    assert!(listing.starts_with("0 alerts"), "{listing}");
    let out = run(&s.cfg, &["alerts", "retry", "swa_nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// Takes a free loopback port (nobody listens on it afterwards).
fn dead_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn spawn_run(cfg: &Path) -> Child {
    common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(cfg)
        .args(["--log-level", "info", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn terminate(mut child: Child) -> String {
    let pid = child.id().to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(status.code(), Some(0), "{err}");
            return err;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "run did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_receiver_down_for_the_whole_poll_gets_everything_from_run() {
    let feed = feed_server();
    let addr = dead_port();
    let s = setup(&feed.url("/rss"), &webhook(&format!("http://{addr}/hook")));
    // Short drain: the poll gives up quickly and leaves the rows queued.
    let text = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("drain = \"15s\"", "drain = \"1s\"");
    std::fs::write(&s.cfg, text).unwrap();
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["alerts"].as_u64(), j["delivered"].as_u64()),
        (Some(3), Some(0)),
        "{j}"
    );
    assert_eq!(j["deliveries_pending"], 3, "{j}");
    let pending = stdout(&run(&s.cfg, &["alerts", "list", "--pending"]));
    assert!(pending.starts_with("3 alerts"), "{pending}");
    let hook = TestServer::start_on(addr, |_| Response::new(200, "ok"));
    let child = spawn_run(&s.cfg);
    let ids = alert_ids(&s.cfg);
    wait_until(
        "all alerts delivered by run",
        Duration::from_secs(20),
        || {
            hook.requests()
                .iter()
                .filter_map(|r| r.header("webhook-id").map(String::from))
                .collect::<BTreeSet<_>>()
                == ids
        },
    );
    let log = terminate(child);
    assert!(
        !log.contains(SECRET.trim_start_matches("whsec_")),
        "secret in logs"
    );
    for r in hook.requests() {
        assert!(verify(&r));
    }
    // The feed is not due again (interval 1h): run did not poll it.
    assert_eq!(feed.requests().len(), 1);
}

#[test]
fn alerts_queued_before_a_sigkill_are_delivered_after_restart_under_their_ids() {
    let feed = feed_server();
    let first = Arc::new(AtomicUsize::new(0));
    let f = first.clone();
    // The first request hangs: the process dies with it in flight.
    let hook = TestServer::start(move |_| {
        if f.fetch_add(1, Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_secs(5));
        }
        Response::new(200, "ok")
    });
    let s = setup(&feed.url("/rss"), &webhook(&hook.url("/hook")));
    let text = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("timeout = \"2s\"", "timeout = \"30s\"");
    std::fs::write(&s.cfg, text).unwrap();
    let mut child = common::storywatch()
        .env("SW_TEST_SECRET", SECRET)
        .arg("--config")
        .arg(&s.cfg)
        .args(["poll"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "the first delivery in flight",
        Duration::from_secs(20),
        || !hook.requests().is_empty(),
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let in_flight = hook.requests()[0].header("webhook-id").unwrap().to_string();
    let ids = alert_ids(&s.cfg);
    assert_eq!(ids.len(), 3);
    let child = spawn_run(&s.cfg);
    wait_until(
        "every alert delivered after the restart",
        Duration::from_secs(20),
        || {
            hook.requests()
                .iter()
                .skip(1)
                .filter_map(|r| r.header("webhook-id").map(String::from))
                .collect::<BTreeSet<_>>()
                == ids
        },
    );
    terminate(child);
    let sent: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    // Each id once after the restart, the one in flight again under its own id.
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert_eq!(sent.iter().filter(|i| **i == in_flight).count(), 2);
    assert!(sent.iter().all(|i| ids.contains(i)));
}

#[test]
fn chat_messages_from_hostile_titles_are_harmless() {
    let now = now_rfc2822();
    let title = "@everyone &lt;!channel&gt; [x](http://evil) Witkoff to return to Russia next week, Kremlin says";
    let feed_body = rss(&[item(
        "h1",
        title,
        "@here Dmitry Peskov said Steve Witkoff would return to Russia next week to meet Vladimir Putin again on a Ukraine ceasefire. &lt;@123&gt;",
        &now,
    )]);
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let chat = TestServer::start(|_| Response::new(200, "ok"));
    let sinks = format!(
        "[[sink]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"{}\"\nrate = \"0s\"\n\n[[sink]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{}\"\nrate = \"0s\"\n",
        chat.url("/slack"),
        chat.url("/discord")
    );
    let s = setup(&feed.url("/rss"), &sinks);
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["delivered"], 2, "{j}");
    let slack = &chat.requests_to("/slack")[0];
    let body = String::from_utf8_lossy(&slack.body).into_owned();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["text"].is_string() && v["blocks"].is_array(), "{body}");
    for bad in ["<!channel>", "@everyone", "@here", "<http://evil", "<@123>"] {
        assert!(!body.contains(bad), "slack body has {bad}: {body}");
    }
    assert!(
        body.contains("<http://news.example/h1|"),
        "title linked: {body}"
    );
    let discord = chat
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/discord"))
        .unwrap();
    assert_eq!(discord.path, "/discord?wait=true");
    let body = String::from_utf8_lossy(&discord.body).into_owned();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    for bad in ["@everyone", "@here", "[x](http://evil)", "<@123>"] {
        assert!(!body.contains(bad), "discord body has {bad}: {body}");
    }
    assert_eq!(v["embeds"][0]["url"], "http://news.example/h1");
}

#[test]
fn sink_config_and_secret_errors_name_the_place() {
    let s = setup(
        "http://127.0.0.1:9/rss",
        "[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n",
    );
    let out = run(&s.cfg, &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("storywatch.toml:")
            && stderr(&out).contains("a webhook sink is signed"),
        "{}",
        stderr(&out)
    );

    let s = setup("http://127.0.0.1:9/rss", "[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_env = \"SW_UNSET_SECRET\"\n");
    let out = run(&s.cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sink hook") && stderr(&out).contains("SW_UNSET_SECRET"),
        "{}",
        stderr(&out)
    );

    // A credential from systemd's LoadCredential= directory.
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("hook-secret"), format!("{SECRET}\n")).unwrap();
    let hook = TestServer::start(|_| Response::new(200, "ok"));
    let s = setup("http://127.0.0.1:9/rss", &format!("[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_credential = \"hook-secret\"\n", hook.url("/t/token123")));
    let out = common::storywatch()
        .env("CREDENTIALS_DIRECTORY", creds.path())
        .arg("--config")
        .arg(&s.cfg)
        .args(["--log-level", "debug", "alerts", "test", "hook"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("test alert delivered to hook (http://127.0.0.1"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("token123") && !stderr(&out).contains("token123"));
    let req = &hook.requests()[0];
    assert!(verify(req));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["kind"], "test");
    assert!(body["item"]["title"]
        .as_str()
        .unwrap()
        .contains("test alert"));
}

#[test]
fn a_digest_sink_sends_one_message_and_stdout_prints_json_lines() {
    let feed = feed_server();
    let hook = TestServer::start(|_| Response::new(200, "ok"));
    let sinks = format!(
        "{}digest = \"2s\"\n\n[[sink]]\nname = \"print\"\nkind = \"stdout\"\n",
        webhook(&hook.url("/hook"))
    );
    let s = setup(&feed.url("/rss"), &sinks);
    let out = run_env(&s.cfg, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids = alert_ids(&s.cfg);
    // stdout: one storywatch.alert.v1 line per alert, beside the summary.
    let printed: BTreeSet<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(printed, ids);
    // The digest: one signed request carrying every alert under its own id.
    let reqs = hook.requests();
    assert_eq!(reqs.len(), 1);
    assert!(verify(&reqs[0]));
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["type"], "storywatch.digest.v1");
    assert_eq!(reqs[0].header("webhook-id"), body["id"].as_str());
    assert!(body["id"].as_str().unwrap().starts_with("swd_"));
    let inside: BTreeSet<String> = body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(inside, ids);
}

/// Standard output that cannot be written (`poll > /dev/full`) is a failed
/// delivery: the alert stays queued and goes out once output works again.
#[test]
fn a_stdout_sink_that_cannot_write_keeps_the_alert_queued() {
    let body = three_followups();
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(
        &server.url("/rss"),
        "[[sink]]\nname = \"out\"\nkind = \"stdout\"\n",
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = common::storywatch()
        .arg("--config")
        .arg(&s.cfg)
        .arg("poll")
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let pending = stdout(&run(&s.cfg, &["alerts", "list", "--pending"]));
    assert_eq!(
        pending.matches("delivery: out pending").count(),
        3,
        "{pending}\n{err}"
    );
    assert!(
        pending.contains("cannot write to standard output"),
        "{pending}"
    );
    assert!(err.contains("cannot write to standard output"), "{err}");
    let out = run(&s.cfg, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let sent: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with('{') && l.contains("\"story\":\"talks\""))
        .collect();
    assert_eq!(sent.len(), 3, "{printed}");
    let pending = stdout(&run(&s.cfg, &["alerts", "list", "--pending"]));
    assert!(!pending.contains("talks"), "{pending}");
}

#[test]
fn alerts_retry_sends_a_delivery_waiting_out_its_backoff_now() {
    let feed = feed_server();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    // The first request fails; the receiver is fine after that.
    let hook = TestServer::start(move |_| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::new(503, "busy")
        } else {
            Response::new(204, "")
        }
    });
    let s = setup_delivering(
        "schedule = [\"1h\"]\ndrain = \"2s\"\ntimeout = \"2s\"",
        &feed.url("/rss"),
        &webhook(&hook.url("/hook")),
    );
    let cfg = s.cfg.clone();
    let j = poll_json(&run_env(&cfg, &["poll", "--json"]));
    assert_eq!(j["deliveries_pending"], 3, "{j}");
    let pending = run(&cfg, &["alerts", "list", "--pending"]);
    assert!(
        stdout(&pending).contains("next attempt 20"),
        "{}",
        stdout(&pending)
    );
    // The refused one waits an hour; the sink holds the others behind it.
    let refused = hook.requests_to("/hook")[0]
        .header("webhook-id")
        .unwrap()
        .to_string();
    let out = run_env(&cfg, &["alerts", "retry", &refused]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("requeued 1 delivery; 3 sent, 0 failed, 0 still queued"),
        "{}",
        stdout(&out)
    );
    let sent = hook.requests_to("/hook");
    assert_eq!(
        sent.iter()
            .filter(|r| r.header("webhook-id") == Some(refused.as_str()))
            .count(),
        2,
        "the refused alert went out again now, under its id"
    );
}

#[test]
fn a_recreated_database_never_gives_a_delivered_id_to_another_alert() {
    let feed = feed_server();
    let hook = TestServer::start(|_| Response::new(204, ""));
    let s = setup(
        &feed.url("/rss"),
        &(webhook(&hook.url("/hook")) + "\n[storage]\npath = \"alerts.db\"\n"),
    );
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["delivered"], 3, "{j}");
    let first = alert_ids(&s.cfg);
    // The same items, stored again in rows with the same numbers.
    let db = s.cfg.with_file_name("alerts.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let j = poll_json(&run_env(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["delivered"], 3, "{j}");
    let second = alert_ids(&s.cfg);
    assert_eq!(second.len(), 3);
    assert!(first.is_disjoint(&second), "{first:?} {second:?}");
    let sent: BTreeSet<String> = hook
        .requests_to("/hook")
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_string())
        .collect();
    assert_eq!(sent.len(), 6, "six alerts, six webhook ids");
}

#[test]
fn a_poll_starts_no_delivery_after_its_drain_time() {
    let feed = feed_server();
    // Each answer takes 1.2 s: with a 2 s drain, sends start at 0 s and
    // 1.2 s, and the third would start at 2.4 s, past the deadline.
    let hook = TestServer::start(|_| {
        std::thread::sleep(Duration::from_millis(1200));
        Response::new(204, "")
    });
    let s = setup_delivering(
        "drain = \"2s\"\ntimeout = \"5s\"",
        &feed.url("/rss"),
        &webhook(&hook.url("/hook")),
    );
    let cfg = s.cfg.clone();
    let j = poll_json(&run_env(&cfg, &["poll", "--json"]));
    assert_eq!(j["delivered"], 2, "{j}");
    assert_eq!(j["deliveries_pending"], 1, "{j}");
    assert_eq!(hook.requests_to("/hook").len(), 2);
}

#[test]
fn bidi_overrides_and_control_characters_reach_no_output() {
    let now = now_rfc2822();
    let feed_body = rss(&[item(
        "b1",
        "Witkoff \u{202E}sdrawkcab\u{202C} to return to Russia\u{9b}2J next week, Kremlin says \u{2066}x\u{2069}",
        "Dmitry Peskov said Steve Witkoff would return to Russia next week \u{202E}to meet\u{202C} Vladimir Putin again on a Ukraine ceasefire.\u{9b}31m",
        &now,
    )]);
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let hook = TestServer::start(|_| Response::new(500, "\u{1b}[2J\u{202E}receiver down"));
    let sinks = format!(
        "[[sink]]\nname = \"out\"\nkind = \"stdout\"\n\n{}",
        webhook(&hook.url("/hook"))
    );
    let s = setup_delivering(
        "schedule = [\"200ms\", \"400ms\"]\nmax_age = \"1h\"\ndrain = \"1s\"\ntimeout = \"2s\"",
        &feed.url("/rss"),
        &sinks,
    );
    let out = run_env(&s.cfg, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let webhook_body = String::from_utf8_lossy(&hook.requests_to("/hook")[0].body).into_owned();
    let listing = stdout(&run(&s.cfg, &["alerts", "list"]));
    assert!(listing.contains("receiver down"), "{listing}");
    let explained = stdout(&run(&s.cfg, &["explain", "http://news.example/b1"]));
    for (what, text) in [
        ("stdout sink", stdout(&out)),
        ("webhook", webhook_body),
        ("alerts list", listing),
        ("explain", explained),
    ] {
        assert!(text.contains("Witkoff"), "{what}: {text}");
        for bad in [
            '\u{202E}', '\u{202C}', '\u{2066}', '\u{2069}', '\u{9b}', '\u{1b}',
        ] {
            assert!(!text.contains(bad), "{what} has {:?}: {text}", bad);
        }
    }
}
