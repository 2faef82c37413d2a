//! What `poll` and `run` need before they start, checked without the
//! network: every story's article files, every sink's URL and signing key
//! (from the environment, files or systemd credentials), and the database's
//! schema. `check-config` reports it, and a reload refuses a config that
//! fails it, so a service never swaps a working config for one that cannot
//! start.

use crate::alerts::sink::Sink;
use crate::config::Config;
use crate::store::{Store, SCHEMA_VERSION};
use crate::stories;

/// What the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Each would stop `poll` or `run` at start.
    pub problems: Vec<String>,
    /// Worth knowing, but nothing fails.
    pub notes: Vec<String>,
}

impl Findings {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs every check; reads files and the environment, writes nothing.
pub fn check(config: &Config) -> Findings {
    let mut f = Findings::default();
    for story in &config.stories {
        for path in &story.articles {
            if let Err(e) = stories::read_article(&story.id, path) {
                f.problems.push(e.to_string());
            }
        }
    }
    for sink in &config.sinks {
        if let Err(e) = Sink::resolve(sink) {
            f.problems.push(e.to_string());
        }
    }
    match Store::probe(&config.storage.path) {
        Ok(None) => f.notes.push(format!(
            "database {} does not exist yet; the first poll creates it",
            config.storage.path.display()
        )),
        Ok(Some(v)) if v < SCHEMA_VERSION => f.notes.push(format!(
            "database {} has schema version {v}; the first poll upgrades it to {SCHEMA_VERSION}",
            config.storage.path.display()
        )),
        Ok(Some(_)) => {}
        Err(e) => f.problems.push(e.to_string()),
    }
    for pattern in &config.unmatched_includes {
        f.notes.push(format!("include {pattern:?} matches no file"));
    }
    if config.feeds.is_empty() {
        f.notes.push("no feeds are configured".into());
    }
    f
}
