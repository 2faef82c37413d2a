//! Fills a storywatch database with a history of stored items, for the
//! poll-cycle benchmark's "cold cycle over a large store" case
//! (`benches/poll-cycle.sh -H 1000000`).
//!
//! usage: fill_store --db PATH --items COUNT [--days 90] [--feeds 200]
//!
//! The items are what a service that ran for `--days` leaves behind: first
//! seen evenly over those days (ids grow with time, as the pipeline writes
//! them), each from one of `--feeds` feeds that the benchmark's config does
//! not poll, with a GUID, a link and canonical URL, a 120-to-240-word text of
//! made-up words and its content hash. Items inside the default dedup window
//! (30 days) carry their fingerprint and band rows; older ones carry none,
//! as after `prune_bands`. The database is created (migrated) when missing.

#[path = "../benches/common/synth.rs"]
mod synth;

use std::time::Instant;

use storywatch::config::FeedConfig;
use storywatch::dedup::ExactKeys;
use storywatch::feeds::normalize::Item;
use storywatch::neardup::fingerprint;
use storywatch::store::Store;
use synth::{text, vocabulary, Rng};

const WINDOW: i64 = 30 * 86_400;
const BATCH: usize = 10_000;

fn main() -> anyhow::Result<()> {
    let mut db = None;
    let (mut count, mut days, mut feeds) = (None, 90i64, 200usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--db" => db = Some(std::path::PathBuf::from(value()?)),
            "--items" => count = Some(value()?.parse::<usize>()?),
            "--days" => days = value()?.parse()?,
            "--feeds" => feeds = value()?.parse()?,
            other => anyhow::bail!(
                "unknown argument {other:?}\nusage: fill_store --db PATH --items COUNT [--days 90] [--feeds 200]"
            ),
        }
    }
    let (Some(db), Some(count)) = (db, count) else {
        anyhow::bail!("usage: fill_store --db PATH --items COUNT [--days 90] [--feeds 200]");
    };
    let started = Instant::now();
    let mut store = Store::open(&db)?;
    let have = store.count_items()? as usize;
    let now = chrono::Utc::now().timestamp();
    let span = days * 86_400;
    let feed_configs: Vec<FeedConfig> = (0..feeds.max(1))
        .map(|f| synth::feed(&format!("history-{f:04}")))
        .collect();
    let vocab = vocabulary();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ have as u64);
    let mut n = have;
    while n < count {
        let batch = (count - n).min(BATCH);
        store.write(true, |tx| {
            let ids: Vec<i64> = feed_configs
                .iter()
                .map(|f| tx.upsert_feed(f, now - span))
                .collect::<Result<_, _>>()?;
            for k in n..n + batch {
                let seen = now - span + (k as i64 * span) / count as i64;
                let f = k % ids.len();
                let words = 120 + rng.below(121);
                let body = text(&mut rng, &vocab, words).join(" ");
                let title = text(&mut rng, &vocab, 8).join(" ");
                let link = format!(
                    "https://history-{f}.example/news/{k}/{}",
                    title.replace(' ', "-")
                );
                let item = Item {
                    guid: format!("history-{k}"),
                    link: Some(link.clone()),
                    canonical_url: Some(link),
                    title,
                    text: body,
                    published: chrono::DateTime::from_timestamp(seen - 600, 0),
                    authors: Vec::new(),
                    categories: Vec::new(),
                    page_url: None,
                };
                let id = tx.insert_item(ids[f], &item, &ExactKeys::of(&item), seen)?;
                let print = (seen >= now - WINDOW)
                    .then(|| fingerprint(&item.title, &item.text))
                    .flatten();
                tx.attach_cluster(id, id, print.as_ref())?;
            }
            Ok(())
        })?;
        n += batch;
        if n.is_multiple_of(100_000) || n == count {
            eprintln!("{n} items stored ({:.0}s)", started.elapsed().as_secs_f64());
        }
    }
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "{} items in {} ({:.1} MB), filled in {:.0}s",
        n,
        db.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
