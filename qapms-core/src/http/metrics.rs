//! Per-integration call counters for the dashboard.
//!
//! Counters are plain atomics updated on every call, cheap enough to keep always on; the
//! dashboard reads a [`MetricsSnapshot`]. Latency goes into fixed buckets (a histogram without
//! allocation) whose upper bounds bracket the 2 s p95 goal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Upper bounds of the latency buckets, in milliseconds; a last bucket holds the rest.
pub const LATENCY_BUCKETS_MS: [u64; 9] = [25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000];

/// Live counters of one integration's HTTP calls.
#[derive(Debug)]
pub struct Metrics {
    integration: String,
    calls: AtomicU64,
    errors: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    latency: [AtomicU64; LATENCY_BUCKETS_MS.len() + 1],
}

/// A copy of [`Metrics`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    pub integration: String,
    /// Attempts sent, retries included.
    pub calls: u64,
    /// Calls that ended in an error after any retries.
    pub errors: u64,
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// `(upper bound in ms, count)`; the last bound is `u64::MAX`.
    pub latency_buckets: Vec<(u64, u64)>,
}

impl Metrics {
    pub fn new(integration: impl Into<String>) -> Self {
        Self {
            integration: integration.into(),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn record_attempt(&self, latency: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let ms = latency.as_millis() as u64;
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|&upper| ms <= upper)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let latency_buckets = LATENCY_BUCKETS_MS
            .iter()
            .copied()
            .chain([u64::MAX])
            .zip(self.latency.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        MetricsSnapshot {
            integration: self.integration.clone(),
            calls: self.calls.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            latency_buckets,
        }
    }
}
