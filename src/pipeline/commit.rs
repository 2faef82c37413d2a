//! One feed's poll in one transaction: its article pages, its new items
//! (exact duplicates, clusters of copies, matches and the alerts they
//! raise) and its row. Matching a stored item again (`rescore`) takes the
//! same path without the counting.

use chrono::{DateTime, Utc};

use super::prepare::{drafts_and_terms, fold_item};
use super::{record, Counts, MatchContext, Prepared, TxCorpus};
use crate::alerts::payload::Cluster;
use crate::alerts::{raise, RaisedAlert};
use crate::config::FeedConfig;
use crate::feeds::normalize::Item;
use crate::matching::{Draft, Explanation};
use crate::neardup::{fingerprint, Fingerprint};
use crate::paraphrase::Report;
use crate::store::{MatchRow, PollRecord, Store, StoreError, StoreTx, StoredItem, StoredPage};
use crate::stories::Story;

/// How far under a story's threshold an item may score and still be kept as
/// a near miss, which the story's report lists for a user to judge.
const NEAR_MISS: f64 = 0.15;

/// What one feed's transaction writes.
pub(super) struct Batch {
    pub feed: FeedConfig,
    pub rec: PollRecord,
    pub pages: Vec<StoredPage>,
    pub items: Vec<Item>,
    pub prepared: Vec<Prepared>,
    pub now: DateTime<Utc>,
}

/// Writes the batch in one transaction (rolled back unless `commit`).
pub(super) fn commit_feed(
    store: &mut Store,
    commit: bool,
    ctx: &MatchContext,
    batch: Batch,
) -> Result<MatchOutcome, StoreError> {
    let Batch {
        feed,
        rec,
        pages,
        items,
        prepared,
        now,
    } = batch;
    let state = store.feed_state(&feed.name)?;
    store.write(commit, |tx| {
        let id = tx.upsert_feed(&feed, rec.polled_at)?;
        for page in &pages {
            tx.insert_page(page)?;
        }
        let mut out = MatchOutcome::default();
        let corpus = TxCorpus::new(tx);
        for (item, prep) in items.iter().zip(prepared) {
            let Prepared {
                keys,
                print,
                drafts,
                terms,
            } = prep;
            if tx.find_duplicate(id, &keys)?.is_some() {
                out.counts.items_duplicate += 1;
                continue;
            }
            let item_id = tx.insert_item(id, item, &keys, now.timestamp())?;
            out.counts.items_new += 1;
            let cluster_id = cluster_of(tx, ctx, item_id, print, now.timestamp())?;
            if cluster_id != item_id {
                out.counts.items_near_duplicate += 1;
            }
            let stored = StoredItem {
                id: item_id,
                feed: feed.name.clone(),
                guid: keys.guid.clone(),
                link: item.link.clone(),
                canonical_url: keys.canonical_url.clone(),
                title: item.title.clone(),
                text: item.text.clone(),
                published_at: item.published.map(|p| p.timestamp()),
                first_seen_at: now.timestamp(),
                cluster_id,
            };
            out += match_drafted(
                tx,
                ctx,
                &corpus,
                &stored,
                Some(&terms),
                &drafts,
                now.timestamp(),
            )?;
        }
        corpus.flush()?;
        let has_new = out.counts.items_new > 0;
        record::recovered(tx, ctx, &feed, id, state.as_ref(), has_new, rec.polled_at)?;
        tx.record_poll(id, &rec)?;
        Ok(out)
    })
}

/// The cluster a new item joins: that of the closest stored copy within the
/// window, else its own. Its fingerprint (taken per feed batch, without the
/// feed's boilerplate) is indexed either way.
fn cluster_of(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    item_id: i64,
    print: Option<Fingerprint>,
    now: i64,
) -> Result<i64, StoreError> {
    let Some(fp) = print else {
        tx.attach_cluster(item_id, item_id, None)?;
        return Ok(item_id);
    };
    let since = now - ctx.dedup_window.as_secs() as i64;
    let best = tx
        .near_duplicate_candidates(&fp.band_keys(), since)?
        .into_iter()
        .filter(|(id, _)| *id != item_id)
        .map(|(id, other)| (fp.containment(&other), id))
        .filter(|(c, _)| *c >= ctx.near_threshold)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let cluster = match best {
        Some((_, id)) => tx.cluster_id_of(id)?,
        None => item_id,
    };
    tx.attach_cluster(item_id, cluster, Some(&fp))?;
    Ok(cluster)
}

