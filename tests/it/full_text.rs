//! Full-text fetching end to end: feeds and article pages served on
//! 127.0.0.1, a real SQLite file, the real binary. Which entries get their
//! page fetched, what a failed fetch leaves, that no page is fetched twice,
//! and that a page's canonical URL catches a syndicated copy.

use crate::common;

use std::path::{Path, PathBuf};

use crate::common::http::{Response, TestServer};
use crate::common::news::{now_rfc2822, REFERENCE};
use crate::common::{poll_json, run, stderr, stdout};

/// An article page in the shape of a real one: navigation, a share bar,
/// related links, a cookie banner and a footer around the story.
fn page(host: &str, canonical: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Witkoff to travel to Russia again - Loopback News</title>
<meta property="og:site_name" content="Loopback News">
<meta property="article:published_time" content="2025-04-18T09:00:00Z">
<link rel="canonical" href="http://{host}{canonical}">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
 "headline":"Witkoff to travel to Russia again","author":{{"@type":"Person","name":"Jane Roe"}}}}</script>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>Witkoff to travel to Russia again</h1>
<div class="share"><a href="https://facebook.com/share">Share on Facebook</a> <a href="https://twitter.com/share">Share on X</a></div>
{body}
</article>
<aside><h2>Most read</h2><ul><li><a href="/a">Storm closes schools across the region</a></li>
<li><a href="/b">Football club names new manager after defeat</a></li><li><a href="/c">Prices of bread rise again</a></li></ul></aside>
<footer><p>Copyright Loopback News. All rights reserved. Subscribe to our newsletter.</p></footer>
</body></html>"#
    )
}

const BODY: &str = "<p>US special envoy Steve Witkoff will travel to Russia next week to meet Vladimir Putin again, \
the Kremlin said on Friday, as talks on a ceasefire in Ukraine enter a new phase.</p>\
<p>Kremlin spokesman Dmitry Peskov told reporters in Moscow that the meeting would also cover the prisoner swap \
completed earlier this month and the wider normalising of relations with Washington.</p>\
<p>Foreign Minister Sergei Lavrov is expected to join the talks, according to two officials who spoke on \
condition of anonymity because they were not authorised to discuss the schedule.</p>\
<p>European allies of Kyiv said their pledge of military aid would not change whatever the outcome.</p>";

fn item(host: &str, guid: &str, path: &str, title: &str, text: &str) -> String {
    format!(
        "<item><title>{title}</title><link>http://{host}{path}</link><guid>{guid}</guid>\
         <pubDate>{}</pubDate><description>{text}</description></item>",
        now_rfc2822()
    )
}

fn rss(items: &[String]) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>t</title><link>http://news.example/</link>{}</channel></rss>",
        items.concat()
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    cfg: PathBuf,
}

/// Article pages in these tests are on 127.0.0.1, which storywatch refuses
/// for links from feeds unless told otherwise.
fn setup(feeds: &str) -> Setup {
    setup_with(&format!("[fetch]\nallow_private = true\n\n{feeds}"))
}

fn setup_with(rest: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), REFERENCE).unwrap();
    let cfg = path.join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!("{rest}\n[[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n"),
    )
    .unwrap();
    Setup {
        _dir: dir,
        dir: path,
        cfg,
    }
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(storywatch::config::DEFAULT_DB_FILE)).unwrap()
}

fn item_text(dir: &Path, guid: &str) -> String {
    db(dir)
        .query_row("SELECT text FROM items WHERE guid = ?1", [guid], |r| {
            r.get(0)
        })
        .unwrap()
}

