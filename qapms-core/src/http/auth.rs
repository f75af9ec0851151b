//! Credentials turned into request headers.
//!
//! The secret stays in a `SecretString` until the moment a header is built, and the header is
//! marked sensitive so hyper's `Debug` output and HTTP/2 header compression tables never keep
//! it in the clear.

use std::sync::Arc;

use async_trait::async_trait;
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
    /// Credentials that change while the client runs (an OAuth access token that expires, a
    /// Splunk session key): asked for before every attempt, and renewed once when the server
    /// answers 401.
    Dynamic(Arc<dyn CredentialSource>),
}

/// One credential header, with the generation it belongs to.
///
/// The generation lets a source tell a 401 to the header it handed out last (renew) from a 401
/// to an older one that another task has already renewed (just retry): with rotating refresh
/// tokens, renewing twice would spend a refresh token that is no longer valid.
#[derive(Clone)]
pub struct AuthHeader {
    pub generation: u64,
    pub name: HeaderName,
    /// Marked sensitive by the client before it is sent.
    pub value: HeaderValue,
}

impl std::fmt::Debug for AuthHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthHeader")
            .field("generation", &self.generation)
            .field("name", &self.name)
            .field("value", &"[REDACTED]")
            .finish()
    }
}

impl AuthHeader {
    /// `Authorization: Bearer <token>`, sensitive.
    pub fn bearer(generation: u64, token: &SecretString) -> Result<Self> {
        Self::authorization(generation, &format!("Bearer {}", token.expose_secret()))
    }

    /// `Authorization: <value>` (e.g. `Splunk <session key>`), sensitive.
    pub fn authorization(generation: u64, value: &str) -> Result<Self> {
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            Error::config("the credential holds characters that cannot go in an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok(Self {
            generation,
            name: reqwest::header::AUTHORIZATION,
            value,
        })
    }
}

/// Where [`Auth::Dynamic`] credentials come from.
///
/// Implementations make their own calls (a token endpoint, Splunk's `auth/login`) on a client
/// of their own, and must serialise renewals: many requests may be in flight when a token
/// expires.
#[async_trait]
pub trait CredentialSource: Send + Sync + std::fmt::Debug {
    /// The header for the next attempt, fetching or refreshing the credential first if it is
    /// missing or about to expire.
    async fn header(&self) -> Result<AuthHeader>;

    /// The server answered 401 to a request sent with `generation`'s header. Renew (unless
    /// that generation is already outdated) and say whether resending is worthwhile.
    async fn renew(&self, generation: u64) -> Result<bool>;
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
            Self::Dynamic(source) => f.debug_tuple("Dynamic").field(source).finish(),
        }
    }
}

impl Auth {
    /// The header to send, marked sensitive; `None` for a dynamic source, asked per attempt.
    pub(crate) fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let (name, value) = match self {
            Self::Dynamic(_) => return Ok(None),
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
        Ok(Some((name, value)))
    }
}