/// What matching one item did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MatchOutcome {
    /// Only `matches` and `alerts`, and for a feed's new items the item counts.
    pub counts: Counts,
    pub raised: Vec<RaisedAlert>,
    pub matched_stories: Vec<String>,
}

impl std::ops::AddAssign for MatchOutcome {
    fn add_assign(&mut self, o: MatchOutcome) {
        self.counts += o.counts;
        self.raised.extend(o.raised);
        self.matched_stories.extend(o.matched_stories);
    }
}

/// Matches one stored item against every story, stores the matches' explanations and
/// queues the alerts they raise, all in the caller's transaction. With
/// `count_doc` the item is also added to the corpus statistics (new items;
/// a rescore of stored ones passes false).
pub fn match_item(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    item: &StoredItem,
    count_doc: bool,
    now: i64,
) -> Result<MatchOutcome, StoreError> {
    let corpus = TxCorpus::new(tx);
    let mut folded = String::new();
    fold_item(&item.title, &item.text, &mut folded);
    let (drafts, terms) = drafts_and_terms(ctx, &item.title, &item.text, &folded);
    let terms = count_doc.then_some(terms);
    let out = match_drafted(tx, ctx, &corpus, item, terms.as_deref(), &drafts, now)?;
    corpus.flush()?;
    Ok(out)
}

