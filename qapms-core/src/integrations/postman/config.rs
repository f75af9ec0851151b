//! Building a [`Postman`] client: from `qapms.yaml` or by hand.
//!
//! The API key comes from [`Unlocked`] (decrypted and registered with the log redactor at
//! start-up), never from the config structs. Defaults follow Postman's published limits: 300
//! requests a minute for the whole client unless the config says otherwise, and on top of
//! that 10 per 10 seconds on list endpoints, a limit the config cannot raise because Postman
//! enforces it per key. A config without an API key builds a client that reads collection
//! files only; API calls on it fail with a message saying the key is missing.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use super::client::Postman;
use super::models::WorkspaceId;
use crate::config::PostmanConfig;
use crate::http::{Auth, HttpClient, Pacer, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::Unlocked;
use crate::{Error, Result};

/// Postman's documented per-key limit.
const DEFAULT_REQUESTS_PER_MINUTE: u32 = 300;
/// Postman's limit on list endpoints (`GET /collections`, `/workspaces`, `/environments`).
const LIST_REQUESTS: u32 = 10;
const LIST_PERIOD: Duration = Duration::from_secs(10);

/// Builds a [`Postman`] client; see [`Postman::builder`].
#[derive(Debug)]
pub struct PostmanBuilder {
    base_url: String,
    api_key: Option<SecretString>,
    workspace: Option<WorkspaceId>,
    files: Vec<PathBuf>,
    retry: RetryPolicy,
    rate: Option<(u32, Duration, Option<u32>)>,
    list_rate: Option<(u32, Duration)>,
    timeout: Option<Duration>,
    redactor: Option<Redactor>,
}

impl PostmanBuilder {
    pub(crate) fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            workspace: None,
            files: Vec::new(),
            retry: RetryPolicy::default(),
            rate: Some((DEFAULT_REQUESTS_PER_MINUTE, Duration::from_mins(1), None)),
            list_rate: Some((LIST_REQUESTS, LIST_PERIOD)),
            timeout: Some(Duration::from_secs(30)),
            redactor: None,
        }
    }

    /// The API key (`PMAK-…`), sent as `X-API-Key`.
    pub fn api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The workspace whose collections and environments are listed by default.
    pub fn workspace(mut self, workspace: WorkspaceId) -> Self {
        self.workspace = Some(workspace);
        self
    }

    /// Exported collection files (v2.1 JSON) read by the request catalog.
    pub fn collection_files(mut self, files: impl IntoIterator<Item = PathBuf>) -> Self {
        self.files = files.into_iter().collect();
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Paces every call to `requests` per `per`; `None` turns pacing off.
    pub fn rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.rate = limit.map(|(n, per)| (n, per, None));
        self
    }

    /// Paces list calls to `requests` per `per` (default 10 per 10 s); `None` turns it off.
    pub fn list_rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.list_rate = limit;
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

    pub fn build(self) -> Result<Postman> {
        let mut http = HttpClient::builder("postman", self.base_url)
            .retry(self.retry)
            .timeout(self.timeout);
        let has_key = self.api_key.is_some();
        if let Some(key) = self.api_key {
            http = http.auth(Auth::Header {
                name: "X-API-Key".to_owned(),
                value: key,
            });
        }
        if let Some((n, per, burst)) = self.rate {
            http = http.rate(n, per, burst);
        }
        if let Some(redactor) = self.redactor {
            http = http.redactor(redactor);
        }
        let list_pacer = self.list_rate.and_then(|(n, per)| Pacer::new(n, per, None));
        Ok(Postman::from_parts(
            http.build()?,
            list_pacer,
            has_key,
            self.workspace,
            self.files,
        ))
    }
}

impl Postman {
    /// A client for the configured Postman, with the API key (if any) from `unlocked`.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::PostmanConfig, unlocked: &qapms_core::secrets::Unlocked) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::Postman;
    /// let postman = Postman::from_config(config, unlocked, None)?;
    /// # Ok(()) }
    /// ```
    pub fn from_config(
        config: &PostmanConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Postman> {
        let mut builder = Postman::builder(config.base_url.clone())
            .collection_files(config.collection_files.iter().cloned());
        if config.api_key.is_some() {
            let path = "integrations.postman.api_key";
            let key = unlocked.get(path).cloned().ok_or_else(|| {
                Error::config(format!(
                    "`{path}` has no value; set it or unlock the secrets first"
                ))
            })?;
            builder = builder.api_key(key);
        }
        if let Some(workspace) = &config.workspace {
            builder = builder.workspace(WorkspaceId::new(workspace.clone()));
        }
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
}
