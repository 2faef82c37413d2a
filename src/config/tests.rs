//! Loading and validating config text, and the places problems are reported at.

use super::*;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/etc/storywatch/test.toml"))
}

fn problems(text: &str) -> Vec<Problem> {
    match load(text) {
        Err(ConfigError::Invalid { problems, .. }) => problems,
        other => panic!("expected invalid config, got {other:?}"),
    }
}

#[test]
fn feed_allow_hosts_are_normalised() {
    let c = load(
        "[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nallow_hosts = [\" News.Intranet. \", \"news.intranet\", \"\"]\n",
    )
    .unwrap();
    assert_eq!(c.feeds[0].allow_hosts, vec!["news.intranet".to_string()]);
}

#[test]
fn full_text_modes_and_a_bad_one() {
    let c = load(
        "[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nfull_text = true\n\n\
         [[feed]]\nname = \"b\"\nurl = \"https://x.org/b\"\nfull_text = \"auto\"\n\n\
         [[feed]]\nname = \"c\"\nurl = \"https://x.org/c\"\nfull_text = \"always\"\n\n\
         [[feed]]\nname = \"d\"\nurl = \"https://x.org/d\"\n",
    )
    .unwrap();
    let modes: Vec<FullText> = c.feeds.iter().map(|f| f.full_text).collect();
    assert_eq!(
        modes,
        [
            FullText::Matching,
            FullText::Auto,
            FullText::Always,
            FullText::Off
        ]
    );
    let p =
        problems("[[feed]]\nname = \"a\"\nurl = \"https://x.org/a\"\nfull_text = \"sometimes\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].key.as_str()), (4, "feed[1].full_text"));
    assert!(p[0].message.contains("\"sometimes\""), "{p:?}");
}

#[test]
fn defaults_and_relative_paths() {
    let c = load(
        "[[feed]]\nname = \"demo\"\nurl = \"file://demo/a.xml\"\n\n[[feed]]\nname = \"web\"\nurl = \"https://example.org/rss\"\ninterval = \"10m\"\n",
    )
    .unwrap();
    assert_eq!(c.storage.path, Path::new("/etc/storywatch/storywatch.db"));
    assert_eq!(c.poll.interval, DEFAULT_INTERVAL);
    assert_eq!(c.poll.concurrency.get(), 16);
    assert_eq!(c.poll.max_body, 10 * 1024 * 1024);
    assert!(c.poll.user_agent.starts_with("storywatch/"));
    assert_eq!(c.feeds[0].url.as_str(), "file:///etc/storywatch/demo/a.xml");
    assert_eq!(c.feeds[0].interval, DEFAULT_INTERVAL);
    assert_eq!(c.feeds[1].interval, Duration::from_secs(600));
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let ps = problems(
        "[poll]\ninterval = \"15 fortnights\"\nconcurrency = 0\nmax_body = \"10 parsecs\"\n\n[[feed]]\nname = \"a\"\nurl = \"ftp://x.org/\"\n\n[[feed]]\nname = \"a\"\nurl = \"https://x.org/feed\"\n",
    );
    let keys: Vec<_> = ps.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        vec![
            ("poll.interval", 2),
            ("poll.concurrency", 3),
            ("poll.max_body", 4),
            ("feed[1].url", 8),
            ("feed[2].name", 11),
        ]
    );
    assert_eq!(ps[0].column, 12);
    assert!(ps[3].message.contains("unsupported URL scheme"));
}

#[test]
fn a_document_that_does_not_parse_names_the_line_not_a_key() {
    let ps = problems("[storage]\npath = \"a.db\"\n\n[poll\ninterval = \"1m\"\n");
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0].line, 4, "{ps:?}");
    assert_eq!(ps[0].key, "", "{ps:?}");
    assert!(!ps[0].to_string().contains("storage"), "{}", ps[0]);
    // A later key is located by the parser, not by the nearest header.
    let ps = problems("[storage]\npath = \"a.db\"\n[poll]\ntimeout = \"soon\"\n");
    assert_eq!(
        (ps[0].key.as_str(), ps[0].line),
        ("poll.timeout", 4),
        "{ps:?}"
    );
}

#[test]
fn unknown_keys_are_errors_with_a_place() {
    let ps = problems("[poll]\ninterval = \"1m\"\nintreval = \"2m\"\n");
    assert_eq!(ps.len(), 1);
    assert_eq!((ps[0].line, ps[0].column), (3, 1));
    assert_eq!(ps[0].key, "poll.intreval");
    assert!(ps[0].message.contains("unknown field"), "{}", ps[0].message);
}

