//! `storywatch run` killed with SIGKILL at 30 random moments, while it polls
//! and while it delivers, and restarted each time on the same SQLite file.
//! Afterwards the store must pass `PRAGMA integrity_check`, hold every item
//! a fault-free run stores, and every alert that run raises must have
//! reached the receiver: each alert id at least once, no alert under two
//! ids. `CRASH_SEED=N` replays a run; `--nocapture` prints the counts.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::http::{Response, TestServer};
use crate::common::news::REFERENCE;

const FEEDS: usize = 16;
const ITEMS_PER_FEED: usize = 12;
const MATCHING_PER_FEED: usize = 3;
const KILLS: usize = 30;

/// SplitMix64: a seeded sequence, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A made-up word per index, so every item's wording is its own and no two
/// items are near-duplicates.
fn word(i: u64) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ro", "ta", "vu", "sel", "dor", "pan", "qui", "ber", "fos", "gal",
        "hum", "jet",
    ];
    let mut w = String::new();
    let mut x = i;
    for _ in 0..3 {
        w.push_str(SYL[(x % 16) as usize]);
        x /= 16;
    }
    w
}

fn words(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| word(rng.below(4096)))
        .collect::<Vec<_>>()
        .join(" ")
}

const OPENINGS: [&str; 4] = [
    "Steve Witkoff met Vladimir Putin again for talks on a ceasefire in Ukraine",
    "Kremlin spokesman Dmitry Peskov said the prisoner swap with Washington was followed by new talks",
    "Donald Trump said Steve Witkoff would press Vladimir Putin on the Ukraine ceasefire",
    "Allies of Kyiv said the military aid pledge stands as Steve Witkoff meets Vladimir Putin",
];

/// The same feeds in every run: matching and unrelated items, all distinct.
fn feed_bodies() -> Vec<String> {
    let mut rng = Rng(7);
    let date = chrono::Utc::now().to_rfc2822();
    (0..FEEDS)
        .map(|f| {
            let items: String = (0..ITEMS_PER_FEED)
                .map(|i| {
                    let (title, text) = if i < MATCHING_PER_FEED {
                        let opening = OPENINGS[(f + i) % OPENINGS.len()];
                        (opening.to_string(), format!("{opening}. {}.", words(&mut rng, 30)))
                    } else {
                        let w = words(&mut rng, 30);
                        (format!("Council notes {}", word(rng.below(4096))), format!("The council discussed {w}."))
                    };
                    format!(
                        "<item><title>{title}</title><link>http://feed{f}.example/{i}</link><guid>f{f}-{i}</guid>\
                         <pubDate>{date}</pubDate><description>{text}</description></item>"
                    )
                })
                .collect();
            format!("<rss version=\"2.0\"><channel><title>feed {f}</title>{items}</channel></rss>")
        })
        .collect()
}

/// What the receiver got: (alert id, payload).
type Received = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

struct Site {
    server: TestServer,
    received: Received,
    /// What each request so far was for: a kill waits for some, and is
    /// counted by the last one before it.
    requests: Arc<Mutex<Vec<Phase>>>,
}

/// Feeds (80 ms each) and a webhook receiver (40 ms per alert), so polls
/// and deliveries take long enough for kills to land inside them.
fn site() -> Site {
    let bodies = feed_bodies();
    let received: Received = Arc::default();
    let requests: Arc<Mutex<Vec<Phase>>> = Arc::default();
    let (rec, log) = (received.clone(), requests.clone());
    let server = TestServer::start(move |req| {
        let what = if req.path == "/hook" {
            Phase::Delivering
        } else {
            Phase::Polling
        };
        log.lock().unwrap().push(what);
        if req.path == "/hook" {
            std::thread::sleep(Duration::from_millis(40));
            let id = req.header("webhook-id").unwrap_or("").to_string();
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            rec.lock().unwrap().push((id, body));
            return Response::new(204, "");
        }
        std::thread::sleep(Duration::from_millis(80));
        let n: usize = req
            .path
            .trim_start_matches("/feed")
            .parse()
            .unwrap_or(usize::MAX);
        match bodies.get(n) {
            Some(b) => Response::new(200, b.clone()).header("Content-Type", "application/rss+xml"),
            None => Response::new(404, ""),
        }
    });
    Site {
        server,
        received,
        requests,
    }
}

