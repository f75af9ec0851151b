//! Request ids, access logs and request metrics: one middleware, so every request is timed,
//! counted and logged the same way.
//!
//! The request id is the client's `x-request-id` when it sends a sane one, else a new `UUIDv7`;
//! it is echoed in the response and carried by the request's span, so every log line of a
//! request can be found. The access log is one structured line per request (method, route,
//! status, latency, id); headers are logged only at DEBUG, with `Authorization`, `Cookie`,
//! `Set-Cookie` and the CSRF header replaced by `[REDACTED]`. Metrics are keyed by the matched
//! route template (`/api/v1/users/{name}`), never the raw path, so the label set stays small
//! and holds no user data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::AppState;
use crate::auth::CSRF_HEADER;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

type Key = (String, String);

/// Latency histograms per method and route, and counts per status.
#[derive(Debug, Default)]
pub(crate) struct RequestMetrics {
    latency: RwLock<BTreeMap<Key, Arc<Histogram>>>,
    statuses: RwLock<BTreeMap<(String, String, u16), Arc<AtomicU64>>>,
}

impl RequestMetrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let key = (method.to_owned(), route.to_owned());
        let existing = self
            .latency
            .read()
            .ok()
            .and_then(|map| map.get(&key).cloned());
        let histogram = match existing {
            Some(h) => h,
            None => match self.latency.write() {
                Ok(mut map) => map.entry(key.clone()).or_default().clone(),
                Err(_) => return,
            },
        };
        histogram.observe(seconds);
        let key = (key.0, key.1, status);
        let existing = self
            .statuses
            .read()
            .ok()
            .and_then(|map| map.get(&key).cloned());
        let counter = match existing {
            Some(c) => c,
            None => match self.statuses.write() {
                Ok(mut map) => map.entry(key).or_default().clone(),
                Err(_) => return,
            },
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Appends the Prometheus text exposition of these metrics.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP qapms_http_request_duration_seconds Time to answer an HTTP request.\n\
             # TYPE qapms_http_request_duration_seconds histogram\n",
        );
        if let Ok(map) = self.latency.read() {
            for ((method, route), h) in map.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", esc(method), esc(route));
                for (bound, bucket) in BUCKETS.iter().zip(&h.buckets) {
                    let _ = writeln!(
                        out,
                        "qapms_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                        bucket.load(Ordering::Relaxed)
                    );
                }
                let count = h.count.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "qapms_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
                );
                let _ = writeln!(
                    out,
                    "qapms_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
                );
                let _ = writeln!(
                    out,
                    "qapms_http_request_duration_seconds_count{{{labels}}} {count}"
                );
            }
        }
        out.push_str(
            "# HELP qapms_http_requests_total HTTP requests answered, by status.\n\
             # TYPE qapms_http_requests_total counter\n",
        );
        if let Ok(map) = self.statuses.read() {
            for ((method, route, status), count) in map.iter() {
                let _ = writeln!(
                    out,
                    "qapms_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                    esc(method),
                    esc(route),
                    count.load(Ordering::Relaxed)
                );
            }
        }
    }
}

/// Escapes a Prometheus label value.
pub(crate) fn esc(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Headers as a log field, secrets replaced.
fn redacted_headers(headers: &HeaderMap) -> String {
    let mut out = String::new();
    for (name, value) in headers {
        let shown = if is_sensitive(name) {
            "[REDACTED]"
        } else {
            value.to_str().unwrap_or("[binary]")
        };
        let _ = write!(out, "{name}: {shown}; ");
    }
    out
}

pub(crate) fn is_sensitive(name: &HeaderName) -> bool {
    name == header::AUTHORIZATION
        || name == header::COOKIE
        || name == header::SET_COOKIE
        || name == header::PROXY_AUTHORIZATION
        || name.as_str() == CSRF_HEADER
}

/// The middleware: id, span, timing, access log, metrics.
pub(crate) async fn layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    if let Ok(value) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    tracing::debug!(parent: &span, headers = %redacted_headers(request.headers()), "request headers");
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    state
        .request_metrics()
        .observe(&method, &route, status, elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    tracing::info!(
        parent: &span,
        status,
        latency_ms,
        path = %path,
        "access"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_keeps_a_sane_client_id_and_replaces_others() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, HeaderValue::from_static("bad id\"x"));
        assert_ne!(request_id(&headers), "bad id\"x");
    }

    #[test]
    fn secrets_are_redacted_in_header_logs() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer qapms_secret"),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("qapms_session=abc"),
        );
        headers.insert(header::USER_AGENT, HeaderValue::from_static("curl"));
        let logged = redacted_headers(&headers);
        assert!(!logged.contains("qapms_secret"), "{logged}");
        assert!(!logged.contains("abc"), "{logged}");
        assert!(logged.contains("curl"), "{logged}");
    }
}
