//! Stories: their reference articles (config files mirrored into the store,
//! plus those added with `story add`), the watchlists derived from them and
//! the compiled matchers. Built once per config load, so matching never
//! rebuilds an automaton per item.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::config::{Config, StoryConfig, DEFAULT_EMERGE_AFTER, DEFAULT_THRESHOLD};
use crate::extract::{html_to_text, plain_to_text};
use crate::matching::entities::Kind;
use crate::matching::watchlist::{self, aliases_for, Origin, WatchEntity, Watchlist};
use crate::matching::Matcher;
use crate::store::{EmergedName, Store, StoreError};

/// Weight of a name that emerged from follow-ups: it helps, never carries a match alone.
pub const EMERGED_WEIGHT: f64 = 0.35;

/// A learned name's weight halves for every this many seconds the story has
/// moved on without it (measured from the story's newest sighting, so a
/// quiet story keeps what it learned).
pub const EMERGED_HALF_LIFE: i64 = 30 * 24 * 3600;

/// A learned name three half-lives behind the story is forgotten.
const EMERGED_FORGET_AFTER: i64 = 3 * EMERGED_HALF_LIFE;

/// At most this many learned names take part in matching: the most recent,
/// then the most often seen.
pub const MAX_EMERGED: usize = 24;

/// The learned names that take part in matching, with their weights:
/// bounded to [`MAX_EMERGED`], decaying with how far the story moved on.
pub fn emerged_weights(names: &[EmergedName]) -> Vec<(&EmergedName, f64)> {
    let newest = names.iter().map(|n| n.last_seen).max().unwrap_or(0);
    let mut kept: Vec<(&EmergedName, f64)> = names
        .iter()
        .filter(|n| newest - n.last_seen <= EMERGED_FORGET_AFTER)
        .map(|n| {
            let behind = (newest - n.last_seen) as f64 / EMERGED_HALF_LIFE as f64;
            (n, EMERGED_WEIGHT * 0.5f64.powf(behind))
        })
        .collect();
    kept.sort_by(|a, b| {
        b.0.last_seen
            .cmp(&a.0.last_seen)
            .then(b.0.sightings.cmp(&a.0.sightings))
            .then(a.0.name.cmp(&b.0.name))
    });
    kept.truncate(MAX_EMERGED);
    kept
}

/// The score from which a follow-up is confident enough for the names beside
/// it to count toward emerging (z ≥ 2.8 in the score's logistic model).
pub const CONFIDENT_SCORE: f64 = 0.8;

#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    #[error("story {story}: cannot read reference article {}: {source}", path.display())]
    Read {
        story: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("story {story}: reference article {} has no text", path.display())]
    EmptyArticle { story: String, path: PathBuf },
    #[error(
        "story {story}: reference article {} names no person, place or organisation to watch for",
        path.display()
    )]
    NothingToMatch { story: String, path: PathBuf },
    #[error("no story {0:?} in the config or the store")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoryError {
    /// See [`StoreError::database_unusable`].
    pub fn database_unusable(&self) -> bool {
        matches!(self, StoryError::Store(e) if e.database_unusable())
    }
}

pub struct Story {
    pub id: String,
    pub threshold: f64,
    pub emerge_after: u32,
    pub watchlist: Watchlist,
    pub matcher: Matcher,
    pub articles: Vec<Article>,
}

/// A reference article as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub source: String,
    pub title: String,
    pub text: String,
    /// Read from a file the config names (as opposed to added with `story add`).
    pub from_config: bool,
}

/// Splits a reference article into title and text: HTML is turned into text
/// first; the title is the `<title>` or the first line.
pub fn article_from_text(raw: &str) -> (String, String) {
    let trimmed = raw.trim_start();
    // A whole news page: its article, without the site around it.
    let lower_head = trimmed[..trimmed.len().min(4096)].to_ascii_lowercase();
    if lower_head.starts_with('<') && (lower_head.contains("<html") || lower_head.contains("<body"))
    {
        let a = crate::article::extract_html(raw, None);
        if !a.text.trim().is_empty() {
            let title = a.title.unwrap_or_default();
            let text = a
                .text
                .split("\n\n")
                .filter(|p| p.trim() != title)
                .collect::<Vec<_>>()
                .join("\n\n");
            return (title, text);
        }
    }
    let looks_html = trimmed.starts_with('<')
        && (trimmed.contains("</p>") || trimmed.to_ascii_lowercase().contains("<html"));
    let text = if looks_html {
        html_to_text(raw)
    } else {
        raw.replace("\r\n", "\n")
    };
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let title = lines.next().unwrap_or("").to_string();
    // Every line is a paragraph (reference texts often have one paragraph or
    // heading per line, with no blank lines between).
    let body: Vec<String> = lines.map(plain_to_text).filter(|l| !l.is_empty()).collect();
    (title, body.join("\n\n"))
}

