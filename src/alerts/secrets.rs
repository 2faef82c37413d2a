//! Reading a secret from where the config says it is. The value is never
//! logged or put in an error; only where it was looked for.

use std::path::PathBuf;

use crate::config::SecretRef;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    Env(String),
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credential {0:?} asked for, but $CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit)")]
    NoCredentials(String),
    #[error("{0} is empty")]
    Empty(String),
}

/// The secret's value, trimmed of surrounding whitespace (files end in a newline).
pub fn resolve(r: &SecretRef) -> Result<String, SecretError> {
    let value = match r {
        SecretRef::Inline(v) => v.clone(),
        SecretRef::Env(name) => std::env::var(name).map_err(|_| SecretError::Env(name.clone()))?,
        SecretRef::File(path) => read(path.clone())?,
        SecretRef::Credential(name) => {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                .ok_or_else(|| SecretError::NoCredentials(name.clone()))?;
            read(PathBuf::from(dir).join(name))?
        }
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(SecretError::Empty(r.describe()));
    }
    Ok(value)
}

fn read(path: PathBuf) -> Result<String, SecretError> {
    std::fs::read_to_string(&path).map_err(|source| SecretError::File { path, source })
}
