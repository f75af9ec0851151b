//! Integration health: the 60-second checks, the "down for 2 minutes" alert, and the
//! background scheduler that runs them.
//!
//! Results go to the store (`integration_health`), not to process memory, so every instance
//! behind a load balancer answers `/api/v1/health` the same way, whichever one ran the check.
//! The scheduler runs each job under a [`Store::try_job_lease`]: on `PostgreSQL` an advisory
//! lock, so with several instances only one checks (and later syncs) at a time; the others
//! skip that tick. An integration whose checks have failed for [`DOWN_ALERT_AFTER`] gets an
//! `integration_down` alert (one open alert per integration, refreshed while it stays down,
//! resolved by the first healthy check); it is logged and the page shell shows it as a banner.
//! An hourly job deletes expired sessions under the same kind of lease, and the periodic sync
//! (`sync.interval`) runs under one too. The search index is
//! local to each instance, so its catch-up job (failure clusters and workflows changed by
//! analysis or by actions anywhere, see `SearchIndex::catch_up`) runs on every instance,
//! without a lease.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use qapms_core::http::MetricsSnapshot;
use qapms_core::integrations::{Health, HealthReport, Integration};
use qapms_core::search::SearchIndex;
use qapms_core::store::{IntegrationCheck, NewAlert, Store};
use qapms_core::sync::{CancelToken, Syncer};
use serde_json::json;
use tokio_util_like::CancelOnDrop;

/// How often integrations are checked (DESIGN §1).
pub const CHECK_INTERVAL: Duration = Duration::from_mins(1);
/// How long an integration must be down before an alert is raised (DESIGN §1).
pub const DOWN_ALERT_AFTER: Duration = Duration::from_mins(2);
/// A health call that has not answered by then counts as unreachable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// The alert kind written for a down integration.
pub const INTEGRATION_DOWN: &str = "integration_down";
/// The job name the health checks run under.
pub const HEALTH_JOB: &str = "integration-health";

/// One configured integration: its health check and its HTTP call metrics.
#[derive(Clone)]
pub struct Monitored {
    pub integration: Arc<dyn Integration>,
    pub metrics: Arc<dyn Fn() -> MetricsSnapshot + Send + Sync>,
}

impl std::fmt::Debug for Monitored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitored")
            .field("kind", &self.integration.kind())
            .field("endpoint", &self.integration.endpoint())
            .finish_non_exhaustive()
    }
}

impl Monitored {
    pub fn kind(&self) -> &'static str {
        self.integration.kind()
    }
}

/// Runs one round of checks: records each result, and raises or resolves alerts.
pub async fn check_all(store: &dyn Store, integrations: &[Monitored]) {
    for monitored in integrations {
        let kind = monitored.kind();
        let report = match tokio::time::timeout(CHECK_TIMEOUT, monitored.integration.health()).await
        {
            Ok(report) => report,
            Err(_) => HealthReport {
                health: Health::Unreachable,
                latency: CHECK_TIMEOUT,
                detail: Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
            },
        };
        if let Err(err) = record(store, kind, &report).await {
            tracing::warn!(integration = kind, error = %err, "cannot record a health check");
        }
    }
}

async fn record(store: &dyn Store, kind: &str, report: &HealthReport) -> qapms_core::Result<()> {
    let now = Utc::now();
    let healthy = report.health == Health::Ok;
    store
        .record_integration_check(&IntegrationCheck {
            integration: kind.to_owned(),
            checked_at: now,
            healthy,
            latency_ms: Some(report.latency.as_millis() as u64),
            message: report.detail.clone(),
        })
        .await?;
    if healthy {
        if store.resolve_alert(INTEGRATION_DOWN, kind, now).await? {
            tracing::info!(integration = kind, "integration is back up; alert resolved");
        }
        return Ok(());
    }
    tracing::warn!(
        integration = kind,
        health = ?report.health,
        detail = report.detail.as_deref().unwrap_or(""),
        "integration health check failed"
    );
    let summary = store
        .integration_health_summary(kind, now - chrono::Duration::hours(1))
        .await?;
    let Some(down_since) = summary.down_since else {
        return Ok(());
    };
    let down_for = (now - down_since).to_std().unwrap_or_default();
    if down_for >= DOWN_ALERT_AFTER {
        let alert = store
            .raise_alert(&NewAlert {
                kind: INTEGRATION_DOWN.to_owned(),
                fingerprint: kind.to_owned(),
                title: format!("{kind} has been down since {}", down_since.to_rfc3339()),
                severity: "critical".to_owned(),
                evidence: json!({
                    "integration": kind,
                    "downSince": down_since,
                    "health": report.health,
                    "detail": report.detail,
                }),
                seen_at: now,
            })
            .await?;
        tracing::error!(
            integration = kind,
            alert = %alert.id,
            down_seconds = down_for.as_secs(),
            "integration down: alert raised"
        );
    }
    Ok(())
}

