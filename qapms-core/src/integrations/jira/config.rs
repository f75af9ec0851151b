//! Building a [`Jira`] client: from `qapms.yaml` or by hand.
//!
//! Credentials come from [`Unlocked`] (decrypted and registered with the log redactor at
//! start-up), never from the config structs themselves. Defaults follow the issue: 1000
//! requests per hour unless the config says otherwise, a 30 s request timeout, and the API
//! version picked by deployment (v3 on Cloud, v2 on Data Center).
//!
//! OAuth 2.0 (client credentials, and authorization code with PKCE) goes through
//! [`Jira::from_config_with_tokens`], which needs the encrypted token file that
//! `qapms auth login jira` writes; see [`super::oauth`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::client::Jira;
use super::oauth::JiraOAuthSettings;
use crate::config::{JiraAuth, JiraConfig, JiraDeployment};
use crate::http::{Auth, HttpClient, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::{KeyLookup, TokenFile, Unlocked, load_master_key, token_file_path};
use crate::{Error, Result};

/// The default budget: Jira Cloud's documented cost-based limits are roughly this for one user.
const DEFAULT_REQUESTS_PER_HOUR: u32 = 1000;

/// Builds a [`Jira`] client; see [`Jira::builder`].
#[derive(Debug)]
pub struct JiraBuilder {
    base_url: String,
    deployment: JiraDeployment,
    auth: Option<Auth>,
    retry: RetryPolicy,
    rate: Option<(u32, Duration, Option<u32>)>,
    timeout: Option<Duration>,
    redactor: Option<Redactor>,
    concurrency: usize,
}

impl JiraBuilder {
    pub(crate) fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            deployment: JiraDeployment::Cloud,
            auth: None,
            retry: RetryPolicy::default(),
            rate: Some((DEFAULT_REQUESTS_PER_HOUR, Duration::from_hours(1), None)),
            timeout: Some(Duration::from_secs(30)),
            redactor: None,
            concurrency: 4,
        }
    }

    /// Cloud (REST v3, ADF) or Data Center (REST v2, wiki text).
    pub fn deployment(mut self, deployment: JiraDeployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// Cloud: account email plus API token.
    pub fn basic_auth(mut self, email: impl Into<String>, api_token: SecretString) -> Self {
        self.auth = Some(Auth::Basic {
            user: email.into(),
            password: api_token,
        });
        self
    }

    /// Any credentials, e.g. an [`Auth::Dynamic`] OAuth source.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Data Center personal access token (or an OAuth access token).
    pub fn bearer_auth(mut self, token: SecretString) -> Self {
        self.auth = Some(Auth::Bearer(token));
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Paces calls to `requests` per `per`; `None` turns pacing off.
    pub fn rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.rate = limit.map(|(n, per)| (n, per, None));
        self
    }

    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// How many pages of an offset-paged (Data Center) search are fetched at once (default 4).
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    pub fn build(self) -> Result<Jira> {
        let mut http = HttpClient::builder("jira", self.base_url)
            .retry(self.retry)
            .timeout(self.timeout);
        if let Some(auth) = self.auth {
            http = http.auth(auth);
        }
        if let Some((n, per, burst)) = self.rate {
            http = http.rate(n, per, burst);
        }
        if let Some(redactor) = self.redactor {
            http = http.redactor(redactor);
        }
        Ok(Jira::from_parts(
            http.build()?,
            self.deployment,
            self.concurrency,
        ))
    }
}