/// The loopback site: feeds and pages. `/world/server-error` fails.
fn site() -> TestServer {
    TestServer::start(|req| {
        let host = req.header("host").unwrap_or("").to_string();
        let path = req.path.split('?').next().unwrap_or("");
        let html = |body: String| {
            Response::new(200, body).header("Content-Type", "text/html; charset=utf-8")
        };
        match path {
            "/news.rss" => Response::new(
                200,
                rss(&[
                    item(&host, "f1", "/world/envoy-returns", "Witkoff to travel again", "Details to follow."),
                    item(&host, "f2", "/world/server-error", "Peskov comments on the talks", "Brief statement."),
                    item(&host, "f3", "/local/library", "Council approves new library", "It opens in spring."),
                ]),
            ),
            "/wire.rss" => Response::new(
                200,
                rss(&[item(&host, "w1", "/syndicated/envoy-copy", "Witkoff to travel again (wire)", "From the wire.")]),
            ),
            "/twice.rss" => Response::new(
                200,
                rss(&[
                    item(&host, "t1", "/world/envoy-returns", "Witkoff to travel again", "Details to follow."),
                    item(&host, "t2", "/world/envoy-returns", "Witkoff trip: update", "More soon."),
                ]),
            ),
            "/all.rss" => Response::new(
                200,
                rss(&[item(&host, "a1", "/local/library", "Council approves new library", "It opens in spring.")]),
            ),
            "/long.rss" => Response::new(
                200,
                rss(&[item(&host, "l1", "/world/long-summary", "Witkoff in Moscow",
                    &"Steve Witkoff met Vladimir Putin in Moscow for talks on a ceasefire in Ukraine. ".repeat(6))]),
            ),
            "/world/envoy-returns" => html(page(&host, "/world/envoy-returns", BODY)),
            "/syndicated/envoy-copy" => html(page(&host, "/world/envoy-returns", BODY)),
            "/local/library" => html(page(&host, "/local/library",
                "<p>The council approved plans for a new library on the high street, which will open next spring.</p>\
                 <p>Residents welcomed the decision at a meeting on Tuesday evening, the council said.</p>")),
            "/world/long-summary" => html(page(&host, "/world/long-summary", BODY)),
            "/world/server-error" => Response::new(500, "oops"),
            "/redirect" => {
                let port = host.rsplit(':').next().unwrap_or("");
                Response::new(302, "").header("Location", &format!("http://127.0.0.1:{port}/secret"))
            }
            "/secret" => html(page(&host, "/secret", BODY)),
            "/moved.rss" => Response::new(301, "").header("Location", "/news.rss"),
            "/away.rss" => {
                let port = host.rsplit(':').next().unwrap_or("");
                Response::new(302, "").header("Location", &format!("http://localhost:{port}/news.rss"))
            }
            "/metadata.rss" => Response::new(302, "")
                .header("Location", "http://169.254.169.254/latest/meta-data/"),
            "/private.rss" => {
                let port = host.rsplit(':').next().unwrap_or("").to_string();
                let localhost = format!("localhost:{port}");
                Response::new(
                    200,
                    rss(&[
                        item(&host, "p1", "/world/envoy-returns", "Witkoff to travel again", "Details to follow."),
                        item(&localhost, "p2", "/redirect", "Peskov on Witkoff trip", "Brief."),
                    ]),
                )
            }
            _ => Response::new(404, "not found"),
        }
    })
}

