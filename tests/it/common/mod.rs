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
