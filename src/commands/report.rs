//! `report --story ID`: the story's page as one self-contained HTML file.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::store::Store;
use crate::stories;

use super::{check_story, CommandError};

/// Writes the page of `story` for the alerts raised within `since` to `out`
/// (through a temporary file beside it, so a reader never sees half a page),
/// or returns it when `out` is `None`.
pub fn report(
    config: &Config,
    story: &str,
    since: Duration,
    out: Option<&Path>,
) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    check_story(config, &store, story)?;
    let loaded = stories::load_story(&store, config.story(story), story)?;
    let now = Utc::now().timestamp();
    let since = now - i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let report = crate::report::gather(&store, &loaded, since, now)?;
    let html = crate::report::render(&report);
    let Some(path) = out else {
        return Ok(html);
    };
    let failed = |source| CommandError::Read {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, &html).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)?;
    Ok(format!(
        "wrote {} ({} follow-up(s), {} near miss(es))\n",
        path.display(),
        report.followups.len(),
        report.near_misses.len()
    ))
}