/// [`match_item`] with the store-free part done ([`prepare`]); `terms`
/// (a new item's) are counted in `corpus` before the scores are taken.
pub fn match_drafted(
    tx: &StoreTx<'_>,
    ctx: &MatchContext,
    corpus: &TxCorpus<'_, '_>,
    item: &StoredItem,
    terms: Option<&[String]>,
    drafts: &[Draft],
    now: i64,
) -> Result<MatchOutcome, StoreError> {
    let mut out = MatchOutcome::default();
    if !ctx.has_stories() {
        return Ok(out);
    }
    let count_doc = terms.is_some();
    if let Some(terms) = terms {
        corpus.count(terms);
    }
    // Only matched items are compared with the reference articles.
    let item_print = std::cell::OnceCell::new();
    let mut cluster_id = item.cluster_id;
    for (story, draft) in ctx.stories().iter().zip(drafts) {
        let ex = story.matcher.finish(draft, item.published_at, corpus);
        if ex.entities.is_empty() {
            continue;
        }
        // Only a match's row is ever read back (reports, clusters, rescore,
        // pruning); `explain` recomputes the rest. A new item that does not
        // match therefore writes nothing: the rows cost a third of a cold
        // poll's writes. A stored item that
        // no longer matches loses its row and its report pairs.
        if !ex.is_match() {
            if !count_doc {
                tx.delete_match(item.id, &story.id)?;
                tx.index_report_pairs(item.id, &story.id, 0, None)?;
            }
            if ex.excluded_by.is_none() && ex.score >= ex.threshold - NEAR_MISS {
                // Kept with its explanation, for the story's report page.
                let explanation = serde_json::to_string(&ex).unwrap_or_default();
                tx.insert_match(
                    &MatchRow {
                        item_id: item.id,
                        story: &story.id,
                        score: ex.score,
                        matched: false,
                        explanation: &explanation,
                    },
                    now,
                )?;
            }
            continue;
        }
        let explanation = serde_json::to_string(&ex).unwrap_or_default();
        tx.insert_match(
            &MatchRow {
                item_id: item.id,
                story: &story.id,
                score: ex.score,
                matched: ex.is_match(),
                explanation: &explanation,
            },
            now,
        )?;
        let published = item.published_at.unwrap_or(item.first_seen_at);
        let people = crate::paraphrase::people(&ex);
        let comparable = crate::paraphrase::comparable(&ex, &people);
        tx.index_report_pairs(item.id, &story.id, published, comparable.then_some(&people))?;
        out.counts.matches += 1;
        out.matched_stories.push(story.id.clone());
        let copy_of_reference = ctx.reference_prints().iter().any(|(id, r)| {
            id == &story.id
                && item_print
                    .get_or_init(|| fingerprint(&item.title, &item.text))
                    .as_ref()
                    .is_some_and(|fp| fp.is_copy_of_document(r, ctx.near_threshold))
        });
        if published + (ctx.alert_max_age.as_secs() as i64) < now {
            tracing::debug!(story = %story.id, item = item.id, "match too old to alert");
        } else if copy_of_reference {
            tracing::info!(story = %story.id, item = item.id, "copy of the story's own reference article: no alert");
        } else {
            if count_doc && cluster_id == item.id {
                if let Some(c) = paraphrased(tx, story, item, &ex, published)? {
                    tx.move_to_cluster(item.id, c)?;
                    cluster_id = c;
                }
            }
            let kind = raise::kind_for_match(tx, &story.id, cluster_id, item, &ex, !count_doc)?;
            match kind {
                None => {
                    tracing::debug!(story = %story.id, item = item.id, cluster = cluster_id, "copy of an alerted item")
                }
                Some(kind) => {
                    let cluster = Cluster {
                        id: format!("c{cluster_id}"),
                        size: tx.cluster_size(cluster_id)?,
                    };
                    let novelty = ctx.said.novelty(tx, story, item)?;
                    if raise::queue_alert(
                        tx,
                        &ctx.sinks,
                        &raise::match_alert(tx, kind, story, item, &ex, cluster, novelty, now),
                        now,
                    )? {
                        out.counts.alerts += 1;
                        let why: Vec<&str> = ex
                            .entities
                            .iter()
                            .map(|e| e.name.as_str())
                            .chain(ex.events.iter().map(|e| e.name.as_str()))
                            .collect();
                        out.raised.push(RaisedAlert {
                            kind,
                            story: story.id.clone(),
                            score: Some(ex.score),
                            title: item.title.clone(),
                            why: why.join(", "),
                        });
                    }
                }
            }
        }
        // Names are learned only beside confident follow-ups, never beside
        // an item a user rejected: a name seen beside borderline matches may
        // well be another story's.
        if ex.score >= crate::stories::CONFIDENT_SCORE && !tx.rejected(&story.id, item.id)? {
            let emerged = raise::emerge(tx, &ctx.sinks, story, item, &ex, now)?;
            out.counts.alerts += emerged.len();
            out.raised.extend(emerged);
        }
    }
    Ok(out)
}

/// The cluster of a stored report this matched item retells in other words
/// (same people beside the story's own, same event, same day; see
/// [`crate::paraphrase`]).
fn paraphrased(
    tx: &StoreTx<'_>,
    story: &Story,
    item: &StoredItem,
    ex: &Explanation,
    published: i64,
) -> Result<Option<i64>, StoreError> {
    let cast = crate::paraphrase::cast(&story.watchlist);
    let this = Report::of(ex, &cast, published);
    if this.people.len() < crate::paraphrase::MIN_SHARED_PEOPLE || this.events.is_empty() {
        return Ok(None);
    }
    let window = crate::paraphrase::SAME_DAY;
    for id in tx.report_candidates(
        &story.id,
        &this.people,
        published - window,
        published + window,
        item.id,
    )? {
        let Some((cluster, at, explanation)) = tx.matched_report(id, &story.id)? else {
            continue;
        };
        let Ok(other) = serde_json::from_str::<Explanation>(&explanation) else {
            continue;
        };
        if this.same_as(&Report::of(&other, &cast, at)) {
            return Ok(Some(cluster));
        }
    }
    Ok(None)
}
