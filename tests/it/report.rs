//! `storywatch report`: the story page over a real poll, checked as HTML and
//! in headless Chromium when it is installed (`.ci/run` installs it): the
//! timeline in time order, copies under their original, hostile feed text
//! inert, and no request to anywhere.

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups};
use crate::common::{run, stderr, stdout, story_dir, StoryDir};

fn setup(feed_url: &str) -> StoryDir {
    story_dir(&format!(
        "[storage]\npath = \"sw.db\"\n\n[alerts]\nmax_age = \"3650d\"\n\n\
         [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
         [[feed]]\nname = \"wire\"\nurl = \"{feed_url}\"\n"
    ))
}

/// Three follow-ups, a copy of the first on another feed path, and a
/// follow-up whose title and link are hostile.
fn feed_with_a_copy_and_a_hostile_title(beacon: &str) -> String {
    let now = now_rfc2822();
    let hostile = item(
        "h1",
        // Escaped twice: after the XML and the HTML of the feed are read, the
        // title still holds the markup, as text.
        &format!("&amp;lt;script&amp;gt;document.title='pwned'&amp;lt;/script&amp;gt;&amp;lt;img src={beacon}/title onerror=\"document.title='pwned'\"&amp;gt; Witkoff and Putin talk ceasefire"),
        &format!("&lt;img src=\"{beacon}/text\"&gt;Steve Witkoff met Vladimir Putin in St Petersburg again on a Ukraine ceasefire, Dmitry Peskov said, and the Kremlin called the talks useful. &amp;lt;img src={beacon}/escaped&amp;gt;"),
        &now,
    )
    .replace(
        "<link>http://news.example/h1</link>",
        "<link>javascript:document.title='pwned'</link>",
    );
    let followups = three_followups();
    let copy = item(
        "f1-copy",
        "Witkoff to return to Russia next week, Kremlin says",
        "Dmitry Peskov said Steve Witkoff would return to Russia next week to meet Vladimir Putin again on a Ukraine ceasefire. Reporting by the wire desk in Moscow.",
        &now,
    );
    followups.replace("</channel>", &format!("{copy}{hostile}</channel>"))
}

/// The time (`data-at`) of each timeline entry, in page order.
fn entry_times(html: &str) -> Vec<i64> {
    html.match_indices("<li id=\"alert-")
        .map(|(at, _)| {
            let rest = &html[at..];
            let start = rest.find("data-at=\"").unwrap() + 9;
            let len = rest[start..].find('"').unwrap();
            rest[start..start + len].parse().unwrap()
        })
        .collect()
}

