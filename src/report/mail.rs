//! The HTML part of alert mail: the story page's timeline entries for the
//! alerts of one message, in the page's own styles, so a mailed alert reads
//! like its entry on `/stories/ID`. Like the page, it loads nothing.

use maud::{html, DOCTYPE};

use super::page::{followup, head, time};
use super::{Followup, ItemView};
use crate::alerts::payload::AlertPayload;
use crate::alerts::AlertKind;

fn parse_time(s: Option<&str>) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s?)
        .ok()
        .map(|t| t.timestamp())
}

/// An alert about an item as a timeline entry; its copies are not in the
/// payload, so the entry carries none.
fn entry(p: &AlertPayload) -> Option<Followup> {
    let item = p.item.as_ref()?;
    let created = parse_time(Some(&p.created_at)).unwrap_or(0);
    let mut why = p.matched.names();
    why.extend(
        p.matched
            .new_entities
            .iter()
            .map(|n| format!("new {}: {}", n.kind, n.name)),
    );
    Some(Followup {
        alert_id: p.id.clone(),
        kind: p.kind,
        item: ItemView {
            id: item.id,
            feed: item.feed.clone(),
            title: item.title.clone(),
            url: crate::alerts::format::safe_url(item.url.as_deref()),
            at: parse_time(item.published.as_deref()).unwrap_or(created),
        },
        score: p.score,
        novelty: p.novelty.clone(),
        why,
        copies: Vec::new(),
    })
}

/// One message's HTML: every alert as it appears on the story page; feed
/// health alerts as a line about their feed.
pub fn mail(payloads: &[AlertPayload]) -> String {
    let title = match payloads {
        [p] => format!("{} · storywatch", p.story),
        _ => format!("{} alerts · storywatch", payloads.len()),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(&title)) }
            body {
                @for p in payloads {
                    h3 { (p.kind.label()) " on " (p.story) }
                    @if let Some(f) = entry(p) {
                        ol.timeline { (followup(&f)) }
                    } @else if let Some(feed) = &p.feed {
                        p.feed-health {
                            "Feed " strong { (feed.name) } " is " (feed.state)
                            " (failing since " (feed.failing_since) ", " (feed.consecutive_errors) " errors"
                            @if let Some(e) = &feed.last_error { ", last: " (e) }
                            ")."
                        }
                    }
                    p.muted {
                        "alert " (p.id) " · " (parse_time(Some(&p.created_at)).map(time).unwrap_or_default())
                        @if matches!(p.kind, AlertKind::Followup | AlertKind::Update) {
                            br; "Not this story? " code { "storywatch feedback " (p.id) " irrelevant" }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}