#[test]
fn sinks_are_validated_with_their_place() {
    let ps = problems(
        "[[sink]]\nname = \"a\"\nkind = \"pager\"\n\n             [[sink]]\nname = \"b\"\nkind = \"webhook\"\nurl = \"ftp://x\"\n\n             [[sink]]\nname = \"c\"\nkind = \"slack\"\nurl_env = \"A\"\nurl_file = \"b\"\nkinds = [\"followup\", \"gossip\"]\n\n             [[sink]]\nname = \"d\"\nkind = \"stdout\"\nsecret_env = \"S\"\nmin_score = 2.0\n\n             [delivery]\nschedule = []\n",
    );
    let got: Vec<(usize, &str)> = ps.iter().map(|p| (p.line, p.message.as_str())).collect();
    let has = |line: usize, text: &str| {
        assert!(
            got.iter().any(|(l, m)| *l == line && m.contains(text)),
            "no problem {text:?} on line {line}: {got:?}"
        )
    };
    has(3, "unknown sink kind");
    has(6, "not an http(s) URL");
    has(6, "a webhook sink is signed");
    has(11, "one way only");
    has(15, "unknown alert kind \"gossip\"");
    has(18, "is not signed");
    has(21, "min_score");
    has(24, "at least one wait");
    // A secret cannot be written in the file at all.
    let ps = problems("[[sink]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://x.org/\"\nsecret = \"whsec_abc\"\n");
    assert!(ps[0].message.contains("unknown field `secret`"), "{ps:?}");
    // A good one.
    let c = load(
        "[[sink]]\nname = \"n\"\nkind = \"discord\"\nurl_credential = \"d\"\ndigest = \"1h\"\n",
    )
    .unwrap();
    assert_eq!(c.sinks[0].rate, std::time::Duration::from_secs(1));
    assert_eq!(c.sinks[0].url, Some(SecretRef::Credential("d".into())));
    assert_eq!(c.delivery.schedule.len(), 6);
}

#[test]
fn syntax_errors_name_the_line() {
    let ps = problems("[poll]\ninterval = \"1m\nconcurrency = 2\n");
    assert_eq!(ps[0].line, 2);
}

#[test]
fn per_host_cannot_exceed_concurrency() {
    let ps = problems("[poll]\nconcurrency = 2\nper_host = 4\n");
    assert_eq!(ps[0].key, "poll.per_host");
}

#[test]
fn stories_are_validated() {
    let c = load(
        "[[story]]\nid = \"talks\"\narticle = \"stories/talks.txt\"\nthreshold = 0.6\n\
         entities = [ { name = \"Steve Witkoff\", aliases = [\"Witkoff\"], kind = \"person\", weight = 1.0 } ]\n\
         events = [ { name = \"prisoner swap\", triggers = [\"prisoner swap\"] } ]\nexclude = [\"Gaza\"]\n",
    )
    .unwrap();
    let s = &c.stories[0];
    assert_eq!(
        s.articles,
        vec![PathBuf::from("/etc/storywatch/stories/talks.txt")]
    );
    assert_eq!((s.threshold, s.emerge_after), (0.6, DEFAULT_EMERGE_AFTER));
    assert_eq!(s.entities[0].kind, Some(Kind::Person));
    assert_eq!(s.exclude, vec!["Gaza".to_string()]);
    assert_eq!(c.alerts.max_age, DEFAULT_ALERT_MAX_AGE);
    let ps = problems("[[story]]\nid = \"x\"\nthreshold = 1.5\nentities = [ { name = \"A\", kind = \"planet\" } ]\n");
    let keys: Vec<_> = ps.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec!["story[1].threshold", "story[1].entities"],
        "{ps:?}"
    );
    let ps = problems("[[story]]\nid = \"x\"\n");
    assert!(ps[0].message.contains("needs"));
}

#[test]
fn a_story_may_start_from_a_query() {
    let c =
        load("[[story]]\nid = \"q\"\nquery = '\"Steve Witkoff\" Putin ceasefire -Gaza'\n").unwrap();
    assert_eq!(
        c.stories[0].query.as_deref(),
        Some("\"Steve Witkoff\" Putin ceasefire -Gaza")
    );
    let ps = problems("[[story]]\nid = \"q\"\nquery = \"ceasefire talks\"\n");
    assert_eq!(ps[0].key, "story[1].query", "{ps:?}");
}