/// When a reference article was published, where it says (an HTML page's
/// metadata), in Unix seconds.
pub fn article_published(raw: &str) -> Option<i64> {
    let head = raw.trim_start();
    let head = head[..head.len().min(4096)].to_ascii_lowercase();
    if !head.starts_with('<') || !(head.contains("<html") || head.contains("<head")) {
        return None;
    }
    crate::article::extract_html(raw, None)
        .published
        .map(|t| t.timestamp())
}

/// Whether an article gives the matcher anything to look for: a name.
pub fn has_names(title: &str, text: &str) -> bool {
    !crate::matching::entities::mentions(&format!("{title}\n{text}")).is_empty()
}

/// Reads a reference article file: title, text and, where the page says,
/// when it was published. A file with no text, or none that names anything,
/// is refused naming the file.
pub fn read_article(story: &str, path: &Path) -> Result<(String, String, Option<i64>), StoryError> {
    let bytes = std::fs::read(path).map_err(|source| StoryError::Read {
        story: story.to_string(),
        path: path.to_path_buf(),
        source,
    })?;
    let decoded = crate::feeds::charset::decode(&bytes, None);
    let (title, text) = article_from_text(&decoded.text);
    if title.is_empty() && text.is_empty() {
        return Err(StoryError::EmptyArticle {
            story: story.to_string(),
            path: path.to_path_buf(),
        });
    }
    if !has_names(&title, &text) {
        return Err(StoryError::NothingToMatch {
            story: story.to_string(),
            path: path.to_path_buf(),
        });
    }
    Ok((title, text, article_published(&decoded.text)))
}

