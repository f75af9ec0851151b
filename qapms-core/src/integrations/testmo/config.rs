//! Building a [`Testmo`] client: from `qapms.yaml` or by hand.
//!
//! The config names the instance (`https://acme.testmo.net`); the API lives below it at
//! `/api/v1`, which [`Testmo::from_config`] appends unless the URL already ends with it.
//! [`Testmo::builder`] takes the API root as given, so tests and proxies can point anywhere.
//! The token comes from [`Unlocked`], never from the config struct. Testmo's documented limit
//! is per instance and configurable, so calls are paced only when the config says so; a 429
//! is retried after its `Retry-After` either way.

use std::time::Duration;

use secrecy::SecretString;

use super::client::Testmo;
use crate::config::TestmoConfig;
use crate::http::{Auth, HttpClient, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::Unlocked;
use crate::{Error, Result};

/// Tests per append call unless told otherwise: large runs go up in many small requests.
pub(crate) const DEFAULT_BATCH: usize = 100;

/// Builds a [`Testmo`] client; see [`Testmo::builder`].
#[derive(Debug)]
pub struct TestmoBuilder {
    api_url: String,
    token: Option<SecretString>,
    retry: RetryPolicy,
    rate: Option<(u32, Duration, Option<u32>)>,
    timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    redactor: Option<Redactor>,
    batch: usize,
}

impl TestmoBuilder {
    pub(crate) fn new(api_url: impl Into<String>) -> Self {
        Self {
            api_url: api_url.into(),
            token: None,
            retry: RetryPolicy::default(),
            rate: None,
            timeout: Some(Duration::from_secs(30)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            redactor: None,
            batch: DEFAULT_BATCH,
        }
    }

    /// The API token from the Testmo user profile, sent as `Authorization: Bearer`.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Paces calls to `requests` per `per`; `None` (the default) does not pace.
    pub fn rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.rate = limit.map(|(n, per)| (n, per, None));
        self
    }

    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long an idle connection is kept (default 90 s); paused-clock tests set `None`.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// The most tests sent in one append call (default 100, at least 1).
    pub fn max_batch(mut self, tests: usize) -> Self {
        self.batch = tests.max(1);
        self
    }

    pub fn build(self) -> Result<Testmo> {
        let mut http = HttpClient::builder("testmo", self.api_url)
            .retry(self.retry)
            .timeout(self.timeout)
            .pool_idle_timeout(self.pool_idle_timeout);
        if let Some(token) = self.token {
            http = http.auth(Auth::Bearer(token));
        }
        if let Some((n, per, burst)) = self.rate {
            http = http.rate(n, per, burst);
        }
        if let Some(redactor) = self.redactor {
            http = http.redactor(redactor);
        }
        Ok(Testmo::from_parts(http.build()?, self.batch))
    }
}

/// `https://acme.testmo.net` → `https://acme.testmo.net/api/v1`.
pub(crate) fn api_root(instance: &str) -> String {
    let trimmed = instance.trim_end_matches('/');
    if trimmed.ends_with("/api/v1") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/api/v1")
    }
}

impl Testmo {
    /// A client for the configured instance, with the token from `unlocked`.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::TestmoConfig, unlocked: &qapms_core::secrets::Unlocked) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::Testmo;
    ///
    /// let testmo = Testmo::from_config(config, unlocked, None)?;
    /// # Ok(()) }
    /// ```
    pub fn from_config(
        config: &TestmoConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Testmo> {
        const TOKEN: &str = "integrations.testmo.token";
        let token = unlocked.get(TOKEN).cloned().ok_or_else(|| {
            Error::config(format!(
                "`{TOKEN}` has no value; set it or unlock the secrets first"
            ))
        })?;
        let mut builder = Testmo::builder(api_root(&config.base_url)).token(token);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_root_is_appended_once() {
        assert_eq!(
            api_root("https://acme.testmo.net/"),
            "https://acme.testmo.net/api/v1"
        );
        assert_eq!(
            api_root("https://acme.testmo.net/api/v1"),
            "https://acme.testmo.net/api/v1"
        );
    }
}
