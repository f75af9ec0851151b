//! Building a [`Grafana`] client: from `qapms.yaml` or by hand.
//!
//! The token comes from [`Unlocked`] (decrypted and registered with the log redactor at
//! start-up), never from the config structs. It is a service-account token, sent as
//! `Authorization: Bearer`.
//!
//! Base URL: Grafana's swagger has `basePath: /api`, so every path in it is relative to the API
//! root. Users configure the URL they open in a browser (`https://grafana.acme.test`, or
//! `https://acme.test/grafana` behind a sub-path proxy); the builder appends `/api` unless the
//! URL already ends with it. [`GrafanaBuilder::api_root`] takes the API root as given instead,
//! for a mock that serves the swagger's paths at `/` (Prism does).
//!
//! `org_id` is not sent: a service-account token belongs to exactly one organisation, and
//! Grafana ignores `X-Grafana-Org-Id` for it.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;

use super::client::Grafana;
use crate::config::{GrafanaConfig, GrafanaDatasource};
use crate::http::{Auth, HttpClient, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::Unlocked;
use crate::{Error, Result};

/// Builds a [`Grafana`] client; see [`Grafana::builder`].
#[derive(Debug)]
pub struct GrafanaBuilder {
    base_url: String,
    append_api: bool,
    token: Option<SecretString>,
    datasources: BTreeMap<String, GrafanaDatasource>,
    retry: RetryPolicy,
    rate: Option<(u32, Duration, Option<u32>)>,
    timeout: Option<Duration>,
    redactor: Option<Redactor>,
}

impl GrafanaBuilder {
    pub(crate) fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            append_api: true,
            token: None,
            datasources: BTreeMap::new(),
            retry: RetryPolicy::default(),
            rate: None,
            timeout: Some(Duration::from_secs(30)),
            redactor: None,
        }
    }

    /// Takes the base URL as the API root itself: `/api` is not appended.
    pub fn api_root(mut self) -> Self {
        self.append_api = false;
        self
    }

    /// A service-account token (`glsa_…`), sent as a Bearer token.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Datasources by the names workflows and dashboards use.
    pub fn datasources(mut self, datasources: BTreeMap<String, GrafanaDatasource>) -> Self {
        self.datasources = datasources;
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Paces calls to `requests` per `per` (default: not paced, Grafana has no API limit
    /// of its own); `None` turns pacing off.
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

    pub fn build(self) -> Result<Grafana> {
        let base = if self.append_api {
            api_root(&self.base_url)
        } else {
            self.base_url
        };
        let mut http = HttpClient::builder("grafana", base)
            .retry(self.retry)
            .timeout(self.timeout);
        if let Some(token) = self.token {
            http = http.auth(Auth::Bearer(token));
        }
        if let Some((n, per, burst)) = self.rate {
            http = http.rate(n, per, burst);
        }
        if let Some(redactor) = &self.redactor {
            http = http.redactor(redactor.clone());
        }
        Ok(Grafana::from_parts(
            http.build()?,
            self.datasources,
            self.redactor,
        ))
    }
}

/// `https://g.test` and `https://g.test/sub/` become `…/api`; `…/api` stays as it is.
fn api_root(base: &str) -> String {
    let Ok(mut url) = url::Url::parse(base) else {
        // Let the HTTP builder report the bad URL with its own message.
        return base.to_owned();
    };
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.ends_with("/api") {
        url.set_path(&format!("{path}/api"));
    }
    url.to_string()
}

impl Grafana {
    /// A client for the configured Grafana, with the token from `unlocked`.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::GrafanaConfig, unlocked: &qapms_core::secrets::Unlocked) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::grafana::Grafana;
    /// let grafana = Grafana::from_config(config, unlocked, None)?;
    /// # Ok(()) }
    /// ```
    pub fn from_config(
        config: &GrafanaConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Grafana> {
        let path = "integrations.grafana.token";
        let token = unlocked.get(path).cloned().ok_or_else(|| {
            Error::config(format!(
                "`{path}` has no value; set it or unlock the secrets first"
            ))
        })?;
        let mut builder = Grafana::builder(config.base_url.clone())
            .token(token)
            .datasources(config.datasources.clone());
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
        assert_eq!(api_root("https://g.test"), "https://g.test/api");
        assert_eq!(api_root("https://g.test/"), "https://g.test/api");
        assert_eq!(
            api_root("https://acme.test/grafana/"),
            "https://acme.test/grafana/api"
        );
        assert_eq!(
            api_root("http://127.0.0.1:3000/api"),
            "http://127.0.0.1:3000/api"
        );
        assert_eq!(
            api_root("http://127.0.0.1:3000/api/"),
            "http://127.0.0.1:3000/api/"
        );
    }
}
