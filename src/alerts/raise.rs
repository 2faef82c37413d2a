//! Raising alerts: which kind a matched item calls for, the alert rows and
//! their payloads, and queueing each for the sinks that take it, all in the
//! caller's transaction (nothing is sent here; see [`super::deliver`]).

use super::payload::{self, AlertItem, AlertPayload, Cluster, Matched, NewEntity};
use super::{route, AlertKind};
use crate::config::SinkConfig;
use crate::matching::entities::Kind;
use crate::matching::novelty::{Known, Novelty};
use crate::matching::Explanation;
use crate::store::{StoreError, StoreTx, StoredAlert, StoredItem};
use crate::stories::Story;

/// A one-line account of an alert just queued, for the poll summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RaisedAlert {
    pub kind: AlertKind,
    pub story: String,
    pub score: Option<f64>,
    pub title: String,
    pub why: String,
}

/// The alert a matched item calls for, if any. A cluster of copies raises
/// one follow-up per story; a later copy speaks again (kind `update`) only
/// when it names story people, organisations or events the cluster's
/// alerts did not. A stored item matched again (`rescored`) never alerts a
/// story it already alerted: tuning a story does not notify people twice.
pub fn kind_for_match(
    tx: &StoreTx<'_>,
    story: &str,
    cluster: i64,
    item: &StoredItem,
    ex: &Explanation,
    rescored: bool,
) -> Result<Option<AlertKind>, StoreError> {
    if rescored && tx.item_alerted(story, item.id)? {
        return Ok(None);
    }
    let earlier = tx.cluster_alert_payloads(story, cluster)?;
    if earlier.is_empty() {
        return Ok(Some(AlertKind::Followup));
    }
    if let Some(alert) = original_takes_over(tx, story, cluster, item)? {
        // The cluster's original arrived after a copy of it, before
        // anything was sent: the follow-up names the original, as it
        // would had the feeds come in the other order.
        tx.withdraw_alert(&alert)?;
        return Ok(Some(AlertKind::Followup));
    }
    let known: std::collections::HashSet<String> = earlier
        .iter()
        .filter_map(|p| serde_json::from_str::<AlertPayload>(p).ok())
        .flat_map(|p| {
            p.matched
                .entities
                .into_iter()
                .map(|e| e.name)
                .chain(p.matched.events.into_iter().map(|e| e.name))
        })
        .collect();
    // Places come and go with datelines; people, organisations and events
    // are what make a copy news.
    let adds = ex
        .entities
        .iter()
        .filter(|e| e.kind != Kind::Place)
        .map(|e| &e.name)
        .chain(ex.events.iter().map(|e| &e.name))
        .any(|n| !known.contains(n));
    Ok(adds.then_some(AlertKind::Update))
}

/// The unsent follow-up of `cluster` that `item` should take over: `item`
/// was published before the alerted copy (the same time and a smaller URL
/// breaks a tie), so the alert should name it.
fn original_takes_over(
    tx: &StoreTx<'_>,
    story: &str,
    cluster: i64,
    item: &StoredItem,
) -> Result<Option<String>, StoreError> {
    let Some((alert, published, url)) = tx.unsent_cluster_followup(story, cluster)? else {
        return Ok(None);
    };
    let key = item
        .canonical_url
        .as_deref()
        .or(item.link.as_deref())
        .unwrap_or(&item.guid);
    let this = (item.published_at.unwrap_or(item.first_seen_at), key);
    Ok((this < (published, url.as_str())).then_some(alert))
}

/// Stores a new alert and queues it for every sink that takes it, in the
/// caller's transaction (nothing is sent here). False when the alert
/// existed already.
pub fn queue_alert(
    tx: &StoreTx<'_>,
    sinks: &[SinkConfig],
    alert: &StoredAlert,
    now: i64,
) -> Result<bool, StoreError> {
    if !tx.insert_alert(alert)? {
        return Ok(false);
    }
    for sink in sinks.iter().filter(|s| route::takes(s, alert)) {
        tx.enqueue(&alert.id, &sink.name, route::first_due(sink, now), now)?;
    }
    Ok(true)
}

/// Alerts of a story an item's novelty is measured against, beside its
/// reference articles: the most recent, which say what the story is now.
pub const PRIOR_ALERTS: usize = 200;

/// What `story` already said: its reference articles and `earlier`, the
/// title and text of the items of its most recent alerts
/// (`alerted_texts(story, item, PRIOR_ALERTS)` of the store or the poll's
/// transaction).
pub fn said_by(story: &Story, earlier: &[(String, String)]) -> Known {
    let mut known = Known::default();
    for a in &story.articles {
        known.add(&a.title);
        known.add(&a.text);
    }
    for (title, text) in earlier {
        known.add(title);
        known.add(text);
    }
    known
}

/// What each story said so far, read once per config load and grown by
/// every alert raised: a poll that raises hundreds of alerts reads the
/// earlier ones once, not once per alert. An alert whose transaction is
/// rolled back stays in it, so a retried item may show less as new.
#[derive(Debug, Default)]
pub struct StoriesSaid(std::sync::Mutex<rustc_hash::FxHashMap<String, Known>>);

