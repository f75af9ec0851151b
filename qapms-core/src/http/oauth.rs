//! OAuth 2.0 client side: PKCE, the authorization URL, and the token endpoint's grants.
//!
//! Written on the one [`HttpClient`] rather than on a separate OAuth crate, so token calls get
//! the same TLS floor, timeouts, retry rules, metrics and spans as every other call, and so the
//! two places where OAuth secrets travel (the token request and its answer) can be kept out of
//! the TRACE log with [`RequestBuilder::sensitive_bodies`](super::RequestBuilder::sensitive_bodies).
//! The protocol parts are small: RFC 6749 grants, RFC 7636 PKCE (S256 only: `plain` defeats the
//! point), and the RFC 6749 §5.2 error body.
//!
//! PKCE is always sent with the authorization code grant. A client secret is sent too when one
//! is configured: confidential clients such as Jira Cloud 3LO apps must send it, public clients
//! (Jira Data Center with PKCE) have none. Token endpoints differ in the body they take: most
//! want a form (RFC 6749), Atlassian's cloud endpoint documents JSON; [`TokenBody`] picks.
//!
//! Every token that arrives is registered with the process redactor before anything else can
//! see it, and [`TokenSet`]'s `Debug` shows no token.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::client::HttpClient;
use super::loopback::RedirectListener;
use crate::logging::Redactor;
use crate::{Error, ErrorKind, Result};

/// How the token endpoint wants its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded` (RFC 6749; Jira Data Center).
    Form,
    /// `application/json` (Atlassian's cloud token endpoint).
    Json,
}

/// A PKCE verifier and its S256 challenge (RFC 7636).
pub struct Pkce {
    verifier: SecretString,
    challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Pkce {
    /// A fresh verifier: 32 random bytes, 43 characters of base64url, as RFC 7636 §4.1 advises.
    pub fn generate() -> Result<Self> {
        let verifier = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        Ok(Self::from_verifier(SecretString::from(verifier)))
    }

    /// The pair for a known verifier (tests use RFC 7636's appendix B example).
    pub fn from_verifier(verifier: SecretString) -> Self {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose_secret()));
        Self {
            verifier,
            challenge,
        }
    }

    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    pub fn verifier(&self) -> &SecretString {
        &self.verifier
    }
}

/// A random `state` value: 128 bits, base64url.
pub fn random_state() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>()?))
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0_u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| Error::secret("the OS random number generator failed").with_source(e))?;
    Ok(bytes)
}

/// What a token endpoint granted. `Debug` shows no token.
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// Present for the authorization code grant; a rotating provider sends a new one with
    /// every refresh and refuses the old one afterwards.
    pub refresh_token: Option<SecretString>,
    /// When the access token stops working, from `expires_in`.
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// An OAuth 2.0 client of one provider; see the module docs.
pub struct OAuthClient {
    http: HttpClient,
    token_path: String,
    token_url: Url,
    authorize_url: Option<Url>,
    client_id: String,
    client_secret: Option<SecretString>,
    body: TokenBody,
    authorize_params: Vec<(String, String)>,
    redactor: Option<Redactor>,
    integration: String,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("integration", &self.integration)
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`OAuthClient`]; see [`OAuthClient::builder`].
#[derive(Debug)]
pub struct OAuthClientBuilder {
    integration: String,
    token_url: String,
    authorize_url: Option<String>,
    client_id: String,
    client_secret: Option<SecretString>,
    body: TokenBody,
    authorize_params: Vec<(String, String)>,
    redactor: Option<Redactor>,
    timeout: Duration,
}

impl OAuthClientBuilder {
    /// The provider's authorization endpoint, needed for the authorization code grant.
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = Some(url.into());
        self
    }

    /// The client secret of a confidential client; sent with every token request.
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    pub fn token_body(mut self, body: TokenBody) -> Self {
        self.body = body;
        self
    }

    /// An extra parameter of the authorization URL (Atlassian wants `audience` and `prompt`).
    pub fn authorize_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.authorize_params.push((key.into(), value.into()));
        self
    }

    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Time allowed for one token request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Result<OAuthClient> {
        let parse = |what: &str, url: &str| {
            Url::parse(url).map_err(|e| {
                Error::config(format!(
                    "`{url}` is not a valid OAuth {what} URL for {}",
                    self.integration
                ))
                .with_source(e)
            })
        };
        let token_url = parse("token", &self.token_url)?;
        let authorize_url = self
            .authorize_url
            .as_deref()
            .map(|u| parse("authorization", u))
            .transpose()?;
        let mut origin = token_url.clone();
        origin.set_path("/");
        origin.set_query(None);
        let mut http = HttpClient::builder(self.integration.clone(), origin.as_str())
            .timeout(Some(self.timeout));
        if let Some(redactor) = &self.redactor {
            http = http.redactor(redactor.clone());
        }
        if let Some(secret) = &self.client_secret
            && let Some(redactor) = &self.redactor
        {
            redactor.add(secret);
        }
        Ok(OAuthClient {
            http: http.build()?,
            token_path: token_url.path().to_owned(),
            token_url,
            authorize_url,
            client_id: self.client_id,
            client_secret: self.client_secret,
            body: self.body,
            authorize_params: self.authorize_params,
            redactor: self.redactor,
            integration: self.integration,
        })
    }
}

