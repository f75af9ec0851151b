//! [`HttpClient`]: the configured `reqwest` client plus everything each call needs around it.
//!
//! A call goes: rate limiter → send → classify → maybe wait and resend → typed result. The
//! whole call, retries included, runs in one `http.call` span carrying the integration, the
//! operation, the redacted URL, the final status, the attempt count and the latency, so one log
//! line answers "which call was slow, and why".

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use url::Url;

use super::auth::{Auth, AuthHeader, CredentialSource};
use super::error::{decode_json, status_error};
use super::metrics::{Metrics, MetricsSnapshot};
use super::redact::redact_url;
use super::retry::{RetryPolicy, retryable_status, server_wait};
use crate::config::{RateLimit, TlsVerify};
use crate::logging::Redactor;
use crate::{Error, ErrorKind, Result};

const USER_AGENT: &str = concat!("qapms/", env!("CARGO_PKG_VERSION"));

/// Builds an [`HttpClient`]; see [`HttpClient::builder`].
#[derive(Debug)]
pub struct HttpClientBuilder {
    integration: String,
    base_url: String,
    auth: Option<Auth>,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    user_agent: String,
    quota: Option<Quota>,
    retry: RetryPolicy,
    redactor: Option<Redactor>,
    metrics: Option<Arc<Metrics>>,
    tls: TlsVerify,
}

impl HttpClientBuilder {
    /// Credentials sent with every request, as a sensitive header.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Time allowed to open the TCP and TLS connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for a whole attempt, body included (default 30 s); `None` for no limit.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s); `None` keeps it until the
    /// server closes it. Paused-clock tests set `None`: the pool's idle timer would otherwise
    /// be the next timer tokio jumps to.
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Paces calls to `limit` (a config [`RateLimit`]); without it calls are not paced.
    pub fn rate_limit(mut self, limit: &RateLimit) -> Self {
        self.quota = quota(limit.requests, limit.per.as_duration(), limit.burst);
        self
    }

    /// Paces calls to `requests` per `per`, with bursts of `burst` (default `requests`).
    pub fn rate(mut self, requests: u32, per: Duration, burst: Option<u32>) -> Self {
        self.quota = quota(requests, per, burst);
        self
    }

    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The process redactor, applied to error text and TRACE bodies.
    pub fn redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// Shares counters with other clients of the same integration.
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Server certificate checks: on (the default), off (`false`, for a lab Splunk with a
    /// self-signed certificate), or against an extra CA bundle in PEM, read when the client
    /// is built.
    pub fn verify_tls(mut self, verify: TlsVerify) -> Self {
        self.tls = verify;
        self
    }

    pub fn build(self) -> Result<HttpClient> {
        let base = Url::parse(&self.base_url).map_err(|e| {
            Error::config(format!(
                "`{}` is not a valid base URL for {}",
                self.base_url, self.integration
            ))
            .with_source(e)
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "the base URL for {} must start with http:// or https://",
                self.integration
            )));
        }
        let auth = match &self.auth {
            None => None,
            Some(Auth::Dynamic(source)) => Some(Credentials::Dynamic(source.clone())),
            Some(auth) => auth
                .header()?
                .map(|(name, value)| Credentials::Static(name, value)),
        };
        #[expect(
            clippy::disallowed_methods,
            reason = "this is the one place that builds reqwest clients"
        )]
        let mut builder = reqwest::Client::builder()
            .tls_version_min(reqwest::tls::Version::TLS_1_2)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .user_agent(self.user_agent);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        match &self.tls {
            TlsVerify::Enabled(true) => {}
            TlsVerify::Enabled(false) => {
                tracing::warn!(integration = %self.integration, "TLS certificate verification is off");
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
            TlsVerify::CaBundle(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    Error::config(format!(
                        "could not read the CA bundle `{}` for {}",
                        path.display(),
                        self.integration
                    ))
                    .with_source(e)
                })?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    Error::config(format!(
                        "`{}` is not a PEM certificate bundle (for {})",
                        path.display(),
                        self.integration
                    ))
                    .with_source(e.without_url())
                })?;
                builder = builder.tls_certs_merge(certs);
            }
        }
        let http = builder.build().map_err(|e| {
            Error::config(format!(
                "could not set up the HTTP client for {}",
                self.integration
            ))
            .with_source(e.without_url())
        })?;
        let metrics = self
            .metrics
            .unwrap_or_else(|| Arc::new(Metrics::new(self.integration.clone())));
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                integration: self.integration,
                limiter: self.quota.map(|quota| {
                    let clock = TokioClock {
                        start: tokio::time::Instant::now(),
                    };
                    RateLimiter::direct_with_clock(quota, clock)
                }),
                retry: self.retry,
                redactor: self.redactor,
                metrics,
            }),
        })
    }
}

