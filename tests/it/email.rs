//! The email sink end to end: the real binary, a feed on 127.0.0.1 and a
//! real SMTP receiver (tests/it/common/smtp.rs) speaking STARTTLS or TLS
//! with the test CA's certificate, which `SSL_CERT_FILE` makes trusted.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::common::http::{Response, TestServer};
use crate::common::news::{item, now_rfc2822, rss, three_followups, REFERENCE};
use crate::common::smtp::{Mail, Security, SmtpServer};
use crate::common::{alert_ids, poll_json, run, run_with_env, stderr, stdout};
use mail_parser::MessageParser;

const PASSWORD: &str = "correct horse battery staple";

struct Setup {
    _dir: tempfile::TempDir,
    cfg: PathBuf,
}

fn setup(feed_url: &str, sinks: &str) -> Setup {
    setup_draining(feed_url, sinks, "20s")
}

/// `drain`: how long a poll keeps trying to deliver before it exits.
fn setup_draining(feed_url: &str, sinks: &str, drain: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reference.txt"), REFERENCE).unwrap();
    let cfg = dir.path().join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[delivery]\nschedule = [\"300ms\"]\nmax_age = \"1h\"\ndrain = \"{drain}\"\ntimeout = \"3s\"\n\n\
             [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n\
             [[feed]]\nname = \"news\"\nurl = \"{feed_url}\"\ninterval = \"1h\"\n\n{sinks}"
        ),
    )
    .unwrap();
    Setup { _dir: dir, cfg }
}

fn email_sink(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[sink]]\nname = \"{name}\"\nkind = \"email\"\nurl = \"{url}\"\nusername = \"alerts\"\n\
         password_env = \"SW_SMTP_PASSWORD\"\nfrom = \"storywatch <alerts@example.org>\"\n\
         to = [\"desk@example.org\", \"Night Editor <night@example.org>\"]\nrate = \"0s\"\n{extra}\n"
    )
}

fn run_mail(cfg: &Path, args: &[&str], password: &str) -> std::process::Output {
    let ca = crate::common::tls_fixture("ca.pem");
    run_with_env(
        cfg,
        args,
        &[
            ("SW_SMTP_PASSWORD", Some(OsStr::new(password))),
            ("SSL_CERT_FILE", Some(ca.as_os_str())),
            ("SSL_CERT_DIR", None),
        ],
    )
}

fn header(mail: &Mail, name: &str) -> String {
    let m = MessageParser::default().parse(&mail.data[..]).unwrap();
    m.header_raw(name).unwrap_or_default().trim().to_string()
}