#[test]
fn a_story_date_is_a_date() {
    let c = load("[[story]]\nid = \"q\"\narticle = \"q.txt\"\ndate = \"2016-10-30\"\n").unwrap();
    assert_eq!(
        c.stories[0].date,
        Some(
            chrono::DateTime::parse_from_rfc3339("2016-10-30T00:00:00Z")
                .unwrap()
                .timestamp()
        )
    );
    let c = load("[[story]]\nid = \"q\"\narticle = \"q.txt\"\n").unwrap();
    assert_eq!(c.stories[0].date, None);
    let ps = problems("[[story]]\nid = \"q\"\narticle = \"q.txt\"\ndate = \"last week\"\n");
    assert_eq!(ps[0].key, "story[1].date", "{ps:?}");
    assert!(ps[0].message.contains("not a date"), "{ps:?}");
}

#[test]
fn sizes() {
    assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
    assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
    assert_eq!(parse_size("1MB").unwrap(), 1_000_000);
    assert_eq!(parse_size("2048").unwrap(), 2048);
    assert!(parse_size("ten").is_err());
    assert!(parse_size("1 parsec").is_err());
}

/// The first-column keys of the tables under `heading` in
/// docs/configuration.md, up to the next heading.
fn documented_keys(doc: &str, heading: &str) -> Vec<String> {
    let start = doc
        .lines()
        .position(|l| l.trim_end() == heading)
        .unwrap_or_else(|| panic!("docs/configuration.md has no heading {heading:?}"));
    doc.lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(key, _)| key.to_string())
        // Tables of values (`full_text = "auto"`, …) are not keys.
        .filter(|key| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .filter(|key| key != "true" && key != "false")
        .collect()
}

/// Every key a table accepts, as the parser lists them when it meets one
/// it does not know.
fn accepted_keys(toml_with_unknown_key: &str) -> Vec<String> {
    let message = problems(toml_with_unknown_key)
        .into_iter()
        .map(|p| p.message)
        .find(|m| m.contains("unknown field `not_a_key`"))
        .unwrap_or_else(|| panic!("no unknown-field error for {toml_with_unknown_key:?}"));
    let (_, expected) = message.split_once("expected").expect("a list of fields");
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_configuration_reference_documents_every_key() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let feed = "[[feed]]\nname = \"a\"\nurl = \"https://x.org/\"\n";
    let story = "[[story]]\nid = \"a\"\n";
    let cases = [
        ("## Layout", "not_a_key = 1\n".to_string()),
        ("## `[storage]`", "[storage]\nnot_a_key = 1\n".into()),
        ("## `[poll]`", "[poll]\nnot_a_key = 1\n".into()),
        ("## `[fetch]`", "[fetch]\nnot_a_key = 1\n".into()),
        ("## `[[feed]]`", format!("{feed}not_a_key = 1\n")),
        ("## `[[story]]`", format!("{story}not_a_key = 1\n")),
        (
            "### `entities`",
            format!("{story}entities = [{{ name = \"x\", not_a_key = 1 }}]\n"),
        ),
        (
            "### `events`",
            format!("{story}events = [{{ name = \"x\", triggers = [\"y\"], not_a_key = 1 }}]\n"),
        ),
        ("## `[alerts]`", "[alerts]\nnot_a_key = 1\n".into()),
        ("## `[dedup]`", "[dedup]\nnot_a_key = 1\n".into()),
        (
            "## `[[sink]]`",
            "[[sink]]\nname = \"a\"\nkind = \"stdout\"\nnot_a_key = 1\n".into(),
        ),
        ("## `[delivery]`", "[delivery]\nnot_a_key = 1\n".into()),
        ("## `[service]`", "[service]\nnot_a_key = 1\n".into()),
        ("## `[matching]`", "[matching]\nnot_a_key = 1\n".into()),
    ];
    for (heading, text) in cases {
        let documented = documented_keys(&doc, heading);
        let accepted = accepted_keys(&text);
        assert!(
            !accepted.is_empty(),
            "{heading}: no keys read from the parser"
        );
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|k| !documented.contains(k))
            .collect();
        assert!(
            missing.is_empty(),
            "{heading} in docs/configuration.md lacks {missing:?}"
        );
        let unknown: Vec<&String> = documented
            .iter()
            .filter(|k| !accepted.contains(k))
            .collect();
        assert!(unknown.is_empty(), "{heading} in docs/configuration.md documents {unknown:?}, which the parser does not accept");
    }
}
