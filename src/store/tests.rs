//! Store behaviour over real database files: migrations, validators, bands, retention.

use rusqlite::params;

use super::*;
use crate::config::FeedConfig;
use crate::dedup::ExactKeys;
use crate::feeds::normalize::Item;

#[test]
fn rebinding_a_limit_does_not_compile_the_statement_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let mut stmt = store
        .conn
        .prepare_cached(
            "SELECT item_id FROM lsh_bands WHERE key = ?1 AND item_id >= ?2
             ORDER BY item_id DESC LIMIT ?3",
        )
        .unwrap();
    for (key, limit) in [(1_i64, 256_i64), (2, 17), (3, 1), (4, 0), (5, 256)] {
        let rows: Vec<i64> = stmt
            .query_map(params![key, 0, limit], |r| r.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        assert!(rows.is_empty());
    }
    assert_eq!(
        stmt.get_status(rusqlite::StatementStatus::RePrepare),
        0,
        "each new LIMIT value recompiled the statement"
    );
}

#[test]
fn migrations_apply_once_and_newer_schemas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/test.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    drop(store);
    // Re-opening is a no-op.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store
        .conn
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(store);
    match Store::open(&path) {
        Err(StoreError::SchemaTooNew { found, known, .. }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {:?}", other.err()),
    }
}

#[test]
fn processes_opening_a_new_file_at_once_migrate_it_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("race{round}.db"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&path).map(|s| (s.schema_version().unwrap(), s.instance.clone()))
                })
            })
            .collect();
        let results: Vec<_> = opened.into_iter().map(|t| t.join().unwrap()).collect();
        for r in &results {
            let (version, instance) = r.as_ref().unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(*version, SCHEMA_VERSION);
            assert_eq!(
                instance,
                &results[0].as_ref().unwrap().1,
                "one instance id per file"
            );
        }
    }
}

#[test]
fn finished_deliveries_are_pruned_and_pending_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let alert = |id: &str| StoredAlert {
        id: id.into(),
        story: "s".into(),
        kind: crate::alerts::AlertKind::Followup,
        item_id: None,
        score: None,
        created_at: 100,
        payload: "{}".into(),
    };
    store
        .write(true, |tx| {
            for id in ["old-sent", "old-pending", "new-sent"] {
                tx.insert_alert(&alert(id))?;
                tx.enqueue(id, "hook", 100, 100)?;
            }
            Ok(())
        })
        .unwrap();
    let rows: Vec<(i64, String)> = store
        .conn
        .prepare("SELECT id, alert_id FROM outbox")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    for (row, id) in &rows {
        let at = if id == "new-sent" { 5_000 } else { 200 };
        if id != "old-pending" {
            store
                .record_attempt(*row, &AttemptResult::Delivered, Some(200), None, at)
                .unwrap();
        }
    }
    assert_eq!(store.prune_deliveries(1_000).unwrap(), 1);
    let left: Vec<String> = store
        .conn
        .prepare("SELECT alert_id FROM outbox ORDER BY alert_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(left, ["new-sent", "old-pending"]);
    assert!(
        store.alert_exists("old-sent").unwrap(),
        "the alert itself stays"
    );
}

#[test]
fn every_database_has_its_own_instance_id() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a.db")).unwrap();
    let b = Store::open(&dir.path().join("b.db")).unwrap();
    assert_eq!(a.instance.len(), 32);
    assert_ne!(a.instance, b.instance);
    let again = a.instance.clone();
    drop(a);
    assert_eq!(
        Store::open(&dir.path().join("a.db")).unwrap().instance,
        again
    );
}

#[test]
fn every_migration_is_valid_sql_and_append_only_numbering_holds() {
    // Each file applies on top of the previous ones.
    let conn = Connection::open_in_memory().unwrap();
    for sql in MIGRATIONS {
        conn.execute_batch(sql).unwrap();
    }
    assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
}

#[test]
fn a_new_store_file_is_created_with_incremental_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = Store::open(&path).unwrap();
    let mode: i64 = store
        .conn
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap();
    let journal: String = store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!((mode, journal.as_str()), (2, "wal"));
}

