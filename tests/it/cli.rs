//! The command line as a new user meets it: output into a closed pipe,
//! `check-config` checking what `poll` needs, usage errors that list what
//! exists, and commands that only look creating nothing.

use std::path::PathBuf;
use std::process::Stdio;

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, REFERENCE};
use crate::common::{poll_json, run, run_with_env, stderr, stdout};

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    cfg: PathBuf,
}

fn setup(extra: &str) -> Setup {
    setup_with("", extra)
}

/// `top` goes before the first table, `extra` after the story.
fn setup_with(top: &str, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), REFERENCE).unwrap();
    let cfg = path.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!("{top}[storage]\npath = \"data/sw.db\"\n\n[[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n{extra}"),
    )
    .unwrap();
    Setup {
        _dir: dir,
        dir: path,
        cfg,
    }
}

#[test]
fn a_reader_that_stops_reading_ends_the_command_quietly() {
    let s = setup("");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = crate::common::storywatch()
        .arg("--config")
        .arg(&s.cfg)
        .args(["story", "list"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "nothing on stderr, no panic");
}

#[test]
fn check_config_checks_what_poll_needs_without_the_network() {
    let s = setup_with(
        "include = [\"feeds.d/*.toml\"]\n\n",
        "[[story]]\nid = \"quake\"\narticle = \"missing.txt\"\n\n\
         [[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_env = \"SW_UNSET_SECRET\"\n",
    );
    let unset = [("SW_UNSET_SECRET", None)];
    let out = run_with_env(&s.cfg, &["check-config"], &unset);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("missing.txt"), "{err}");
    assert!(err.contains("SW_UNSET_SECRET"), "{err}");
    assert!(!stdout(&out).contains("config OK"), "{}", stdout(&out));
    assert!(
        !s.dir.join("data/sw.db").exists(),
        "checking creates no database"
    );

    // Fixed: OK, with notes on what is not there yet.
    std::fs::write(s.dir.join("missing.txt"), REFERENCE).unwrap();
    let secret = std::ffi::OsStr::new(crate::common::WEBHOOK_SECRET);
    let set = [("SW_UNSET_SECRET", Some(secret))];
    let out = run_with_env(&s.cfg, &["check-config"], &set);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("config OK"), "{text}");
    assert!(
        text.contains("note: include \"") && text.contains("matches no file"),
        "{text}"
    );
    assert!(text.contains("does not exist yet"), "{text}");
    assert!(!s.dir.join("data/sw.db").exists());
}

#[test]
fn alert_filters_that_match_nothing_known_are_usage_errors() {
    let s = setup("");
    let out = run(&s.cfg, &["alerts", "list", "--story", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nosuch") && stderr(&out).contains("talks"),
        "{}",
        stderr(&out)
    );
    let out = run(&s.cfg, &["alerts", "list", "--kind", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    for kind in ["followup", "update", "new_entity", "feed_health"] {
        assert!(stderr(&out).contains(kind), "{}", stderr(&out));
    }
    let out = run(
        &s.cfg,
        &[
            "alerts",
            "list",
            "--story",
            "talks",
            "--kind",
            "feed_health",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0 alerts"));
}

#[test]
fn looking_creates_no_database() {
    let s = setup("");
    for args in [
        &["story", "show", "talks"][..],
        &["story", "list"],
        &["alerts", "list"],
        &["clusters"],
        &["feeds", "list"],
    ] {
        let out = run(&s.cfg, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !s.dir.join("data/sw.db").exists(),
            "{args:?} created the database"
        );
    }
}

#[test]
fn poll_columns_and_alert_listing_name_what_they_count() {
    let now = now_rfc2822();
    let body = rss(&[item(
        "f1",
        "Witkoff returns to Moscow for talks with Putin",
        "US envoy Steve Witkoff met Vladimir Putin in Moscow on Thursday. Dmitry Peskov said a ceasefire in Ukraine was discussed.",
        &now,
    )]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\n",
        server.url("/rss")
    ));
    let out = run(&s.cfg, &["poll"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("SEEN") && header.contains("COPIES"),
        "{table}"
    );
    assert!(!header.contains("DUP"), "{table}");
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        j["items_duplicate"], 0,
        "a 200 with the same body is not parsed again: {j}"
    );
    // The listing names the item an alert is about, by the id `explain` takes.
    let json = stdout(&run(&s.cfg, &["alerts", "list", "--json"]));
    let alert: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let item_id = alert["item"]["id"].as_i64().unwrap();
    let list = stdout(&run(&s.cfg, &["alerts", "list"]));
    assert!(list.contains(&format!("  item {item_id}")), "{list}");

    // A page not in the store is explained as fetched, not as an item.
    let page = server.url("/page.html");
    let out = run(&s.cfg, &["explain", &page]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("fetched, not stored:"), "{text}");
    let no_stored_id = format!("item {}", 0);
    assert!(!text.contains(&no_stored_id), "{text}");
}