/// Mirrors the config's reference articles (as read) into the store, so
/// that a story's state lives with the items. Unchanged articles are no-ops.
pub fn sync_config_articles(
    store: &mut Store,
    stories: &[StorySource],
    now: i64,
) -> Result<(), StoryError> {
    store.write(true, |tx| {
        for st in stories {
            for a in st.articles.iter().filter(|a| a.from_config) {
                tx.upsert_story_article(&st.id, &a.source, &a.title, &a.text, now)?;
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Every story of the config, plus stories that exist only in the store.
/// Config articles are read from their files; a missing file is an error
/// naming the story and the path.
pub fn load_stories(store: &Store, config: &Config) -> Result<Vec<Story>, StoryError> {
    Ok(read_stories(store, config)?
        .iter()
        .map(StorySource::build)
        .collect())
}

/// What [`load_stories`] reads, checked, without building anything.
pub fn read_stories(store: &Store, config: &Config) -> Result<Vec<StorySource>, StoryError> {
    let mut ids: Vec<String> = config.stories.iter().map(|s| s.id.clone()).collect();
    for id in store.stored_story_ids()? {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.iter()
        .map(|id| read_story(store, config.story(id), id))
        .collect()
}

pub fn load_story(store: &Store, cfg: Option<&StoryConfig>, id: &str) -> Result<Story, StoryError> {
    Ok(read_story(store, cfg, id)?.build())
}

/// A story's inputs: its articles (files read, store rows) and the names
/// that emerged beside it. Reading them is cheap and is where a story can
/// fail; building its watchlist and matcher from them is most of the cost
/// and cannot fail, so a poll can leave it until an item needs matching.
#[derive(Debug, Clone)]
pub struct StorySource {
    pub id: String,
    cfg: Option<StoryConfig>,
    pub articles: Vec<Article>,
    /// When the story happened: the config's `date`, else the earliest
    /// publication date its article pages give, else the first date their
    /// text states.
    pub date: Option<i64>,
    /// Names learned from follow-ups, as stored.
    emerged: Vec<EmergedName>,
    /// Items a user judged for the story (`storywatch feedback`).
    feedback: Vec<crate::store::Feedback>,
}

/// Reads and checks one story: its config articles, the articles and
/// emerged names the store keeps for it.
pub fn read_story(
    store: &Store,
    cfg: Option<&StoryConfig>,
    id: &str,
) -> Result<StorySource, StoryError> {
    let mut articles = Vec::new();
    let mut config_sources = HashSet::new();
    let mut date = cfg.and_then(|c| c.date);
    let dated_by_config = date.is_some();
    for path in cfg.map(|c| c.articles.as_slice()).unwrap_or(&[]) {
        let (title, text, published) = read_article(id, path)?;
        if let Some(p) = published {
            date = Some(date.map_or(p, |d: i64| d.min(p)));
        }
        let source = path.display().to_string();
        config_sources.insert(source.clone());
        articles.push(Article {
            source,
            title,
            text,
            from_config: true,
        });
    }
    for a in store.story_articles(id)? {
        if !config_sources.contains(&a.source) {
            articles.push(Article {
                source: a.source,
                title: a.title,
                text: a.text,
                from_config: false,
            });
        }
    }
    if articles.is_empty() && cfg.is_none_or(|c| c.entities.is_empty() && c.query.is_none()) {
        return Err(StoryError::Unknown(id.to_string()));
    }
    if dated_by_config {
        date = cfg.and_then(|c| c.date);
    }
    // Else the first full date an article states (a dateline, "Posted Jan.
    // 28, 2014"), the earliest over the articles.
    if date.is_none() {
        date = articles
            .iter()
            .filter_map(|a| {
                crate::feeds::dates::first_date_in_text(&format!("{}\n{}", a.title, a.text))
            })
            .map(|t| t.timestamp())
            .min();
    }
    Ok(StorySource {
        id: id.to_string(),
        cfg: cfg.cloned(),
        articles,
        date,
        emerged: store.emerged_entities(id)?,
        feedback: store.feedback(id)?,
    })
}

impl StorySource {
    /// The story's watchlist and compiled matcher.
    pub fn build(&self) -> Story {
        let (id, cfg) = (self.id.as_str(), self.cfg.as_ref());
        let texts: Vec<String> = self
            .articles
            .iter()
            .map(|a| format!("{}\n{}", a.title, a.text))
            .collect();
        let mut refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let derived = watchlist::derive(&refs);
        let mut wl = match cfg {
            Some(c) => watchlist::merge_config(derived, &c.entities, &c.events, &c.exclude),
            None => derived,
        };
        // A query's names join as config entries; its words and names are
        // what the story's terms are compared on, beside any article.
        let query_text;
        if let Some(q) = cfg.and_then(|c| c.query.as_deref()) {
            let (names, terms, exclude) = watchlist::parse_query(q);
            let known = watchlist::index(&wl);
            let new: Vec<_> = names
                .iter()
                .filter(|n| !known.contains_key(crate::matching::text::fold(&n.name).trim()))
                .cloned()
                .collect();
            wl = watchlist::merge_config(wl, &new, &[], &exclude);
            let listed: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
            query_text = format!("{}\n{terms}", listed.join(", "));
            refs.push(&query_text);
            if wl.terms.is_empty() {
                wl.terms = watchlist::derive(&[&query_text]).terms;
            }
        }
        let known = watchlist::index(&wl);
        for (learned, weight) in emerged_weights(&self.emerged) {
            let name = &learned.name;
            if known.contains_key(crate::matching::text::fold(name).trim()) {
                continue;
            }
            let kind = Kind::parse(&learned.kind).unwrap_or(Kind::Other);
            wl.entities.push(WatchEntity {
                aliases: aliases_for(name, kind),
                name: name.clone(),
                kind,
                weight,
                origin: Origin::Emerged,
                mentions: 0,
            });
        }
        let threshold = cfg.map(|c| c.threshold).unwrap_or(DEFAULT_THRESHOLD);
        // What a user confirmed is compared on like the reference; what they
        // rejected counts against items like it.
        let judged: Vec<(bool, String)> = self
            .feedback
            .iter()
            .map(|f| (f.relevant, format!("{}\n{}", f.title, f.text)))
            .collect();
        refs.extend(judged.iter().filter(|(r, _)| *r).map(|(_, t)| t.as_str()));
        let rejected: Vec<&str> = judged
            .iter()
            .filter(|(r, _)| !*r)
            .map(|(_, t)| t.as_str())
            .collect();
        let matcher = Matcher::new(id, threshold, &wl, &refs)
            .with_reference_time(self.date)
            .with_rejected(&rejected);
        Story {
            id: id.to_string(),
            threshold,
            emerge_after: cfg.map(|c| c.emerge_after).unwrap_or(DEFAULT_EMERGE_AFTER),
            watchlist: wl,
            matcher,
            articles: self.articles.clone(),
        }
    }
}

/// The union of the stories' reference vocabularies (terms whose document
/// frequency the store keeps).
pub fn vocabulary(stories: &[Story]) -> rustc_hash::FxHashSet<String> {
    stories
        .iter()
        .flat_map(|s| s.matcher.vocabulary().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_names_are_bounded_and_fade_as_the_story_moves_on() {
        let day = 24 * 3600;
        let name = |n: &str, last_seen: i64, sightings: u32| EmergedName {
            name: n.to_string(),
            kind: "person".to_string(),
            last_seen,
            first_seen: last_seen,
            sightings,
        };
        let names = vec![
            name("Old", 0, 9),
            name("Month", 70 * day, 2),
            name("Recent", 100 * day, 2),
        ];
        let w = emerged_weights(&names);
        let weight = |n: &str| w.iter().find(|(e, _)| e.name == n).map(|(_, w)| *w);
        assert_eq!(weight("Recent"), Some(EMERGED_WEIGHT));
        assert!((weight("Month").unwrap() - EMERGED_WEIGHT / 2.0).abs() < 1e-9);
        // 100 days behind the story's newest sighting: forgotten.
        assert_eq!(weight("Old"), None);
        // A story that went quiet keeps its weights: only the gap counts.
        let quiet = vec![name("Only", 5 * day, 2)];
        assert_eq!(emerged_weights(&quiet)[0].1, EMERGED_WEIGHT);

        let many: Vec<EmergedName> = (0..40)
            .map(|i| name(&format!("N{i:02}"), day * (i / 4), (i % 4) as u32))
            .collect();
        let kept = emerged_weights(&many);
        assert_eq!(kept.len(), MAX_EMERGED);
        assert_eq!(kept[0].0.name, "N39", "newest, then most seen first");
        assert!(kept.iter().all(|(n, _)| n.last_seen >= 4 * day));
    }

    #[test]
    fn plain_and_html_articles() {
        let (t, b) =
            article_from_text("Envoy meets Putin\nA heading\nFirst   para.\n\nSecond para.");
        assert_eq!(t, "Envoy meets Putin");
        assert_eq!(b, "A heading\n\nFirst para.\n\nSecond para.");
        let (t, b) = article_from_text("<html><head><title>Head - Site</title></head><body><h1>Head</h1><p>One.</p><p>Two.</p></body></html>");
        assert_eq!(t, "Head");
        assert_eq!(b, "One.\n\nTwo.");
        // A saved news page: the article without the site's navigation.
        let page = format!(
            "<html><head><title>Envoy meets Putin - Daily</title></head><body>\
             <nav><ul><li><a href=/>Home</a></li><li><a href=/w>World</a></li><li><a href=/s>Sport</a></li></ul></nav>\
             <article><h1>Envoy meets Putin</h1><p>{}</p><p>{}</p></article>\
             <footer><p>Copyright Daily. Subscribe to our newsletter for more.</p></footer></body></html>",
            "US special envoy Steve Witkoff met Vladimir Putin in St Petersburg on Friday for talks.".repeat(3),
            "Kremlin spokesman Dmitry Peskov said relations were being normalised step by step.".repeat(3)
        );
        let (t, b) = article_from_text(&page);
        assert_eq!(t, "Envoy meets Putin");
        assert!(b.starts_with("US special envoy"), "{b}");
        assert!(!b.contains("Home") && !b.contains("newsletter"), "{b}");
    }
}
