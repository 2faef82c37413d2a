//! Helpers shared by the integration tests: the ../shared material, a
//! loopback HTTP server, and running the real binary.
#![allow(dead_code)]

pub mod faults;
pub mod http;
pub mod news;
pub mod proc;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared` beside the checkout. Missing: tests skip with a message,
/// except under CI=true, where it is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing; CI=true requires it", dir.display());
    }
    eprintln!("skipping: {} not found", dir.display());
    None
}

pub fn fixture_feeds() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("fixtures/feeds"))
}

/// A temporary folder with the test story's reference article
/// (`reference.txt`) and a config (`storywatch.toml`) beside it.
pub struct StoryDir {
    _dir: tempfile::TempDir,
    pub dir: PathBuf,
    pub cfg: PathBuf,
}

/// A [`StoryDir`] whose config is `config`.
pub fn story_dir(config: &str) -> StoryDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    std::fs::write(path.join("reference.txt"), news::REFERENCE).unwrap();
    let cfg = path.join("storywatch.toml");
    std::fs::write(&cfg, config).unwrap();
    StoryDir {
        _dir: dir,
        dir: path,
        cfg,
    }
}

/// The built `storywatch` binary.
pub fn storywatch() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_storywatch"));
    cmd.env_remove("STORYWATCH_CONFIG").env_remove("RUST_LOG");
    cmd
}

/// Runs storywatch with `--config config` and `args`; returns the output.
pub fn run(config: &Path, args: &[&str]) -> Output {
    run_with_env(config, args, &[])
}

/// As [`run`], with these variables set (`Some`) or removed (`None`).
pub fn run_with_env(
    config: &Path,
    args: &[&str],
    env: &[(&str, Option<&std::ffi::OsStr>)],
) -> Output {
    let mut cmd = storywatch();
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("storywatch runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses the single JSON object `poll --json` prints.
pub fn poll_json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "poll failed: {}\n{}",
        stdout(o),
        stderr(o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(o)))
}

/// The Standard Webhooks key the tests' webhook sinks sign with.
pub const WEBHOOK_SECRET: &str = "whsec_c3Rvcnl3YXRjaC10ZXN0LXNlY3JldC1rZXk=";

/// Polls `ok` until it holds; fails the test after `limit`.
pub fn wait_until(what: &str, limit: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// The ids of every alert in the config's database (`alerts list --json`).
pub fn alert_ids(config: &Path) -> std::collections::BTreeSet<String> {
    let out = run(config, &["alerts", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A file of the test CA and its localhost certificate (tests/fixtures/tls,
/// valid from 2000 to 2126).
pub fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A rustls server configuration with the localhost certificate.
pub fn tls_server_config() -> std::sync::Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(tls_fixture("localhost.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("localhost.key")).unwrap();
    std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    )
}