impl OAuthClient {
    /// A client `client_id` of the token endpoint at `token_url`, for `integration` (spans,
    /// metrics and messages).
    ///
    /// ```no_run
    /// # async fn run() -> qapms_core::Result<()> {
    /// use qapms_core::http::oauth::{OAuthClient, TokenBody};
    /// use secrecy::SecretString;
    /// let oauth = OAuthClient::builder("jira", "https://auth.atlassian.com/oauth/token", "client-id")
    ///     .client_secret(SecretString::from("secret"))
    ///     .token_body(TokenBody::Json)
    ///     .build()?;
    /// let tokens = oauth.client_credentials(&[]).await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(
        integration: impl Into<String>,
        token_url: impl Into<String>,
        client_id: impl Into<String>,
    ) -> OAuthClientBuilder {
        OAuthClientBuilder {
            integration: integration.into(),
            token_url: token_url.into(),
            authorize_url: None,
            client_id: client_id.into(),
            client_secret: None,
            body: TokenBody::Form,
            authorize_params: Vec::new(),
            redactor: None,
            timeout: Duration::from_secs(30),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The URL the user opens to sign in: response type `code`, the client id, the redirect
    /// URI, the scopes, `state`, and the PKCE S256 challenge, plus the provider's extras.
    pub fn authorization_url(
        &self,
        redirect_uri: &str,
        scopes: &[String],
        state: &str,
        pkce: &Pkce,
    ) -> Result<Url> {
        let mut url = self.authorize_url.clone().ok_or_else(|| {
            Error::config(format!(
                "no OAuth authorization URL is configured for {}",
                self.integration
            ))
        })?;
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in &self.authorize_params {
                query.append_pair(key, value);
            }
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("state", state)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256");
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
        }
        Ok(url)
    }

    /// Starts a browser sign-in: binds the loopback redirect listener (on `port`, or a free
    /// one), and makes the PKCE pair, the state and the URL to open.
    pub async fn start_authorization(
        &self,
        scopes: &[String],
        port: Option<u16>,
    ) -> Result<Authorization> {
        let listener = RedirectListener::bind(port).await?;
        let pkce = Pkce::generate()?;
        let state = random_state()?;
        let url = self.authorization_url(&listener.redirect_uri(), scopes, &state, &pkce)?;
        Ok(Authorization {
            url,
            listener,
            pkce,
            state,
        })
    }

    /// Exchanges an authorization code, proving possession of the PKCE verifier.
    pub async fn exchange_code(
        &self,
        code: &SecretString,
        verifier: &SecretString,
        redirect_uri: &str,
    ) -> Result<TokenSet> {
        self.request(
            "oauth.exchange_code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code.expose_secret()),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier.expose_secret()),
            ],
            false,
        )
        .await
    }

    /// Trades a refresh token for new tokens. With rotating refresh tokens the answer carries
    /// a new refresh token and the one sent is spent: store the new one before using it.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet> {
        self.request(
            "oauth.refresh",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose_secret()),
            ],
            false,
        )
        .await
    }

    /// The client credentials grant: a token for the client itself, no user involved.
    pub async fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet> {
        let scope = scopes.join(" ");
        let mut params = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            params.push(("scope", scope.as_str()));
        }
        // Asking again for a client token changes nothing: safe to resend.
        self.request("oauth.client_credentials", &params, true)
            .await
    }

    async fn request(
        &self,
        operation: &str,
        params: &[(&str, &str)],
        idempotent: bool,
    ) -> Result<TokenSet> {
        let mut params: Vec<(&str, &str)> = params.to_vec();
        params.push(("client_id", &self.client_id));
        if let Some(secret) = &self.client_secret {
            params.push(("client_secret", secret.expose_secret()));
        }
        let mut request = self
            .http
            .post(&self.token_path)
            .operation(operation)
            .sensitive_bodies();
        request = match self.body {
            TokenBody::Form => request.form(&params),
            TokenBody::Json => {
                let body: serde_json::Map<String, serde_json::Value> = params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                    .collect();
                request.json(&body)
            }
        };
        if idempotent {
            request = request.idempotent();
        }
        let issued = Utc::now();
        let response = request
            .send()
            .await
            .map_err(|err| explain(err, operation))?;
        let what = format!("{} POST {}", self.integration, self.token_path);
        let answer: TokenAnswer = super::decode_json(&response.body, &what)?;
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!("{what}: the token type is `{kind}`, not Bearer; qapms cannot use it"),
            ));
        }
        if answer.access_token.is_empty() {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!("{what}: the answer has an empty access_token"),
            ));
        }
        let tokens = TokenSet {
            access_token: SecretString::from(answer.access_token),
            refresh_token: answer
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(SecretString::from),
            expires_at: answer.expires_in.and_then(|secs| {
                chrono::Duration::try_seconds(i64::try_from(secs).ok()?)
                    .and_then(|d| issued.checked_add_signed(d))
            }),
            scope: answer.scope,
        };
        if let Some(redactor) = &self.redactor {
            redactor.add(&tokens.access_token);
            if let Some(refresh) = &tokens.refresh_token {
                redactor.add(refresh);
            }
        }
        Ok(tokens)
    }
}

