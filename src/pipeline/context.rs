//! What matching needs beside the item: the stories, built lazily, and the
//! alert policy.

use std::sync::{Arc, OnceLock};

use super::{FeedError, Slots};
use crate::config::SinkConfig;
use crate::neardup::Fingerprint;
use crate::stories::{Story, StorySource};

/// What matching needs beside the item: the stories and the alert policy.
pub struct MatchContext {
    /// The stories as read (files and store rows, checked). Their watchlists
    /// and matchers are built by the first item that needs them: a poll that
    /// finds nothing new never does, and building them was a fifth of the
    /// instructions of such a poll over 1,000 feeds.
    sources: Vec<StorySource>,
    built: OnceLock<Stories>,
    /// Items published longer ago than this raise no alert.
    pub alert_max_age: std::time::Duration,
    /// Shingle containment at or above which two items are copies.
    pub near_threshold: f64,
    /// How far back copies are looked for.
    pub dedup_window: std::time::Duration,
    /// Where alerts go: each new alert is queued for the sinks that take it.
    pub sinks: Vec<SinkConfig>,
    /// What each story already said, for the novelty of its next alerts.
    pub said: crate::alerts::raise::StoriesSaid,
}

/// The stories built from their sources, and what is derived from them.
struct Stories {
    list: Vec<Story>,
    /// Terms whose document frequency the store keeps (the stories' vocabulary).
    vocabulary: rustc_hash::FxHashSet<String>,
    /// Fingerprints of the stories' reference articles: copies of them are
    /// the story itself, not follow-ups.
    reference_prints: Vec<(String, Fingerprint)>,
}

impl MatchContext {
    pub fn new(
        sources: Vec<StorySource>,
        alert_max_age: std::time::Duration,
        near_threshold: f64,
        dedup_window: std::time::Duration,
        sinks: Vec<SinkConfig>,
    ) -> MatchContext {
        MatchContext {
            sources,
            built: OnceLock::new(),
            alert_max_age,
            near_threshold,
            dedup_window,
            sinks,
            said: Default::default(),
        }
    }

    /// Whether any story is configured or stored (known without building them).
    pub fn has_stories(&self) -> bool {
        !self.sources.is_empty()
    }

    pub fn stories(&self) -> &[Story] {
        &self.built().list
    }

    pub fn vocabulary(&self) -> &rustc_hash::FxHashSet<String> {
        &self.built().vocabulary
    }

    pub fn reference_prints(&self) -> &[(String, Fingerprint)] {
        &self.built().reference_prints
    }

    /// The stories, for a command that narrows or adjusts them.
    pub fn stories_mut(&mut self) -> &mut Vec<Story> {
        self.built();
        &mut self.built.get_mut().expect("built just now").list
    }

    /// Builds the stories on the blocking pool unless that is done: called
    /// before async code that needs them, so no async worker builds them.
    pub async fn ready(self: &Arc<Self>, slots: &Slots) -> Result<(), FeedError> {
        if self.built.get().is_none() {
            let ctx = self.clone();
            slots
                .on_cpu(move || {
                    ctx.built();
                })
                .await?;
        }
        Ok(())
    }

    fn built(&self) -> &Stories {
        self.built.get_or_init(|| {
            let list: Vec<Story> = self.sources.iter().map(StorySource::build).collect();
            let reference_prints = list
                .iter()
                .flat_map(|s| {
                    s.articles.iter().filter_map(|a| {
                        crate::neardup::fingerprint(&a.title, &a.text).map(|f| (s.id.clone(), f))
                    })
                })
                .collect();
            Stories {
                vocabulary: crate::stories::vocabulary(&list),
                list,
                reference_prints,
            }
        })
    }
}