#[test]
fn alerts_are_mailed_threaded_per_story_over_starttls_and_tls() {
    let now = now_rfc2822();
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)> Eleven freed in new prisoner swap as Putin and Witkoff talk";
    let mut items = vec![item(
        "h1",
        // Escaped twice: the title's text, not its markup, holds the tags.
        &hostile.replace('<', "&amp;lt;").replace('>', "&amp;gt;"),
        "Eleven prisoners were freed on Tuesday in a new exchange between Moscow and Washington, Kremlin spokesman Dmitry Peskov said, days after Steve Witkoff met Vladimir Putin.",
        &now,
    )];
    let others = three_followups();
    let start = others.find("<item>").unwrap();
    let end = others.rfind("</item>").unwrap() + "</item>".len();
    items.push(others[start..end].to_string());
    let feed_body = rss(&items);
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let starttls = SmtpServer::start(Security::StartTls, Some(("alerts", PASSWORD)));
    let tls = SmtpServer::start(Security::Tls, Some(("alerts", PASSWORD)));
    let sinks = email_sink("mail", &format!("smtp://{}", starttls.host_port()), "")
        + &email_sink(
            "mail-digest",
            &format!("smtps://{}", tls.host_port()),
            "digest = \"1s\"",
        );
    let s = setup(&feed.url("/rss"), &sinks);
    let out = run_mail(&s.cfg, &["poll", "--json"], PASSWORD);
    let j = poll_json(&out);
    let ids = alert_ids(&s.cfg);
    assert!(ids.len() >= 3, "{j} {}", stderr(&out));
    assert_eq!(j["delivered"], 2 * ids.len(), "{j} {}", stderr(&out));

    // One message per alert, each under its alert's id, all in one thread.
    let mails = starttls.mails();
    assert_eq!(mails.len(), ids.len());
    let mut seen = BTreeSet::new();
    let mut roots = BTreeSet::new();
    for mail in &mails {
        assert!(mail.tls, "sent before STARTTLS");
        assert_eq!(mail.from, "<alerts@example.org>");
        assert_eq!(mail.to, ["<desk@example.org>", "<night@example.org>"]);
        let id = header(mail, "X-Storywatch-Id");
        assert!(ids.contains(&id), "{id} not an alert id");
        let mid = header(mail, "Message-ID");
        assert_eq!(mid, format!("<{id}@example.org>"));
        assert!(seen.insert(mid));
        let root = header(mail, "In-Reply-To");
        assert_eq!(header(mail, "References"), root);
        roots.insert(root);
        assert_eq!(header(mail, "Auto-Submitted"), "auto-generated");
        let m = MessageParser::default().parse(&mail.data[..]).unwrap();
        let subject = m.subject().unwrap_or_default().to_string();
        assert!(subject.starts_with("[talks] "), "{subject}");
        let text = m.body_text(0).unwrap().into_owned();
        let html = m.body_html(0).unwrap().into_owned();
        assert!(text.contains(&id) && html.contains(&id), "{text}");
        assert!(text.contains("Follow-up on talks"), "{text}");
        assert!(html.contains("<ol class=\"timeline\">"), "{html}");
    }
    assert_eq!(roots.len(), 1, "{roots:?}");
    assert_eq!(roots.first().unwrap(), "<story.talks@example.org>");

    // Feed text is escaped in the HTML part and kept as text in the subject.
    let parsed: Vec<_> = mails
        .iter()
        .map(|m| MessageParser::default().parse(&m.data[..]).unwrap())
        .collect();
    let m = parsed
        .iter()
        .find(|m| m.subject().unwrap_or_default().contains("<script>"))
        .unwrap_or_else(|| {
            panic!(
                "the hostile item was mailed: {:?}",
                parsed
                    .iter()
                    .map(|m| m.subject().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
            )
        });
    let html = m.body_html(0).unwrap().into_owned();
    assert!(
        !html.contains("<script>") && !html.contains("<img"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "{html}"
    );
    assert!(m.subject().unwrap().contains("<script>alert(1)</script>"));
    let text = m.body_text(0).unwrap();
    assert!(text.contains("new: "), "what the report adds: {text}");

    // The digest sink sends them all as one message over TLS.
    let digests = tls.mails();
    assert_eq!(digests.len(), 1);
    assert!(digests[0].tls);
    let d = MessageParser::default()
        .parse(&digests[0].data[..])
        .unwrap();
    let want = format!("[storywatch] {} alerts: talks", ids.len());
    assert_eq!(d.subject().unwrap(), want);
    let html = d.body_html(0).unwrap();
    for id in &ids {
        assert!(html.contains(id.as_str()), "{id} missing from the digest");
    }
    assert_eq!(
        header(&digests[0], "In-Reply-To"),
        "<story.talks@example.org>"
    );

    // A second poll finds nothing new and mails nothing.
    let j = poll_json(&run_mail(&s.cfg, &["poll", "--json"], PASSWORD));
    assert_eq!(j["delivered"], 0, "{j}");
    assert_eq!(starttls.mails().len(), ids.len());

    // `alerts test` mails a marked test message, outside the outbox.
    let out = run_mail(&s.cfg, &["alerts", "test", "mail"], PASSWORD);
    assert!(out.status.success(), "{}", stderr(&out));
    let mails = starttls.mails();
    assert_eq!(mails.len(), ids.len() + 1);
    let test = MessageParser::default()
        .parse(&mails.last().unwrap().data[..])
        .unwrap();
    assert!(
        test.body_text(0).unwrap().contains("TEST ALERT"),
        "{:?}",
        test.body_text(0)
    );
}

#[test]
fn a_refusing_or_down_mail_server_is_retried_and_each_alert_mailed_once() {
    let feed_body = three_followups();
    let feed = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    // Down first: nothing listens on the port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = setup_draining(
        &feed.url("/rss"),
        &email_sink("mail", &format!("smtp://localhost:{}", port.port()), ""),
        "1s",
    );
    let j = poll_json(&run_mail(&s.cfg, &["poll", "--json"], PASSWORD));
    assert_eq!(j["delivered"], 0, "{j}");
    let ids = alert_ids(&s.cfg);
    assert_eq!(ids.len(), 3);
    let list = stdout(&run(&s.cfg, &["alerts", "list"]));
    assert!(list.contains("SMTP"), "the failure is recorded: {list}");

    // Up, but refusing the first message for now (4xx), then taking all.
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace("drain = \"1s\"", "drain = \"20s\"");
    std::fs::write(&s.cfg, cfg).unwrap();
    let server = SmtpServer::start_on(port, Security::StartTls, Some(("alerts", PASSWORD)));
    server.answer_next(&["451 4.3.0 try again later"]);
    let out = run_mail(&s.cfg, &["poll", "--json"], PASSWORD);
    let j = poll_json(&out);
    assert_eq!(j["delivered"], 3, "{j} {}", stderr(&out));
    let mails = server.mails();
    assert_eq!(mails.len(), 3, "each alert mailed once");
    let mailed: BTreeSet<String> = mails.iter().map(|m| header(m, "X-Storywatch-Id")).collect();
    assert_eq!(mailed, ids);

    // A refused login pauses the sink, names the answer, and sends nothing.
    let feed_body = rss(&[item(
        "f9",
        "Kremlin says Witkoff and Putin will meet again on the ceasefire",
        "Dmitry Peskov said Steve Witkoff and Vladimir Putin would meet again to discuss the Ukraine ceasefire and a prisoner swap.",
        &now_rfc2822(),
    )]);
    let feed2 = TestServer::start(move |_| Response::new(200, feed_body.clone()));
    let cfg = std::fs::read_to_string(&s.cfg)
        .unwrap()
        .replace(&feed.url("/rss"), &feed2.url("/rss"));
    std::fs::write(&s.cfg, cfg).unwrap();
    let out = run_mail(&s.cfg, &["poll", "--json"], "wrong");
    let j = poll_json(&out);
    assert_eq!(j["delivered"], 0, "{j}");
    assert!(stderr(&out).contains("SINK PAUSED"), "{}", stderr(&out));
    assert_eq!(server.mails().len(), 3);
    assert!(server
        .logins
        .lock()
        .unwrap()
        .iter()
        .any(|(_, p)| p == "wrong"));
    let list = stdout(&run(&s.cfg, &["alerts", "list", "--failed"]));
    assert!(list.contains("535"), "{list}");
    // Fixed: `alerts retry --all-failed` resumes the sink and sends it once.
    let out = run_mail(&s.cfg, &["alerts", "retry", "--all-failed"], PASSWORD);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_for_mail(&server, 4, &s.cfg);
    assert_eq!(server.mails().len(), 4);
}