/// Token endpoint errors (RFC 6749 §5.2) in terms of what to do.
fn explain(err: Error, operation: &str) -> Error {
    let code = err.context_value("oauth_error").map(str::to_owned);
    let status = err.context_value("status").map(str::to_owned);
    let hint = match (code.as_deref(), operation) {
        (Some("invalid_grant"), "oauth.refresh") => Some((
            ErrorKind::Unauthorized,
            "the refresh token was refused (expired, revoked, or already used once): sign \
             in again",
        )),
        (Some("invalid_grant"), _) => Some((
            ErrorKind::Unauthorized,
            "the sign-in code was refused (expired, used already, or the PKCE verifier or \
             redirect URI does not match): sign in again",
        )),
        // Atlassian answers a wrong client secret with 401 `access_denied`.
        (Some("invalid_client" | "unauthorized_client" | "access_denied"), _)
            if code.as_deref() != Some("access_denied") || status.as_deref() == Some("401") =>
        {
            Some((
                ErrorKind::Unauthorized,
                "the provider does not accept this client id and secret; check them against \
                 the app registered with the provider",
            ))
        }
        (Some("invalid_scope"), _) => Some((
            ErrorKind::Config,
            "the provider refused the scopes asked for; check the configured scopes",
        )),
        (Some("access_denied"), _) => Some((
            ErrorKind::Unauthorized,
            "the provider denied access to this client",
        )),
        _ => None,
    };
    let Some((kind, hint)) = hint else {
        return err;
    };
    let mut out = Error::new(kind, format!("{}; {hint}", err.message()));
    if let Some(status) = status {
        out = out.with_context("status", status);
    }
    if let Some(code) = code {
        out = out.with_context("oauth_error", code);
    }
    out
}

/// A browser sign-in under way; see [`OAuthClient::start_authorization`].
#[derive(Debug)]
pub struct Authorization {
    url: Url,
    listener: RedirectListener,
    pkce: Pkce,
    state: String,
}

impl Authorization {
    /// The URL for the user to open.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn redirect_uri(&self) -> String {
        self.listener.redirect_uri()
    }

    /// Waits (up to `timeout`) for the browser to come back to the loopback listener with a
    /// code and the right state, then exchanges the code.
    pub async fn finish(self, client: &OAuthClient, timeout: Duration) -> Result<TokenSet> {
        let redirect_uri = self.listener.redirect_uri();
        let code = self.listener.wait(&self.state, timeout).await?;
        client
            .exchange_code(&code, self.pkce.verifier(), &redirect_uri)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_matches_rfc_7636_appendix_b() {
        let pkce = Pkce::from_verifier(SecretString::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(
            pkce.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_verifiers_are_43_characters_and_differ() {
        let a = Pkce::generate().unwrap();
        let b = Pkce::generate().unwrap();
        assert_eq!(a.verifier().expose_secret().len(), 43);
        assert_ne!(a.verifier().expose_secret(), b.verifier().expose_secret());
        assert!(!format!("{a:?}").contains(a.verifier().expose_secret()));
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_and_extras() {
        let client = OAuthClient::builder("jira", "https://auth.example/oauth/token", "cid")
            .authorize_url("https://auth.example/authorize")
            .authorize_param("audience", "api.atlassian.com")
            .build()
            .unwrap();
        let pkce = Pkce::generate().unwrap();
        let url = client
            .authorization_url(
                "http://127.0.0.1:5000/callback",
                &["read:jira-work".to_owned(), "offline_access".to_owned()],
                "st",
                &pkce,
            )
            .unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["code_challenge"], pkce.challenge());
        assert_eq!(pairs["state"], "st");
        assert_eq!(pairs["audience"], "api.atlassian.com");
        assert_eq!(pairs["scope"], "read:jira-work offline_access");
        assert_eq!(pairs["redirect_uri"], "http://127.0.0.1:5000/callback");
    }
}