/// governor's clock on tokio's time, so pacing and tokio's sleeps agree (and a paused test
/// clock pauses the limiter too). Instants are offsets from when the client was built.
#[derive(Debug, Clone)]
struct TokioClock {
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

fn quota(requests: u32, per: Duration, burst: Option<u32>) -> Option<Quota> {
    let requests = NonZeroU32::new(requests)?;
    let burst = burst.and_then(NonZeroU32::new).unwrap_or(requests);
    Quota::with_period(per / requests.get()).map(|q| q.allow_burst(burst))
}

/// The HTTP client of one integration. Cheap to clone: clones share the connection pool, the
/// rate limiter and the counters.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

/// The credentials a client sends: fixed at build time, or asked for per attempt.
enum Credentials {
    Static(HeaderName, HeaderValue),
    Dynamic(Arc<dyn CredentialSource>),
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Option<Credentials>,
    integration: String,
    limiter: Option<Limiter>,
    retry: RetryPolicy,
    redactor: Option<Redactor>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("integration", &self.integration)
            .field("base", &redact_url(&self.base))
            .field("auth", &self.auth.as_ref().map(|_| "[REDACTED]"))
            .field("rate_limited", &self.limiter.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Starts a client for `integration` (used in spans and metrics) at `base_url`.
    pub fn builder(
        integration: impl Into<String>,
        base_url: impl Into<String>,
    ) -> HttpClientBuilder {
        HttpClientBuilder {
            integration: integration.into(),
            base_url: base_url.into(),
            auth: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Some(Duration::from_secs(30)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            user_agent: USER_AGENT.to_owned(),
            quota: None,
            retry: RetryPolicy::default(),
            redactor: None,
            metrics: None,
            tls: TlsVerify::default(),
        }
    }

    pub fn integration(&self) -> &str {
        &self.inner.integration
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// A request for `path` below the base URL (it starts with `/`). GET, HEAD, PUT and
    /// DELETE are idempotent and retried; mark a POST with [`RequestBuilder::idempotent`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        RequestBuilder {
            client: self,
            method,
            path: path.to_owned(),
            query: Vec::new(),
            body: None,
            operation: None,
            idempotent,
            stream: false,
            sensitive: false,
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, path)
    }

    fn url(&self, path: &str, query: &[(String, String)]) -> Url {
        let mut url = self.inner.base.clone();
        let prefix = self.inner.base.path().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        url.set_path(&format!("{prefix}/{path}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn wait_for_quota(&self) {
        if let Some(limiter) = &self.inner.limiter {
            wait_on(limiter).await;
        }
    }
}

/// Waits until `limiter` admits one call.
async fn wait_on(limiter: &Limiter) {
    // `until_ready` would sleep on a timer outside tokio; checking on `TokioClock` and
    // sleeping here keeps the limiter and its waits on one clock.
    while let Err(not_until) = limiter.check() {
        let wait = not_until.wait_time_from(limiter.clock().now());
        tokio::time::sleep(wait).await;
    }
}

/// An extra limit on some calls of a client, on the same tokio clock as the client's own
/// limiter: Postman allows 300 calls a minute overall but only 10 per 10 s on list endpoints.
/// The integration waits on it before sending; the client's limiter still applies after.
pub struct Pacer {
    limiter: Limiter,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").finish_non_exhaustive()
    }
}

impl Pacer {
    /// `requests` per `per` with bursts of `burst` (default `requests`); `None` if `requests`
    /// is zero or the period is too short to pace.
    ///
    /// ```no_run
    /// # async fn run() {
    /// use qapms_core::http::Pacer;
    /// let lists = Pacer::new(10, std::time::Duration::from_secs(10), None);
    /// if let Some(pacer) = &lists {
    ///     pacer.wait().await; // then send the list call
    /// }
    /// # }
    /// ```
    pub fn new(requests: u32, per: Duration, burst: Option<u32>) -> Option<Self> {
        let quota = quota(requests, per, burst)?;
        let clock = TokioClock {
            start: tokio::time::Instant::now(),
        };
        Some(Self {
            limiter: RateLimiter::direct_with_clock(quota, clock),
        })
    }

    /// Waits until one more call fits the limit.
    pub async fn wait(&self) {
        wait_on(&self.limiter).await;
    }
}

/// One call being prepared; finish it with [`send`](Self::send) or [`json`](Self::json).
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'c> {
    client: &'c HttpClient,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Result<(Vec<u8>, &'static str)>>,
    operation: Option<String>,
    idempotent: bool,
    /// Leave a 2xx body unread for [`RequestBuilder::send_stream`].
    stream: bool,
    /// Never log the bodies, even at TRACE (token endpoints: both directions carry secrets
    /// the redactor does not know yet).
    sensitive: bool,
}

impl RequestBuilder<'_> {
    #[expect(
        clippy::needless_pass_by_value,
        reason = "callers pass numbers and strings alike; by value reads better at call sites"
    )]
    pub fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = Some(
            serde_json::to_vec(body)
                .map(|bytes| (bytes, "application/json"))
                .map_err(|e| {
                    Error::invalid_input("the request body could not be encoded as JSON")
                        .with_source(e)
                }),
        );
        self
    }

    /// An `application/x-www-form-urlencoded` body (Splunk's REST API takes these).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs {
            encoded.append_pair(key.as_ref(), value.as_ref());
        }
        self.body = Some(Ok((
            encoded.finish().into_bytes(),
            "application/x-www-form-urlencoded",
        )));
        self
    }

    /// The name shown in spans and errors, e.g. `issues.search`; defaults to the path.
    pub fn operation(mut self, name: impl Into<String>) -> Self {
        self.operation = Some(name.into());
        self
    }

    /// Keeps both bodies out of the TRACE log: for calls whose request or answer carries a
    /// credential that the redactor cannot know about yet, such as an OAuth token endpoint.
    pub fn sensitive_bodies(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Marks a POST safe to resend (it reads, or the server deduplicates it).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// Sends the call (with retries) and returns the 2xx response, or a typed error.
    pub async fn send(self) -> Result<HttpResponse> {
        let client = self.client;
        let url = client.url(&self.path, &self.query);
        let shown = redact_url(&url);
        let operation = self.operation.clone().unwrap_or_else(|| self.path.clone());
        let span = tracing::info_span!(
            "http.call",
            integration = %client.inner.integration,
            operation = %operation,
            method = %self.method,
            url = %shown,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let what = format!(
            "{} {} {}",
            client.inner.integration,
            self.method,
            url.path()
        );
        let result = self.run(url, &what).instrument(span.clone()).await;
        if result.is_err() {
            client.inner.metrics.record_error();
        }
        result
    }

    /// Sends the call and decodes the JSON body, naming the field that does not fit `T`.
    pub async fn json_response<T: DeserializeOwned>(self) -> Result<T> {
        self.send().await?.json()
    }

    /// Sends the call (with retries until the status line) and hands back a 2xx body as a
    /// stream of chunks, read as the caller polls it, so a large answer is never held whole.
    /// Error answers are read in full, as for [`send`](Self::send), to build the typed error.
    pub async fn send_stream(mut self) -> Result<HttpStream> {
        self.stream = true;
        let what = format!(
            "{} {} {}",
            self.client.inner.integration, self.method, self.path
        );
        let metrics = self.client.inner.metrics.clone();
        let mut response = self.send().await?;
        let Some(body) = response.stream.take() else {
            // Unreachable in practice (a 2xx in stream mode keeps its body), but a buffered
            // body is still a correct stream.
            let bytes = std::mem::take(&mut response.body);
            return Ok(HttpStream {
                status: response.status,
                headers: response.headers,
                chunks: futures::stream::iter([Ok(bytes)]).boxed(),
            });
        };
        let chunks = futures::stream::try_unfold(body, move |mut body| {
            let what = what.clone();
            let metrics = metrics.clone();
            async move {
                match body.chunk().await {
                    Ok(Some(chunk)) => Ok(Some((Vec::from(chunk), body))),
                    Ok(None) => Ok(None),
                    Err(err) => {
                        metrics.record_error();
                        Err(Error::new(
                            ErrorKind::Upstream,
                            format!("{what}: the connection broke while the answer was streaming"),
                        )
                        .set_temporary()
                        .with_source(err.without_url()))
                    }
                }
            }
        })
        .boxed();
        Ok(HttpStream {
            status: response.status,
            headers: response.headers,
            chunks,
        })
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one attempt loop: credentials, send, renew on 401, retry, classify; its state \
                  (schedule, attempts, renewed) would have to be threaded through helpers"
    )]
    async fn run(mut self, url: Url, what: &str) -> Result<HttpResponse> {
        let client = self.client;
        let inner = &client.inner;
        let body = self.body.take().transpose()?;
        let started = tokio::time::Instant::now();
        let mut schedule = inner.retry.schedule();
        let mut attempts: u32 = 0;
        let span = tracing::Span::current();
        let finish = |status: Option<StatusCode>, attempts: u32| {
            if let Some(status) = status {
                span.record("status", status.as_u16());
            }
            span.record("attempts", attempts);
            span.record("latency_ms", started.elapsed().as_millis() as u64);
        };
        // A 401 is renewed once per call: a second one means the fresh credential is refused
        // too, and that is the user's to fix.
        let mut renewed = false;
        loop {
            client.wait_for_quota().await;
            attempts += 1;
            let header = match &inner.auth {
                Some(Credentials::Dynamic(source)) => match source.header().await {
                    Ok(header) => Some(header),
                    Err(err) => {
                        finish(None, attempts);
                        return Err(err);
                    }
                },
                _ => None,
            };
            let attempt_started = tokio::time::Instant::now();
            let outcome = self
                .attempt(
                    &url,
                    body.as_ref().map(|(b, t)| (b.as_slice(), *t)),
                    header.as_ref(),
                )
                .await;
            inner.metrics.record_attempt(attempt_started.elapsed());
            match outcome {
                Err(err) => {
                    // A connect error means nothing reached the server, so even a POST is safe
                    // to resend; a timeout or a broken body may have been acted on.
                    let safe = err.is_connect() || self.idempotent;
                    let err = err.without_url();
                    if safe && let Some(delay) = schedule.next() {
                        tracing::debug!(error = %err, delay_ms = delay.as_millis() as u64, "retrying after a transport error");
                        inner.metrics.record_retry();
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    finish(None, attempts);
                    let lead = if err.is_timeout() {
                        "timed out"
                    } else if err.is_connect() {
                        "could not connect"
                    } else {
                        "the connection failed"
                    };
                    return Err(Error::new(ErrorKind::Upstream, format!("{what}: {lead}"))
                        .set_temporary()
                        .with_source(err));
                }
                Ok((status, headers, bytes, stream)) => {
                    if status == StatusCode::UNAUTHORIZED
                        && !renewed
                        && let (Some(Credentials::Dynamic(source)), Some(sent)) =
                            (&inner.auth, &header)
                    {
                        renewed = true;
                        // The server refused the request, so it acted on nothing: resending is
                        // safe even for a POST.
                        match source.renew(sent.generation).await {
                            Ok(true) => {
                                tracing::debug!("credentials renewed after a 401; resending");
                                continue;
                            }
                            Ok(false) => {}
                            Err(err) => {
                                finish(Some(status), attempts);
                                return Err(err);
                            }
                        }
                    }
                    if tracing::enabled!(tracing::Level::TRACE)
                        && stream.is_none()
                        && !self.sensitive
                    {
                        tracing::trace!(status = status.as_u16(), body = %redacted_body(inner.redactor.as_ref(), &bytes), "response body");
                    }
                    if status.is_success() {
                        finish(Some(status), attempts);
                        tracing::debug!("http call finished");
                        return Ok(HttpResponse {
                            status,
                            headers,
                            body: bytes,
                            what: what.to_owned(),
                            stream,
                        });
                    }
                    let is_429 = status == StatusCode::TOO_MANY_REQUESTS;
                    if is_429 {
                        inner.metrics.record_rate_limited();
                    }
                    let server = server_wait(&headers, SystemTime::now());
                    if retryable_status(status)
                        && (self.idempotent || is_429)
                        && let Some(scheduled) = schedule.next()
                    {
                        let delay = server.unwrap_or(scheduled);
                        if delay <= inner.retry.max_wait {
                            tracing::debug!(
                                status = status.as_u16(),
                                delay_ms = delay.as_millis() as u64,
                                from_server = server.is_some(),
                                "retrying"
                            );
                            inner.metrics.record_retry();
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    finish(Some(status), attempts);
                    let err = status_error(status, &bytes, server, what, inner.redactor.as_ref());
                    tracing::debug!(error = %err, "http call failed");
                    return Err(err);
                }
            }
        }
    }
}

impl RequestBuilder<'_> {
    /// One attempt: the request as built, sent, with its body read.
    async fn attempt(
        &self,
        url: &Url,
        body: Option<(&[u8], &'static str)>,
        dynamic: Option<&AuthHeader>,
    ) -> std::result::Result<
        (StatusCode, HeaderMap, Vec<u8>, Option<reqwest::Response>),
        reqwest::Error,
    > {
        let inner = &self.client.inner;
        let mut request = inner
            .http
            .request(self.method.clone(), url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(Credentials::Static(name, value)) = &inner.auth {
            request = request.header(name.clone(), value.clone());
        }
        if let Some(header) = dynamic {
            let mut value = header.value.clone();
            value.set_sensitive(true);
            request = request.header(header.name.clone(), value);
        }
        if let Some((body, content_type)) = body {
            if tracing::enabled!(tracing::Level::TRACE) && !self.sensitive {
                tracing::trace!(body = %redacted_body(inner.redactor.as_ref(), body), "request body");
            }
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.to_vec());
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        if self.stream && status.is_success() {
            return Ok((status, headers, Vec::new(), Some(response)));
        }
        let bytes = response.bytes().await?;
        Ok((status, headers, Vec::from(bytes), None))
    }
}

fn redacted_body(redactor: Option<&Redactor>, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match redactor {
        Some(r) => r.redact(&text).into_owned(),
        None => text.into_owned(),
    }
}

/// A successful (2xx) answer.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    what: String,
    /// The unread body of a [`RequestBuilder::send_stream`] call.
    stream: Option<reqwest::Response>,
}

/// A successful (2xx) answer whose body is read as it arrives; see
/// [`RequestBuilder::send_stream`].
pub struct HttpStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body, chunk by chunk, as the network delivers it.
    pub chunks: futures::stream::BoxStream<'static, Result<Vec<u8>>>,
}

impl std::fmt::Debug for HttpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStream")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl HttpResponse {
    /// Decodes the body, naming the JSON path that does not fit `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        decode_json(&self.body, &self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_limiter_waits_on_tokio_time() {
        let http = HttpClient::builder("t", "http://127.0.0.1:9")
            .rate(20, Duration::from_secs(1), Some(1))
            .build()
            .unwrap();
        let started = tokio::time::Instant::now();
        for _ in 0..4 {
            http.wait_for_quota().await;
        }
        // 20 per second with a burst of 1: the first at once, then one every 50 ms.
        assert_eq!(started.elapsed(), Duration::from_millis(150));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pacer_allows_its_burst_then_paces() {
        let pacer = Pacer::new(10, Duration::from_secs(10), None).unwrap();
        let started = tokio::time::Instant::now();
        for _ in 0..10 {
            pacer.wait().await;
        }
        assert_eq!(started.elapsed(), Duration::ZERO, "a burst of 10 at once");
        for _ in 0..3 {
            pacer.wait().await;
        }
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(3),
            "then one a second"
        );
        assert!(Pacer::new(0, Duration::from_secs(1), None).is_none());
    }
}
