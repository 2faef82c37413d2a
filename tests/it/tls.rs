//! HTTPS feeds against a real TLS server on 127.0.0.1 (rustls, with a test
//! CA and a certificate for localhost in tests/fixtures/tls, valid from 2000
//! to 2126). The CA roots are read when the first certificate is checked
//! (src/tls.rs); these tests check that such a check still happens, with
//! the roots the platform names (`SSL_CERT_FILE` here) and only those.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::http::{Response, TestServer};
use crate::common::news::{now_rfc2822, rss};
use crate::common::{poll_json, run_with_env};

/// Serves `body` as an RSS feed over TLS to at most `connections` clients.
fn tls_server(body: String, connections: usize) -> SocketAddr {
    let config = common::tls_server_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().take(connections) {
            let Ok(tcp) = tcp else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // The handshake runs inside the first read; a client that
            // refuses the certificate ends it there.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            if !head.starts_with(b"GET ") {
                continue;
            }
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    addr
}

fn config(dir: &Path, addr: SocketAddr) -> PathBuf {
    let path = dir.join("storywatch.toml");
    std::fs::write(
        &path,
        format!(
            "[poll]\ntimeout = \"10s\"\n\n[[feed]]\nname = \"secure\"\nurl = \"https://localhost:{}/rss\"\n",
            addr.port()
        ),
    )
    .unwrap();
    path
}

fn two_items() -> String {
    let now = now_rfc2822();
    rss(&[
        common::news::item("t1", "Bus timetables", "The council met about buses.", &now),
        common::news::item("t2", "Library hours", "The library opens later.", &now),
    ])
}

#[test]
fn an_https_feed_is_read_with_the_roots_the_system_names() {
    let addr = tls_server(two_items(), 1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), addr);
    let ca = common::tls_fixture("ca.pem");
    let out = run_with_env(
        &cfg,
        &["poll", "--json"],
        &[
            ("SSL_CERT_FILE", Some(ca.as_os_str())),
            ("SSL_CERT_DIR", None),
        ],
    );
    let summary = poll_json(&out);
    assert_eq!(summary["fetched"], 1, "{summary}");
    assert_eq!(summary["items_new"], 2, "{summary}");
}

#[test]
fn an_https_feed_whose_certificate_no_root_signs_fails_naming_the_certificate() {
    let addr = tls_server(two_items(), 1);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), addr);
    // The system's own roots (or none at all): neither signs the test CA.
    let out = run_with_env(
        &cfg,
        &["poll", "--json"],
        &[("SSL_CERT_FILE", None), ("SSL_CERT_DIR", None)],
    );
    let summary = poll_json(&out);
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["items_new"], 0, "{summary}");
    let error = summary["errors"][0]["error"].as_str().unwrap_or_default();
    // UnknownIssuer, or on a machine without any CA bundle, no roots at all.
    assert!(
        error.contains("UnknownIssuer") || error.contains("No CA certificates"),
        "{error}"
    );
}

/// Without any CA bundle (a minimal container), plain-HTTP feeds are still
/// polled: the roots are only wanted for an HTTPS certificate, and an HTTPS
/// feed fails saying that none were found.
#[test]
fn plain_http_feeds_need_no_ca_bundle() {
    let body = two_items();
    let tls = tls_server(body.clone(), 1);
    let server = TestServer::start(move |_| {
        Response::new(200, body.as_str()).header("Content-Type", "application/rss+xml")
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("storywatch.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[feed]]\nname = \"plain\"\nurl = \"{}\"\n\n[[feed]]\nname = \"secure\"\nurl = \"https://localhost:{}/rss\"\n",
            server.url("/rss"),
            tls.port()
        ),
    )
    .unwrap();
    let missing = dir.path().join("no-such-bundle.pem");
    let out = run_with_env(
        &cfg,
        &["poll", "--json"],
        &[
            ("SSL_CERT_FILE", Some(missing.as_os_str())),
            ("SSL_CERT_DIR", Some(missing.as_os_str())),
        ],
    );
    let summary = poll_json(&out);
    assert_eq!(summary["fetched"], 1, "{summary}");
    assert_eq!(summary["items_new"], 2, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["errors"][0]["feed"], "secure", "{summary}");
    let error = summary["errors"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("No CA certificates"), "{error}");
}
