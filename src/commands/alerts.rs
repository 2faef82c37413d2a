//! `alerts list`: what was raised, why, and where its delivery stands.

use std::fmt::Write as _;

use crate::alerts::{AlertKind, AlertPayload};
use crate::config::Config;
use crate::store::{AlertFilter, Store};

use super::{check_story, CommandError};

/// `alerts list`: newest first, with the why; `--json` prints one payload per line.
pub fn alerts_list(
    config: &Config,
    filter: &AlertFilter,
    json: bool,
) -> Result<String, CommandError> {
    let store = Store::open_existing(&config.storage.path)?;
    if let Some(story) = &filter.story {
        check_story(config, &store, story)?;
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
        let title = crate::terminal::plain(p.item.as_ref().map(|i| i.title.as_str()).unwrap_or(""));
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
                            s.push_str(&format!(" ({})", crate::terminal::plain(e)));
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
                let _ = writeln!(
                    out,
                    "    why: {}",
                    crate::terminal::plain(&p.matched.names().join(", "))
                );
                if let Some(n) = &p.novelty {
                    let _ = writeln!(out, "    {}", crate::terminal::plain(&n.line()));
                    for s in &n.sentences {
                        let _ = writeln!(out, "    + {}", crate::terminal::plain(s));
                    }
                }
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
