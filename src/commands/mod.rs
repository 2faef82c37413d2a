//! The inspection and tuning commands: `story`, `explain`, `alerts list`,
//! `rescore`. Each returns its output as text so the CLI stays wiring.

use crate::config::Config;
use crate::feeds::fetch::{Fetched, Fetcher, Validators};
use crate::matching::CorpusStats;
use crate::store::{Store, StoreError};
use crate::stories::StoryError;

mod alerts;
mod check;
mod explain;
mod items;
mod report;
mod review;
mod story;

pub use alerts::alerts_list;
pub use check::{backup, check_config, db_check};
pub use explain::{explain, extract, render_explanation};
pub use items::{items, ItemQuery};
pub use report::report;
pub use review::{clusters, feedback, rescore};
pub use story::{story_add, story_list, story_remove, story_show};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Story(#[from] StoryError),
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Backup(String),
}

impl CommandError {
    /// Unknown names are usage errors (exit 2); the rest are runtime failures.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CommandError::NotFound(_)
                | CommandError::Usage(_)
                | CommandError::Story(StoryError::Unknown(_))
        )
    }

    /// See [`StoreError::database_unusable`] (exit 3).
    pub fn database_unusable(&self) -> bool {
        match self {
            CommandError::Store(e) => e.database_unusable(),
            CommandError::Story(e) => e.database_unusable(),
            _ => false,
        }
    }
}

/// A page fetched with the feeds' limits: bytes, Content-Type, final URL.
pub(super) struct Page {
    pub(super) bytes: Vec<u8>,
    pub(super) content_type: Option<String>,
    pub(super) url: url::Url,
}

pub(super) async fn fetch_page(config: &Config, url: &str) -> Result<Page, CommandError> {
    let failed = |reason: String| CommandError::Fetch {
        url: url.to_string(),
        reason,
    };
    let parsed = url::Url::parse(url).map_err(|e| failed(e.to_string()))?;
    let fetcher = Fetcher::for_url(&config.poll, &parsed).map_err(|e| failed(e.to_string()))?;
    match fetcher.fetch(&parsed, &Validators::default()).await {
        Ok(Fetched::Body(b)) => Ok(Page {
            bytes: b.bytes,
            content_type: b.content_type,
            url: b.final_url,
        }),
        Ok(Fetched::NotModified { .. }) => Err(failed("not modified".into())),
        Err(e) => Err(failed(e.to_string())),
    }
}

pub(super) async fn fetch_text(config: &Config, url: &str) -> Result<String, CommandError> {
    let page = fetch_page(config, url).await?;
    let charset = page
        .content_type
        .as_deref()
        .and_then(crate::feeds::charset::charset_from_content_type);
    Ok(crate::feeds::charset::decode(&page.bytes, charset)
        .text
        .into_owned())
}

/// Document frequencies read from the store, as the poll saw them.
pub(super) struct StoreCorpus<'a>(&'a Store);

impl CorpusStats for StoreCorpus<'_> {
    fn n_docs(&self) -> u64 {
        self.0.n_docs().unwrap_or(0)
    }
    fn df(&self, term: &str) -> u64 {
        self.0.df(term).unwrap_or(0)
    }
}

/// A `--story` that names no story is a usage error that lists the stories
/// there are: configured, added with `story add`, or with alerts stored.
pub(super) fn check_story(config: &Config, store: &Store, story: &str) -> Result<(), CommandError> {
    let mut known: Vec<String> = config.stories.iter().map(|s| s.id.clone()).collect();
    for id in store
        .stored_story_ids()?
        .into_iter()
        .chain(store.alert_stories()?)
    {
        if !known.contains(&id) {
            known.push(id);
        }
    }
    if known.iter().any(|k| k == story) {
        return Ok(());
    }
    Err(CommandError::Usage(format!(
        "--story {story:?}: no such story; the stories are {}",
        if known.is_empty() {
            "none yet".to_string()
        } else {
            known.join(", ")
        }
    )))
}
