//! A configured sink with its secrets read: where alerts go, how they are
//! signed, and the URL as logs may show it.

use url::Url;

use super::secrets::{self, SecretError};
use super::sign::{self, SigningKey};
use crate::config::SinkConfig;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink {sink}: url from {from}: {source}")]
    Url {
        sink: String,
        from: String,
        #[source]
        source: SecretError,
    },
    #[error("sink {sink}: url from {from} {why}")]
    BadUrl {
        sink: String,
        from: String,
        why: &'static str,
    },
    #[error("sink {sink}: secret from {from}: {source}")]
    Secret {
        sink: String,
        from: String,
        #[source]
        source: SecretError,
    },
    #[error("sink {sink}: secret from {from}: {source}")]
    Key {
        sink: String,
        from: String,
        #[source]
        source: sign::SecretError,
    },
    #[error("sink {sink}: {source}")]
    Email {
        sink: String,
        #[source]
        source: super::email::MailError,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A sink with its secrets read.
#[derive(Debug, Clone)]
pub struct Sink {
    pub cfg: SinkConfig,
    pub(super) url: Option<Url>,
    pub(super) key: Option<SigningKey>,
    /// For `email` sinks: the server, login and envelope, read and checked.
    pub(super) mail: Option<super::email::Mailer>,
}

impl Sink {
    pub fn resolve(cfg: &SinkConfig) -> Result<Sink, SinkError> {
        let url = match &cfg.url {
            None => None,
            Some(r) => {
                let raw = secrets::resolve(r).map_err(|source| SinkError::Url {
                    sink: cfg.name.clone(),
                    from: r.describe(),
                    source,
                })?;
                let u = crate::config::check_sink_url(cfg.kind, &raw).map_err(|why| {
                    SinkError::BadUrl {
                        sink: cfg.name.clone(),
                        from: r.describe(),
                        why,
                    }
                })?;
                Some(u)
            }
        };
        let key = match &cfg.secret {
            None => None,
            Some(r) => {
                let raw = secrets::resolve(r).map_err(|source| SinkError::Secret {
                    sink: cfg.name.clone(),
                    from: r.describe(),
                    source,
                })?;
                Some(SigningKey::parse(&raw).map_err(|source| SinkError::Key {
                    sink: cfg.name.clone(),
                    from: r.describe(),
                    source,
                })?)
            }
        };
        let mail = match (&cfg.email, &url) {
            (Some(e), Some(u)) => {
                Some(
                    super::email::Mailer::new(e, u).map_err(|source| SinkError::Email {
                        sink: cfg.name.clone(),
                        source,
                    })?,
                )
            }
            _ => None,
        };
        Ok(Sink {
            cfg: cfg.clone(),
            url,
            key,
            mail,
        })
    }

    /// The URL fit for logs: scheme and host only, the rest may be a token.
    pub fn redacted_url(&self) -> String {
        match &self.url {
            Some(u) => crate::redact::url(u),
            None => "stdout".into(),
        }
    }
}
