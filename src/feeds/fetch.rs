//! Fetching feed documents: conditional GET, size and time limits, politeness.
//!
//! One HTTP client is shared by all feeds. Bodies are streamed and cut at
//! `max_body` (the count is of decompressed bytes, so a compression bomb stops
//! there too). `file://` URLs are read from disk with the same limit, and
//! their size and modification time act as the validator, so an unchanged
//! file costs no parsing either.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;
use url::Url;

use super::guard::{Guard, GuardedResolver, Refused};
use super::hosts::HostPool;
use crate::config::{FeedConfig, PollConfig};

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
    application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5";
const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";
const MAX_REDIRECTS: usize = 5;
/// `Retry-After` beyond this is treated as this: a publisher cannot park a feed for weeks.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Validators from the previous successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum Fetched {
    /// 304, or an unchanged file.
    NotModified {
        status: u16,
    },
    Body(Box<Body>),
}

#[derive(Debug)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub status: u16,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Where the body came from after redirects; relative links resolve here.
    pub final_url: Url,
    /// `Cache-Control: max-age`, a hint for the schedule.
    pub max_age: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("timed out after {}s", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    Redirects,
    #[error("body larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("request failed: {0}")]
    Request(String),
    /// The server went away mid-body (reset, or closed before the length it promised).
    #[error("connection lost while reading the body: {0}")]
    BodyCut(String),
    /// An article link (or a redirect) to an address storywatch may not reach.
    #[error("{0}")]
    Refused(String),
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// The delay the server asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub struct Fetcher {
    /// For feeds: their URLs are the operator's, so their hosts may be
    /// anywhere, but a redirect to another host is checked like a link.
    client: reqwest::Client,
    /// For article pages: links strangers wrote, so it only reaches public
    /// addresses (see [`super::guard`]).
    page: PageClient,
    /// Page clients for feeds with their own `allow_hosts`, keyed by that list.
    feed_pages: Vec<(Vec<String>, PageClient)>,
    hosts: Arc<HostPool>,
    max_body: u64,
    timeout: Duration,
}

impl Fetcher {
    /// The global and per-host limits, to share with other HTTP work
    /// (alert delivery), so one host never sees more than `per_host` at once.
    pub fn hosts(&self) -> Arc<HostPool> {
        self.hosts.clone()
    }

    /// A fetcher for these feeds: their hosts are trusted (the operator
    /// wrote them), and each feed's `allow_hosts` opens its article links.
    pub fn new(cfg: &PollConfig, feeds: &[FeedConfig]) -> Result<Fetcher, FetchError> {
        Fetcher::build(cfg, feeds.iter().map(|f| &f.url), feeds)
    }

    /// A fetcher for one URL the operator typed (`storywatch extract URL`).
    pub fn for_url(cfg: &PollConfig, url: &Url) -> Result<Fetcher, FetchError> {
        Fetcher::build(cfg, std::iter::once(url), &[])
    }