/// `alerts retry` queues; a `poll` with nothing new delivers what is due.
fn wait_for_mail(server: &SmtpServer, n: usize, cfg: &Path) {
    if server.mails().len() < n {
        let j = poll_json(&run_mail(cfg, &["poll", "--json"], PASSWORD));
        assert_eq!(server.mails().len(), n, "{j}");
    }
}

#[test]
fn email_sink_config_errors_name_the_place() {
    let s = setup("http://127.0.0.1:9/rss", "");
    let bad = [
        ("url = \"https://mail.example.org\"", "smtp:// or smtps://"),
        (
            "url = \"smtp://user:pw@mail.example.org\"",
            "carries a login",
        ),
        ("from = \"not an address\"", "is not a mail address"),
        ("to = []", "needs to"),
        (
            "password_env = \"A\"\npassword_file = \"b\"",
            "one way only",
        ),
    ];
    for (line, want) in bad {
        let key = line.split(' ').next().unwrap();
        let mut sink = email_sink("mail", "smtp://mail.example.org", "");
        sink = sink
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} ")))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
            + line
            + "\n";
        let cfg = std::fs::read_to_string(&s.cfg).unwrap() + &sink;
        let path = s.cfg.with_file_name("bad.toml");
        std::fs::write(&path, cfg).unwrap();
        let out = run(&path, &["check-config"]);
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = stderr(&out);
        assert!(
            err.contains(want) && err.contains("bad.toml:"),
            "{line}: {err}"
        );
    }
    // A password in clear text to another machine is refused when the sink starts.
    let sink = email_sink("mail", "smtp://192.0.2.1:25", "starttls = false");
    let path = s.cfg.with_file_name("plain.toml");
    std::fs::write(&path, std::fs::read_to_string(&s.cfg).unwrap() + &sink).unwrap();
    let out = run_mail(&path, &["poll"], PASSWORD);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sink mail") && stderr(&out).contains("only sent encrypted"),
        "{}",
        stderr(&out)
    );
}