impl StoriesSaid {
    /// What `item` adds to its story ([`said_by`], then each alert raised).
    pub fn novelty(
        &self,
        tx: &StoreTx<'_>,
        story: &Story,
        item: &StoredItem,
    ) -> Result<Novelty, StoreError> {
        let mut said = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !said.contains_key(&story.id) {
            let earlier = tx.alerted_texts(&story.id, item.id, PRIOR_ALERTS)?;
            said.insert(story.id.clone(), said_by(story, &earlier));
        }
        // The item's alert is queued next, unless one under its id already
        // was: either way the story has now said what the item says.
        Ok(said
            .get_mut(&story.id)
            .map(|known| known.learn(&item.title, &item.text))
            .unwrap_or_default())
    }
}

/// A `followup` or `update` alert for a matched item, with an id of the
/// database `tx` writes. Each argument is one part of the payload.
#[allow(clippy::too_many_arguments)]
pub fn match_alert(
    tx: &StoreTx<'_>,
    kind: AlertKind,
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    cluster: Cluster,
    novelty: Novelty,
    now: i64,
) -> StoredAlert {
    // The row id with the GUID: a row id freed by pruning and used again
    // belongs to another item, with another GUID.
    let subject = format!("item:{}:{}", item.id, item.guid);
    let id = payload::alert_id(tx.instance(), &story.id, kind, &subject);
    let p = AlertPayload {
        kind_of_payload: payload::ALERT_TYPE.to_string(),
        id: id.clone(),
        created_at: payload::rfc3339(now),
        story: story.id.clone(),
        kind,
        score: Some(ex.score),
        item: Some(alert_item(item)),
        matched: Matched {
            entities: ex.entities.clone(),
            events: ex.events.clone(),
            new_entities: Vec::new(),
            concepts: ex.concepts.clone(),
        },
        snippets: ex.snippets.clone(),
        components: Some(ex.components),
        cluster: Some(cluster),
        feed: None,
        novelty: Some(novelty),
    };
    StoredAlert {
        id,
        story: story.id.clone(),
        kind,
        item_id: Some(item.id),
        score: Some(ex.score),
        created_at: now,
        payload: serde_json::to_string(&p).unwrap_or_default(),
    }
}

pub fn alert_item(item: &StoredItem) -> AlertItem {
    AlertItem {
        id: item.id,
        title: item.title.clone(),
        url: item.link.clone(),
        canonical_url: item.canonical_url.clone(),
        feed: item.feed.clone(),
        published: item.published_at.map(payload::rfc3339),
        summary: payload::summary(&item.text),
    }
}

/// Names beside the story in matched items: once one has appeared in
/// `emerge_after` of them, it joins the story and one `new_entity` alert says so.
pub fn emerge(
    tx: &StoreTx<'_>,
    sinks: &[SinkConfig],
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    now: i64,
) -> Result<Vec<RaisedAlert>, StoreError> {
    let mut alerts = Vec::new();
    for (name, kind) in &ex.unknown_names {
        // Countries and regions are in too much news to say what a story is.
        if *kind == Kind::Other || crate::matching::watchlist::is_country(name) {
            continue;
        }
        let seen =
            tx.record_sighting(&story.id, name, kind.as_str(), item.id, story.emerge_after)?;
        if seen < story.emerge_after || !tx.insert_emerged(&story.id, name, kind.as_str(), now)? {
            continue;
        }
        let items = tx.sighting_items(&story.id, name)?;
        let items_len = items.len();
        let id = payload::alert_id(tx.instance(), &story.id, AlertKind::NewEntity, name);
        let p = AlertPayload {
            kind_of_payload: payload::ALERT_TYPE.to_string(),
            id: id.clone(),
            created_at: payload::rfc3339(now),
            story: story.id.clone(),
            kind: AlertKind::NewEntity,
            score: None,
            item: Some(alert_item(item)),
            matched: Matched {
                entities: Vec::new(),
                events: Vec::new(),
                new_entities: vec![NewEntity {
                    name: name.clone(),
                    kind: kind.as_str().to_string(),
                    items,
                }],
                concepts: Vec::new(),
            },
            snippets: Vec::new(),
            components: None,
            cluster: None,
            feed: None,
            novelty: None,
        };
        let row = StoredAlert {
            id,
            story: story.id.clone(),
            kind: AlertKind::NewEntity,
            item_id: Some(item.id),
            score: None,
            created_at: now,
            payload: serde_json::to_string(&p).unwrap_or_default(),
        };
        if queue_alert(tx, sinks, &row, now)? {
            tracing::info!(story = %story.id, entity = %name, "new entity joined the story");
            alerts.push(RaisedAlert {
                kind: AlertKind::NewEntity,
                story: story.id.clone(),
                score: None,
                title: name.clone(),
                why: format!("new {} in {} matched items", kind.as_str(), items_len),
            });
        }
    }
    Ok(alerts)
}
