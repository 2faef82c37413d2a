//! Stories end to end through the real binary: alerts and their payload,
//! `explain`, `story add|show|list`, `[alerts] max_age`, `rescore`, and
//! entities that emerge from follow-ups (and survive a restart).

use std::path::{Path, PathBuf};

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, REFERENCE};
use crate::common::{poll_json, run, stderr, stdout};
use serde_json::Value;

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    cfg: PathBuf,
}

fn setup(feed_url: &str, extra: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), REFERENCE).unwrap();
    let cfg = path.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!("{extra}\n[[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n[[feed]]\nname = \"news\"\nurl = \"{feed_url}\"\n"),
    )
    .unwrap();
    Setup {
        _dir: dir,
        dir: path,
        cfg,
    }
}

fn alerts(cfg: &Path) -> Vec<Value> {
    let out = run(cfg, &["alerts", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn follow_ups_alert_with_an_explained_payload() {
    let now = now_rfc2822();
    let body = rss(&[
        item("f1", "Witkoff returns to Moscow for talks with Putin", "US envoy Steve Witkoff met Vladimir Putin in Moscow on Thursday. Dmitry Peskov said a ceasefire in Ukraine was discussed.", &now),
        item("n1", "Gaza ceasefire talks resume in Cairo", "Hamas and Israel resumed ceasefire talks in Cairo with Qatar and Egypt mediating a hostage exchange. Envoy Steve Witkoff may join in Doha.", &now),
        item("n2", "Petrov scores twice as Varna win", "Nikolay Petrov scored twice for Varna against Burgas in the Bulgarian league.", &now),
    ]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&server.url("/rss"), "");
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["items_new"].as_u64(), j["alerts"].as_u64()),
        (Some(3), Some(1)),
        "{j}"
    );

    // Only the match is stored; the Gaza item names Witkoff but does not
    // match, and `explain` recomputes its explanation when asked.
    let db = rusqlite::Connection::open(s.dir.join(storywatch::config::DEFAULT_DB_FILE)).unwrap();
    let stored: Vec<(String, bool)> = db
        .prepare("SELECT i.guid, m.matched FROM matches m JOIN items i ON i.id = m.item_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored, vec![("f1".to_string(), true)]);
    drop(db);

    let a = alerts(&s.cfg);
    assert_eq!(a.len(), 1);
    let a = &a[0];
    assert_eq!(a["type"], "storywatch.alert.v1");
    assert_eq!(a["kind"], "followup");
    assert_eq!(a["story"], "talks");
    assert!(a["id"].as_str().unwrap().starts_with("swa_"));
    assert!(a["score"].as_f64().unwrap() >= 0.5);
    assert_eq!(a["item"]["url"], "http://news.example/f1");
    assert_eq!(a["item"]["feed"], "news");
    assert!(a["item"]["published"].is_string());
    let names: Vec<&str> = a["matched"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Steve Witkoff") && names.contains(&"Vladimir Putin"),
        "{names:?}"
    );
    assert!(!a["snippets"].as_array().unwrap().is_empty());
    assert!(a["components"]["focus"].is_number());
    assert_eq!(a["cluster"]["size"], 1);
    assert!(a["cluster"]["id"].as_str().unwrap().starts_with('c'));

    // The human list says why; --limit bounds the JSON list.
    let out = stdout(&run(&s.cfg, &["alerts", "list"]));
    assert!(
        out.contains("followup") && out.contains("why: ") && out.contains("Steve Witkoff"),
        "{out}"
    );
    assert_eq!(
        stdout(&run(&s.cfg, &["alerts", "list", "--json", "--limit", "0"]))
            .lines()
            .count(),
        0
    );

    // explain, by URL and by id, for a match and a non-match.
    let out = run(&s.cfg, &["explain", "http://news.example/f1"]);
    let text = stdout(&out);
    assert!(
        out.status.success() && text.contains("→ follow-up") && text.contains("components:"),
        "{text}{}",
        stderr(&out)
    );
    let out = stdout(&run(
        &s.cfg,
        &["explain", "http://news.example/n1?utm_source=x"],
    ));
    assert!(out.contains("not a follow-up"), "{out}");
    let j: Value = serde_json::from_str(
        stdout(&run(&s.cfg, &["explain", "1", "--json"]))
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(j["stories"][0]["story"], "talks");
    let out = run(&s.cfg, &["explain", "999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn old_items_are_matched_but_only_rescore_raises_them() {
    let old = "Mon, 14 Apr 2025 10:00:00 GMT";
    let body = rss(&[item(
        "f1",
        "Witkoff meets Putin in St Petersburg",
        "US envoy Steve Witkoff met Vladimir Putin in St Petersburg on a ceasefire in Ukraine.",
        old,
    )]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&server.url("/rss"), "");
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["matches"].as_u64(), j["alerts"].as_u64()),
        (Some(1), Some(0)),
        "{j}"
    );
    assert!(alerts(&s.cfg).is_empty());

    // A dry run shows nothing new (the match is stored); --apply raises the old item on purpose.
    // The dry run lists exactly what --apply queues, and queues nothing.
    let out = stdout(&run(&s.cfg, &["rescore"]));
    assert!(out.contains("0 would alert now"), "{out}");
    assert!(out.contains("1 alert(s) would be queued"), "{out}");
    assert!(out.contains("would queue followup"), "{out}");
    assert!(alerts(&s.cfg).is_empty());
    let out = stdout(&run(&s.cfg, &["rescore", "--apply"]));
    assert!(out.contains("1 alert(s) queued"), "{out}");
    assert!(out.contains("queued followup"), "{out}");
    assert_eq!(alerts(&s.cfg).len(), 1);
    // Applying again changes nothing: alert ids are stable.
    let out = stdout(&run(&s.cfg, &["rescore", "--apply"]));
    assert!(out.contains("0 alert(s) queued"), "{out}");
    // A tuned story (a name added) does not notify the alerted item again.
    let cfg = std::fs::read_to_string(&s.cfg).unwrap().replace(
        "article = \"reference.txt\"",
        "article = \"reference.txt\"\nentities = [ { name = \"Ceasefire Envoy Office\", aliases = [\"St Petersburg\"], kind = \"organisation\" } ]",
    );
    let tuned = s.dir.join("tuned.toml");
    std::fs::write(&tuned, cfg).unwrap();
    let dry = stdout(&run(&tuned, &["rescore"]));
    assert!(dry.contains("0 alert(s) would be queued"), "{dry}");
    let out = stdout(&run(&tuned, &["rescore", "--apply"]));
    assert!(out.contains("0 alert(s) queued"), "{out}");
    assert_eq!(alerts(&s.cfg).len(), 1);

    // Tightening the story shows what would no longer match.
    let cfg = std::fs::read_to_string(&s.cfg).unwrap().replace(
        "article = \"reference.txt\"",
        "article = \"reference.txt\"\nthreshold = 0.99",
    );
    std::fs::write(&s.cfg, cfg).unwrap();
    let out = stdout(&run(&s.cfg, &["rescore", "--story", "talks"]));
    assert!(
        out.contains("1 no longer would") && out.contains("- talks"),
        "{out}"
    );
    // Applied, the stored match goes; a second look finds nothing to drop.
    let out = stdout(&run(&s.cfg, &["rescore", "--apply"]));
    assert!(out.contains("1 no longer would"), "{out}");
    let out = stdout(&run(&s.cfg, &["rescore"]));
    assert!(out.contains("0 no longer would"), "{out}");
    let out = run(&s.cfg, &["rescore", "--story", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn names_that_keep_appearing_join_the_story_once() {
    let now = now_rfc2822();
    let body = rss(&[
        item("f1", "Witkoff and Putin meet again", "Steve Witkoff met Vladimir Putin in Moscow for ceasefire talks on Ukraine, joined by negotiator Ilya Brandvold.", &now),
        item("f2", "Kremlin: Putin and Witkoff discussed Ukraine", "Dmitry Peskov said Vladimir Putin and Steve Witkoff discussed a ceasefire in Ukraine; Ilya Brandvold took part in the talks.", &now),
        item("f3", "Putin, Witkoff talks continue", "Vladimir Putin and Steve Witkoff continued ceasefire talks on Ukraine in Moscow with Ilya Brandvold present.", &now),
    ]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&server.url("/rss"), "");
    poll_json(&run(&s.cfg, &["poll", "--json"]));
    let new: Vec<Value> = alerts(&s.cfg)
        .into_iter()
        .filter(|a| a["kind"] == "new_entity")
        .collect();
    let brandvold: Vec<&Value> = new
        .iter()
        .filter(|a| a["matched"]["new_entities"][0]["name"] == "Ilya Brandvold")
        .collect();
    assert_eq!(brandvold.len(), 1, "{new:?}");
    assert_eq!(
        brandvold[0]["matched"]["new_entities"][0]["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // The story's state survives the process: the next start shows it as
    // emerged, and from which items it was learned.
    let show = stdout(&run(&s.cfg, &["story", "show", "talks"]));
    assert!(
        show.lines()
            .any(|l| l.contains("Ilya Brandvold") && l.contains("emerged")),
        "{show}"
    );
    let learned = show.split("learned from follow-ups:").nth(1).unwrap_or("");
    assert!(
        learned.lines().any(|l| l.contains("Ilya Brandvold")
            && l.contains("weight 0.35")
            && l.contains("(items 1, 2")),
        "{show}"
    );
}

#[test]
fn story_add_show_list_and_errors() {
    let server = TestServer::start(|_| Response::new(200, rss(&[])));
    let s = setup(&server.url("/rss"), "");
    let show = stdout(&run(&s.cfg, &["story", "show", "talks"]));
    assert!(
        show.contains("1 reference article")
            && show.contains("Steve Witkoff")
            && show
                .lines()
                .any(|l| l.starts_with("terms:") && l.contains("prisoner")),
        "{show}"
    );
    assert!(!show.contains("Sergey Lavrov"));

    let extra = s.dir.join("lavrov.html");
    std::fs::write(&extra, "<html><head><title>x</title></head><body><h1>Lavrov meets Rubio in Riyadh</h1><p>Russian Foreign Minister Sergey Lavrov met Marco Rubio in Riyadh for talks on Ukraine.</p><p>Sergey Lavrov said the talks were useful.</p></body></html>").unwrap();
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "talks", extra.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("stored article \"Lavrov meets Rubio in Riyadh\""),
        "{}",
        stdout(&out)
    );
    let show = stdout(&run(&s.cfg, &["story", "show", "talks"]));
    assert!(
        show.contains("2 reference articles") && show.contains("Sergey Lavrov"),
        "{show}"
    );

    // A story that exists only in the store.
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "riyadh", extra.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&run(&s.cfg, &["story", "list"]));
    assert!(list.contains("talks") && list.contains("riyadh"), "{list}");

    // Ids the config would refuse are refused here too, before anything is stored.
    for bad in ["../../x", "a\nb", "", ".hidden", "two words"] {
        let out = run(
            &s.cfg,
            &["story", "add", "--id", bad, extra.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("story id must be"),
            "{}",
            stderr(&out)
        );
    }
    let list = stdout(&run(&s.cfg, &["story", "list"]));
    assert_eq!(list.lines().count(), 2, "{list}");

    // Adding by URL fetches the page.
    let page = TestServer::start(|_| {
        Response::new(200, "<html><body><h1>Peskov on talks</h1><p>Dmitry Peskov spoke about Ukraine talks in Moscow.</p></body></html>")
    });
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "talks", &page.url("/article")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&run(&s.cfg, &["story", "show", "talks"])).contains("3 reference articles"));

    // An article that names nothing to watch for is refused, naming it.
    let empty = s.dir.join("boilerplate.txt");
    std::fs::write(
        &empty,
        "subscribe to our newsletter\nclick here to read more, share this page and leave a comment.\n",
    )
    .unwrap();
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "talks", empty.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("boilerplate.txt") && stderr(&out).contains("names no person"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&run(&s.cfg, &["story", "show", "talks"])).contains("3 reference articles"));
    // The same as a config article stops the poll before any request.
    let cfg = std::fs::read_to_string(&s.cfg).unwrap().replace(
        "article = \"reference.txt\"",
        "article = \"boilerplate.txt\"",
    );
    let bad = s.dir.join("bad.toml");
    std::fs::write(&bad, cfg).unwrap();
    let before = server.requests().len();
    let out = run(&bad, &["poll"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("boilerplate.txt"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), before);

    assert_eq!(
        run(&s.cfg, &["story", "show", "nope"]).status.code(),
        Some(2)
    );
    // A missing article file names the story and the path.
    std::fs::remove_file(s.dir.join("reference.txt")).unwrap();
    let out = run(&s.cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("story talks") && stderr(&out).contains("reference.txt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn copies_join_their_cluster_and_copies_of_the_reference_do_not_alert() {
    let now = now_rfc2822();
    let report = "Russian President Vladimir Putin and US envoy Steve Witkoff met in Moscow on Thursday for talks on a ceasefire in Ukraine. \
        Kremlin spokesman Dmitry Peskov said the meeting lasted more than three hours and covered prisoner exchanges and the normalisation of relations. \
        Peskov said no date had been set for a further meeting but that contacts between Moscow and Washington would continue.";
    let copy = report
        .replace("more than three hours", "over three hours")
        .replace(
            " but that contacts between Moscow and Washington would continue",
            "",
        );
    let first = rss(&[item("a1", "Putin and Witkoff meet in Moscow", report, &now)]);
    let extended =
        format!("{report} The talks also covered the case of Ksenia Karelina, the Kremlin said.");
    let second = rss(&[
        item("b1", "Kremlin: three-hour Putin-Witkoff meeting covered prisoner swaps", &copy, &now),
        // A copy that adds a story name the cluster's alert did not have.
        item("b2", "Putin, Witkoff talks touched on Karelina case", &extended, &now),
        // A copy of the story's own reference article.
        item("r1", "US envoy Steve Witkoff meets Vladimir Putin in St Petersburg on Ukraine ceasefire", REFERENCE, &now),
        // A real follow-up in the same feed.
        item("f2", "Witkoff to return to Russia next week, Kremlin says", "Dmitry Peskov said Steve Witkoff would return to Russia next week to meet Vladimir Putin again on a Ukraine ceasefire.", &now),
    ]);
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p = phase.clone();
    let server = TestServer::start(move |_| {
        if p.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            Response::new(200, first.clone())
        } else {
            Response::new(200, second.clone())
        }
    });
    let s = setup(&server.url("/rss"), "");
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["alerts"], 1, "{j}");
    // A new process (restart) sees the stored fingerprints.
    phase.store(1, std::sync::atomic::Ordering::SeqCst);
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 4, "{j}");
    assert_eq!(j["items_near_duplicate"], 2, "{j}");
    let all = alerts(&s.cfg);
    let of_kind = |k: &str| -> Vec<&str> {
        all.iter()
            .filter(|a| a["kind"] == k)
            .map(|a| a["item"]["url"].as_str().unwrap())
            .collect()
    };
    let followups = of_kind("followup");
    assert_eq!(followups.len(), 2, "{followups:?}");
    assert!(
        followups.contains(&"http://news.example/a1")
            && followups.contains(&"http://news.example/f2"),
        "{followups:?}"
    );
    assert_eq!(of_kind("update"), vec!["http://news.example/b2"]);
    let update = all.iter().find(|a| a["kind"] == "update").unwrap();
    assert_eq!(update["cluster"]["size"], 3, "{update}");

    // `clusters` lists the copies with their sources.
    let out = stdout(&run(&s.cfg, &["clusters", "--story", "talks"]));
    assert!(
        out.starts_with("1 cluster with copies") && out.contains("3 items"),
        "{out}"
    );
    assert!(
        out.contains("http://news.example/a1") && out.contains("http://news.example/b1"),
        "{out}"
    );
}

/// A rewrite of one report in other words (same people beside the story's
/// own, same event, same day) joins the report's cluster and raises no second
/// follow-up; another report about the story's own people that day does.
#[test]
fn paraphrases_of_one_report_share_a_cluster() {
    let now = now_rfc2822();
    let feed = rss(&[
        item(
            "p1",
            "Russia frees American teacher Marc Fogel in prisoner swap",
            "Russia released the American teacher Marc Fogel on Tuesday in a prisoner swap with the United States, the Kremlin said. \
             In exchange Washington is to free the Russian cyber-crime suspect Alexander Vinnik, who was arrested in Greece in 2017. \
             Dmitry Peskov said the exchange followed contacts between Moscow and Steve Witkoff.",
            &now,
        ),
        item(
            "p2",
            "Kremlin confirms Fogel-Vinnik exchange",
            "A Russian national held in America, reported to be Alexander Vinnik, will fly home soon after Moscow let Marc Fogel go. \
             Spokesman Dmitry Peskov told journalists the prisoner exchange was the fruit of talks with Washington's envoy Steve Witkoff.",
            &now,
        ),
        item(
            "p3",
            "Witkoff and Putin to meet again on Ukraine ceasefire",
            "Steve Witkoff will return to Russia to meet Vladimir Putin about a ceasefire in Ukraine, Dmitry Peskov said on Tuesday. \
             No date has been set for the talks, the Kremlin spokesman added.",
            &now,
        ),
    ]);
    let server = TestServer::start(move |_| Response::new(200, feed.clone()));
    let s = setup(&server.url("/rss"), "");
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 3, "{j}");
    let all = alerts(&s.cfg);
    let mut followups: Vec<&str> = all
        .iter()
        .filter(|a| a["kind"] == "followup")
        .map(|a| a["item"]["url"].as_str().unwrap())
        .collect();
    followups.sort();
    assert_eq!(
        followups,
        vec!["http://news.example/p1", "http://news.example/p3"]
    );
    let out = run(&s.cfg, &["clusters"]);
    let listing = stdout(&out);
    assert!(
        listing.contains("http://news.example/p1") && listing.contains("http://news.example/p2"),
        "{listing}"
    );
}

/// A story's matcher is built when the first item needs it, but a story
/// that cannot be read still stops the poll before any feed is fetched,
/// naming the story and the file; once it can be read, the next poll
/// matches, and a poll of 304s after it goes through.
#[test]
fn an_unreadable_story_stops_the_poll_before_any_fetch() {
    let now = now_rfc2822();
    let body = rss(&[item("f1", "Witkoff returns to Moscow for talks with Putin", "US envoy Steve Witkoff met Vladimir Putin in Moscow on Thursday. Dmitry Peskov said a ceasefire in Ukraine was discussed.", &now)]);
    let server = TestServer::start(move |req| {
        if req.header("if-none-match") == Some("\"v1\"") {
            Response::new(304, "")
        } else {
            Response::new(200, body.clone()).header("ETag", "\"v1\"")
        }
    });
    let s = setup(&server.url("/rss"), "");
    let article = s.dir.join("reference.txt");
    std::fs::rename(&article, s.dir.join("elsewhere.txt")).unwrap();
    let out = run(&s.cfg, &["poll", "--json"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("talks") && err.contains("reference.txt"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "fetched before failing");

    std::fs::rename(s.dir.join("elsewhere.txt"), &article).unwrap();
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["items_new"].as_u64(), j["alerts"].as_u64()),
        (Some(1), Some(1)),
        "{j}"
    );
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["not_modified"].as_u64(), j["alerts"].as_u64()),
        (Some(1), Some(0)),
        "{j}"
    );
    assert_eq!(server.requests().len(), 2);
}

/// A story written as a query, with no article: its names and words are
/// what it watches for, and `-word` excludes.
#[test]
fn a_story_can_start_from_a_query() {
    let now = now_rfc2822();
    let body = rss(&[
        item("q1", "Witkoff and Putin agree to keep talking on a ceasefire", "US envoy Steve Witkoff met Vladimir Putin in Moscow; both sides said ceasefire talks on Ukraine would go on.", &now),
        item("q2", "Witkoff in Doha for Gaza talks", "Steve Witkoff joined ceasefire talks on Gaza in Doha with Vladimir Putin's envoy watching.", &now),
        item("q3", "Council approves a new library", "The town council approved plans for a new library on Main Street.", &now),
    ]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[story]]\nid = \"talks\"\nquery = '\"Steve Witkoff\" \"Vladimir Putin\" Ukraine ceasefire talks -Gaza'\n\n\
             [[feed]]\nname = \"news\"\nurl = \"{}\"\n",
            server.url("/rss")
        ),
    )
    .unwrap();
    let show = stdout(&run(&cfg, &["story", "show", "talks"]));
    assert!(
        show.contains("Steve Witkoff")
            && show.contains("Vladimir Putin")
            && show.contains("exclude: Gaza"),
        "{show}"
    );
    let j = poll_json(&run(&cfg, &["poll", "--json"]));
    assert_eq!(j["failed"], 0, "{j}");
    let titles: Vec<String> = alerts(&cfg)
        .iter()
        .filter(|a| a["kind"] == "followup")
        .map(|a| a["item"]["title"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        titles,
        ["Witkoff and Putin agree to keep talking on a ceasefire"],
        "{titles:?}"
    );
}

