//! The story page as one self-contained HTML document: styles inline, the
//! chart as inline SVG, no script, font or image from anywhere, and a
//! Content-Security-Policy that lets the page load nothing. Every text from
//! a feed goes through maud, which escapes it.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{day, Followup, ItemView, StoryReport};
use crate::alerts::payload::rfc3339;

/// Styles for phone and desktop widths alike: one column that grows to a
/// readable measure.
const STYLE: &str = "
:root { color-scheme: light dark; --muted: #666; --line: #ddd; --accent: #2457a6; }
@media (prefers-color-scheme: dark) { :root { --muted: #aaa; --line: #444; --accent: #8fb4ff; } }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem; overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 1.25rem 0 .25rem; color: var(--muted); }
a { color: var(--accent); }
.muted, .meta { color: var(--muted); font-size: .875rem; }
ol.timeline { list-style: none; padding: 0; margin: 0; }
ol.timeline > li { border-left: 3px solid var(--accent); padding: .25rem 0 .5rem .75rem; margin: .5rem 0; }
.new { margin: .25rem 0; }
.new q { display: block; font-style: italic; }
details { margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; display: block; overflow-x: auto; }
td, th { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: normal; }
svg { width: 100%; height: auto; }
.bar-report { fill: var(--accent); }
.bar-copy { fill: #9aa7b8; }
";

/// Loads nothing: no scripts, no fonts, no images from anywhere.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

pub(super) fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta http-equiv="Content-Security-Policy" content=(CSP);
        meta name="referrer" content="no-referrer";
        title { (title) }
        style { (PreEscaped(STYLE)) }
    }
}

pub(super) fn time(ts: i64) -> String {
    rfc3339(ts)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
        + " UTC"
}

fn link(item: &ItemView) -> Markup {
    let title = if item.title.trim().is_empty() {
        "(untitled)"
    } else {
        item.title.as_str()
    };
    html! {
        @if let Some(u) = &item.url {
            a href=(u) rel="noopener noreferrer nofollow" { (title) }
        } @else {
            (title)
        }
    }
}

pub(super) fn followup(f: &Followup) -> Markup {
    html! {
        li id=(format!("alert-{}", f.alert_id)) data-item=(f.item.id) data-at=(f.item.at) {
            div.meta {
                (time(f.item.at)) " · " (f.item.feed)
                @if let Some(s) = f.score { " · score " (format!("{s:.2}")) }
                @if f.kind == crate::alerts::AlertKind::Update { " · update of a report already sent" }
            }
            div.title { strong { (link(&f.item)) } }
            @if let Some(n) = &f.novelty {
                div.new {
                    (n.line())
                    @for s in &n.sentences { q { (s) } }
                }
            }
            @if !f.why.is_empty() {
                div.muted { "shares: " (f.why.join(", ")) }
            }
            @if !f.copies.is_empty() {
                details.copies {
                    summary { (f.copies.len()) " cop" (if f.copies.len() == 1 { "y" } else { "ies" }) }
                    ul {
                        @for c in &f.copies {
                            li.copy data-item=(c.id) { (c.feed) ": " (link(c)) " " span.muted { (time(c.at)) } }
                        }
                    }
                }
            }
        }
    }
}

/// Reports and copies per day as bars; the day's label under every bar
/// when there are few, else under the first and the last.
fn chart(days: &[(String, u32, u32)]) -> Markup {
    let max = days.iter().map(|(_, r, c)| r + c).max().unwrap_or(0).max(1);
    let bar = 24;
    let gap = 8;
    let height = 120;
    // At least a page's width, so that a few days stay a few bars.
    let width = (days.len() * (bar + gap)).max(600);
    let few = days.len() <= 10;
    html! {
        svg viewBox=(format!("0 0 {width} {}", height + 30)) role="img" aria-label="reports and copies per day" {
            @for (i, (d, reports, copies)) in days.iter().enumerate() {
                @let x = i * (bar + gap);
                @let r = (height as u32 * reports / max) as usize;
                @let c = (height as u32 * copies / max) as usize;
                rect.bar-report x=(x) y=(height - r) width=(bar) height=(r) {
                    title { (d) ": " (reports) " report(s), " (copies) " cop(ies)" }
                }
                rect.bar-copy x=(x) y=(height - r - c) width=(bar) height=(c) {}
                @if few || i == 0 || i + 1 == days.len() {
                    text x=(x) y=(height + 20) font-size="10" fill="currentColor" { (d.get(5..).unwrap_or(d)) }
                }
            }
        }
    }
}

/// The page of one story.
pub fn render(r: &StoryReport) -> String {
    let mut by_day: Vec<(String, Vec<&Followup>)> = Vec::new();
    for f in &r.followups {
        let d = day(f.item.at);
        match by_day.last_mut() {
            Some((last, list)) if *last == d => list.push(f),
            _ => by_day.push((d, vec![f])),
        }
    }
    let copies: usize = r.followups.iter().map(|f| f.copies.len()).sum();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(&format!("{} · storywatch", r.story))) }
            body {
                header {
                    h1 { "Story " (r.story) }
                    p.muted {
                        (r.followups.len()) " follow-up(s), " (copies) " cop(ies) since " (time(r.since))
                        " · threshold " (format!("{:.2}", r.threshold)) " · generated " (time(r.generated_at))
                    }
                }
                h2 { "Reports and copies per day" }
                @if r.days.is_empty() { p.muted { "No follow-ups yet." } } @else { (chart(&r.days)) }
                h2 { "Timeline" }
                @if r.followups.is_empty() {
                    p id="empty" { "No follow-up has been alerted for this story since " (time(r.since)) " yet." }
                }
                @for (d, list) in &by_day {
                    h3 { (d) }
                    ol.timeline { @for f in list { (followup(f)) } }
                }
                h2 { "Names as they emerged" }
                @if r.emerged.is_empty() {
                    p.muted { "None yet: a name joins the story after it appears in confident follow-ups." }
                } @else {
                    table {
                        tr { th { "name" } th { "kind" } th { "first seen" } th { "reports" } }
                        @for e in &r.emerged {
                            tr { td { (e.name) } td { (e.kind) } td { (time(e.first_seen)) } td { (e.sightings) } }
                        }
                    }
                }
                h2 { "Near misses" }
                @if r.near_misses.is_empty() {
                    p.muted { "No item scored just under the threshold." }
                } @else {
                    p.muted { "Items that scored just under the threshold. "
                        code { "storywatch feedback ITEM relevant --story " (r.story) } " teaches the story that one belongs." }
                    table {
                        tr { th { "item" } th { "score" } th { "report" } th { "shares" } }
                        @for n in &r.near_misses {
                            tr.near-miss {
                                td { (n.item.id) }
                                td { (format!("{:.2}", n.score)) }
                                td { (link(&n.item)) br; span.muted { (n.item.feed) " · " (time(n.item.at)) } }
                                td { (n.why.join(", ")) }
                            }
                        }
                    }
                }
                h2 { "The story" }
                @for a in &r.articles {
                    article {
                        h3 { (a.title) }
                        p.muted { (a.source) }
                        p { (a.excerpt) }
                    }
                }
                table {
                    tr { th { "name" } th { "kind" } th { "aliases" } th { "weight" } }
                    @for e in &r.entities {
                        tr { td { (e.name) } td { (e.kind) } td { (e.aliases.join(", ")) } td { (format!("{:.2}", e.weight)) } }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// `/stories`: every story with its follow-up count, linked to its page.
pub fn index(stories: &[(String, u64)]) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head("stories · storywatch")) }
            body {
                h1 { "Stories" }
                @if stories.is_empty() { p { "No stories yet." } }
                ul {
                    @for (id, n) in stories {
                        li { a href=(format!("/stories/{id}")) { (id) } " " span.muted { (n) " follow-up(s)" } }
                    }
                }
            }
        }
    }
    .into_string()
}