#[test]
fn a_changed_url_drops_the_old_validators() {
    let mut store = Store::open_in_memory().unwrap();
    let feed = |url: &str| FeedConfig {
        name: "f".into(),
        url: url::Url::parse(url).unwrap(),
        interval: Duration::from_secs(60),
        full_text: crate::config::FullText::Off,
        allow_hosts: Vec::new(),
        title: None,
        category: None,
    };
    store
        .sync_feeds(&[feed("https://a.example/rss")], 1)
        .unwrap();
    let id = store.feed_state("f").unwrap().unwrap().id;
    store
        .write(true, |tx| {
            tx.record_poll(
                id,
                &PollRecord {
                    status: PollStatus::Fetched,
                    body_hash: None,
                    http_status: Some(200),
                    error: None,
                    etag: Some("\"v1\"".into()),
                    last_modified: None,
                    polled_at: 2,
                    next_poll_at: 62,
                },
            )
        })
        .unwrap();
    store
        .sync_feeds(&[feed("https://a.example/rss")], 3)
        .unwrap();
    assert_eq!(
        store.feed_state("f").unwrap().unwrap().etag.as_deref(),
        Some("\"v1\"")
    );
    store
        .sync_feeds(&[feed("https://b.example/rss")], 4)
        .unwrap();
    let s = store.feed_state("f").unwrap().unwrap();
    assert_eq!(
        (s.id, s.etag, s.url.as_str()),
        (id, None, "https://b.example/rss")
    );
}

