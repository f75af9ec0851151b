//! When to retry a call, and how long to wait first.
//!
//! The schedule is DESIGN's floor: 1 s, 2 s, 4 s, each plus up to a quarter of random jitter
//! so that many clients that failed together do not come back together. What the server
//! says beats the schedule: `Retry-After` (seconds or an HTTP date) first, then the
//! `X-RateLimit-Reset` family (Jira sends an ISO 8601 instant, GitHub-style servers an epoch
//! second count). A server that asks for a longer wait than [`RetryPolicy::max_wait`] gets no
//! retry: the caller receives a `RateLimited` error carrying the wait, rather than a call that
//! blocks for an hour.
//!
//! Only idempotent calls are retried on 5xx and connect errors (GET, HEAD, PUT, DELETE, and a
//! POST explicitly marked idempotent, such as Jira's JQL search). A 429 is retried for every
//! method, because the server rejected the request before acting on it.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder as _, ExponentialBuilder};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The retry schedule and its limits.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 3 gives the 1 s, 2 s, 4 s schedule.
    pub max_retries: usize,
    /// The first delay; each later one doubles.
    pub base_delay: Duration,
    /// Adds up to a quarter of each step as random delay.
    pub jitter: bool,
    /// The longest server-requested wait honoured by sleeping; longer waits fail fast.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            jitter: true,
            max_wait: Duration::from_mins(2),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The schedule's delays, in order (jittered when enabled).
    pub fn schedule(&self) -> impl Iterator<Item = Duration> + use<> {
        // backon's own jitter adds up to 100 % of each step (4 s could become 8 s); a quarter
        // is enough to spread clients apart and keeps the schedule close to 1 s, 2 s, 4 s.
        let jitter = self.jitter;
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_factor(2.0)
            .with_max_delay(self.base_delay.saturating_mul(1 << 10))
            .with_max_times(self.max_retries)
            .build()
            .map(move |delay| {
                if jitter {
                    delay.mul_f64(1.0 + rand::random::<f64>() * MAX_JITTER)
                } else {
                    delay
                }
            })
    }
}

/// The largest jitter, as a fraction of the step it is added to.
const MAX_JITTER: f64 = 0.25;

/// Whether a status is worth retrying at all.
pub(crate) fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// How long the server asked us to wait, from `Retry-After` or `X-RateLimit-Reset`.
///
/// `now` is passed in so the date forms can be tested without a real clock.
pub fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = text("retry-after") {
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(secs) = value.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_secs_f64(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    for name in ["x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"] {
        let Some(value) = text(name) else { continue };
        if let Ok(n) = value.parse::<u64>() {
            // Epoch seconds are far larger than any sane delta; IETF `RateLimit-Reset` and some
            // APIs send a delta in seconds instead.
            if n > 1_000_000_000 {
                let at = SystemTime::UNIX_EPOCH + Duration::from_secs(n);
                return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
            }
            return Some(Duration::from_secs(n));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(value) {
            let at: SystemTime = at.with_timezone(&chrono::Utc).into();
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn schedule_is_one_two_four_seconds_without_jitter() {
        let policy = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        let delays: Vec<_> = policy.schedule().collect();
        assert_eq!(
            delays,
            [1, 2, 4].map(Duration::from_secs).to_vec(),
            "DESIGN's 1 s, 2 s, 4 s floor"
        );
    }

    #[test]
    fn jitter_stays_within_a_quarter_of_each_step() {
        for _ in 0..50 {
            let delays: Vec<_> = RetryPolicy::default().schedule().collect();
            assert_eq!(delays.len(), 3);
            for (d, floor) in delays.iter().zip([1, 2, 4]) {
                assert!(*d >= Duration::from_secs(floor), "{d:?}");
                assert!(*d <= Duration::from_secs(floor).mul_f64(1.25), "{d:?}");
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_dates_are_understood() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_wait(&headers("retry-after", "7"), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            server_wait(&headers("retry-after", &later), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            server_wait(&headers("x-ratelimit-reset", "1700000012"), now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait(&headers("x-ratelimit-reset", "2023-11-14T22:13:40Z"), now),
            Some(Duration::from_secs(20))
        );
        assert_eq!(server_wait(&headers("retry-after", "soon"), now), None);
    }
}
