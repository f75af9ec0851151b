//! Building a [`Splunk`] client: from `qapms.yaml` or by hand.
//!
//! REST mode needs `base_url` (the management port, usually 8089) and `auth`; a config in
//! manual mode has neither, so [`Splunk::from_config`] refuses it with a message pointing at
//! [`super::SplTemplates`]. Splunk's management port commonly has a self-signed certificate,
//! hence `verify_tls`: `false` turns checks off (with a warning in the log), a path adds that
//! CA bundle. The default request timeout is longer than other integrations' because an
//! export streams for as long as the search runs.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::client::{PollPolicy, Splunk};
use super::ndjson::DEFAULT_MAX_LINE;
use super::session::SessionLogin;
use crate::config::{SplunkAuth, SplunkConfig, SplunkMode, TlsVerify};
use crate::http::{Auth, HttpClient, RetryPolicy};
use crate::logging::Redactor;
use crate::secrets::Unlocked;
use crate::{Error, Result};

/// Builds a [`Splunk`] client; see [`Splunk::builder`].
#[derive(Debug)]
pub struct SplunkBuilder {
    base_url: String,
    auth: Option<Auth>,
    /// `auth/login` credentials; the session client is built with the rest in `build`.
    login: Option<(String, SecretString)>,
    app: Option<String>,
    tls: TlsVerify,
    retry: RetryPolicy,
    rate: Option<(u32, Duration, Option<u32>)>,
    timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    redactor: Option<Redactor>,
    pub(crate) poll: PollPolicy,
    pub(crate) max_line: usize,
    pub(crate) page_size: u32,
}

impl SplunkBuilder {
    pub(crate) fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            auth: None,
            login: None,
            app: None,
            tls: TlsVerify::default(),
            retry: RetryPolicy::default(),
            rate: None,
            timeout: Some(Duration::from_mins(10)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            redactor: None,
            poll: PollPolicy::default(),
            max_line: DEFAULT_MAX_LINE,
            page_size: 1000,
        }
    }

    /// A Splunk authentication token, sent as `Authorization: Bearer`.
    pub fn token(mut self, token: SecretString) -> Self {
        self.auth = Some(Auth::Bearer(token));
        self
    }

    /// A session key from `auth/login`, sent as `Authorization: Splunk <key>`.
    pub fn session_key(mut self, key: &SecretString) -> Self {
        use secrecy::ExposeSecret as _;
        self.auth = Some(Auth::Header {
            name: "Authorization".to_owned(),
            value: SecretString::from(format!("Splunk {}", key.expose_secret())),
        });
        self
    }

    pub fn basic_auth(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.auth = Some(Auth::Basic {
            user: username.into(),
            password,
        });
        self.login = None;
        self
    }

    /// Logs in through `auth/login` with `username` and `password` before the first call,
    /// sends the session key, and logs in again when Splunk reports the session expired.
    ///
    /// ```no_run
    /// # fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::splunk::Splunk;
    /// use secrecy::SecretString;
    /// let splunk = Splunk::builder("https://splunk.acme.internal:8089")
    ///     .login("qa-bot", SecretString::from("password"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn login(mut self, username: impl Into<String>, password: SecretString) -> Self {
        self.login = Some((username.into(), password));
        self.auth = None;
        self
    }

    /// Runs searches in this app's namespace (`servicesNS/-/<app>`).
    pub fn app(mut self, app: impl Into<String>) -> Self {
        self.app = Some(app.into());
        self
    }

    pub fn verify_tls(mut self, verify: TlsVerify) -> Self {
        self.tls = verify;
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

    /// The time allowed for one request, an export's whole stream included (default 10 min).
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

    /// How a job is polled until it is done.
    pub fn poll(mut self, policy: PollPolicy) -> Self {
        self.poll = policy;
        self
    }

    /// The longest line accepted in an export stream (default 16 MiB).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Rows asked for per results page (default 1000).
    pub fn page_size(mut self, rows: u32) -> Self {
        self.page_size = rows.max(1);
        self
    }

    pub fn build(self) -> Result<Splunk> {
        let mut http = HttpClient::builder("splunk", self.base_url.clone())
            .retry(self.retry.clone())
            .timeout(self.timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .verify_tls(self.tls.clone());
        if let Some((username, password)) = self.login {
            // The login call goes on a client of its own, without credentials; a short
            // timeout, since a login does not stream.
            let mut login_http = HttpClient::builder("splunk", self.base_url)
                .retry(self.retry)
                .timeout(Some(Duration::from_secs(30)))
                .pool_idle_timeout(self.pool_idle_timeout)
                .verify_tls(self.tls);
            if let Some(redactor) = &self.redactor {
                login_http = login_http.redactor(redactor.clone());
            }
            let session = SessionLogin::new(
                login_http.build()?,
                username,
                password,
                self.redactor.clone(),
            );
            http = http.auth(Auth::Dynamic(Arc::new(session)));
        }
        if let Some(auth) = self.auth {
            http = http.auth(auth);
        }
        if let Some((n, per, burst)) = self.rate {
            http = http.rate(n, per, burst);
        }
        if let Some(redactor) = self.redactor {
            http = http.redactor(redactor);
        }
        Ok(Splunk::from_parts(
            http.build()?,
            self.app,
            self.poll,
            self.max_line,
            self.page_size,
        ))
    }
}

impl Splunk {
    /// A REST-mode client for the configured Splunk, with credentials from `unlocked`.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::SplunkConfig, unlocked: &qapms_core::secrets::Unlocked) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::splunk::Splunk;
    /// let splunk = Splunk::from_config(config, unlocked, None)?;
    /// # Ok(()) }
    /// ```
    pub fn from_config(
        config: &SplunkConfig,
        unlocked: &Unlocked,
        redactor: Option<Redactor>,
    ) -> Result<Splunk> {
        if config.mode != SplunkMode::Rest {
            return Err(Error::config(
                "integrations.splunk.mode is `manual`: there is no Splunk connection to make; \
                 render templates with SplTemplates, or set mode: rest with base_url and auth",
            ));
        }
        let base_url = config.base_url.clone().ok_or_else(|| {
            Error::config(
                "integrations.splunk.base_url is required in rest mode (the management port, e.g. https://splunk.acme.internal:8089)",
            )
        })?;
        let secret = |path: &str| {
            unlocked.get(path).cloned().ok_or_else(|| {
                Error::config(format!(
                    "`{path}` has no value; set it or unlock the secrets first"
                ))
            })
        };
        let mut builder = Splunk::builder(base_url).verify_tls(config.verify_tls.clone());
        builder = match &config.auth {
            Some(SplunkAuth::Token { .. }) => {
                builder.token(secret("integrations.splunk.auth.token")?)
            }
            Some(SplunkAuth::Basic { username, .. }) => builder.basic_auth(
                username.clone(),
                secret("integrations.splunk.auth.password")?,
            ),
            Some(SplunkAuth::Login { username, .. }) => builder.login(
                username.clone(),
                secret("integrations.splunk.auth.password")?,
            ),
            None => {
                return Err(Error::config(
                    "integrations.splunk.auth is required in rest mode: `method: token` with a Splunk authentication token, or `method: login` (or `basic`) with username and password",
                ));
            }
        };
        if let Some(app) = &config.app {
            builder = builder.app(app.clone());
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
