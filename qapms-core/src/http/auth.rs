//! Credentials turned into request headers.
//!
//! The secret stays in a `SecretString` until the moment a header is built, and the header is
//! marked sensitive so hyper's `Debug` output and HTTP/2 header compression tables never keep
//! it in the clear.

use base64::Engine as _;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::{Error, Result};

/// How a client authenticates. `Debug` never shows the secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Basic base64(user:password)`, e.g. Jira Cloud email plus API token.
    Basic {
        user: String,
        password: SecretString,
    },
    /// `Authorization: Bearer <token>`, e.g. a Jira Data Center personal access token.
    Bearer(SecretString),
    /// A custom header such as Postman's `X-API-Key`.
    Header { name: String, value: SecretString },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"[REDACTED]")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Self::Header { name, .. } => f
                .debug_struct("Header")
                .field("name", name)
                .field("value", &"[REDACTED]")
                .finish(),
        }
    }
}

impl Auth {
    /// The header to send, marked sensitive.
    pub(crate) fn header(&self) -> Result<(HeaderName, HeaderValue)> {
        let (name, value) = match self {
            Self::Basic { user, password } => {
                let raw = format!("{user}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                (
                    reqwest::header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Basic {encoded}")),
                )
            }
            Self::Bearer(token) => (
                reqwest::header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())),
            ),
            Self::Header { name, value } => {
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    Error::config(format!("`{name}` is not a valid HTTP header name"))
                })?;
                (name, HeaderValue::from_str(value.expose_secret()))
            }
        };
        // The error from `HeaderValue` carries no text of the value, but say nothing about
        // the value ourselves either: it is a secret.
        let mut value = value.map_err(|_| {
            Error::config("the credential holds characters that cannot go in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}