/// Feedback: an item marked irrelevant counts against items like it (the
/// rescore shows it), marked relevant again it matches again.
#[test]
fn feedback_teaches_the_story() {
    let now = now_rfc2822();
    let body = rss(&[item(
        "f1",
        "Witkoff meets Putin in St Petersburg",
        "US envoy Steve Witkoff met Vladimir Putin in St Petersburg on a ceasefire in Ukraine; Dmitry Peskov said talks went well.",
        &now,
    )]);
    let server = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&server.url("/rss"), "");
    poll_json(&run(&s.cfg, &["poll", "--json"]));
    let alerted = alerts(&s.cfg);
    assert_eq!(alerted.len(), 1);
    let id = alerted[0]["id"].as_str().unwrap().to_string();
    let item = alerted[0]["item"]["id"].as_i64().unwrap().to_string();

    let out = run(&s.cfg, &["feedback", &id, "irrelevant"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("marked irrelevant for story talks"),
        "{}",
        stdout(&out)
    );
    let dry = stdout(&run(&s.cfg, &["rescore", "--story", "talks"]));
    assert!(dry.contains("1 no longer would"), "{dry}");
    let why = stdout(&run(&s.cfg, &["explain", &item]));
    assert!(why.contains("not a follow-up"), "{why}");

    let show = stdout(&run(&s.cfg, &["story", "show", "talks"]));
    assert!(
        show.contains(&format!("feedback:\n  item {item} irrelevant")),
        "{show}"
    );
    let out = run(&s.cfg, &["feedback", &item, "relevant", "--story", "talks"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dry = stdout(&run(&s.cfg, &["rescore", "--story", "talks"]));
    assert!(dry.contains("0 no longer would"), "{dry}");

    for args in [
        &["feedback", "swa_nosuch", "relevant"][..],
        &["feedback", "1", "relevant", "--story", "nope"][..],
        &["feedback", "1", "maybe"][..],
    ] {
        assert_eq!(run(&s.cfg, args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn matching_data_files_extend_the_built_in_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("reference.txt"),
        "Landslide buries homes near Quelimane\n\nA landslide after days of heavy rain buried twelve homes near Quelimane on Tuesday, the provincial governor Joana Matsinhe said.\n",
    )
    .unwrap();
    std::fs::write(
        d.join("local.txt"),
        "# our region\n[cities]\nQuelimane | Kelimane\n[concepts]\nlandslide | landslide; landslid; mudslide; deslizamento\n",
    )
    .unwrap();
    let story = "[[story]]\nid = \"slide\"\narticle = \"reference.txt\"\n";
    let cfg = d.join("storywatch.toml");
    let show = |cfg: &Path| {
        let out = run(cfg, &["story", "show", "slide"]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let line = |text: &str, name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name} in {text}"))
            .to_string()
    };

    std::fs::write(&cfg, story).unwrap();
    let before = show(&cfg);
    assert!(!line(&before, "Quelimane").contains("place"), "{before}");
    assert!(
        !before
            .lines()
            .any(|l| l.starts_with("concepts:") && l.contains("landslide")),
        "{before}"
    );

    std::fs::write(&cfg, format!("[matching]\ndata = [\"local.txt\"]\n{story}")).unwrap();
    let out = run(&cfg, &["check-config"]);
    assert!(
        stdout(&out).contains("matching data:") && stdout(&out).contains("cities +1"),
        "{}",
        stdout(&out)
    );
    let after = show(&cfg);
    let q = line(&after, "Quelimane");
    assert!(q.contains("place") && q.contains("Kelimane"), "{after}");
    assert!(line(&after, "concepts:").contains("landslide"), "{after}");

    // A bad line is refused at load, naming the file and line.
    std::fs::write(
        d.join("local.txt"),
        "[cities]\nQuelimane | Kelimane\n[towns]\nMocuba\n",
    )
    .unwrap();
    let out = run(&cfg, &["story", "show", "slide"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("local.txt:3:") && err.contains("no list [towns]"),
        "{err}"
    );
    std::fs::remove_file(d.join("local.txt")).unwrap();
    let err = stderr(&run(&cfg, &["check-config"]));
    assert!(
        err.contains("local.txt") && err.contains("cannot read"),
        "{err}"
    );
}
