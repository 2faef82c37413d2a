//! The commands a user reaches for after a first poll: finding stored items,
//! forgetting a story, adding a feed from a web page, and moving
//! subscriptions in and out as OPML with their folders and titles.

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups};
use crate::common::{run, stderr, stdout, story_dir, StoryDir};

fn setup(extra: &str) -> StoryDir {
    story_dir(&format!(
        "[storage]\npath = \"sw.db\"\n\n[[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n{extra}"
    ))
}

#[test]
fn items_are_found_by_words_feed_and_story() {
    let feed = TestServer::start(|_| Response::new(200, three_followups()));
    let s = setup(&format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}\"\n",
        feed.url("/rss")
    ));
    let out = run(&s.cfg, &["poll"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = run(&s.cfg, &["items"]);
    let text = stdout(&out);
    assert!(text.starts_with("3 items\n"), "{text}");
    // Each follow-up says what it adds to the story, or that it adds nothing.
    let alerts: Vec<serde_json::Value> = stdout(&run(&s.cfg, &["alerts", "list", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!alerts.is_empty());
    for a in &alerts {
        assert!(a["novelty"].is_object(), "{a}");
    }
    let listed = stdout(&run(&s.cfg, &["alerts", "list"]));
    assert!(
        listed.contains("    new: ") || listed.contains("    nothing new"),
        "{listed}"
    );
    // Case and accents do not matter, as in matching.
    let out = run(&s.cfg, &["items", "--search", "PRISONER SWÁP", "--json"]);
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", stdout(&out));
    assert_eq!(
        lines[0]["title"],
        "Kremlin says prisoner swap talks with Washington continue"
    );
    // The id it prints is what `explain` takes.
    let id = lines[0]["id"].as_i64().unwrap().to_string();
    let out = run(&s.cfg, &["explain", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("prisoner swap"), "{}", stdout(&out));

    let out = run(&s.cfg, &["items", "--story", "talks", "--limit", "2"]);
    let text = stdout(&out);
    assert!(text.starts_with("2 items (the newest 2;"), "{text}");
    for (flag, value, listed) in [("--story", "nosuch", "talks"), ("--feed", "nosuch", "wire")] {
        let out = run(&s.cfg, &["items", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stderr(&out).contains(listed), "{}", stderr(&out));
    }
}

#[test]
fn a_story_kept_in_the_database_is_removed_and_a_configured_one_is_not() {
    let s = setup("");
    let other = s.dir.join("quake.txt");
    std::fs::write(
        &other,
        "Earthquake strikes near Kobe\nA magnitude 6.8 earthquake struck near Kobe in Hyogo Prefecture on Tuesday, the Japan Meteorological Agency said. Governor Motohiko Saito said rescue teams were searching collapsed buildings.\n",
    )
    .unwrap();
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "quake", other.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("story quake lives in"), "{said}");
    assert!(said.contains("story remove quake"), "{said}");
    let out = run(
        &s.cfg,
        &["story", "add", "--id", "talks", other.to_str().unwrap()],
    );
    assert!(
        stdout(&out).contains("story talks is configured in"),
        "{}",
        stdout(&out)
    );

    let out = run(&s.cfg, &["story", "remove", "quake"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("removed story quake: 1 article(s)"),
        "{}",
        stdout(&out)
    );
    let listed = stdout(&run(&s.cfg, &["story", "list"]));
    assert!(!listed.contains("quake"), "{listed}");
    assert!(listed.contains("talks"), "{listed}");

    let out = run(&s.cfg, &["story", "remove", "talks"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[[story]]"), "{}", stderr(&out));
    let out = run(&s.cfg, &["story", "remove", "quake"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("stories: talks"), "{}", stderr(&out));
}

#[test]
fn feeds_add_finds_the_feed_a_page_announces() {
    let now = now_rfc2822();
    let body = rss(&[item("a1", "Headline", "Text of the item.", &now)])
        .replace("<title>t</title>", "<title>Hyōgo Evening News</title>");
    let server = TestServer::start(move |req| {
        match req.path.as_str() {
        "/news/" => Response::new(
            200,
            "<html><head><title>News</title>\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/news/missing.xml\">\
             <link rel=\"alternate\" type=\"application/rss+xml\" href=\"feed.xml\"></head><body>news</body></html>",
        )
        .header("Content-Type", "text/html; charset=utf-8"),
        "/news/feed.xml" => Response::new(200, body.clone()),
        "/plain/" => Response::new(200, "<html><body>no feed here</body></html>"),
        _ => Response::new(404, "no"),
    }
    });
    let s = setup("");
    let out = run(&s.cfg, &["feeds", "add", &server.url("/news/")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains(&format!("url = \"{}\"", server.url("/news/feed.xml"))),
        "{table}"
    );
    assert!(table.contains("name = \"hyōgo-evening-news\""), "{table}");
    assert!(table.contains("(1 entries), announced by"), "{table}");

    // The table it prints is valid config.
    let mut cfg = std::fs::read_to_string(&s.cfg).unwrap();
    cfg.push_str(&table);
    std::fs::write(&s.cfg, cfg).unwrap();
    let out = run(&s.cfg, &["check-config"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Once configured, adding it again says under which name.
    let out = run(&s.cfg, &["feeds", "add", &server.url("/news/feed.xml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already configured as feed \"hyōgo-evening-news\""),
        "{}",
        stderr(&out)
    );

    let out = run(&s.cfg, &["feeds", "add", &server.url("/plain/")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("announces none"), "{}", stderr(&out));
}

#[test]
fn opml_folders_and_titles_survive_import_and_export() {
    let s = setup("");
    let cfg = std::fs::read_to_string(&s.cfg).unwrap();
    // `include` goes before the first table.
    std::fs::write(&s.cfg, format!("include = [\"feeds.d/*.toml\"]\n\n{cfg}")).unwrap();

    let opml = s.dir.join("subs.opml");
    std::fs::write(
        &opml,
        "<?xml version=\"1.0\"?><opml version=\"1.0\"><head><title>export</title></head><body>\
         <outline text=\"Europe\"><outline text=\"Presse\">\
           <outline type=\"rss\" text=\"Le Monde &eacute;dition\" xmlUrl=\"http://127.0.0.1:9/lemonde.xml\"/>\
         </outline>\
           <outline type=\"rss\" text=\"Новости Мира\" xmlUrl=\"http://127.0.0.1:9/novosti.xml\"/>\
         </outline>\
         <outline type=\"rss\" title=\"東京ニュース\" xmlUrl=\"http://127.0.0.1:9/tokyo.xml\"/>\
         </body></opml>",
    )
    .unwrap();
    let out = run(&s.cfg, &["feeds", "import-opml", opml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let toml = stdout(&out);
    for expected in [
        "name = \"le-monde-édition\"\ntitle = \"Le Monde édition\"\ncategory = \"Europe/Presse\"",
        "name = \"новости-мира\"\ntitle = \"Новости Мира\"\ncategory = \"Europe\"",
        "name = \"東京ニュース\"\ntitle = \"東京ニュース\"\nurl",
    ] {
        assert!(toml.contains(expected), "{expected:?} not in\n{toml}");
    }
    std::fs::create_dir(s.dir.join("feeds.d")).unwrap();
    std::fs::write(s.dir.join("feeds.d/imported.toml"), &toml).unwrap();

    let out = run(&s.cfg, &["feeds", "export-opml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let exported = stdout(&out);
    // Folders nest as they were, titles are the feeds' own; read back, the
    // same three subscriptions come out in the same folders.
    assert!(exported.contains("<outline text=\"Europe\">"), "{exported}");
    assert!(
        exported.contains("title=\"Le Monde édition\""),
        "{exported}"
    );
    let again = s.dir.join("again.opml");
    std::fs::write(&again, &exported).unwrap();
    let out = run(&s.cfg, &["feeds", "import-opml", again.to_str().unwrap()]);
    let reimported = stdout(&out);
    assert_eq!(
        reimported.matches("# skipped (already configured)").count(),
        3,
        "{reimported}"
    );
    let parsed = storywatch::subscriptions::parse_opml(&exported).unwrap();
    let folders: Vec<(&str, Option<&str>)> = parsed
        .iter()
        .map(|o| (o.title.as_str(), o.category.as_deref()))
        .collect();
    assert_eq!(
        folders,
        [
            ("東京ニュース", None),
            ("Le Monde édition", Some("Europe/Presse")),
            ("Новости Мира", Some("Europe")),
        ]
    );
}
