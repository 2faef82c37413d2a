//! `extract` and `explain`: what storywatch reads from a page, and why an
//! item matches a story or not.

use std::fmt::Write as _;

use chrono::Utc;

use crate::alerts::raise;
use crate::config::Config;
use crate::matching::novelty::{novelty, Novelty};
use crate::matching::Explanation;
use crate::pipeline::MatchContext;
use crate::poll::match_context;
use crate::store::{Store, StoredItem};
use crate::stories::article_from_text;

use super::{fetch_page, fetch_text, CommandError, StoreCorpus};

/// `extract PATH|URL`: what storywatch reads from a news page.
pub async fn extract(config: &Config, source: &str, json: bool) -> Result<String, CommandError> {
    let article = if source.starts_with("http://") || source.starts_with("https://") {
        let page = fetch_page(config, source).await?;
        crate::article::extract(&page.bytes, page.content_type.as_deref(), Some(&page.url))
    } else {
        let bytes = std::fs::read(source).map_err(|e| CommandError::Read {
            path: source.to_string(),
            source: e,
        })?;
        let url = std::fs::canonicalize(source)
            .ok()
            .and_then(|p| url::Url::from_file_path(p).ok());
        let mut a = crate::article::extract(&bytes, None, url.as_ref());
        // A saved page's own address is not a canonical URL.
        if a.canonical_url
            .as_deref()
            .is_some_and(|c| c.starts_with("file:"))
        {
            a.canonical_url = None;
        }
        a
    };
    if json {
        let v =
            serde_json::to_string(&article).map_err(|e| CommandError::NotFound(e.to_string()))?;
        return Ok(format!("{v}\n"));
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut out = String::new();
    let _ = writeln!(out, "title:      {}", opt(&article.title));
    let _ = writeln!(out, "canonical:  {}", opt(&article.canonical_url));
    let _ = writeln!(
        out,
        "published:  {}",
        article.published.map_or("-".into(), |t| t.to_rfc3339())
    );
    let authors = if article.authors.is_empty() {
        "-".to_string()
    } else {
        article.authors.join(", ")
    };
    let _ = writeln!(out, "authors:    {authors}");
    let _ = writeln!(out, "site:       {}", opt(&article.site_name));
    let _ = writeln!(out, "language:   {}", opt(&article.language));
    let _ = writeln!(
        out,
        "text:       {} words, {} paragraphs, by {:?} ({})",
        article.text.split_whitespace().count(),
        article
            .text
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .count(),
        article.method,
        article.encoding
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", article.text);
    Ok(out)
}

/// `explain ITEM|URL`: why a stored item (by id, link or canonical URL)
/// matched or not; a URL not in the store is fetched and scored live.
pub async fn explain(config: &Config, key: &str, json: bool) -> Result<String, CommandError> {
    let mut store = Store::open_existing(&config.storage.path)?;
    let ctx = match_context(&mut store, config, false)?;
    let items = store.find_items(key)?;
    let mut out = String::new();
    if items.is_empty() {
        if !(key.starts_with("http://") || key.starts_with("https://")) {
            return Err(CommandError::NotFound(format!(
                "no stored item {key:?} (give an item id or URL)"
            )));
        }
        let raw = fetch_text(config, key).await?;
        let (title, text) = article_from_text(&raw);
        let item = StoredItem {
            id: 0,
            feed: String::new(),
            guid: key.to_string(),
            link: Some(key.to_string()),
            canonical_url: crate::canonical::canonicalize_str(key, None),
            title,
            text,
            published_at: None,
            first_seen_at: Utc::now().timestamp(),
            cluster_id: 0,
        };
        render_explanations(&mut out, &store, &ctx, &item, json)?;
        return Ok(out);
    }
    for item in &items {
        render_explanations(&mut out, &store, &ctx, item, json)?;
    }
    Ok(out)
}

fn render_explanations(
    out: &mut String,
    store: &Store,
    ctx: &MatchContext,
    item: &StoredItem,
    json: bool,
) -> Result<(), CommandError> {
    let explanations = live_explanations(store, ctx, item)?;
    if json {
        let v = serde_json::json!({
            "item": crate::alerts::raise::alert_item(item),
            "stories": explanations.iter().map(|(s, e, n)| serde_json::json!({"story": s, "explanation": e, "novelty": n})).collect::<Vec<_>>(),
        });
        let _ = writeln!(out, "{v}");
        return Ok(());
    }
    let published = item
        .published_at
        .map(|p| format!(", published {}", crate::alerts::payload::rfc3339(p)))
        .unwrap_or_default();
    if item.id == 0 {
        let _ = writeln!(out, "fetched, not stored: {:?}", item.title);
    } else {
        let _ = writeln!(
            out,
            "item {}: {:?} ({}{published})",
            item.id, item.title, item.feed
        );
    }
    if let Some(l) = &item.link {
        let _ = writeln!(out, "  {l}");
    }
    for (story, ex, novelty) in &explanations {
        out.push_str(&render_explanation(story, ex));
        if let Some(n) = novelty {
            let _ = writeln!(out, "    {}", crate::terminal::plain(&n.line()));
            for s in &n.sentences {
                let _ = writeln!(out, "    + {}", crate::terminal::plain(s));
            }
        }
    }
    Ok(())
}

/// Explanations against every story with the current config, and for the
/// stories it follows up, what the item adds to them.
fn live_explanations(
    store: &Store,
    ctx: &MatchContext,
    item: &StoredItem,
) -> Result<Vec<(String, Explanation, Option<Novelty>)>, CommandError> {
    let corpus = StoreCorpus(store);
    let mut out = Vec::new();
    for s in ctx.stories() {
        let ex = s
            .matcher
            .explain(&item.title, &item.text, item.published_at, &corpus);
        let novelty = if ex.is_match() {
            let earlier = store.alerted_texts(&s.id, item.id, raise::PRIOR_ALERTS)?;
            Some(novelty(
                &item.title,
                &item.text,
                &raise::said_by(s, &earlier),
            ))
        } else {
            None
        };
        out.push((s.id.clone(), ex, novelty));
    }
    Ok(out)
}

pub fn render_explanation(story: &str, ex: &Explanation) -> String {
    let mut out = String::new();
    let verdict = if ex.excluded_by.is_some() {
        format!("excluded by {:?}", ex.excluded_by.as_deref().unwrap_or(""))
    } else if ex.is_match() {
        "follow-up".to_string()
    } else {
        "not a follow-up".to_string()
    };
    let _ = writeln!(
        out,
        "  story {story}: score {:.2} {} threshold {:.2} → {verdict}",
        ex.score,
        if ex.is_match() { "≥" } else { "<" },
        ex.threshold
    );
    let ents: Vec<String> = ex
        .entities
        .iter()
        .map(|e| {
            format!(
                "{} ({}) ×{}{}",
                e.name,
                e.kind.as_str(),
                e.count,
                if e.in_title { " [title]" } else { "" }
            )
        })
        .collect();
    let evs: Vec<String> = ex
        .events
        .iter()
        .map(|e| format!("{} ×{}", e.name, e.count))
        .collect();
    let _ = writeln!(
        out,
        "    entities: {}",
        if ents.is_empty() {
            "none".into()
        } else {
            ents.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "    events:   {}",
        if evs.is_empty() {
            "none".into()
        } else {
            evs.join(", ")
        }
    );
    if !ex.concepts.is_empty() {
        let _ = writeln!(out, "    concepts: {}", ex.concepts.join(", "));
    }
    let c = &ex.components;
    let _ = writeln!(
        out,
        "    components: names {:.2}, rarest name {:.2}, similarity {:.2}, focus {:.2}, events {:.2}, time {:.2}, like a rejected item {:.2}, gate {:.1}",
        c.entities, c.specificity, c.similarity, c.focus, c.events, c.time, c.rejected, c.gate
    );
    for s in &ex.snippets {
        let _ = writeln!(out, "    > {s}");
    }
    out
}
