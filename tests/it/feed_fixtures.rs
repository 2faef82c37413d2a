//! Every real-world feed in ../shared/fixtures/feeds parses or fails with a
//! clear error (never a panic), and each quirk that feed-rs alone gets wrong
//! is handled: one test per quirk.

use crate::common;

use std::collections::BTreeMap;
use std::panic::catch_unwind;
use std::path::Path;

use chrono::{Datelike, Utc};
use storywatch::feeds::normalize::{normalize_feed, Item};
use storywatch::feeds::parse::{parse_feed, ParseError};
use url::Url;

fn base_for(name: &str) -> Url {
    Url::parse(&format!("https://fixtures.example/feeds/{name}")).unwrap()
}

fn parse(name: &str) -> Option<Result<Vec<Item>, ParseError>> {
    let dir = common::fixture_feeds()?;
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let base = base_for(name);
    Some(parse_feed(&bytes, None, &base).map(|p| normalize_feed(&p.feed, &base, Utc::now())))
}

fn items(name: &str) -> Option<Vec<Item>> {
    parse(name).map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// Documents that are broken beyond reading: they must fail, not parse empty.
const MUST_FAIL: &[&str] = &[
    "rss2-reuters-mostread-truncated-invalid.xml",
    "jsonfeed1-truncated-invalid-allthis.json",
    "rss-in-json-not-jsonfeed-scriptingnews.json",
    // Decodes fine, but is an `<rss>` with no `<channel>`.
    "rss-utf16le-bom.xml",
];

/// Valid documents that carry no entries.
const NO_ENTRIES: &[&str] = &[
    "rss2-greek-localized-pubdate-iso8859-7.xml",
    // Truncated inside the only item's title: nothing readable is left.
    "rss2-comment-before-xmldecl-unterminated-cdata.xml",
];

#[test]
fn every_fixture_parses_or_fails_clearly() {
    let Some(dir) = common::fixture_feeds() else {
        return;
    };
    let mut outcomes = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let base = base_for(&name);
        let result = catch_unwind(|| {
            parse_feed(&bytes, None, &base).map(|p| normalize_feed(&p.feed, &base, Utc::now()))
        });
        outcomes.insert(name, result);
    }
    assert!(
        outcomes.len() >= 70,
        "only {} fixtures found",
        outcomes.len()
    );
    let mut problems = Vec::new();
    for (name, outcome) in &outcomes {
        match outcome {
            Err(_) => problems.push(format!("{name}: panicked")),
            Ok(Err(e)) => {
                eprintln!("{name}: error: {e}");
                if !MUST_FAIL.contains(&name.as_str()) {
                    problems.push(format!("{name}: unexpected error: {e}"));
                } else if e.to_string().trim().is_empty() {
                    problems.push(format!("{name}: empty error message"));
                }
            }
            Ok(Ok(items)) => {
                eprintln!("{name}: {} items", items.len());
                if MUST_FAIL.contains(&name.as_str()) {
                    problems.push(format!(
                        "{name}: should fail but gave {} items",
                        items.len()
                    ));
                } else if items.is_empty() && !NO_ENTRIES.contains(&name.as_str()) {
                    problems.push(format!("{name}: no items"));
                }
                for it in items {
                    if it.guid.trim().is_empty() {
                        problems.push(format!("{name}: item without id: {:?}", it.title));
                    }
                    if it.title.contains('\u{fffd}') && !name.contains("ilmessaggero") {
                        problems.push(format!("{name}: replacement char in title {:?}", it.title));
                    }
                    if let Some(l) = &it.link {
                        if Url::parse(l).is_err() {
                            problems.push(format!("{name}: link not absolute: {l}"));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn ids_are_stable_without_guid_or_link() {
    for name in [
        "rss0.91-dival-latin1-no-link-no-guid.xml",
        "rss0.92-userland-enclosures-no-titles.xml",
    ] {
        let (Some(a), Some(b)) = (items(name), items(name)) else {
            return;
        };
        let ids: Vec<_> = a.iter().map(|i| i.guid.clone()).collect();
        assert_eq!(
            ids,
            b.iter().map(|i| i.guid.clone()).collect::<Vec<_>>(),
            "{name}"
        );
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{name}: ids collide");
    }
}

#[test]
fn default_namespace_on_rss_root_is_read() {
    let Some(it) = items("rss2-windows1251-oren-ru-default-ns.xml") else {
        return;
    };
    assert!(it.len() >= 10, "{}", it.len());
    assert!(
        it[0].title.chars().any(|c| ('а'..='я').contains(&c)),
        "{}",
        it[0].title
    );
}

#[test]
fn rss090_and_atom03_are_read() {
    let Some(heise) = items("rss0.90-heise-netscape-rdf.xml") else {
        return;
    };
    assert_eq!(heise.len(), 60);
    assert!(heise[0].link.as_deref().unwrap().starts_with("http"));
    let atom03 = items("atom0.3-legacy-namespace.xml").unwrap();
    assert!(!atom03.is_empty());
    assert!(!atom03[0].title.is_empty());
}

#[test]
fn undeclared_latin1_is_sniffed() {
    let Some(it) = items("rss-uol-noticias-latin1-no-xmldecl.xml") else {
        return;
    };
    assert!(!it.is_empty());
    let all: String = it
        .iter()
        .map(|i| format!("{} {}", i.title, i.text))
        .collect();
    assert!(!all.contains('\u{fffd}'), "replacement characters in {all}");
    assert!(
        all.contains(['ã', 'ç', 'é', 'á', 'í', 'ó']),
        "no accents decoded: {all}"
    );
}

#[test]
fn utf8_bytes_declared_latin1_are_not_mojibake() {
    for name in [
        "feed-utf8-bytes-declared-latin1.xml",
        "rss2-dailymail-declared-latin1-actually-utf8.xml",
    ] {
        let Some(it) = items(name) else { return };
        let all: String = it
            .iter()
            .map(|i| format!("{} {}", i.title, i.text))
            .collect();
        assert!(
            !all.contains("Ã") && !all.contains("â€"),
            "{name}: mojibake in {all}"
        );
    }
    let dir = common::fixture_feeds().unwrap();
    let bytes = std::fs::read(dir.join("feed-utf8-bytes-declared-latin1.xml")).unwrap();
    let p = parse_feed(&bytes, Some("text/xml; charset=iso-8859-1"), &base_for("x")).unwrap();
    assert_eq!(p.feed.title.unwrap().content, "테스트 피드");
    assert_eq!(p.feed.entries[0].title.as_ref().unwrap().content, "Café");
}

#[test]
fn legacy_and_multibyte_encodings() {
    let Some(sjis) = items("atom-shiftjis-no-encoding-info.xml") else {
        return;
    };
    let all: String = sjis
        .iter()
        .map(|i| format!("{} {}", i.title, i.text))
        .collect();
    assert!(
        all.chars()
            .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{all}"
    );
    let dir = common::fixture_feeds().unwrap();
    let utf16 = std::fs::read(dir.join("rss-utf16le-bom.xml")).unwrap();
    // The UTF-16 document decodes to an `<rss>` root (with no channel).
    let e = parse_feed(&utf16, None, &base_for("x")).unwrap_err();
    assert_eq!(e.to_string(), "not a feed: <rss> has no <channel>");
    let gb = items("rss2-gb2312-kc0011-slash-dates.xml").unwrap();
    assert!(gb.iter().any(|i| i
        .title
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
    let koi = items("rss2-koi8r-synthetic.xml").unwrap();
    assert!(
        koi[0].title.chars().any(|c| ('А'..='я').contains(&c)),
        "{}",
        koi[0].title
    );
}

#[test]
fn a_raw_ampersand_mid_feed_keeps_every_item() {
    let Some(it) = items("rss2-unescaped-ampersand-mid-feed.xml") else {
        return;
    };
    assert_eq!(it.len(), 3);
    assert!(
        it[1].link.as_deref().unwrap().contains('&'),
        "{:?}",
        it[1].link
    );
}

#[test]
fn unterminated_cdata_and_missing_root_close_are_repaired() {
    let dir = match common::fixture_feeds() {
        Some(d) => d,
        None => return,
    };
    let bytes =
        std::fs::read(dir.join("rss2-comment-before-xmldecl-unterminated-cdata.xml")).unwrap();
    let p = parse_feed(&bytes, None, &base_for("x")).expect("repaired");
    assert!(p.repaired);
    assert_eq!(
        p.feed.title.unwrap().content,
        "can feedparser read this xml"
    );
    let it = items("rss2-missing-root-close-unixtime-dcdate.xml").unwrap();
    assert!(it.iter().all(|i| i.published.is_some()), "a date was lost");
}

#[test]
fn truncated_documents_are_errors_not_empty_feeds() {
    let Some(r) = parse("rss2-reuters-mostread-truncated-invalid.xml") else {
        return;
    };
    assert!(r.is_err());
    let e = parse("jsonfeed1-truncated-invalid-allthis.json")
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, ParseError::Json(_)), "{e}");
    let e = parse("rss-in-json-not-jsonfeed-scriptingnews.json")
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("JSON"), "{e}");
}

#[test]
fn dates_feed_rs_drops_are_read() {
    let cases: &[(&str, i32)] = &[
        ("rss2-nbc-newyork-nonstandard-pubdate.xml", 2023),
        ("rss2-gb2312-kc0011-slash-dates.xml", 2020),
        ("rss2-podcast-ws-before-decl-wrongcase-itunes-ns.xml", 0),
        ("jsonfeed1-escaped-slashes-curtclifton.json", 0),
        ("jsonfeed1-adactio-journal.json", 2022),
        ("rss2-relative-urls-two-digit-years.xml", 2017),
        ("rss2-ilmessaggero-italian-dates-no-decl.xml", 2022),
        ("rss2-jornal-noticias-latin1-crlf-padded-dates.xml", 0),
    ];
    for (name, year) in cases {
        let Some(it) = items(name) else { return };
        let missing = it.iter().filter(|i| i.published.is_none()).count();
        assert_eq!(
            missing,
            0,
            "{name}: {missing} of {} items without a date",
            it.len()
        );
        if *year != 0 {
            assert!(
                it.iter().any(|i| i.published.unwrap().year() == *year),
                "{name}"
            );
        }
    }
}

#[test]
fn http_version_uri_in_json_feed_is_accepted() {
    let Some(it) = items("jsonfeed1-http-version-uri-pxlnv.json") else {
        return;
    };
    assert!(!it.is_empty());
}

#[test]
fn relative_links_resolve_against_the_feed_or_xml_base() {
    let Some(atom) = items("atom-relative-links-no-base.xml") else {
        return;
    };
    assert!(
        atom.iter().all(|i| i
            .link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://fixtures.example/"))),
        "{atom:?}"
    );
    let rss = items("rss2-relative-urls-two-digit-years.xml").unwrap();
    assert!(
        rss[0]
            .link
            .as_deref()
            .unwrap()
            .starts_with("https://fixtures.example/"),
        "{:?}",
        rss[0].link
    );
    let json = items("jsonfeed1-relative-urls.json").unwrap();
    assert!(
        json.iter().all(|i| i
            .link
            .as_deref()
            .is_some_and(|l| l.starts_with("https://fixtures.example/"))),
        "{json:?}"
    );
    let wp = items("atom-xmlbase-wordpress-file-base.xml").unwrap();
    assert_eq!(
        wp[1].link.as_deref(),
        Some("http://onefoottsunami.com/2015/09/07/perverse-incentives-2/")
    );
}

#[test]
fn a_handful_in_detail() {
    let Some(g) = items("rss2-guardian-us-mediarss-dc.xml") else {
        return;
    };
    assert_eq!(g.len(), 55);
    assert!(!g[0].title.is_empty());
    assert!(g[0]
        .link
        .as_deref()
        .unwrap()
        .starts_with("https://www.theguardian.com/"));
    assert!(g[0].published.unwrap().year() == 2018);
    assert!(!g[0].categories.is_empty());
    let braingle = items("rss2-duplicate-guid-in-item-braingle.xml").unwrap();
    assert_eq!(braingle.len(), 1);
    let pcmag = items("rss2-illegally-nested-item-pcmag.xml").unwrap();
    assert_eq!(pcmag.len(), 10);
    let atp = items("rss2-podcast-atp-100-items.xml").unwrap();
    assert_eq!(atp.len(), 100);
    let gnews = items("rss2-google-news-top-stories.xml").unwrap();
    assert_eq!(gnews.len(), 38);
    assert!(
        !gnews[0].text.contains("&nbsp;") && !gnews[0].text.contains('<'),
        "{}",
        gnews[0].text
    );
    let alerts = items("atom-google-alerts-escaped-entities.xml").unwrap();
    assert!(
        alerts
            .iter()
            .all(|i| !i.title.contains("<b>") && !i.title.contains("&#39;")),
        "{:?}",
        alerts[0].title
    );
}

#[test]
fn fixtures_dir_is_where_we_expect() {
    if let Some(dir) = common::fixture_feeds() {
        assert!(Path::new(&dir)
            .join("rss2-guardian-us-mediarss-dc.xml")
            .exists());
    }
}
