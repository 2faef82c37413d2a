//! The `email` sink: one message per alert, or one per digest, over SMTP.
//! The HTML part comes from the story page's templates and a plain-text
//! part says the same. Messages of one story reply to one synthetic root
//! (`In-Reply-To`/`References`), so mail clients show each story as one
//! thread; a message's `Message-ID` is made from the alert's id, so a retry
//! after a lost answer is the same message, never a second one.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use url::Url;

use super::answer::Outcome;
use super::format;
use super::payload::AlertPayload;
use super::secrets::{self, SecretError};
use crate::config::EmailConfig;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("password from {from}: {source}")]
    Password {
        from: String,
        #[source]
        source: SecretError,
    },
    #[error("a password is only sent encrypted or to this machine: use smtps://, keep starttls, or a relay on loopback")]
    ClearPassword,
    #[error("{what} {value:?} is not a mail address")]
    Address { what: &'static str, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtps://`: TLS from the first byte.
    Tls,
    /// `smtp://`: STARTTLS, and a server that cannot is refused.
    StartTls,
    /// `smtp://` with `starttls = false`.
    Plain,
}

/// An email sink's server, login and envelope, read and checked.
#[derive(Clone)]
pub struct Mailer {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The right-hand side of the Message-IDs: the sender's domain.
    domain: String,
}

impl std::fmt::Debug for Mailer {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("login", &self.credentials.is_some())
            .finish()
    }
}

impl Mailer {
    pub fn new(cfg: &EmailConfig, url: &Url) -> Result<Mailer, MailError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let security = match (url.scheme(), cfg.starttls) {
            ("smtps", _) => Security::Tls,
            (_, true) => Security::StartTls,
            (_, false) => Security::Plain,
        };
        let port = url.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::Plain => 25,
        });
        let credentials = match (&cfg.username, &cfg.password) {
            (Some(user), Some(r)) => {
                let password = secrets::resolve(r).map_err(|source| MailError::Password {
                    from: r.describe(),
                    source,
                })?;
                if security == Security::Plain && !is_loopback(&host) {
                    return Err(MailError::ClearPassword);
                }
                Some(Credentials::new(user.clone(), password))
            }
            _ => None,
        };
        let mailbox = |what, v: &str| {
            v.parse::<Mailbox>().map_err(|_| MailError::Address {
                what,
                value: v.to_string(),
            })
        };
        let from = mailbox("from", &cfg.from)?;
        let to = cfg
            .to
            .iter()
            .map(|t| mailbox("to", t))
            .collect::<Result<Vec<_>, _>>()?;
        let domain = from.email.domain().to_string();
        Ok(Mailer {
            host,
            port,
            security,
            credentials,
            from,
            to,
            domain,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Sends one alert (or a digest of several) under `id`.
    pub async fn send(
        &self,
        id: &str,
        payloads: &[AlertPayload],
        timeout: Duration,
    ) -> (Outcome, Option<u16>, Option<String>) {
        let message = match self.message(id, payloads) {
            Ok(m) => m,
            Err(e) => {
                return (
                    Outcome::Failed { pause: false },
                    None,
                    Some(format!("cannot build the message: {e}")),
                )
            }
        };
        let transport = match self.security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host),
            Security::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &self.host,
            )),
        };
        let mut builder = match transport {
            Ok(b) => b.port(self.port).timeout(Some(timeout)),
            Err(e) => return (Outcome::Failed { pause: true }, None, Some(describe(&e))),
        };
        if let Some(c) = &self.credentials {
            builder = builder.credentials(c.clone());
        }
        match builder.build().send(message).await {
            Ok(_) => (Outcome::Delivered, None, None),
            Err(e) => (outcome(&e), None, Some(describe(&e))),
        }
    }

    /// The message for `payloads`, threaded under their story when they
    /// have one story.
    pub fn message(
        &self,
        id: &str,
        payloads: &[AlertPayload],
    ) -> Result<Message, lettre::error::Error> {
        let mut stories: Vec<&str> = payloads.iter().map(|p| p.story.as_str()).collect();
        stories.dedup();
        stories.sort_unstable();
        stories.dedup();
        let subject = match payloads {
            [p] => format!("[{}] {}", p.story, format::title(p)),
            _ => format!(
                "[storywatch] {} alerts: {}",
                payloads.len(),
                stories.join(", ")
            ),
        };
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(one_line(&subject, 200))
            .message_id(Some(format!("<{}@{}>", atext(id), self.domain)))
            .date_now()
            // RFC 3834: no vacation replies, no loops.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Storywatch-Id"),
                id.into(),
            ));
        for to in &self.to {
            b = b.to(to.clone());
        }
        if let [story] = stories[..] {
            let root = format!("<story.{}@{}>", atext(story), self.domain);
            b = b.in_reply_to(root.clone()).references(root);
        }
        b.multipart(MultiPart::alternative_plain_html(
            plain(payloads),
            crate::report::mail(payloads),
        ))
    }
}