#[test]
fn short_entries_that_name_the_story_are_completed_from_their_page() {
    let server = site();
    let s = setup(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\nfull_text = true\n\n\
         [[feed]]\nname = \"wire\"\nurl = \"{}\"\nfull_text = \"auto\"\n",
        server.url("/news.rss"),
        server.url("/wire.rss")
    ));
    let out = run(&s.cfg, &["poll", "--feed", "news", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j = poll_json(&out);
    assert_eq!(j["items_new"], 3, "{j}");
    assert_eq!(j["pages_used"], 1, "{j}");
    assert_eq!(j["pages_failed"], 1, "{j}");
    // The pre-filter: the library story names nothing the story watches.
    assert_eq!(server.requests_to("/world/envoy-returns").len(), 1);
    assert_eq!(server.requests_to("/world/server-error").len(), 1);
    assert_eq!(server.requests_to("/local/library").len(), 0);

    // f1 now has the article's text and none of the page's furniture.
    let f1 = item_text(&s.dir, "f1");
    assert!(
        f1.contains("Sergei Lavrov is expected to join the talks"),
        "{f1}"
    );
    for furniture in [
        "Most read",
        "cookies",
        "Share on",
        "newsletter",
        "Storm closes schools",
        "Home",
    ] {
        assert!(!f1.contains(furniture), "{furniture:?} kept in {f1}");
    }
    // f2's page failed: it keeps its feed text; the failure is stored.
    assert_eq!(item_text(&s.dir, "f2"), "Brief statement.");
    let (n_pages, failed): (i64, String) = db(&s.dir)
        .query_row(
            "SELECT (SELECT count(*) FROM article_pages), error FROM article_pages WHERE url LIKE '%server-error'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n_pages, 2);
    assert!(failed.contains("500"), "{failed}");
    let (authors, published): (String, Option<i64>) = db(&s.dir)
        .query_row(
            "SELECT authors, published_at FROM items WHERE guid = 'f1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(authors.contains("Jane Roe"), "{authors}");
    assert!(published.is_some());

    // The page's text is what made f1 a follow-up.
    let alerts = stdout(&run(&s.cfg, &["alerts", "list", "--json"]));
    assert!(alerts.contains("Witkoff to travel again"), "{alerts}");

    // Polling again fetches no page: the entries are known.
    let again = poll_json(&run(&s.cfg, &["poll", "--feed", "news", "--json"]));
    assert_eq!(again["items_new"], 0, "{again}");
    assert_eq!(server.requests_to("/world/envoy-returns").len(), 1);
    assert_eq!(server.requests_to("/world/server-error").len(), 1);

    // A syndicated copy under another link declares the same canonical URL:
    // its page is fetched once and the entry is a duplicate of f1.
    let wire = poll_json(&run(&s.cfg, &["poll", "--feed", "wire", "--json"]));
    assert_eq!(wire["items_new"], 0, "{wire}");
    assert_eq!(wire["items_duplicate"], 1, "{wire}");
    assert_eq!(server.requests_to("/syndicated/envoy-copy").len(), 1);
    let stored: i64 = db(&s.dir)
        .query_row(
            "SELECT count(*) FROM article_pages WHERE url LIKE '%/syndicated/envoy-copy'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1);
}

#[test]
fn the_same_entry_without_its_page_does_not_match() {
    let server = site();
    let s = setup(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\nfull_text = false\n",
        server.url("/news.rss")
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 3, "{j}");
    assert_eq!(j["pages_used"], 0, "{j}");
    assert_eq!(server.requests().len(), 1, "only the feed is fetched");
    let alerts = stdout(&run(&s.cfg, &["alerts", "list", "--json"]));
    assert!(!alerts.contains("Witkoff to travel again"), "{alerts}");
}

#[test]
fn always_skips_the_pre_filter_and_auto_skips_long_entries() {
    let server = site();
    let s = setup(&format!(
        "[[feed]]\nname = \"all\"\nurl = \"{}\"\nfull_text = \"always\"\n\n\
         [[feed]]\nname = \"long\"\nurl = \"{}\"\nfull_text = \"auto\"\n",
        server.url("/all.rss"),
        server.url("/long.rss")
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 2, "{j}");
    assert_eq!(server.requests_to("/local/library").len(), 1);
    assert_eq!(server.requests_to("/world/long-summary").len(), 0);
    assert!(item_text(&s.dir, "a1").contains("Residents welcomed the decision"));
}

/// `storywatch extract ARGS` in `dir`, where no config file is.
fn extract_in(dir: &Path, args: &[&str]) -> std::process::Output {
    common::storywatch()
        .arg("extract")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn extract_reads_a_page_from_a_url_or_a_file() {
    let server = site();
    let url = server.url("/world/envoy-returns");
    let out = extract_in(&std::env::temp_dir(), &["--json", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["title"], "Witkoff to travel to Russia again");
    assert_eq!(j["canonical_url"], url.as_str());
    assert_eq!(j["published"], "2025-04-18T09:00:00Z");
    assert_eq!(j["authors"], serde_json::json!(["Jane Roe"]));
    assert_eq!(j["language"], "en");
    assert_eq!(j["site_name"], "Loopback News");
    let text = j["text"].as_str().unwrap();
    assert_eq!(text.split("\n\n").count(), 4, "four paragraphs: {text}");
    assert!(!text.contains("Most read"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, page("example.org", "/world/envoy-returns", BODY)).unwrap();
    let out = extract_in(dir.path(), &[file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let human = stdout(&out);
    assert!(
        human.contains("title:      Witkoff to travel to Russia again"),
        "{human}"
    );
    assert!(
        human.contains("canonical:  http://example.org/world/envoy-returns"),
        "{human}"
    );
    assert!(human.contains("Sergei Lavrov"), "{human}");

    // A missing file and a dead URL are named in the error.
    let out = extract_in(dir.path(), &["/nonexistent/page.html"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("/nonexistent/page.html"),
        "{}",
        stderr(&out)
    );
    let dead = server.url("/world/server-error");
    let out = extract_in(dir.path(), &[&dead]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&dead) && stderr(&out).contains("500"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn links_to_private_addresses_are_refused_unless_allowed() {
    let server = site();
    // The operator's own feed URL is trusted; the links in it are not.
    let s = setup_with(&format!(
        "[[feed]]\nname = \"news\"\nurl = \"{}\"\nfull_text = true\n",
        server.url("/private.rss")
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["items_new"], 2, "{j}");
    assert_eq!(j["pages_used"], 0, "{j}");
    assert_eq!(j["pages_failed"], 2, "{j}");
    assert_eq!(server.requests_to("/world/envoy-returns").len(), 0);
    assert_eq!(server.requests_to("/redirect").len(), 0);
    assert_eq!(item_text(&s.dir, "p1"), "Details to follow.");
    let errors: Vec<String> = db(&s.dir)
        .prepare("SELECT error FROM article_pages ORDER BY url")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(errors.len(), 2);
    for e in &errors {
        assert!(e.contains("refused") && e.contains("allow_private"), "{e}");
    }

    // A host the operator lists may be private, but a redirect from it to
    // an address not listed is refused before any request reaches it.
    let s = setup_with(&format!(
        "[fetch]\nallow_hosts = [\"localhost\"]\n\n[[feed]]\nname = \"news\"\nurl = \"{}\"\nfull_text = true\n",
        server.url("/private.rss")
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["pages_failed"], 2, "{j}");
    assert_eq!(server.requests_to("/redirect").len(), 1);
    assert_eq!(server.requests_to("/secret").len(), 0);
    let redirect_error: String = db(&s.dir)
        .query_row(
            "SELECT error FROM article_pages WHERE url LIKE '%/redirect'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        redirect_error.contains("refused") && redirect_error.contains("127.0.0.1"),
        "{redirect_error}"
    );
}

/// Feed URLs are the operator's, so a feed on 127.0.0.1 is fetched and may
/// redirect on its own host; a redirect to another non-public host is
/// refused before any request is made, unless that host is allowed.
#[test]
fn redirects_from_feeds_to_other_private_hosts_are_refused() {
    let server = site();
    let feeds = ["moved", "away", "metadata"]
        .iter()
        .map(|f| {
            format!(
                "[[feed]]\nname = \"{f}\"\nurl = \"{}\"\n",
                server.url(&format!("/{f}.rss"))
            )
        })
        .collect::<String>();
    let s = setup_with(&feeds);
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(
        (j["fetched"].as_u64(), j["failed"].as_u64()),
        (Some(1), Some(2)),
        "{j}"
    );
    assert_eq!(j["items_new"], 3, "{j}");
    let errors = j["errors"].as_array().unwrap();
    let error = |feed: &str| {
        errors
            .iter()
            .find(|e| e["feed"] == feed)
            .and_then(|e| e["error"].as_str())
            .unwrap_or_else(|| panic!("no error for {feed}: {j}"))
            .to_string()
    };
    for (feed, host) in [("away", "localhost"), ("metadata", "169.254.169.254")] {
        let e = error(feed);
        assert!(
            e.contains("refused") && e.contains(host) && e.contains("allow_hosts"),
            "{feed}: {e}"
        );
    }
    // The one request to /news.rss came from the same-host redirect.
    assert_eq!(server.requests_to("/news.rss").len(), 1);

    // Listing the host opens the redirect.
    let s = setup_with(&format!(
        "[fetch]\nallow_hosts = [\"localhost\"]\n\n{feeds}"
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(j["fetched"], 2, "{j}");
    assert_eq!(server.requests_to("/news.rss").len(), 3);
}

/// A feed's own `allow_hosts` opens its article links and no other feed's.
#[test]
fn a_feed_allowlist_opens_only_that_feeds_links() {
    let server = site();
    let s = setup_with(&format!(
        "[[feed]]\nname = \"intranet\"\nurl = \"{}\"\nfull_text = true\nallow_hosts = [\"127.0.0.1\"]\n\n\
         [[feed]]\nname = \"outside\"\nurl = \"{}\"\nfull_text = true\n",
        server.url("/private.rss"),
        server.url("/wire.rss"),
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    // intranet: p1 on 127.0.0.1 is fetched, p2 on localhost is not listed.
    // outside: w1's link, also on 127.0.0.1, is refused.
    assert_eq!(j["pages_used"], 1, "{j}");
    assert_eq!(j["pages_failed"], 2, "{j}");
    assert!(item_text(&s.dir, "p1").contains("Dmitry Peskov"));
    assert_eq!(item_text(&s.dir, "w1"), "From the wire.");
    assert_eq!(server.requests_to("/syndicated/envoy-copy").len(), 0);
    assert_eq!(server.requests_to("/world/envoy-returns").len(), 1);
    assert_eq!(server.requests_to("/redirect").len(), 0);
}

#[test]
fn entries_sharing_a_link_share_one_fetch() {
    let server = site();
    let s = setup(&format!(
        "[[feed]]\nname = \"twice\"\nurl = \"{}\"\nfull_text = true\n",
        server.url("/twice.rss")
    ));
    let j = poll_json(&run(&s.cfg, &["poll", "--json"]));
    assert_eq!(server.requests_to("/world/envoy-returns").len(), 1, "{j}");
    // Same canonical URL: the second entry is a duplicate of the first.
    assert_eq!(
        (j["items_new"].as_u64(), j["items_duplicate"].as_u64()),
        (Some(1), Some(1)),
        "{j}"
    );
}
