//! OAuth 2.0 for Jira: client credentials, and authorization code with PKCE (browser sign-in).
//!
//! **Cloud.** Tokens come from `auth.atlassian.com` and are not accepted by the site itself:
//! the API is called at `https://api.atlassian.com/ex/jira/<cloud id>`, and the cloud id of the
//! site comes from `GET /oauth/token/accessible-resources`, looked up once at sign-in and kept
//! with the tokens (or set as `cloud_id`). 3LO apps are confidential clients, so the client
//! secret goes with every token request, and PKCE goes with the code exchange too. Atlassian's
//! token endpoint takes JSON; its refresh tokens rotate (the `offline_access` scope gives one),
//! so each refresh stores the new refresh token before it is used.
//!
//! **Data Center** (8.22+): the site is its own provider (`/rest/oauth2/latest/authorize` and
//! `/token`, form bodies), the API is the site, and public clients use PKCE alone.
//!
//! [`OAuthSource`] is the [`CredentialSource`] the Jira client's HTTP client asks before each
//! call: it refreshes an access token a minute before it expires, and again if Jira answers 401;
//! renewals are serialised so that concurrent calls spend one refresh token, not several.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::config::{JiraAuth, JiraConfig, JiraDeployment};
use crate::http::oauth::{OAuthClient, TokenBody, TokenSet};
use crate::http::{AuthHeader, CredentialSource, HttpClient};
use crate::logging::Redactor;
use crate::secrets::{StoredTokens, TokenFile, TokenInfo, Unlocked};
use crate::{Error, ErrorKind, Result};

const CLOUD_AUTHORIZE: &str = "https://auth.atlassian.com/authorize";
const CLOUD_TOKEN: &str = "https://auth.atlassian.com/oauth/token";
const CLOUD_API: &str = "https://api.atlassian.com";
/// Access tokens are renewed this long before they expire, so a call never leaves with a token
/// that dies in flight.
const REFRESH_MARGIN: Duration = Duration::from_mins(1);
/// How long `qapms auth login` waits for the browser by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_mins(5);

/// Which grant the configuration asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ClientCredentials,
    AuthorizationCode,
}

/// The OAuth part of `integrations.jira`, resolved: endpoints filled in, secrets revealed.
#[derive(Clone)]
pub struct JiraOAuthSettings {
    pub grant: Grant,
    pub deployment: JiraDeployment,
    /// `integrations.jira.base_url`, without a trailing `/`.
    pub site: String,
    pub client_id: String,
    client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    pub authorize_url: String,
    pub token_url: String,
    /// Cloud: `https://api.atlassian.com` unless overridden.
    pub api_url: String,
    pub cloud_id: Option<String>,
    pub redirect_port: Option<u16>,
}

impl std::fmt::Debug for JiraOAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraOAuthSettings")
            .field("grant", &self.grant)
            .field("site", &self.site)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Resource {
    id: String,
    url: String,
}