fn setup(dir: &Path, site: &Site) -> PathBuf {
    std::fs::write(dir.join("reference.txt"), REFERENCE).unwrap();
    let mut cfg = String::from(
        "[poll]\nconcurrency = 2\nper_host = 2\n\n\
         [delivery]\nschedule = [\"100ms\"]\ntimeout = \"2s\"\n\n\
         [service]\nshutdown_grace = \"5s\"\n\n\
         [[story]]\nid = \"talks\"\narticle = \"reference.txt\"\n\n",
    );
    for f in 0..FEEDS {
        cfg.push_str(&format!(
            "[[feed]]\nname = \"feed{f}\"\nurl = \"{}\"\ninterval = \"1h\"\n\n",
            site.server.url(&format!("/feed{f}"))
        ));
    }
    cfg.push_str(&format!(
        "[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"SW_TEST_SECRET\"\n",
        site.server.url("/hook")
    ));
    let path = dir.join("storywatch.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

fn spawn(cfg: &Path) -> Child {
    common::storywatch()
        .env("SW_TEST_SECRET", crate::common::WEBHOOK_SECRET)
        .arg("--config")
        .arg(cfg)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("storywatch run starts")
}

fn db(dir: &Path) -> Option<rusqlite::Connection> {
    let path = dir.join(storywatch::config::DEFAULT_DB_FILE);
    path.exists()
        .then(|| rusqlite::Connection::open(path).unwrap())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Starting,
    Polling,
    Delivering,
    Idle,
}

/// Where a run stands, from what it has committed.
fn phase(dir: &Path) -> Phase {
    let Some(db) = db(dir) else {
        return Phase::Starting;
    };
    let q = |sql: &str| -> Option<i64> { db.query_row(sql, [], |r| r.get(0)).ok() };
    let polled = q("SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL");
    let pending = q("SELECT count(*) FROM outbox WHERE state = 'pending'");
    match (polled, pending) {
        (None, _) | (_, None) => Phase::Starting,
        (Some(p), _) if (p as usize) < FEEDS => Phase::Polling,
        (_, Some(n)) if n > 0 => Phase::Delivering,
        _ => Phase::Idle,
    }
}

/// Runs until every feed is polled and the outbox is empty, then SIGTERM.
fn run_to_completion(dir: &Path, cfg: &Path) -> Duration {
    let start = Instant::now();
    let mut child = spawn(cfg);
    while phase(dir) != Phase::Idle {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "run never finished its work"
        );
        assert!(child.try_wait().unwrap().is_none(), "run exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = start.elapsed();
    // SAFETY: the child is ours and not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "run did not stop cleanly");
    took
}

/// An alert by what it is about: kind and item (feed + link), or the
/// names of a new entity, independent of row ids.
fn alert_key(p: &serde_json::Value) -> String {
    let kind = p["kind"].as_str().unwrap_or("");
    match kind {
        "new_entity" => format!(
            "{kind}:{}",
            p["matched"]["new_entities"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|e| e["name"].as_str())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default()
        ),
        _ => format!(
            "{kind}:{}:{}",
            p["item"]["feed"].as_str().unwrap_or(""),
            p["item"]["url"].as_str().unwrap_or("")
        ),
    }
}

struct Outcome {
    items: BTreeSet<(String, String)>,
    /// Alert key → id, from the store.
    alerts: BTreeMap<String, String>,
}

fn outcome(dir: &Path) -> Outcome {
    let db = db(dir).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let items = db
        .prepare("SELECT f.name, i.guid FROM items i JOIN feeds f ON f.id = i.feed_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let alerts = db
        .prepare("SELECT id, payload FROM alerts")
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .map(|(id, payload)| (alert_key(&serde_json::from_str(&payload).unwrap()), id))
        .collect();
    Outcome { items, alerts }
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);

    // The fault-free run.
    let reference = site();
    let ref_dir = tempfile::tempdir().unwrap();
    let ref_cfg = setup(ref_dir.path(), &reference);
    let clean_time = run_to_completion(ref_dir.path(), &ref_cfg);
    let expected = outcome(ref_dir.path());
    assert_eq!(expected.items.len(), FEEDS * ITEMS_PER_FEED);
    assert!(
        expected.alerts.len() >= FEEDS * MATCHING_PER_FEED,
        "{:?}",
        expected.alerts.keys()
    );

    // The same work, killed at random moments: one in five while starting
    // (opening the store, recovering), the rest within 80 ms after the
    // first, second or third request of the run (a feed fetch or a
    // delivery), so they land in its work and the work advances slowly.
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let cfg = setup(dir.path(), &site);
    let mut by_phase: BTreeMap<Phase, usize> = BTreeMap::new();
    let requests = || site.requests.lock().unwrap().clone();
    for kill in 0..KILLS {
        let before = requests().len();
        let mut child = spawn(&cfg);
        if rng.below(5) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(150)));
        } else {
            // Every third kill waits for a delivery, so deliveries are hit
            // however the work is spread.
            let wanted = 1 + rng.below(3) as usize;
            let reached = || {
                let r = requests();
                let mine = &r[before..];
                if kill % 3 == 0 {
                    mine.iter().filter(|p| **p == Phase::Delivering).count() >= wanted
                } else {
                    mine.len() >= wanted
                }
            };
            let start = Instant::now();
            while !reached() && start.elapsed() < Duration::from_millis(1500) {
                std::thread::sleep(Duration::from_millis(2));
            }
            std::thread::sleep(Duration::from_millis(rng.below(80)));
        }
        // SAFETY: the child is ours and not yet reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        child.wait().unwrap();
        let during = requests().get(before..).and_then(|r| r.last().copied());
        *by_phase
            .entry(during.unwrap_or(Phase::Starting))
            .or_default() += 1;
    }
    run_to_completion(dir.path(), &cfg);
    let got = outcome(dir.path());

    let lost_items: Vec<_> = expected.items.difference(&got.items).collect();
    let extra_items: Vec<_> = got.items.difference(&expected.items).collect();
    let expected_keys: BTreeSet<&String> = expected.alerts.keys().collect();
    let got_keys: BTreeSet<&String> = got.alerts.keys().collect();
    let received = site.received.lock().unwrap().clone();
    let mut ids_by_key: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, payload) in &received {
        assert_eq!(
            payload["id"].as_str(),
            Some(id.as_str()),
            "webhook-id and payload id differ"
        );
        ids_by_key
            .entry(alert_key(payload))
            .or_default()
            .insert(id.clone());
    }
    let received_ids: BTreeSet<&String> = received.iter().map(|(id, _)| id).collect();
    let undelivered: Vec<_> = got
        .alerts
        .values()
        .filter(|id| !received_ids.contains(id))
        .collect();
    let under_two_ids: Vec<_> = ids_by_key.iter().filter(|(_, ids)| ids.len() > 1).collect();
    let redelivered = received.len() - received_ids.len();
    println!(
        "kills {KILLS} (by the last request before each: {by_phase:?}); a clean run takes {} ms; items {} expected, {} stored, {} lost; \
         alerts {} expected, {} raised, {} delivered to the receiver ({} deliveries, {} repeats of an id), \
         {} undelivered, {} under two ids",
        clean_time.as_millis(),
        expected.items.len(),
        got.items.len(),
        lost_items.len(),
        expected.alerts.len(),
        got.alerts.len(),
        received_ids.len(),
        received.len(),
        redelivered,
        undelivered.len(),
        under_two_ids.len(),
    );
    assert!(
        lost_items.is_empty() && extra_items.is_empty(),
        "lost {lost_items:?}, extra {extra_items:?}"
    );
    assert_eq!(got_keys, expected_keys, "alerts differ from the clean run");
    assert!(undelivered.is_empty(), "never delivered: {undelivered:?}");
    assert!(
        under_two_ids.is_empty(),
        "alerts under two ids: {under_two_ids:?}"
    );
    assert!(
        received_ids
            .iter()
            .all(|id| got.alerts.values().any(|a| a == *id)),
        "an id the store does not know"
    );
    // The kills must have hit both kinds of work, not an idle service.
    for p in [Phase::Polling, Phase::Delivering] {
        assert!(
            by_phase.get(&p).copied().unwrap_or(0) >= 3,
            "too few kills while {p:?}: {by_phase:?}"
        );
    }
}