/// What a mail server's answer means for the outbox: 4xx and a server that
/// cannot be reached are tried again; a refused login pauses the sink (no
/// message would get through); any other 5xx fails this message alone.
fn outcome(e: &lettre::transport::smtp::Error) -> Outcome {
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        let login = matches!(code.as_str(), "530" | "534" | "535" | "538");
        return Outcome::Failed { pause: login };
    }
    if e.is_client() {
        return Outcome::Failed { pause: false };
    }
    Outcome::Retry { after: None }
}

fn describe(e: &lettre::transport::smtp::Error) -> String {
    one_line(&format!("SMTP {e}"), 200)
}

/// `localhost` or a loopback address: a relay on this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A header's text: no control or bidi characters, one line, at most `max`
/// characters.
fn one_line(s: &str, max: usize) -> String {
    crate::matching::text::clip(&crate::terminal::one_line(s), max)
}

/// `s` as RFC 5322 dot-atom text for a Message-ID: letters, digits and
/// `-._` kept, every other byte written `=XX`, so that distinct ids stay
/// distinct.
fn atext(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out.trim_end_matches('.').to_string()
}

/// The plain-text part: what the HTML part says, one block per alert.
fn plain(payloads: &[AlertPayload]) -> String {
    let mut out = String::new();
    for p in payloads {
        out.push_str(&format::headline(p));
        out.push('\n');
        out.push_str(&format::title(p));
        out.push('\n');
        if let Some(u) = format::safe_url(p.item.as_ref().and_then(|i| i.url.as_deref())) {
            out.push_str(&u);
            out.push('\n');
        }
        if let Some(f) = &p.feed {
            out.push_str(&format!(
                "feed {} is {} (failing since {}, {} errors{})\n",
                f.name,
                f.state,
                f.failing_since,
                f.consecutive_errors,
                f.last_error
                    .as_deref()
                    .map(|e| format!(", last: {e}"))
                    .unwrap_or_default()
            ));
        }
        if let Some((line, sentence)) = format::novelty(p) {
            out.push_str(&line);
            out.push('\n');
            if let Some(s) = sentence {
                out.push_str(&format!("  \u{201c}{s}\u{201d}\n"));
            }
        }
        let why = format::why(p);
        if !why.is_empty() {
            out.push_str(&format!("shares: {why}\n"));
        }
        out.push_str(&format!("alert {}\n\n", p.id));
    }
    // Feed text keeps no control or bidi characters, line by line.
    out.lines()
        .map(|l| crate::terminal::plain(l).into_owned() + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_keep_distinct_ids_distinct() {
        assert_eq!(atext("swa_0a1b"), "swa_0a1b");
        assert_eq!(atext("item:1"), "item=3A1");
        assert_ne!(atext("a:b"), atext("a.b"));
        assert_eq!(atext(".x"), "=2Ex");
        assert!(atext("<x>@y")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=-_.".contains(c)));
    }

    #[test]
    fn only_loopback_hosts_are_this_machine() {
        for h in ["localhost", "127.0.0.1", "[::1]", "127.1.2.3"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "mail.example.org",
            "10.0.0.1",
            "[::2]",
            "localhost.example.org",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn headers_are_one_line_without_controls() {
        assert_eq!(one_line("a\r\nBcc: x@y\u{202e}", 200), "a Bcc: x@y");
        assert!(one_line(&"word ".repeat(100), 50).chars().count() <= 51);
    }
}