fn same_site(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

impl JiraOAuthSettings {
    /// The OAuth settings of `config`, or `None` when it uses Basic or a personal token.
    pub fn from_config(config: &JiraConfig, unlocked: &Unlocked) -> Result<Option<Self>> {
        let site = config.base_url.trim_end_matches('/').to_owned();
        let cloud = config.deployment == JiraDeployment::Cloud;
        let secret_path = "integrations.jira.auth.client_secret";
        let secret = || {
            unlocked.get(secret_path).cloned().ok_or_else(|| {
                Error::config(format!(
                    "`{secret_path}` has no value; set it or unlock the secrets first"
                ))
            })
        };
        let settings = match &config.auth {
            JiraAuth::Basic { .. } | JiraAuth::Pat { .. } => return Ok(None),
            JiraAuth::OauthClientCredentials {
                client_id,
                scopes,
                token_url,
                api_url,
                cloud_id,
                ..
            } => Self {
                grant: Grant::ClientCredentials,
                deployment: config.deployment,
                site: site.clone(),
                client_id: client_id.clone(),
                client_secret: Some(secret()?),
                scopes: scopes.clone(),
                authorize_url: String::new(),
                token_url: token_url.clone().unwrap_or_else(|| CLOUD_TOKEN.to_owned()),
                api_url: api_url.clone().unwrap_or_else(|| CLOUD_API.to_owned()),
                cloud_id: cloud_id.clone(),
                redirect_port: None,
            },
            JiraAuth::OauthPkce {
                client_id,
                client_secret,
                scopes,
                redirect_port,
                authorize_url,
                token_url,
                api_url,
                cloud_id,
            } => Self {
                grant: Grant::AuthorizationCode,
                deployment: config.deployment,
                site: site.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.as_ref().map(|_| secret()).transpose()?,
                scopes: scopes.clone(),
                authorize_url: authorize_url.clone().unwrap_or_else(|| {
                    if cloud {
                        CLOUD_AUTHORIZE.to_owned()
                    } else {
                        format!("{site}/rest/oauth2/latest/authorize")
                    }
                }),
                token_url: token_url.clone().unwrap_or_else(|| {
                    if cloud {
                        CLOUD_TOKEN.to_owned()
                    } else {
                        format!("{site}/rest/oauth2/latest/token")
                    }
                }),
                api_url: api_url.clone().unwrap_or_else(|| CLOUD_API.to_owned()),
                cloud_id: cloud_id.clone(),
                redirect_port: *redirect_port,
            },
        };
        Ok(Some(settings))
    }

    fn cloud(&self) -> bool {
        self.deployment == JiraDeployment::Cloud
    }

    /// The token endpoint client for these settings.
    pub fn oauth_client(&self, redactor: Option<&Redactor>) -> Result<OAuthClient> {
        let mut builder = OAuthClient::builder("jira", &self.token_url, &self.client_id)
            .token_body(if self.cloud() {
                TokenBody::Json
            } else {
                TokenBody::Form
            });
        if self.grant == Grant::AuthorizationCode {
            builder = builder.authorize_url(&self.authorize_url);
        }
        if self.cloud() && self.grant == Grant::AuthorizationCode {
            builder = builder
                .authorize_param("audience", "api.atlassian.com")
                .authorize_param("prompt", "consent");
        }
        if let Some(secret) = &self.client_secret {
            builder = builder.client_secret(secret.clone());
        }
        if let Some(redactor) = redactor {
            builder = builder.redactor(redactor.clone());
        }
        builder.build()
    }

    /// Where Jira's REST API is called with these tokens: the site on Data Center,
    /// `<api_url>/ex/jira/<cloud id>` on Cloud.
    pub fn api_base(&self, cloud_id: Option<&str>) -> Result<String> {
        if !self.cloud() {
            return Ok(self.site.clone());
        }
        let cloud_id = cloud_id.or(self.cloud_id.as_deref()).ok_or_else(|| {
            Error::config(
                "the Jira Cloud site's cloud id is not known yet: run `qapms auth login jira` \
                 once (it looks it up), or set integrations.jira.auth.cloud_id",
            )
        })?;
        if cloud_id.is_empty()
            || !cloud_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::config(
                "integrations.jira.auth.cloud_id must be the site's cloud id (letters, digits and `-`)",
            ));
        }
        Ok(format!(
            "{}/ex/jira/{cloud_id}",
            self.api_url.trim_end_matches('/')
        ))
    }

    /// Cloud: the cloud id of the configured site among those the token may reach.
    pub async fn lookup_cloud_id(
        &self,
        access_token: &SecretString,
        redactor: Option<&Redactor>,
    ) -> Result<String> {
        if let Some(id) = &self.cloud_id {
            return Ok(id.clone());
        }
        let mut http = HttpClient::builder("jira", &self.api_url)
            .auth(crate::http::Auth::Bearer(access_token.clone()));
        if let Some(redactor) = redactor {
            http = http.redactor(redactor.clone());
        }
        let resources: Vec<Resource> = http
            .build()?
            .get("/oauth/token/accessible-resources")
            .operation("oauth.accessible_resources")
            .json_response()
            .await?;
        if let Some(found) = resources.iter().find(|r| same_site(&r.url, &self.site)) {
            return Ok(found.id.clone());
        }
        let sites: Vec<&str> = resources.iter().map(|r| r.url.as_str()).collect();
        Err(Error::new(
            ErrorKind::Unauthorized,
            format!(
                "the sign-in does not give access to {} (it reaches: {}); sign in with an \
                 account of that site, or fix integrations.jira.base_url",
                self.site,
                if sites.is_empty() {
                    "no site".to_owned()
                } else {
                    sites.join(", ")
                }
            ),
        ))
    }

    fn info(&self, tokens: &TokenSet, cloud_id: Option<String>) -> TokenInfo {
        TokenInfo {
            integration: "jira".to_owned(),
            client_id: self.client_id.clone(),
            site: self.site.clone(),
            cloud_id,
            expires_at: tokens.expires_at,
            scope: tokens.scope.clone(),
            has_refresh_token: tokens.refresh_token.is_some(),
            updated_at: Utc::now(),
        }
    }

    /// The browser sign-in: binds the loopback listener, hands the URL to `show_url` (the CLI
    /// prints it, the editor opens it), waits up to `timeout`, exchanges the code, looks up the
    /// cloud id, and stores the tokens in `file`.
    pub async fn login(
        &self,
        file: &TokenFile,
        redactor: Option<&Redactor>,
        timeout: Duration,
        show_url: &mut (dyn FnMut(&Url) + Send),
    ) -> Result<TokenInfo> {
        if self.grant != Grant::AuthorizationCode {
            return self.login_client_credentials(file, redactor).await;
        }
        let oauth = self.oauth_client(redactor)?;
        let flow = oauth
            .start_authorization(&self.scopes, self.redirect_port)
            .await?;
        show_url(flow.url());
        let tokens = flow.finish(&oauth, timeout).await?;
        self.store(file, tokens, redactor).await
    }

    /// Client credentials: fetches a token (checking the id and secret), looks up the cloud id
    /// and stores both, so later runs need no lookup.
    pub async fn login_client_credentials(
        &self,
        file: &TokenFile,
        redactor: Option<&Redactor>,
    ) -> Result<TokenInfo> {
        let tokens = self
            .oauth_client(redactor)?
            .client_credentials(&self.scopes)
            .await?;
        self.store(file, tokens, redactor).await
    }

    async fn store(
        &self,
        file: &TokenFile,
        tokens: TokenSet,
        redactor: Option<&Redactor>,
    ) -> Result<TokenInfo> {
        let cloud_id = if self.cloud() {
            Some(self.lookup_cloud_id(&tokens.access_token, redactor).await?)
        } else {
            None
        };
        let info = self.info(&tokens, cloud_id);
        file.save(&StoredTokens {
            info: info.clone(),
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token,
        })?;
        Ok(info)
    }

    /// The credential source and API base URL for a client, from the stored tokens (required
    /// for the browser sign-in; optional, as a cache, for client credentials).
    pub(crate) fn source(
        &self,
        file: Option<TokenFile>,
        redactor: Option<&Redactor>,
    ) -> Result<(Arc<OAuthSource>, String)> {
        let stored = match &file {
            Some(file) => file.load()?,
            None => None,
        };
        let stored = stored.filter(|s| {
            let ours = s.info.client_id == self.client_id && same_site(&s.info.site, &self.site);
            if !ours {
                tracing::warn!(
                    "the stored Jira tokens belong to another client id or site; ignoring them"
                );
            }
            ours
        });
        let stored = match (self.grant, stored) {
            (_, Some(stored)) => stored,
            (Grant::AuthorizationCode, None) => {
                return Err(Error::new(
                    ErrorKind::Unauthorized,
                    "not signed in to Jira: run `qapms auth login jira` (a browser sign-in)",
                ));
            }
            (Grant::ClientCredentials, None) => StoredTokens {
                info: TokenInfo {
                    integration: "jira".to_owned(),
                    client_id: self.client_id.clone(),
                    site: self.site.clone(),
                    cloud_id: self.cloud_id.clone(),
                    expires_at: None,
                    scope: None,
                    has_refresh_token: false,
                    updated_at: Utc::now(),
                },
                access_token: None,
                refresh_token: None,
            },
        };
        let base = self.api_base(stored.info.cloud_id.as_deref())?;
        if let Some(redactor) = redactor {
            for token in [&stored.access_token, &stored.refresh_token]
                .into_iter()
                .flatten()
            {
                redactor.add(token);
            }
        }
        let source = OAuthSource {
            oauth: self.oauth_client(redactor)?,
            grant: self.grant,
            scopes: self.scopes.clone(),
            file,
            state: Mutex::new(SourceState {
                generation: 1,
                tokens: stored,
            }),
        };
        Ok((Arc::new(source), base))
    }
}

