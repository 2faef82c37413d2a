//! `feeds add URL`: the `[[feed]]` table for a feed, or for the feed a web
//! page announces, checked by fetching and parsing it first.

use std::fmt::Write as _;

use url::Url;

use super::opml::{slug, toml_string};
use super::FeedsError;
use crate::config::Config;
use crate::feeds::fetch::{Body, Fetched, Fetcher, Validators};
use crate::feeds::parse::{parse_feed, Parsed};

/// Announced feeds tried before giving up on a page.
const MAX_CANDIDATES: usize = 5;

/// Fetches `url`; when it is a page rather than a feed, follows the feed
/// links it announces. Prints a `[[feed]]` table (for the config or an
/// include file) named `name` or after the feed's title.
pub async fn add(config: &Config, url: &str, name: Option<&str>) -> Result<String, FeedsError> {
    let requested = Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| FeedsError::Usage(format!("{url:?} is not an http(s) URL")))?;
    // Links the page announces may lead to its own host, however private:
    // the user named it. Anywhere else only public addresses are reached.
    let fetcher = Fetcher::for_url(&config.poll, &requested).map_err(|e| FeedsError::Fetch {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    let page = fetch(&fetcher, &requested).await?;
    let (feed_url, parsed, found_on) = match parse(&page) {
        Ok(parsed) => (page.final_url.clone(), parsed, None),
        Err(not_a_feed) => {
            let html = crate::feeds::charset::decode(
                &page.bytes,
                page.content_type
                    .as_deref()
                    .and_then(crate::feeds::charset::charset_from_content_type),
            );
            let links = crate::feeds::discover::feed_links(&html.text, &page.final_url);
            if links.is_empty() {
                return Err(FeedsError::NoFeed {
                    url: page.final_url.to_string(),
                    reason: format!(
                        "it is not a feed ({not_a_feed}) and announces none (<link rel=\"alternate\">)"
                    ),
                });
            }
            let mut failures = Vec::new();
            let mut found = None;
            for link in links.iter().take(MAX_CANDIDATES) {
                match fetch(&fetcher, link).await.and_then(|b| {
                    parse(&b)
                        .map(|p| (b.final_url.clone(), p))
                        .map_err(|reason| FeedsError::NoFeed {
                            url: link.to_string(),
                            reason,
                        })
                }) {
                    Ok((u, p)) => {
                        found = Some((u, p));
                        break;
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            let (u, p) = found.ok_or_else(|| FeedsError::NoFeed {
                url: page.final_url.to_string(),
                reason: format!(
                    "none of the feeds it announces could be read: {}",
                    failures.join("; ")
                ),
            })?;
            (u, p, Some(page.final_url.clone()))
        }
    };
    if let Some(f) = config.feeds.iter().find(|f| f.url == feed_url) {
        return Err(FeedsError::Usage(format!(
            "{feed_url} is already configured as feed {:?}",
            f.name
        )));
    }
    let title = parsed
        .feed
        .title
        .as_ref()
        .map(|t| t.content.trim().to_string())
        .unwrap_or_default();
    let name = match name {
        Some(n) if n.trim().is_empty() => {
            return Err(FeedsError::Usage("--name must not be empty".into()))
        }
        Some(n) if config.feed(n.trim()).is_some() => {
            return Err(FeedsError::Usage(format!(
                "--name {n:?}: a feed of that name is already configured"
            )))
        }
        Some(n) => n.trim().to_string(),
        None => unique(config, &slug(&title, feed_url.as_str())),
    };
    let mut out = String::new();
    let shown = if title.is_empty() { "untitled" } else { &title };
    let _ = writeln!(
        out,
        "# {} ({} entries){}",
        crate::terminal::plain(shown).replace('\n', " "),
        parsed.feed.entries.len(),
        found_on
            .map(|p| format!(", announced by {p}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "[[feed]]\nname = {}\nurl = {}",
        toml_string(&name),
        toml_string(feed_url.as_str())
    );
    Ok(out)
}

async fn fetch(fetcher: &Fetcher, url: &Url) -> Result<Body, FeedsError> {
    let failed = |reason: String| FeedsError::Fetch {
        url: url.to_string(),
        reason,
    };
    match fetcher.fetch(url, &Validators::default()).await {
        Ok(Fetched::Body(b)) => Ok(*b),
        Ok(Fetched::NotModified { status }) => Err(failed(format!("HTTP {status} without a body"))),
        Err(e) => Err(failed(e.to_string())),
    }
}

fn parse(body: &Body) -> Result<Parsed, String> {
    parse_feed(&body.bytes, body.content_type.as_deref(), &body.final_url)
        .map_err(|e| e.to_string())
}

/// `base`, or `base-2`, `base-3`, … : the first name no feed has.
fn unique(config: &Config, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while config.feed(&name).is_some() {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}