/// The job name expired sessions are deleted under.
pub const PURGE_SESSIONS_JOB: &str = "purge-sessions";
/// How often expired sessions are deleted.
const PURGE_INTERVAL: Duration = Duration::from_hours(1);

/// How often the search index catches up with clusters and workflows.
const INDEX_CATCH_UP_INTERVAL: Duration = Duration::from_secs(15);
/// The job name the periodic sync runs under.
pub const SYNC_JOB: &str = "sync";

/// The background scheduler; dropping it stops its jobs.
#[derive(Debug)]
pub struct Scheduler {
    _health: CancelOnDrop,
    _purge: CancelOnDrop,
    _index: Option<CancelOnDrop>,
    _sync: Option<CancelOnDrop>,
}

impl Scheduler {
    /// Starts the periodic jobs. The first health check runs immediately.
    pub fn start(store: Arc<dyn Store>, integrations: Vec<Monitored>) -> Self {
        let purge_store = store.clone();
        let purge = tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let store = purge_store.as_ref();
                run_job(store, PURGE_SESSIONS_JOB, || async {
                    match store.purge_sessions(Utc::now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(sessions = n, "expired sessions deleted"),
                        Err(err) => tracing::warn!(error = %err, "cannot delete expired sessions"),
                    }
                })
                .await;
            }
        });
        let task = tokio::spawn(async move {
            if integrations.is_empty() {
                tracing::info!("no integrations configured; health checks idle");
                return;
            }
            let mut tick = tokio::time::interval(CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                run_job(store.as_ref(), HEALTH_JOB, || {
                    check_all(store.as_ref(), &integrations)
                })
                .await;
            }
        });
        Self {
            _health: CancelOnDrop(task),
            _purge: CancelOnDrop(purge),
            _index: None,
            _sync: None,
        }
    }

    /// Also syncs with `syncer` every `every`, the first time at once, when this instance
    /// gets the [`SYNC_JOB`] lease. Each integration's outcome is logged; a failure waits for
    /// the next tick (the sync resumes from its last stored batch).
    #[must_use]
    pub fn sync_every(self, store: Arc<dyn Store>, syncer: Arc<Syncer>, every: Duration) -> Self {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                run_job(store.as_ref(), SYNC_JOB, || async {
                    let report = syncer.run(&|_| {}, &CancelToken::new()).await;
                    for r in &report.integrations {
                        match &r.error {
                            Some(error) => {
                                tracing::warn!(integration = %r.integration, %error, "sync failed");
                            }
                            None => tracing::info!(
                                integration = %r.integration,
                                written = r.counts.written,
                                deleted = r.counts.deleted,
                                elapsed_ms = r.elapsed_ms,
                                "synced"
                            ),
                        }
                    }
                    if let Some(error) = report.index.as_ref().and_then(|i| i.error.as_deref()) {
                        tracing::warn!(%error, "search index not updated by the sync");
                    }
                })
                .await;
            }
        });
        Self {
            _sync: Some(CancelOnDrop(task)),
            ..self
        }
    }

    /// Also keeps `index` current with the store's clusters and workflows.
    #[must_use]
    pub fn follow_index(self, store: Arc<dyn Store>, index: Arc<SearchIndex>) -> Self {
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(INDEX_CATCH_UP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match index.catch_up(store.as_ref()).await {
                    Ok(Some(n)) => {
                        tracing::debug!(documents = n, "clusters and workflows re-indexed");
                    }
                    Ok(None) => {}
                    // Another process writing the index is the usual cause; the next tick retries.
                    Err(err) => tracing::debug!(error = %err, "search index catch-up skipped"),
                }
            }
        });
        Self {
            _index: Some(CancelOnDrop(task)),
            ..self
        }
    }
}

/// Runs `job` if this instance gets its lease; another instance holding it means skip.
pub async fn run_job<F, Fut>(store: &dyn Store, name: &str, job: F) -> bool
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    match store.try_job_lease(name).await {
        Ok(Some(lease)) => {
            tracing::debug!(job = name, "job started");
            job().await;
            drop(lease);
            true
        }
        Ok(None) => {
            tracing::debug!(job = name, "another instance holds the job; skipped");
            false
        }
        Err(err) => {
            tracing::warn!(job = name, error = %err, "cannot take the job lease; skipped");
            false
        }
    }
}

mod tokio_util_like {
    /// Aborts a spawned task when dropped.
    #[derive(Debug)]
    pub(crate) struct CancelOnDrop(pub(crate) tokio::task::JoinHandle<()>);

    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
}
