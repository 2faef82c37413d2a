//! `story show`, `story list`, `story add`: the stories storywatch watches.

use std::fmt::Write as _;

use chrono::Utc;

use crate::config::Config;
use crate::store::Store;
use crate::stories::{self, article_from_text};

use super::{fetch_text, CommandError};

/// `story show ID`: the derived watchlist.
pub fn story_show(config: &Config, id: &str) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    let story = stories::load_story(&store, config.story(id), id)?;
    let mut out = format!(
        "story {} (threshold {:.2}, {} reference article{})\n",
        story.id,
        story.threshold,
        story.articles.len(),
        if story.articles.len() == 1 { "" } else { "s" }
    );
    for a in &story.articles {
        let _ = writeln!(out, "  article: {} ({})", a.title, a.source);
    }
    out.push_str(&crate::matching::watchlist::render(&story.watchlist));
    let learned = store.emerged_sources(id)?;
    if !learned.is_empty() {
        let names = store.emerged_entities(id)?;
        let weights = stories::emerged_weights(&names);
        out.push_str("learned from follow-ups:\n");
        for (name, items) in &learned {
            let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            let state = match weights.iter().find(|(n, _)| n.name == *name) {
                Some((_, w)) => format!("weight {w:.2}"),
                None => "no longer matched (the story moved on)".to_string(),
            };
            let _ = writeln!(out, "  {name}  {state}  (items {})", items.join(", "));
        }
    }
    let judged = store.feedback(id)?;
    if !judged.is_empty() {
        out.push_str("feedback:\n");
        for f in &judged {
            let _ = writeln!(
                out,
                "  item {} {}  {}",
                f.item_id,
                if f.relevant {
                    "relevant  "
                } else {
                    "irrelevant"
                },
                f.title
            );
        }
    }
    Ok(out)
}

/// `story list`: every story with its article count.
pub fn story_list(config: &Config) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    let mut out = String::new();
    for s in stories::load_stories(&store, config)? {
        let _ = writeln!(
            out,
            "{}  threshold {:.2}  {} article(s)  {} entities  {} terms",
            s.id,
            s.threshold,
            s.articles.len(),
            s.watchlist.entities.len(),
            s.watchlist.terms.len()
        );
    }
    Ok(out)
}

/// `story add --id ID PATH|URL`: stores another reference article.
pub async fn story_add(config: &Config, id: &str, source: &str) -> Result<String, CommandError> {
    if !crate::config::is_story_id(id) {
        return Err(CommandError::Usage(format!(
            "--id {id:?}: {}",
            crate::config::STORY_ID_RULE
        )));
    }
    let raw = if source.starts_with("http://") || source.starts_with("https://") {
        fetch_text(config, source).await?
    } else {
        let bytes = std::fs::read(source).map_err(|e| CommandError::Read {
            path: source.to_string(),
            source: e,
        })?;
        crate::feeds::charset::decode(&bytes, None)
            .text
            .into_owned()
    };
    let (title, text) = article_from_text(&raw);
    if title.is_empty() && text.is_empty() {
        return Err(CommandError::NotFound(format!("{source} has no text")));
    }
    if !stories::has_names(&title, &text) {
        return Err(CommandError::NotFound(format!(
            "{source} names no person, place or organisation to watch for"
        )));
    }
    let mut store = Store::open(&config.storage.path)?;
    let source_key = if source.contains("://") {
        source.to_string()
    } else {
        std::fs::canonicalize(source)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| source.to_string())
    };
    let now = Utc::now().timestamp();
    let changed = store.write(true, |tx| {
        tx.upsert_story_article(id, &source_key, &title, &text, now)
    })?;
    let story = stories::load_story(&store, config.story(id), id)?;
    let mut out = format!(
        "{} article {:?} for story {} ({} entities, {} terms now)\n",
        if changed { "stored" } else { "unchanged:" },
        title,
        id,
        story.watchlist.entities.len(),
        story.watchlist.terms.len()
    );
    out.push_str(&where_it_lives(config, id));
    Ok(out)
}

/// Where a story is kept, so that a user knows what to edit or remove.
fn where_it_lives(config: &Config, id: &str) -> String {
    let db = config.storage.path.display();
    if config.story(id).is_some() {
        format!(
            "story {id} is configured in {} ([[story]] id = {id:?}); the article added here is kept in {db}\n",
            config.path.display()
        )
    } else {
        format!("story {id} lives in {db} only; `storywatch story remove {id}` removes it\n")
    }
}

/// `story remove ID`: forgets a story kept in the database. A story of the
/// config file is the file's to remove: the next start would mirror it back.
pub fn story_remove(config: &Config, id: &str) -> Result<String, CommandError> {
    if config.story(id).is_some() {
        return Err(CommandError::Usage(format!(
            "story {id} is configured in {}: delete its [[story]] table there (and reload)",
            config.path.display()
        )));
    }
    let mut store = Store::open_existing(&config.storage.path)?;
    if !store.stored_story_ids()?.iter().any(|s| s == id) {
        let known = stories::read_stories(&store, config)?
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>();
        return Err(CommandError::NotFound(if known.is_empty() {
            format!("no story {id}: there are no stories")
        } else {
            format!("no story {id}; stories: {}", known.join(", "))
        }));
    }
    let removed = store.write(true, |tx| tx.remove_story(id))?;
    Ok(format!(
        "removed story {id}: {} article(s), {} learned name(s), {} feedback row(s); its alerts and matches stay in {}\n",
        removed.articles,
        removed.learned_names,
        removed.feedback,
        config.storage.path.display()
    ))
}