/// Hands out Jira access tokens and renews them; see the module docs.
pub(crate) struct OAuthSource {
    oauth: OAuthClient,
    grant: Grant,
    scopes: Vec<String>,
    file: Option<TokenFile>,
    state: Mutex<SourceState>,
}

struct SourceState {
    generation: u64,
    tokens: StoredTokens,
}

impl std::fmt::Debug for OAuthSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSource")
            .field("grant", &self.grant)
            .field("oauth", &self.oauth)
            .finish_non_exhaustive()
    }
}

impl OAuthSource {
    fn fresh(tokens: &StoredTokens) -> Option<&SecretString> {
        let token = tokens.access_token.as_ref()?;
        match tokens.info.expires_at {
            None => Some(token),
            Some(at) => {
                let margin = chrono::Duration::from_std(REFRESH_MARGIN).ok()?;
                (at - margin > Utc::now()).then_some(token)
            }
        }
    }

    /// Gets new tokens and stores them; the caller holds the state lock.
    async fn renew_locked(&self, state: &mut SourceState) -> Result<()> {
        let granted = match self.grant {
            Grant::ClientCredentials => self.oauth.client_credentials(&self.scopes).await?,
            Grant::AuthorizationCode => {
                let Some(refresh) = state.tokens.refresh_token.clone() else {
                    return Err(Error::new(
                        ErrorKind::Unauthorized,
                        "the Jira sign-in has expired and there is no refresh token (ask for the \
                         `offline_access` scope to get one): run `qapms auth login jira`",
                    ));
                };
                self.oauth.refresh(&refresh).await.map_err(|err| {
                    if err.kind() != ErrorKind::Unauthorized {
                        return err;
                    }
                    let mut out = Error::new(
                        ErrorKind::Unauthorized,
                        format!("{}; run `qapms auth login jira`", err.message()),
                    );
                    if let Some(status) = err.context_value("status") {
                        out = out.with_context("status", status.to_owned());
                    }
                    out
                })?
            }
        };
        let tokens = &mut state.tokens;
        tokens.access_token = Some(granted.access_token);
        if granted.refresh_token.is_some() {
            // Rotation: the refresh token just sent is spent.
            tokens.refresh_token = granted.refresh_token;
        }
        tokens.info.expires_at = granted.expires_at;
        if granted.scope.is_some() {
            tokens.info.scope = granted.scope;
        }
        tokens.info.has_refresh_token = tokens.refresh_token.is_some();
        tokens.info.updated_at = Utc::now();
        state.generation += 1;
        if let Some(file) = &self.file
            && let Err(err) = file.save(tokens)
        {
            // The new tokens work for this process; the next one will have to sign in again
            // if the refresh token rotated.
            tracing::warn!(error = %err, "could not store the renewed Jira tokens");
        }
        tracing::debug!(grant = ?self.grant, "Jira access token renewed");
        Ok(())
    }
}

#[async_trait]
impl CredentialSource for OAuthSource {
    async fn header(&self) -> Result<AuthHeader> {
        let mut state = self.state.lock().await;
        if Self::fresh(&state.tokens).is_none() {
            self.renew_locked(&mut state).await?;
        }
        let token = state.tokens.access_token.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::Unauthorized, "no Jira access token was granted")
        })?;
        AuthHeader::bearer(state.generation, token)
    }

    async fn renew(&self, generation: u64) -> Result<bool> {
        let mut state = self.state.lock().await;
        if state.generation != generation {
            return Ok(true);
        }
        self.renew_locked(&mut state).await?;
        Ok(true)
    }
}