impl Jira {
    /// A client for the configured Jira, with credentials from `unlocked`.
    pub fn from_config(
        config: &JiraConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Jira> {
        Self::from_config_with_tokens(config, unlocked, redactor, None)
    }

    /// [`Jira::from_config`], with the OAuth token file (see [`crate::secrets::TokenFile`]):
    /// required for the browser sign-in (`oauth_pkce`), where it holds the refresh token, and
    /// used as a cache of the token and the cloud id for client credentials. Renewed tokens are
    /// written back to it.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::JiraConfig, unlocked: &qapms_core::secrets::Unlocked,
    /// #        key: std::sync::Arc<qapms_core::secrets::MasterKey>) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::jira::Jira;
    /// use qapms_core::secrets::{TokenFile, token_file_path};
    /// let file = TokenFile::new(token_file_path(std::path::Path::new("/data"), "jira"), key);
    /// let jira = Jira::from_config_with_tokens(config, unlocked, None, Some(file))?;
    /// # Ok(()) }
    /// ```
    pub fn from_config_with_tokens(
        config: &JiraConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
        tokens: Option<TokenFile>,
    ) -> Result<Jira> {
        let secret = |path: &str| {
            unlocked.get(path).cloned().ok_or_else(|| {
                Error::config(format!(
                    "`{path}` has no value; set it or unlock the secrets first"
                ))
            })
        };
        let mut builder = Jira::builder(config.base_url.clone()).deployment(config.deployment);
        builder = match &config.auth {
            JiraAuth::Basic { email, .. } => {
                builder.basic_auth(email.clone(), secret("integrations.jira.auth.api_token")?)
            }
            JiraAuth::Pat { .. } => builder.bearer_auth(secret("integrations.jira.auth.token")?),
            JiraAuth::OauthClientCredentials { .. } | JiraAuth::OauthPkce { .. } => {
                let settings =
                    JiraOAuthSettings::from_config(config, unlocked)?.ok_or_else(|| {
                        Error::config("integrations.jira.auth is not an OAuth method")
                    })?;
                let (source, base) = settings.source(tokens, redactor.as_ref())?;
                builder.base_url = base;
                builder.auth(Auth::Dynamic(source))
            }
        };
        if let Some(limit) = &config.rate_limit {
            builder.rate = Some((limit.requests, limit.per.as_duration(), limit.burst));
        }
        if let Some(timeout) = &config.timeout {
            builder = builder.timeout(Some(timeout.0));
        }
        if let Some(redactor) = redactor {
            builder = builder.redactor(redactor);
        }
        builder.build()
    }

    /// [`Jira::from_config_with_tokens`] with the token file every front-end shares:
    /// `<data_dir>/credentials/jira.oauth.json`, where `qapms auth login jira` stores the
    /// tokens, under the master key `lookup` finds (the environment or the key file; never a
    /// prompt here). Basic and personal-token auth need neither. The browser sign-in cannot
    /// work without the file's key, so its absence is an error saying how to provide it;
    /// client credentials then work without the cache, fetching a token per process.
    ///
    /// ```no_run
    /// # fn run(loaded: &qapms_core::config::Loaded, unlocked: &qapms_core::secrets::Unlocked,
    /// #        lookup: &qapms_core::secrets::KeyLookup<'_>) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::jira::Jira;
    /// if let Some(config) = &loaded.config.integrations.jira {
    ///     let jira = Jira::from_config_in(config, unlocked, None, &loaded.paths.data_dir, lookup)?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_config_in(
        config: &JiraConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
        data_dir: &Path,
        lookup: &KeyLookup<'_>,
    ) -> Result<Jira> {
        let tokens = match &config.auth {
            JiraAuth::Basic { .. } | JiraAuth::Pat { .. } => None,
            JiraAuth::OauthClientCredentials { .. } => load_master_key(lookup)
                .ok()
                .map(|(key, _)| TokenFile::new(token_file_path(data_dir, "jira"), Arc::new(key))),
            JiraAuth::OauthPkce { .. } => {
                let (key, _) = load_master_key(lookup).map_err(|e| {
                    Error::config(format!(
                        "the Jira sign-in tokens are stored encrypted under the master key, \
                         which cannot be loaded: {}",
                        e.message()
                    ))
                })?;
                Some(TokenFile::new(
                    token_file_path(data_dir, "jira"),
                    Arc::new(key),
                ))
            }
        };
        Self::from_config_with_tokens(config, unlocked, redactor, tokens)
    }
}