#[test]
fn the_story_page_shows_the_timeline_with_copies_folded_and_feed_text_inert() {
    // Anything the page tried to load would reach this server.
    let beacon = TestServer::start(|_| Response::new(200, "x"));
    let body = feed_with_a_copy_and_a_hostile_title(&beacon.url(""));
    let feed = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&feed.url("/rss"));
    let out = run(&s.cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = s.dir.join("talks.html");
    let out = run(
        &s.cfg,
        &[
            "report",
            "--story",
            "talks",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("wrote "), "{}", stdout(&out));
    let html = std::fs::read_to_string(&page).unwrap();

    // One timeline entry per follow-up or update alert, in time order.
    let alerts: Vec<serde_json::Value> = stdout(&run(&s.cfg, &["alerts", "list", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|a: &serde_json::Value| a["kind"] == "followup" || a["kind"] == "update")
        .collect();
    assert!(alerts.len() >= 3, "{alerts:?}");
    let entries = entry_times(&html);
    assert_eq!(entries.len(), alerts.len(), "{html}");
    assert!(entries.windows(2).all(|w| w[0] <= w[1]), "{entries:?}");
    // The copy is folded under the report it copies.
    let copies_at = html
        .find("<details class=\"copies\"")
        .expect("a folded copy");
    let entry_start = html[..copies_at].rfind("<li id=\"alert-").unwrap();
    assert!(
        html[entry_start..copies_at].contains("Witkoff to return to Russia next week"),
        "the copy sits under its original"
    );
    // Feed text stays text: no script, no handler, no javascript: link, and
    // nothing the page would load.
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("href=\"javascript:"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    for tag in ["<iframe", "<link", "<object", "<embed", " src=\"", "url("] {
        assert!(!html.contains(tag), "{tag} in {html}");
    }
    assert!(html.contains("Content-Security-Policy"));

    browser_check(&page, entries.len());
    assert!(beacon.requests().is_empty(), "the page made a request");
}

#[test]
fn unknown_stories_and_stories_without_alerts() {
    let feed = TestServer::start(|_| Response::new(200, rss(&[])));
    let s = setup(&feed.url("/rss"));
    let out = run(&s.cfg, &["report", "--story", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("talks"), "{}", stderr(&out));
    let out = run(&s.cfg, &["report", "--story", "talks"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("id=\"empty\""), "{}", stdout(&out));
    assert!(
        !s.dir.join("sw.db").exists(),
        "a report creates no database"
    );
}

/// Headless Chromium, when it is there: no script runs (the hostile title's
/// handlers would rename the document), and the page is drawn at phone and
/// desktop widths. The caller checks that nothing was requested.
fn browser_check(page: &std::path::Path, entries: usize) {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is missing under CI"
        );
        eprintln!("skipping the browser check: chromium is not installed");
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let browse = |extra: &[String]| {
        let out = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dom = browse(&["--dump-dom".into()]);
    // The hostile title would rename the document had any of it run.
    assert!(
        dom.contains("<title>talks · storywatch</title>"),
        "a script ran: {dom}"
    );
    assert!(!dom.contains("<img") && !dom.contains("<script"), "{dom}");
    assert_eq!(dom.matches("<li id=\"alert-").count(), entries);
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/report-shots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [390, 1280] {
        let shot = shots.join(format!("report-{width}.png"));
        let _ = std::fs::remove_file(&shot);
        browse(&[
            format!("--window-size={width},2400"),
            format!("--screenshot={}", shot.display()),
        ]);
        let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "screenshot at {width} px: {len} bytes");
    }
}

/// The labelled real items of ../shared/eval as one RSS feed, dated as
/// published (items without a date get none).
fn eval_feed(shared: &std::path::Path) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut items = String::new();
    for line in std::fs::read_to_string(shared.join("eval/dev.jsonl"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let date = v["date"]
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(|d| {
                let t = d.and_hms_opt(12, 0, 0).unwrap().and_utc();
                format!("<pubDate>{}</pubDate>", t.to_rfc2822())
            })
            .unwrap_or_default();
        items.push_str(&format!(
            "<item><guid>{}</guid><title>{}</title><link>{}</link>{date}<description>{}</description></item>",
            esc(v["id"].as_str().unwrap()),
            esc(v["title"].as_str().unwrap_or("")),
            esc(v["url"].as_str().unwrap_or("")),
            esc(v["text"].as_str().unwrap_or("")),
        ));
    }
    format!("<rss version=\"2.0\"><channel><title>eval</title><link>http://eval.example/</link>{items}</channel></rss>")
}

#[test]
fn the_page_of_a_poll_over_real_news() {
    let Some(shared) = crate::common::shared_dir() else {
        return;
    };
    let body = eval_feed(&shared);
    let feed = TestServer::start(move |_| Response::new(200, body.clone()));
    let s = setup(&feed.url("/rss"));
    std::fs::copy(
        shared.join("story/reference-article.txt"),
        s.dir.join("reference.txt"),
    )
    .unwrap();
    let out = run(&s.cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = s.dir.join("talks.html");
    let out = run(
        &s.cfg,
        &[
            "report",
            "--story",
            "talks",
            "--since",
            "3650d",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let alerts = stdout(&run(&s.cfg, &["alerts", "list", "--json"]))
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["kind"] == "followup" || a["kind"] == "update")
        .count();
    assert!(alerts >= 5, "{alerts} follow-ups of the real items");
    let at = entry_times(&html);
    assert_eq!(at.len(), alerts, "one timeline entry per follow-up alert");
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "in time order: {at:?}");
    // The syndicated and reworded copies among the real items are folded
    // under the report they copy, each an item of the store.
    assert!(
        html.contains("<details class=\"copies\""),
        "no copies folded"
    );
    for (i, _) in html.match_indices("<li class=\"copy\" data-item=\"") {
        let rest = &html[i + 28..];
        let id = &rest[..rest.find('"').unwrap()];
        let listed = stdout(&run(&s.cfg, &["explain", id]));
        assert!(listed.starts_with(&format!("item {id}:")), "{listed}");
    }
    browser_check(&page, at.len());
}