    fn build<'a>(
        cfg: &PollConfig,
        trusted: impl Iterator<Item = &'a Url>,
        feeds: &[FeedConfig],
    ) -> Result<Fetcher, FetchError> {
        // One TLS config for this fetcher's clients: its roots are read once,
        // at the first HTTPS certificate any of them meets.
        let tls = crate::tls::client_config();
        let guard = |extra: &mut dyn Iterator<Item = String>| {
            let mut allow_hosts = cfg.allow_hosts.clone();
            allow_hosts.extend(extra);
            allow_hosts.sort();
            allow_hosts.dedup();
            Arc::new(Guard {
                allow_private: cfg.allow_private,
                allow_hosts,
            })
        };
        let guarded_client = |guard: &Arc<Guard>| {
            let redirect_guard = guard.clone();
            reqwest::Client::builder()
                .tls_backend_preconfigured(tls.clone())
                .user_agent(cfg.user_agent.clone())
                .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
                .timeout(cfg.timeout)
                .gzip(true)
                .brotli(true)
                .deflate(true)
                .dns_resolver(Arc::new(GuardedResolver {
                    guard: guard.clone(),
                }))
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() > MAX_REDIRECTS {
                        return attempt
                            .error(format!("too many redirects (more than {MAX_REDIRECTS})"));
                    }
                    match redirect_guard.check_url(attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(reason) => attempt.error(reason),
                    }
                }))
                .build()
                .map_err(|e| FetchError::Request(chain(&e)))
        };
        let page = |guard: Arc<Guard>| -> Result<PageClient, FetchError> {
            Ok(PageClient {
                client: guarded_client(&guard)?,
                guard,
            })
        };
        let feed_guard = guard(&mut trusted.filter_map(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        }));
        let client = guarded_client(&feed_guard)?;
        let mut feed_pages: Vec<(Vec<String>, PageClient)> = Vec::new();
        for f in feeds.iter().filter(|f| !f.allow_hosts.is_empty()) {
            if !feed_pages.iter().any(|(k, _)| *k == f.allow_hosts) {
                let client = page(guard(&mut f.allow_hosts.iter().cloned()))?;
                feed_pages.push((f.allow_hosts.clone(), client));
            }
        }
        Ok(Fetcher {
            client,
            page: page(guard(&mut std::iter::empty()))?,
            feed_pages,
            hosts: Arc::new(HostPool::new(cfg.concurrency.get(), cfg.per_host.get())),
            max_body: cfg.max_body,
            timeout: cfg.timeout,
        })
    }

    /// Fetches `url`, conditionally on `validators`.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        if url.scheme() == "file" {
            return self.fetch_file(url, validators).await;
        }
        self.fetch_with(&self.client, url, validators, ACCEPT).await
    }

    /// Fetches an article page a feed links to: only over HTTP(S), only to
    /// public addresses unless the config allows more, with the same host
    /// limits, timeout and size cap as feeds.
    /// `allow_hosts` is the linking feed's own list.
    pub async fn fetch_page(
        &self,
        url: &Url,
        allow_hosts: &[String],
    ) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Refused(format!(
                "refused: {url} is not an http(s) link"
            )));
        }
        let page = self
            .feed_pages
            .iter()
            .find(|(k, _)| k == allow_hosts)
            .map_or(&self.page, |(_, p)| p);
        page.guard
            .check_url(url)
            .map_err(|r| FetchError::Refused(r.to_string()))?;
        self.fetch_with(&page.client, url, &Validators::default(), PAGE_ACCEPT)
            .await
    }

    async fn fetch_with(
        &self,
        client: &reqwest::Client,
        url: &Url,
        validators: &Validators,
        accept: &str,
    ) -> Result<Fetched, FetchError> {
        let _permit = self.hosts.acquire(url.host_str().unwrap_or("")).await;
        let mut req = client.get(url.clone()).header(header::ACCEPT, accept);
        if let Some(etag) = &validators.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            req = req.header(header::IF_MODIFIED_SINCE, lm);
        }
        let mut resp = req.send().await.map_err(|e| self.classify(e))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified { status: 304 });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(resp.headers()),
            });
        }
        if resp.content_length().is_some_and(|n| n > self.max_body) {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let headers = resp.headers().clone();
        let final_url = resp.url().clone();
        // Sized once when the length is known: no doubling to twice the body.
        let mut bytes = Vec::with_capacity(resp.content_length().unwrap_or(0) as usize);
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.classify(e))? {
            if (bytes.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text_header = |name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Fetched::Body(Box::new(Body {
            bytes,
            status: status.as_u16(),
            content_type: text_header(header::CONTENT_TYPE),
            validators: Validators {
                etag: text_header(header::ETAG),
                last_modified: text_header(header::LAST_MODIFIED),
            },
            final_url,
            max_age: cache_max_age(&headers),
        })))
    }

    async fn fetch_file(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let path = url
            .to_file_path()
            .map_err(|_| FetchError::Request(format!("not a local file URL: {url}")))?;
        let io = |source| FetchError::File {
            path: path.clone(),
            source,
        };
        let meta = tokio::fs::metadata(&path).await.map_err(io)?;
        if meta.len() > self.max_body {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let etag = format!("file:{}:{}", meta.len(), mtime);
        if validators.etag.as_deref() == Some(etag.as_str()) {
            return Ok(Fetched::NotModified { status: 304 });
        }
        let bytes = tokio::fs::read(&path).await.map_err(io)?;
        if bytes.len() as u64 > self.max_body {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        Ok(Fetched::Body(Box::new(Body {
            bytes,
            status: 200,
            content_type: None,
            validators: Validators {
                etag: Some(etag),
                last_modified: None,
            },
            final_url: url.clone(),
            max_age: None,
        })))
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if let Some(r) = find_cause::<Refused>(&e) {
            return FetchError::Refused(r.to_string());
        }
        if e.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else if e.is_redirect() {
            FetchError::Redirects
        } else if e.is_connect() {
            FetchError::Connect(root_cause(&e))
        } else if let Some(io) = find_cause::<std::io::Error>(&e).filter(|io| {
            use std::io::ErrorKind::*;
            matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            )
        }) {
            FetchError::BodyCut(io.to_string())
        } else {
            FetchError::Request(chain(&e))
        }
    }
}

/// A client whose resolver and redirect policy enforce `guard`.
struct PageClient {
    client: reqwest::Client,
    guard: Arc<Guard>,
}

/// `Retry-After` as seconds or an HTTP date, capped at [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let d = if let Ok(secs) = v.parse::<f64>() {
        (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())))?
    } else {
        let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default()
    };
    Some(d.min(MAX_RETRY_AFTER))
}

fn cache_max_age(headers: &HeaderMap) -> Option<Duration> {
    let cc = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    cc.split(',').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("max-age"))
            .then(|| v.trim().parse::<u64>().ok().map(Duration::from_secs))
            .flatten()
    })
}

/// The error and its causes on one line (reqwest's own message is vague).
fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !msg.contains(&s) {
            msg.push_str(": ");
            msg.push_str(&s);
        }
        cur = c.source();
    }
    msg
}

/// The first error of type `T` under reqwest's and hyper's wrappers.
fn find_cause<T: std::error::Error + 'static>(e: &reqwest::Error) -> Option<&T> {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cur {
        if let Some(found) = c.downcast_ref::<T>() {
            return Some(found);
        }
        cur = c.source();
    }
    None
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn max_age() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=600"),
        );
        assert_eq!(cache_max_age(&h), Some(Duration::from_secs(600)));
    }
}
