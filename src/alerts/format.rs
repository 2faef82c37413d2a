//! Message bodies per sink kind. Feed text is untrusted: every piece of it is
//! escaped for the target's markup and cut to the target's limits, so a
//! headline cannot ping a channel or hide a link behind other words.

use serde_json::{json, Value};

use super::payload::AlertPayload;
/// At most `max` characters, cut at a word with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    crate::matching::text::clip(s, max.saturating_sub(1))
}

/// Discord's embed limits.
const DISCORD_TITLE: usize = 256;
const DISCORD_DESCRIPTION: usize = 4096;
const DISCORD_FIELD_NAME: usize = 256;
const DISCORD_FIELD_VALUE: usize = 1024;
const DISCORD_CONTENT: usize = 2000;
/// All text of all embeds of one message.
const DISCORD_TOTAL: usize = 6000;
const DISCORD_EMBEDS: usize = 10;
/// Slack: a section's text, and the top-level fallback text we send.
const SLACK_SECTION: usize = 3000;
const SLACK_TEXT: usize = 3000;
const SLACK_BLOCKS: usize = 50;

/// Breaks `@everyone`, `@here`, `@channel` and user pings with a zero-width
/// space after the `@`, which keeps the text readable.
fn defuse_mentions(s: &str) -> String {
    s.replace('@', "@\u{200b}")
}

/// Slack mrkdwn: `&`, `<`, `>` are the control characters (links, `<!channel>`).
pub fn slack_escape(s: &str) -> String {
    defuse_mentions(
        &s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;"),
    )
}

/// Discord markdown: backslash-escapes what would format or link.
pub fn discord_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '-'
                | ':'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    defuse_mentions(&out)
}

/// Only http(s) links are linked; anything else is dropped.
pub(crate) fn safe_url(url: Option<&str>) -> Option<String> {
    let u = url::Url::parse(url?).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| u.to_string())
}

/// "why": entities and events, as plain text.
pub(super) fn why(p: &AlertPayload) -> String {
    let mut parts = p.matched.names();
    for n in &p.matched.new_entities {
        parts.push(format!("new {}: {}", n.kind, n.name));
    }
    parts.join(", ")
}

/// "new: …" or "nothing new: …", for alerts that measured it; and the
/// sentence that carries the most of it.
pub(super) fn novelty(p: &AlertPayload) -> Option<(String, Option<&str>)> {
    let n = p.novelty.as_ref()?;
    Some((n.line(), n.sentences.first().map(String::as_str)))
}

pub(super) fn title(p: &AlertPayload) -> String {
    p.item
        .as_ref()
        .map(|i| i.title.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{} alert", p.kind))
}

pub(super) fn headline(p: &AlertPayload) -> String {
    let score = p.score.map(|s| format!(" ({s:.2})")).unwrap_or_default();
    let label = p.kind.label();
    format!("{label} on {}{score}", p.story)
}

/// Slack incoming-webhook body for one or more alerts.
pub fn slack(alerts: &[AlertPayload]) -> Value {
    let mut blocks = Vec::new();
    let mut fallback = Vec::new();
    for p in alerts.iter().take(SLACK_BLOCKS / 2) {
        let t = slack_escape(&clip(&title(p), 300));
        let linked = match safe_url(p.item.as_ref().and_then(|i| i.url.as_deref())) {
            Some(u) => format!("<{}|{t}>", u.replace('|', "%7C").replace('>', "%3E")),
            None => t.clone(),
        };
        let mut text = format!(
            "*{}*\n{linked}\n_Why:_ {}",
            slack_escape(&headline(p)),
            slack_escape(&clip(&why(p), 600))
        );
        let new = novelty(p);
        if let Some((line, _)) = &new {
            text.push_str(&format!("\n_{}_", slack_escape(&clip(line, 600))));
        }
        if let Some(s) = new
            .and_then(|(_, s)| s)
            .or(p.snippets.first().map(String::as_str))
        {
            text.push_str(&format!("\n>{}", slack_escape(&clip(s, 600))));
        }
        text.push_str(&format!("\n_id {}_", p.id));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(&text, SLACK_SECTION)}}));
        blocks.push(json!({"type": "divider"}));
        fallback.push(format!("{}: {t}", slack_escape(&headline(p))));
    }
    blocks.pop();
    if alerts.len() > SLACK_BLOCKS / 2 {
        fallback.push(format!("… and {} more", alerts.len() - SLACK_BLOCKS / 2));
    }
    json!({"text": clip(&fallback.join("\n"), SLACK_TEXT), "blocks": blocks})
}

