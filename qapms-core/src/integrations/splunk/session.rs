//! Username and password exchanged for a Splunk session key through `auth/login`.
//!
//! Sending the password with every request (`method: basic`) works, but each request then costs
//! Splunk a password check, and the password crosses the wire every time. `method: login` posts
//! it once to `/services/auth/login`, keeps the returned session key, and sends
//! `Authorization: Splunk <key>`. Session keys expire after the server's idle timeout (an hour by
//! default); the next request then gets a 401, and [`SessionLogin::renew`] logs in again and the
//! request is resent once. Logins are serialised, so a burst of requests after an expiry logs in
//! once, not once per request.
//!
//! The login call has its own [`HttpClient`] without credentials, and its bodies (the password
//! going out, the key coming back) never reach the TRACE log. The key is registered with the
//! process redactor as soon as it arrives.

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::explain;
use crate::http::{AuthHeader, CredentialSource, HttpClient};
use crate::logging::Redactor;
use crate::{Error, ErrorKind, Result};

/// Logs in with a username and password and hands out the session key; see the module docs.
pub(crate) struct SessionLogin {
    http: HttpClient,
    username: String,
    password: SecretString,
    redactor: Option<Redactor>,
    /// The current key and its generation; `None` before the first login.
    state: Mutex<Session>,
}

#[derive(Default)]
struct Session {
    generation: u64,
    key: Option<SecretString>,
}

impl std::fmt::Debug for SessionLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLogin")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct LoginAnswer {
    #[serde(rename = "sessionKey")]
    session_key: String,
}

impl SessionLogin {
    pub(crate) fn new(
        http: HttpClient,
        username: String,
        password: SecretString,
        redactor: Option<Redactor>,
    ) -> Self {
        Self {
            http,
            username,
            password,
            redactor,
            state: Mutex::new(Session::default()),
        }
    }

    async fn login(&self) -> Result<SecretString> {
        let response = self
            .http
            .post("/services/auth/login")
            .form(&[
                ("username", self.username.as_str()),
                ("password", self.password.expose_secret()),
                ("output_mode", "json"),
            ])
            .operation("auth.login")
            .sensitive_bodies()
            // A login changes nothing on the server: resending it after a 503 is safe.
            .idempotent()
            .send()
            .await
            .map_err(|err| match (err.kind(), err.context_value("status")) {
                (ErrorKind::Unauthorized, Some("401")) => Error::new(
                    ErrorKind::Unauthorized,
                    format!(
                        "splunk POST /services/auth/login: Splunk refused the username `{}` or its \
                     password; check integrations.splunk.auth",
                        self.username
                    ),
                )
                .with_context("status", "401"),
                _ => explain(err),
            })?;
        let answer: LoginAnswer =
            crate::http::decode_json(&response.body, "splunk POST /services/auth/login")?;
        if answer.session_key.is_empty() {
            return Err(Error::new(
                ErrorKind::Upstream,
                "splunk POST /services/auth/login: the answer has an empty sessionKey",
            ));
        }
        let key = SecretString::from(answer.session_key);
        if let Some(redactor) = &self.redactor {
            redactor.add(&key);
        }
        tracing::debug!(username = %self.username, "logged in to Splunk");
        Ok(key)
    }
}

#[async_trait]
impl CredentialSource for SessionLogin {
    async fn header(&self) -> Result<AuthHeader> {
        let mut session = self.state.lock().await;
        if session.key.is_none() {
            session.key = Some(self.login().await?);
            session.generation += 1;
        }
        let key = session.key.as_ref().map_or("", |k| k.expose_secret());
        AuthHeader::authorization(session.generation, &format!("Splunk {key}"))
    }

    async fn renew(&self, generation: u64) -> Result<bool> {
        let mut session = self.state.lock().await;
        if session.generation != generation {
            // Another request already logged in again after the same expiry.
            return Ok(true);
        }
        tracing::info!(username = %self.username, "the Splunk session expired; logging in again");
        session.key = Some(self.login().await?);
        session.generation += 1;
        Ok(true)
    }
}