#[test]
fn bands_are_rederived_after_the_banding_changed_and_pruned_past_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bands.db");
    let mut store = Store::open(&path).unwrap();
    let feed = feed_f();
    let text = "Russian President Vladimir Putin declared a unilateral Easter ceasefire in Ukraine on Saturday, \
                and Kyiv said it would mirror a real halt in fighting along the whole front line.";
    let item = Item {
        guid: "g1".into(),
        link: Some("https://a.example/1".into()),
        canonical_url: Some("https://a.example/1".into()),
        title: "Easter ceasefire".into(),
        text: text.into(),
        published: None,
        authors: Vec::new(),
        categories: Vec::new(),
        page_url: None,
    };
    let fp = crate::neardup::fingerprint(&item.title, text).unwrap();
    store
        .write(true, |tx| {
            let fid = tx.upsert_feed(&feed, 100)?;
            let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
            tx.attach_cluster(id, id, Some(&fp))
        })
        .unwrap();
    let rows = |s: &Store| -> i64 {
        s.conn
            .query_row(
                "SELECT (SELECT count(*) FROM lsh_bands) + (SELECT count(*) FROM lsh_recent)",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(rows(&store), crate::neardup::BANDS as i64);
    // A store written before migration 7: the old band table, no rows,
    // signatures in the items table (and nothing of the later migrations).
    store
        .conn
        .execute_batch(
            "ALTER TABLE items ADD COLUMN shingles INTEGER; ALTER TABLE items ADD COLUMN signature BLOB;
             UPDATE items SET shingles = (SELECT shingles FROM item_prints WHERE item_id = items.id),
                              signature = (SELECT signature FROM item_prints WHERE item_id = items.id);
             DROP INDEX alerts_item;
             DROP TABLE item_prints; DROP TABLE report_pairs; ALTER TABLE feeds DROP COLUMN body_hash;
             DROP TABLE article_pages; DROP INDEX items_page_url; ALTER TABLE items DROP COLUMN page_url;
             DROP TABLE lsh_recent; DROP TABLE lsh_bands; DROP INDEX items_banded; ALTER TABLE items DROP COLUMN banded;
             CREATE TABLE lsh_bands (key INTEGER NOT NULL, item_id INTEGER NOT NULL, seen_at INTEGER NOT NULL);
             DROP TABLE feedback;",
        )
        .unwrap();
    store.conn.pragma_update(None, "user_version", 6).unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(rows(&store), crate::neardup::BANDS as i64);
    let found = store
        .write(false, |tx| tx.near_duplicate_candidates(&fp.band_keys(), 0))
        .unwrap();
    assert_eq!(found.len(), 1);
    // Out of the window: no candidate, and pruning removes exactly its rows.
    let none = store
        .write(false, |tx| {
            tx.near_duplicate_candidates(&fp.band_keys(), 101)
        })
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(store.prune_bands(100).unwrap(), 0);
    assert_eq!(store.prune_bands(101).unwrap(), 1);
    assert_eq!(rows(&store), 0);
}

/// The feed "f" the store tests write under.
fn feed_f() -> FeedConfig {
    FeedConfig {
        name: "f".into(),
        url: url::Url::parse("https://a.example/rss").unwrap(),
        interval: Duration::from_secs(60),
        full_text: crate::config::FullText::Off,
        allow_hosts: Vec::new(),
        title: None,
        category: None,
    }
}

/// The band filter may only say "maybe" wrongly, never "absent": what
/// another connection commits, an id a rolled-back write had used, and
/// what is left after a pruning are all found.
#[test]
fn the_band_filter_never_hides_a_stored_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("filter.db");
    let (mut a, mut b) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
    let feed = feed_f();
    let texts = [
        "Kremlin spokesman Dmitry Peskov said the process of normalising relations \
         between Moscow and Washington was continuing after the talks in St Petersburg.",
        "Germany pledged a further military aid package worth billions of euros to Kyiv, \
         the defence minister told reporters in Berlin on Thursday evening.",
        "A prisoner exchange between the United States and Russia freed a dual national \
         held for more than a year, the White House confirmed on Friday.",
    ];
    let fps: Vec<_> = texts
        .iter()
        .map(|t| crate::neardup::fingerprint("", t).unwrap())
        .collect();
    let store_item = |s: &mut Store, n: usize, at: i64, commit: bool| -> i64 {
        s.write(commit, |tx| {
            let fid = tx.upsert_feed(&feed, at)?;
            let item = Item {
                guid: format!("g{n}-{at}"),
                link: None,
                canonical_url: None,
                title: String::new(),
                text: texts[n].into(),
                published: None,
                authors: Vec::new(),
                categories: Vec::new(),
                page_url: None,
            };
            let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), at)?;
            tx.attach_cluster(id, id, Some(&fps[n]))?;
            Ok(id)
        })
        .unwrap()
    };
    let lookup = |s: &mut Store, n: usize| -> Vec<i64> {
        s.write(false, |tx| {
            tx.near_duplicate_candidates(&fps[n].band_keys(), 0)
        })
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
    };
    let first = store_item(&mut a, 0, 100, true);
    assert_eq!(lookup(&mut a, 0), [first]);
    assert!(lookup(&mut a, 1).is_empty());
    // A rolls back a write of text 2; B then stores text 1 under that id.
    let undone = store_item(&mut a, 2, 200, false);
    let other = store_item(&mut b, 1, 200, true);
    assert_eq!(undone, other, "SQLite hands the freed id out again");
    // A commit with no band work in between (a warm poll's feed row).
    a.write(true, |_| Ok(())).unwrap();
    assert_eq!(lookup(&mut a, 1), [other]);
    assert!(lookup(&mut a, 2).is_empty());
    // Pruning text 0 away marks the filter for a rebuild; the rest stays found.
    assert_eq!(a.prune_bands(150).unwrap(), 1);
    assert!(a.bands.borrow().stale);
    assert!(lookup(&mut a, 0).is_empty());
    assert_eq!(lookup(&mut a, 1), [other]);
    assert!(!a.bands.borrow().stale);
}

