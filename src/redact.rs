//! URLs fit for logs and listings. Feed URLs can carry a token in their
//! query or user info, and a webhook's path is often the token itself
//! (Slack's `/services/T…/B…/secret`, Discord's `/api/webhooks/id/secret`),
//! so one rule serves both: the scheme, host, port and first path segment
//! say where a request goes; the rest is hidden.

use url::Url;

/// `https://hooks.slack.com/services/***`, `http://127.0.0.1:8802/hook/***`,
/// `https://example.org/feed.xml`.
pub fn url(u: &Url) -> String {
    let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?"));
    if let Some(port) = u.port() {
        out.push_str(&format!(":{port}"));
    }
    let mut segments = u
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty());
    if let Some(first) = segments.next() {
        out.push('/');
        out.push_str(first);
    }
    let hidden = segments.next().is_some()
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some();
    if hidden {
        out.push_str("/***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        url(&Url::parse(s).unwrap())
    }

    #[test]
    fn keeps_where_a_request_goes_and_hides_what_may_be_a_token() {
        assert_eq!(
            r("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/services/***"
        );
        assert_eq!(
            r("http://127.0.0.1:8802/hook/abc"),
            "http://127.0.0.1:8802/hook/***"
        );
        assert_eq!(
            r("https://example.org/feed.xml"),
            "https://example.org/feed.xml"
        );
        assert_eq!(r("https://example.org/"), "https://example.org");
        assert_eq!(
            r("https://example.org/rss?token=s3cret"),
            "https://example.org/rss/***"
        );
        assert_eq!(
            r("https://user:pw@example.org/rss"),
            "https://example.org/rss/***"
        );
        assert!(!r("https://user:pw@example.org/a/b?k=v").contains("pw"));
    }
}
