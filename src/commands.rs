//! The inspection and tuning commands: `story`, `explain`, `alerts list`,
//! `rescore`. Each returns its output as text so the CLI stays wiring.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::Utc;

use crate::alerts::{AlertKind, AlertPayload};
use crate::config::Config;
use crate::feeds::fetch::{Fetched, Fetcher, Validators};
use crate::matching::{CorpusStats, Explanation};
use crate::pipeline::{match_item, MatchContext};
use crate::poll::match_context;
use crate::store::{AlertFilter, Store, StoreError, StoredItem};
use crate::stories::{self, article_from_text, StoryError};

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
}

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
    Ok(format!(
        "{} article {:?} for story {} ({} entities, {} terms now)\n",
        if changed { "stored" } else { "unchanged:" },
        title,
        id,
        story.watchlist.entities.len(),
        story.watchlist.terms.len()
    ))
}

/// A page fetched with the feeds' limits: bytes, Content-Type, final URL.
struct Page {
    bytes: Vec<u8>,
    content_type: Option<String>,
    url: url::Url,
}

async fn fetch_page(config: &Config, url: &str) -> Result<Page, CommandError> {
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

async fn fetch_text(config: &Config, url: &str) -> Result<String, CommandError> {
    let page = fetch_page(config, url).await?;
    let charset = page
        .content_type
        .as_deref()
        .and_then(crate::feeds::charset::charset_from_content_type);
    Ok(crate::feeds::charset::decode(&page.bytes, charset)
        .text
        .into_owned())
}

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
            "stories": explanations.iter().map(|(s, e)| serde_json::json!({"story": s, "explanation": e})).collect::<Vec<_>>(),
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
    for (story, ex) in &explanations {
        out.push_str(&render_explanation(story, ex));
    }
    Ok(())
}

/// Document frequencies read from the store, as the poll saw them.
struct StoreCorpus<'a>(&'a Store);

impl CorpusStats for StoreCorpus<'_> {
    fn n_docs(&self) -> u64 {
        self.0.n_docs().unwrap_or(0)
    }
    fn df(&self, term: &str) -> u64 {
        self.0.df(term).unwrap_or(0)
    }
}

/// Explanations against every story with the current config.
fn live_explanations(
    store: &Store,
    ctx: &MatchContext,
    item: &StoredItem,
) -> Result<Vec<(String, Explanation)>, CommandError> {
    let corpus = StoreCorpus(store);
    Ok(ctx
        .stories()
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.matcher
                    .explain(&item.title, &item.text, item.published_at, &corpus),
            )
        })
        .collect())
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

/// `alerts list`: newest first, with the why; `--json` prints one payload per line.
pub fn alerts_list(
    config: &Config,
    filter: &AlertFilter,
    json: bool,
) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    if let Some(story) = &filter.story {
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
        if !known.contains(story) {
            return Err(CommandError::Usage(format!(
                "--story {story:?}: no such story; the stories are {}",
                if known.is_empty() {
                    "none yet".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let alerts = store.alerts(filter)?;
    let mut out = String::new();
    if json {
        for a in &alerts {
            let _ = writeln!(out, "{}", a.payload);
        }
        return Ok(out);
    }
    for p in store.paused_sinks()? {
        let _ = writeln!(
            out,
            "SINK PAUSED: {} since {}: {} (fix it, then `storywatch alerts retry --all-failed`)",
            p.sink,
            crate::alerts::payload::rfc3339(p.paused_at),
            p.reason
        );
    }
    let _ = writeln!(
        out,
        "{} alert{}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" }
    );
    for a in &alerts {
        let Ok(p) = serde_json::from_str::<AlertPayload>(&a.payload) else {
            let _ = writeln!(
                out,
                "{}  {}  {}  (unreadable payload)",
                a.id, a.kind, a.story
            );
            continue;
        };
        let title = p.item.as_ref().map(|i| i.title.as_str()).unwrap_or("");
        let item = a.item_id.map(|i| format!("  item {i}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}  {:<11} {:<16} {}  {}{item}",
            p.created_at,
            p.kind.as_str(),
            p.story,
            p.score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "    ".into()),
            title
        );
        let deliveries = store.deliveries_of(&a.id)?;
        if !deliveries.is_empty() {
            let states: Vec<String> = deliveries
                .iter()
                .map(|d| {
                    let mut s = format!("{} {}", d.sink, d.state);
                    if d.state != "delivered" && d.attempts > 0 {
                        s.push_str(&format!(" after {} attempt(s)", d.attempts));
                        if let Some(e) = &d.last_error {
                            s.push_str(&format!(" ({e})"));
                        }
                    }
                    if d.state == "pending" {
                        s.push_str(&format!(
                            ", next attempt {}",
                            crate::alerts::payload::rfc3339(d.next_attempt_at)
                        ));
                    }
                    s
                })
                .collect();
            let _ = writeln!(out, "    {}  delivery: {}", a.id, states.join("; "));
        }
        match p.kind {
            AlertKind::NewEntity => {
                for e in &p.matched.new_entities {
                    let _ = writeln!(
                        out,
                        "    new {}: {} (in items {:?})",
                        e.kind, e.name, e.items
                    );
                }
            }
            _ => {
                let _ = writeln!(out, "    why: {}", p.matched.names().join(", "));
                if let Some(s) = p.snippets.first() {
                    let _ = writeln!(out, "    > {s}");
                }
                if let Some(u) = p.item.as_ref().and_then(|i| i.url.as_ref()) {
                    let _ = writeln!(out, "    {u}");
                }
            }
        }
    }
    Ok(out)
}

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
