//! A story as one page: its reference articles and watchlist, a timeline
//! of its follow-ups by day with what each adds and the copies folded under
//! them, the names it learned, the near misses a user may judge, and a chart
//! of reports and copies per day. `storywatch report` writes it to a file;
//! `run` serves it at `/stories/ID`.

use chrono::{TimeZone, Utc};

use crate::alerts::payload::AlertPayload;
use crate::alerts::AlertKind;
use crate::matching::novelty::Novelty;
use crate::matching::Explanation;
use crate::store::{AlertFilter, EmergedName, Store, StoreError, StoredItem};
use crate::stories::Story;

mod mail;
mod page;

pub use mail::mail;
pub use page::{index, render};

/// Near misses listed at most.
const MAX_NEAR_MISSES: usize = 30;

/// Everything the page shows, read from the store.
#[derive(Debug, Clone)]
pub struct StoryReport {
    pub story: String,
    pub threshold: f64,
    pub generated_at: i64,
    pub since: i64,
    pub articles: Vec<ArticleView>,
    pub entities: Vec<EntityView>,
    pub followups: Vec<Followup>,
    pub emerged: Vec<EmergedName>,
    pub near_misses: Vec<NearMissView>,
    /// Per day (UTC, oldest first): follow-ups and copies first seen then.
    pub days: Vec<(String, u32, u32)>,
}

#[derive(Debug, Clone)]
pub struct ArticleView {
    pub title: String,
    pub source: String,
    pub excerpt: String,
}

#[derive(Debug, Clone)]
pub struct EntityView {
    pub name: String,
    pub kind: String,
    pub aliases: Vec<String>,
    pub weight: f64,
}

/// One follow-up or update alert of the story, with the copies of its report.
#[derive(Debug, Clone)]
pub struct Followup {
    pub alert_id: String,
    pub kind: AlertKind,
    pub item: ItemView,
    pub score: Option<f64>,
    pub novelty: Option<Novelty>,
    pub why: Vec<String>,
    pub copies: Vec<ItemView>,
}

#[derive(Debug, Clone)]
pub struct ItemView {
    pub id: i64,
    pub feed: String,
    pub title: String,
    /// Only http(s) links: anything else is shown as text, never linked.
    pub url: Option<String>,
    /// Published, else first seen (Unix seconds).
    pub at: i64,
}

#[derive(Debug, Clone)]
pub struct NearMissView {
    pub item: ItemView,
    pub score: f64,
    pub why: Vec<String>,
}

impl ItemView {
    fn of(item: &StoredItem) -> ItemView {
        ItemView {
            id: item.id,
            feed: item.feed.clone(),
            title: item.title.clone(),
            url: crate::alerts::format::safe_url(item.link.as_deref()),
            at: item.published_at.unwrap_or(item.first_seen_at),
        }
    }
}

/// The UTC day of a time, as `2025-04-11`.
pub(crate) fn day(ts: i64) -> String {
    Utc.timestamp_opt(ts, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Reads what the page of `story` shows: its alerts raised since `since`.
pub fn gather(
    store: &Store,
    story: &Story,
    since: i64,
    now: i64,
) -> Result<StoryReport, StoreError> {
    let alerts = store.alerts(&AlertFilter {
        story: Some(story.id.clone()),
        ..AlertFilter::default()
    })?;
    let mut followups = Vec::new();
    let mut alerted: Vec<i64> = Vec::new();
    for a in alerts.iter().filter(|a| {
        matches!(a.kind, AlertKind::Followup | AlertKind::Update) && a.created_at >= since
    }) {
        let Ok(p) = serde_json::from_str::<AlertPayload>(&a.payload) else {
            continue;
        };
        let Some(item_id) = a.item_id else { continue };
        let Some(item) = store
            .find_items(&item_id.to_string())?
            .into_iter()
            .find(|i| i.id == item_id)
        else {
            continue;
        };
        alerted.push(item.id);
        let copies = store
            .cluster_members(item.cluster_id)?
            .iter()
            .filter(|m| m.id != item.id)
            .map(ItemView::of)
            .collect();
        followups.push(Followup {
            alert_id: a.id.clone(),
            kind: a.kind,
            item: ItemView::of(&item),
            score: a.score,
            novelty: p.novelty,
            why: p.matched.names(),
            copies,
        });
    }
    // A copy that raised its own alert (an update) is shown as its own entry.
    for f in &mut followups {
        f.copies.retain(|c| !alerted.contains(&c.id));
    }
    followups.sort_by(|a, b| a.item.at.cmp(&b.item.at).then(a.item.id.cmp(&b.item.id)));
    let near_misses = store
        .near_misses(&story.id, since, MAX_NEAR_MISSES)?
        .into_iter()
        .map(|n| NearMissView {
            why: serde_json::from_str::<Explanation>(&n.explanation)
                .map(|e| e.entities.into_iter().map(|h| h.name).collect())
                .unwrap_or_default(),
            item: ItemView::of(&n.item),
            score: n.score,
        })
        .collect();
    let mut days: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
    for f in &followups {
        days.entry(day(f.item.at)).or_default().0 += 1;
        for c in &f.copies {
            days.entry(day(c.at)).or_default().1 += 1;
        }
    }
    Ok(StoryReport {
        story: story.id.clone(),
        threshold: story.threshold,
        generated_at: now,
        since,
        articles: story
            .articles
            .iter()
            .map(|a| ArticleView {
                title: a.title.clone(),
                source: a.source.clone(),
                excerpt: crate::matching::text::clip(&a.text, 600),
            })
            .collect(),
        entities: story
            .watchlist
            .entities
            .iter()
            .map(|e| EntityView {
                name: e.name.clone(),
                kind: e.kind.as_str().to_string(),
                aliases: e.aliases.clone(),
                weight: e.weight,
            })
            .collect(),
        followups,
        emerged: store.emerged_entities(&story.id)?,
        near_misses,
        days: days.into_iter().map(|(d, (r, c))| (d, r, c)).collect(),
    })
}
