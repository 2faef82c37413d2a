//! `rescore`, `feedback` and `clusters`: tuning a story against what was stored.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::pipeline::match_item;
use crate::poll::match_context;
use crate::store::Store;
use crate::stories::{self, StoryError};

use super::{CommandError, StoreCorpus};

/// `rescore`: re-runs matching over stored items with the current config and
/// shows what changed; with `apply`, stores the new results and queues the
/// alerts (regardless of `[alerts] max_age`: raising them is the point).
pub fn rescore(
    config: &Config,
    story: Option<&str>,
    since: Duration,
    apply: bool,
) -> Result<String, CommandError> {
    let mut store = Store::open(&config.storage.path)?;
    let mut ctx = match_context(&mut store, config, apply)?;
    if let Some(id) = story {
        if !ctx.stories().iter().any(|s| s.id == id) {
            return Err(CommandError::Story(StoryError::Unknown(id.to_string())));
        }
        ctx.stories_mut().retain(|s| s.id == id);
    }
    ctx.alert_max_age = Duration::from_secs(u32::MAX as u64);
    let now = Utc::now().timestamp();
    let items = store.items_since(now - since.as_secs() as i64)?;
    let mut out = String::new();
    let (mut gained, mut lost) = (0, 0);
    for item in &items {
        let before: Vec<(String, bool)> = store
            .matches_of(item.id)?
            .into_iter()
            .map(|(s, _, m, _)| (s, m))
            .collect();
        for s in ctx.stories() {
            let ex = s.matcher.explain(
                &item.title,
                &item.text,
                item.published_at,
                &StoreCorpus(&store),
            );
            let was = before.iter().any(|(id, m)| id == &s.id && *m);
            if ex.is_match() && !was {
                gained += 1;
                let _ = writeln!(
                    out,
                    "  + {:<16} {:.2}  item {}  {}",
                    s.id, ex.score, item.id, item.title
                );
            } else if !ex.is_match() && was {
                lost += 1;
                let _ = writeln!(
                    out,
                    "  - {:<16} {:.2}  item {}  {}",
                    s.id, ex.score, item.id, item.title
                );
            }
        }
    }
    // The dry run is the same transaction rolled back, so it lists exactly
    // the alerts --apply queues.
    let raised = store.write(apply, |tx| {
        let mut raised = Vec::new();
        for item in &items {
            raised.extend(match_item(tx, &ctx, item, false, now)?.raised);
        }
        Ok(raised)
    })?;
    for r in &raised {
        let _ = writeln!(
            out,
            "  {} {:<10} {:<16} {}  {}",
            if apply { "queued" } else { "would queue" },
            r.kind,
            r.story,
            r.score.map_or("    ".to_string(), |s| format!("{s:.2}")),
            r.title
        );
    }
    let head = format!(
        "{} stored item(s) rescored: {gained} would alert now that did not, {lost} no longer would{}\n",
        items.len(),
        if apply {
            format!("; applied, {} alert(s) queued", raised.len())
        } else {
            format!(
                "; {} alert(s) would be queued (dry run; --apply to queue)",
                raised.len()
            )
        }
    );
    Ok(head + &out)
}

/// `feedback ALERT_OR_ITEM relevant|irrelevant [--story ID]`: what a user
/// says of an item for a story. The story is the alert's, the one given, or
/// the only story the item matched; the story model reads it at the next
/// load (`rescore` shows the effect).
pub fn feedback(
    config: &Config,
    key: &str,
    relevant: bool,
    story: Option<&str>,
) -> Result<String, CommandError> {
    let mut store = Store::open(&config.storage.path)?;
    let known: Vec<String> = stories::read_stories(&store, config)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let (alert_story, items) = match store.alert_subject(key)? {
        Some((s, item)) => {
            let item = item.and_then(|id| store.find_items(&id.to_string()).ok()?.pop());
            (Some(s), item.into_iter().collect())
        }
        None => (None, store.find_items(key)?),
    };
    let [item] = items.as_slice() else {
        return Err(CommandError::NotFound(if items.is_empty() {
            format!("no alert or stored item {key:?} (give an alert id, item id or URL)")
        } else {
            format!("{key:?} is {} stored items: give an item id", items.len())
        }));
    };
    let story = match (story, alert_story) {
        (Some(s), _) => s.to_string(),
        (None, Some(s)) => s,
        (None, None) => {
            let matched: Vec<String> = store
                .matches_of(item.id)?
                .into_iter()
                .filter(|(_, _, m, _)| *m)
                .map(|(s, ..)| s)
                .collect();
            match matched.as_slice() {
                [one] => one.clone(),
                _ => {
                    return Err(CommandError::NotFound(format!(
                        "item {} matched {} stories: give --story (one of {})",
                        item.id,
                        matched.len(),
                        known.join(", ")
                    )))
                }
            }
        }
    };
    if !known.contains(&story) {
        return Err(CommandError::NotFound(format!(
            "no story {story:?} (stories: {})",
            known.join(", ")
        )));
    }
    let now = Utc::now().timestamp();
    store.write(true, |tx| tx.set_feedback(&story, item, relevant, now))?;
    Ok(format!(
        "item {} marked {} for story {story}; `storywatch rescore --story {story}` shows the effect\n",
        item.id,
        if relevant { "relevant" } else { "irrelevant" }
    ))
}

/// `clusters [--story ID]`: recent clusters of copies, with their members and sources.
pub fn clusters(
    config: &Config,
    story: Option<&str>,
    limit: usize,
) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    let clusters = store.clusters(story, limit)?;
    let mut out = format!(
        "{} cluster{} with copies\n",
        clusters.len(),
        if clusters.len() == 1 { "" } else { "s" }
    );
    for (id, members) in &clusters {
        let _ = writeln!(out, "c{id}  {} items", members.len());
        for m in members {
            let _ = writeln!(
                out,
                "  item {:<6} {:<20} {}  {}",
                m.id,
                m.feed,
                m.title,
                m.canonical_url
                    .as_deref()
                    .or(m.link.as_deref())
                    .unwrap_or("")
            );
        }
    }
    Ok(out)
}