/// Discord webhook body: a short content line and one embed per alert,
/// within the per-message limits; `allowed_mentions` parses nothing.
pub fn discord(alerts: &[AlertPayload]) -> Value {
    let mut embeds = Vec::new();
    let mut total = 0;
    for p in alerts.iter().take(DISCORD_EMBEDS) {
        let title = clip(&discord_escape(&title(p)), DISCORD_TITLE);
        let mut description = format!("**{}**", discord_escape(&headline(p)));
        let new = novelty(p);
        if let Some((line, _)) = &new {
            description.push_str(&format!("\n{}", discord_escape(line)));
        }
        if let Some(s) = new
            .and_then(|(_, s)| s)
            .or(p.snippets.first().map(String::as_str))
        {
            description.push_str(&format!("\n> {}", discord_escape(s)));
        }
        let description = clip(&description, DISCORD_DESCRIPTION);
        let why = clip(&discord_escape(&why(p)), DISCORD_FIELD_VALUE);
        let size = title.chars().count() + description.chars().count() + why.chars().count() + 12;
        if total + size > DISCORD_TOTAL {
            break;
        }
        total += size;
        let mut embed = json!({
            "title": title,
            "description": description,
            "fields": [
                {"name": clip("Why", DISCORD_FIELD_NAME), "value": if why.is_empty() { "-".to_string() } else { why }, "inline": false},
                {"name": "Id", "value": p.id.clone(), "inline": true}
            ],
        });
        if let Some(u) = safe_url(p.item.as_ref().and_then(|i| i.url.as_deref())) {
            embed["url"] = json!(u);
        }
        embeds.push(embed);
    }
    let content = if alerts.len() == 1 {
        discord_escape(&headline(&alerts[0]))
    } else {
        format!("{} storywatch alerts", alerts.len())
    };
    json!({
        "content": clip(&content, DISCORD_CONTENT),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::payload::{AlertItem, Matched};

    fn hostile() -> AlertPayload {
        AlertPayload {
            kind_of_payload: "storywatch.alert.v1".into(),
            id: "swa_1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            story: "talks".into(),
            kind: crate::alerts::AlertKind::Followup,
            score: Some(0.7),
            item: Some(AlertItem {
                id: 1,
                title: "@everyone <!channel> [x](http://evil) <http://evil|click> **bold**"
                    .repeat(20),
                url: Some("javascript:alert(1)".into()),
                canonical_url: None,
                feed: "f".into(),
                published: None,
                summary: String::new(),
            }),
            matched: Matched::default(),
            snippets: vec!["@here look <@123> ".repeat(400)],
            components: None,
            cluster: None,
            feed: None,
            novelty: None,
        }
    }

    #[test]
    fn slack_text_cannot_ping_or_link() {
        let body = slack(&[hostile()]).to_string();
        assert!(
            !body.contains("<!channel>") && !body.contains("<http://evil"),
            "{body}"
        );
        assert!(
            !body.contains("@everyone") && !body.contains("@here"),
            "{body}"
        );
        assert!(!body.contains("javascript:"), "{body}");
        let v = slack(&[hostile()]);
        for b in v["blocks"].as_array().unwrap() {
            assert!(b["text"]["text"].as_str().unwrap_or("").chars().count() <= SLACK_SECTION);
        }
    }

    #[test]
    fn discord_text_cannot_ping_or_link_and_fits() {
        let v = discord(&[hostile()]);
        let body = v.to_string();
        assert!(
            !body.contains("@everyone") && !body.contains("@here"),
            "{body}"
        );
        assert!(!body.contains("[x](http"), "{body}");
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        let e = &v["embeds"][0];
        assert!(e["title"].as_str().unwrap().chars().count() <= DISCORD_TITLE);
        assert!(e["description"].as_str().unwrap().chars().count() <= DISCORD_DESCRIPTION);
        assert!(e.get("url").is_none());
        // Many alerts stay within the message total.
        let many = vec![hostile(); 30];
        let v = discord(&many);
        let total: usize = v["embeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.to_string().chars().count())
            .sum();
        assert!(v["embeds"].as_array().unwrap().len() <= DISCORD_EMBEDS);
        assert!(total <= DISCORD_TOTAL + 2000, "{total}");
    }
}
