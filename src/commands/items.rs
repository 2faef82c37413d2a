//! `items`: the stored items, newest first, found by text, feed or story, so
//! that a user can see what storywatch read and pick one to `explain`.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::matching::text::fold;
use crate::store::{ItemFilter, Store, StoredItem};

use super::{check_story, CommandError};

/// What `items` lists.
#[derive(Debug, Clone)]
pub struct ItemQuery {
    /// Words the title or text must contain, compared as the matcher
    /// compares them: case, accents and punctuation ignored.
    pub search: Option<String>,
    pub feed: Option<String>,
    pub story: Option<String>,
    /// Items first seen within this long ago.
    pub since: Duration,
    pub limit: usize,
}

/// `items [--search TEXT] [--feed NAME] [--story ID]`: one line per item
/// (id, first seen, feed, score when a story is given, title, link), or one
/// JSON object per item with `--json`.
pub fn items(config: &Config, q: &ItemQuery, json: bool) -> Result<String, CommandError> {
    if q.limit == 0 {
        return Err(CommandError::Usage("--limit must be at least 1".into()));
    }
    let store = Store::open_existing(&config.storage.path)?;
    if let Some(story) = &q.story {
        check_story(config, &store, story)?;
    }
    if let Some(feed) = &q.feed {
        if config.feed(feed).is_none() {
            let names: Vec<&str> = config.feeds.iter().map(|f| f.name.as_str()).collect();
            return Err(CommandError::Usage(format!(
                "--feed {feed:?}: no such feed; the feeds are {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
    }
    let since = Utc::now().timestamp() - i64::try_from(q.since.as_secs()).unwrap_or(i64::MAX);
    let filter = ItemFilter {
        feed: q.feed.as_deref(),
        story: q.story.as_deref(),
        since,
    };
    let needle = q
        .search
        .as_deref()
        .map(|s| searchable(s).trim().to_string());
    let mut found: Vec<(StoredItem, Option<f64>)> = Vec::new();
    store.each_item(&filter, |item, score| {
        let wanted = needle.as_deref().is_none_or(|n| {
            searchable(&item.title).contains(n) || searchable(&item.text).contains(n)
        });
        if wanted {
            found.push((item, score));
        }
        found.len() < q.limit
    })?;
    let mut out = String::new();
    if json {
        for (item, score) in &found {
            let v = serde_json::json!({
                "id": item.id,
                "feed": item.feed,
                "title": item.title,
                "link": item.link,
                "published_at": item.published_at.map(crate::alerts::payload::rfc3339),
                "first_seen_at": crate::alerts::payload::rfc3339(item.first_seen_at),
                "cluster_id": item.cluster_id,
                "score": score,
            });
            let _ = writeln!(out, "{v}");
        }
        return Ok(out);
    }
    let _ = writeln!(
        out,
        "{} item{}{}",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        if found.len() == q.limit {
            format!(" (the newest {}; --limit shows more)", q.limit)
        } else {
            String::new()
        }
    );
    for (item, score) in &found {
        let score = score.map(|s| format!("  {s:.2}")).unwrap_or_default();
        let title = crate::terminal::plain(&item.title);
        let _ = writeln!(
            out,
            "{:>7}  {}  {}{score}  {}",
            item.id,
            crate::alerts::payload::rfc3339(item.first_seen_at),
            item.feed,
            title
        );
        if let Some(link) = &item.link {
            let _ = writeln!(out, "         {}", crate::terminal::plain(link));
        }
    }
    Ok(out)
}

/// Text folded as the matcher folds it, without its marks on all-capital
/// words: "PRISONER SWAP" in a search finds "prisoner swap".
fn searchable(s: &str) -> String {
    fold(s).replace(" _", " ")
}