/// Sightings count distinct items, up to the cap.
#[test]
fn sightings_are_counted_per_item_up_to_the_cap() {
    let mut store = Store::open_in_memory().unwrap();
    let feed = feed_f();
    let counts = store
        .write(true, |tx| {
            let fid = tx.upsert_feed(&feed, 100)?;
            let mut counts = Vec::new();
            for n in 0..5 {
                let item = Item {
                    guid: format!("g{n}"),
                    link: None,
                    canonical_url: None,
                    title: format!("Item {n}"),
                    text: format!("Text of item number {n} about the talks."),
                    published: None,
                    authors: Vec::new(),
                    categories: Vec::new(),
                    page_url: None,
                };
                let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
                counts.push(tx.record_sighting("talks", "Rustem Umerov", "person", id, 3)?);
                // The same item again is not another sighting.
                counts.push(tx.record_sighting("talks", "Rustem Umerov", "person", id, 3)?);
            }
            counts.push(tx.record_sighting("other", "Rustem Umerov", "person", 1, 3)?);
            Ok(counts)
        })
        .unwrap();
    assert_eq!(counts, [1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 1]);
}

/// Many stored copies of one text, the older ones merged into the big
/// band index and the newer still in the recent rows: a lookup compares
/// only the capped number, the newest among equally close ones.
#[test]
fn a_near_duplicate_lookup_reads_at_most_the_capped_candidates() {
    let mut store = Store::open_in_memory().unwrap();
    let feed = feed_f();
    let text = "Kremlin spokesman Dmitry Peskov said the process of normalising relations \
                between Moscow and Washington was continuing after the talks in St Petersburg.";
    let fp = crate::neardup::fingerprint("Peskov on relations", text).unwrap();
    let copies = crate::store::bands::MAX_CANDIDATES + 20;
    let ids = store
        .write(true, |tx| {
            let fid = tx.upsert_feed(&feed, 100)?;
            let mut ids = Vec::new();
            for n in 0..copies {
                let item = Item {
                    guid: format!("g{n}"),
                    link: Some(format!("https://a.example/{n}")),
                    canonical_url: Some(format!("https://a.example/{n}")),
                    title: "Peskov on relations".into(),
                    text: text.into(),
                    published: None,
                    authors: Vec::new(),
                    categories: Vec::new(),
                    page_url: None,
                };
                let id = tx.insert_item(fid, &item, &ExactKeys::of(&item), 100)?;
                tx.attach_cluster(id, id, Some(&fp))?;
                ids.push(id);
                if n == 50 {
                    tx.merge_recent_bands()?;
                }
            }
            Ok(ids)
        })
        .unwrap();
    let count = |table: &str| -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let bands = crate::neardup::BANDS as i64;
    assert_eq!(count("lsh_bands"), 51 * bands);
    assert_eq!(count("lsh_recent"), (copies as i64 - 51) * bands);
    let found: Vec<i64> = store
        .write(false, |tx| tx.near_duplicate_candidates(&fp.band_keys(), 0))
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(found, ids[copies - crate::store::bands::MAX_CANDIDATES..]);
}

#[test]
fn retention_keeps_matched_items_and_items_in_the_window() {
    let mut store = Store::open_in_memory().unwrap();
    let feed = feed_f();
    let item = |g: &str| Item {
        guid: g.into(),
        link: None,
        canonical_url: None,
        title: format!("title {g}"),
        text: format!("text {g}"),
        published: None,
        authors: Vec::new(),
        categories: Vec::new(),
        page_url: None,
    };
    let text = "one two three four five six seven eight nine ten eleven twelve";
    let fp = crate::neardup::fingerprint("", text).unwrap();
    store
        .write(true, |tx| {
            let f = tx.upsert_feed(&feed, 100)?;
            for (g, banded) in [("old", false), ("matched", false), ("in-window", true)] {
                let it = item(g);
                let id = tx.insert_item(f, &it, &ExactKeys::of(&it), 100)?;
                tx.attach_cluster(id, id, banded.then_some(&fp))?;
                if g == "matched" {
                    tx.insert_match(
                        &MatchRow {
                            item_id: id,
                            story: "s",
                            score: 0.9,
                            matched: true,
                            explanation: "{}",
                        },
                        100,
                    )?;
                }
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(store.prune_items(50).unwrap(), 0);
    assert_eq!(store.prune_items(200).unwrap(), 1);
    let left: Vec<String> = store
        .conn
        .prepare("SELECT guid FROM items ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(left, vec!["matched".to_string(), "in-window".to_string()]);
}
