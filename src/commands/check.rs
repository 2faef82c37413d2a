//! `check-config`: what a valid config file sets up, in a few lines.

use crate::config::{self, Config};

/// The `check-config` summary: what the file configures, and where each
/// secret will be read from (never the secret).
pub fn check_config(c: &Config) -> String {
    let mut out = format!("config OK: {}\n", c.path.display());
    out.push_str(&format!("storage: {}\n", c.storage.path.display()));
    out.push_str(&format!(
        "poll: every {} by default, {} feeds at once, {} per host, timeout {}, max body {} bytes\n",
        humantime::format_duration(c.poll.interval),
        c.poll.concurrency,
        c.poll.per_host,
        humantime::format_duration(c.poll.timeout),
        c.poll.max_body
    ));
    out.push_str(&format!("user agent: {}\n", c.poll.user_agent));
    out.push_str(&format!(
        "alerts: items older than {} raise none\n",
        humantime::format_duration(c.alerts.max_age)
    ));
    if !c.matching.data.is_empty() {
        let files: Vec<String> = c
            .matching
            .data
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let lists: Vec<String> = c
            .matching
            .user_data
            .counts()
            .map(|(list, n)| format!("{list} +{n}"))
            .collect();
        out.push_str(&format!(
            "matching data: {} ({})\n",
            files.join(", "),
            if lists.is_empty() {
                "no entries".to_string()
            } else {
                lists.join(", ")
            }
        ));
    }
    out.push_str(&format!("stories: {}\n", c.stories.len()));
    for s in &c.stories {
        out.push_str(&format!(
            "  {}  threshold {:.2}  {} article(s), {} config entities, {} config events, {} exclude terms\n",
            s.id,
            s.threshold,
            s.articles.len(),
            s.entities.len(),
            s.events.len(),
            s.exclude.len()
        ));
    }
    out.push_str(&format!("sinks: {}\n", c.sinks.len()));
    for s in &c.sinks {
        out.push_str(&format!(
            "  {}  {}  url from {}{}{}{}\n",
            s.name,
            s.kind.as_str(),
            s.url
                .as_ref()
                .map(|u| match u {
                    config::SecretRef::Inline(u) => url::Url::parse(u)
                        .map(|u| crate::redact::url(&u))
                        .unwrap_or_default(),
                    other => other.describe(),
                })
                .unwrap_or_else(|| "-".into()),
            s.secret
                .as_ref()
                .map(|r| format!(", signed with {}", r.describe()))
                .unwrap_or_default(),
            s.digest
                .map(|d| format!(", digest every {}", humantime::format_duration(d)))
                .unwrap_or_default(),
            s.email
                .as_ref()
                .map(|e| format!(
                    ", from {} to {}{}{}",
                    e.from,
                    e.to.join(", "),
                    if e.starttls { "" } else { ", no STARTTLS" },
                    e.password
                        .as_ref()
                        .map(|p| format!(", password from {}", p.describe()))
                        .unwrap_or_default()
                ))
                .unwrap_or_default(),
        ));
    }
    out.push_str(&format!("feeds: {}\n", c.feeds.len()));
    for f in &c.feeds {
        let full_text = match f.full_text {
            config::FullText::Off => String::new(),
            mode => format!("  full_text = {}", mode.as_str()),
        };
        out.push_str(&format!(
            "  {}  every {}  {}{full_text}\n",
            f.name,
            humantime::format_duration(f.interval),
            crate::redact::url(&f.url)
        ));
    }
    out
}

/// `db check`: the report, and whether the file is sound.
pub fn db_check(c: &Config, json: bool) -> Result<(String, bool), super::CommandError> {
    let r = crate::store::check(&c.storage.path)?;
    let sound = r.problems.is_empty();
    if json {
        let line = serde_json::to_string(&r).unwrap_or_default();
        return Ok((line + "\n", sound));
    }
    Ok((
        describe_file(&r, if sound { "ok" } else { "DAMAGED" }),
        sound,
    ))
}

fn describe_file(r: &crate::store::CheckReport, verdict: &str) -> String {
    let mut out = format!(
        "{}: {verdict}\n  schema version {}{}\n  {} bytes, {} items, {} alerts, {} deliveries queued\n",
        r.path,
        r.schema_version,
        if r.schema_version < r.current_version {
            format!(" (this storywatch writes {}: migrated at the next poll or run)", r.current_version)
        } else {
            String::new()
        },
        r.bytes,
        r.items,
        r.alerts,
        r.queued_deliveries,
    );
    for p in &r.problems {
        out.push_str(&format!("  {}\n", crate::terminal::plain(p)));
    }
    if !r.problems.is_empty() {
        out.push_str(
            "  restore the last backup (docs/deployment.md) before storywatch writes to this file again\n",
        );
    }
    out
}

/// `backup FILE`: the copy, checked, with what it holds.
pub fn backup(c: &Config, to: &std::path::Path) -> Result<String, super::CommandError> {
    let r = crate::store::backup(&c.storage.path, to).map_err(|e| match e {
        crate::store::BackupError::Store(s) => super::CommandError::Store(s),
        other => super::CommandError::Backup(other.to_string()),
    })?;
    Ok(describe_file(&r, "backup written and checked"))
}
