//! `GET /api/v1/health`: liveness, the store's state, and each integration's health.
//!
//! A load balancer and the dashboard's banner both read this. The store check has a short
//! timeout: a locked or unreachable database must make the answer "degraded" quickly, not hang
//! the probe, and it is the only thing that turns the answer into a 503 (an integration being
//! down is reported, but the instance itself still serves). Integration figures come from the
//! checks the scheduler records every 60 s ([`crate::monitor`]), over the last hour.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qapms_core::store::Store;
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::monitor::INTEGRATION_DOWN;

const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// The window integration latency and error rate are computed over.
const HEALTH_WINDOW_HOURS: i64 = 1;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    /// `ok`, or `degraded` when the store or an integration is not healthy.
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    store: StoreHealth,
    integrations: Vec<IntegrationHealth>,
    /// Open `integration_down` alerts.
    alerts: Vec<AlertView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoreHealth {
    /// `ok` or `unavailable`.
    status: &'static str,
    backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntegrationHealth {
    #[schema(example = "jira")]
    name: String,
    /// `ok`, `down`, or `unknown` before the first check.
    status: &'static str,
    endpoint: String,
    checks: u64,
    failures: u64,
    /// Failed checks over all checks in the window, 0 to 1.
    error_rate: f64,
    avg_latency_ms: Option<f64>,
    max_latency_ms: Option<u64>,
    last_checked_at: Option<DateTime<Utc>>,
    down_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertView {
    id: uuid::Uuid,
    kind: String,
    title: String,
    severity: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

/// Liveness, store state and integration health.
#[utoipa::path(get, path = "/api/v1/health", tag = "operations",
    responses(
        (status = 200, body = Health, description = "serving (maybe with an integration down)"),
        (status = 503, body = Health, description = "the store is unavailable"),
    ))]
pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let body = report(&state).await;
    let code = if body.store.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

async fn store_health(store: &dyn Store) -> StoreHealth {
    let backend = store.backend().to_string();
    // Not `info()`: that counts every table's rows, and this runs for every page's banner.
    match tokio::time::timeout(STORE_CHECK_TIMEOUT, store.schema_version()).await {
        Ok(Ok(version)) => StoreHealth {
            status: "ok",
            backend,
            schema_version: Some(version),
            error: None,
        },
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "store health check failed");
            StoreHealth {
                status: "unavailable",
                backend,
                schema_version: None,
                error: Some(err.message().to_owned()),
            }
        }
        Err(_) => StoreHealth {
            status: "unavailable",
            backend,
            schema_version: None,
            error: Some(format!(
                "no answer within {} s",
                STORE_CHECK_TIMEOUT.as_secs()
            )),
        },
    }
}

pub(crate) async fn report(state: &AppState) -> Health {
    let store = state.store();
    let store_health = store_health(store).await;
    let mut integrations = Vec::new();
    let mut alerts = Vec::new();
    if store_health.status == "ok" {
        let since = Utc::now() - chrono::Duration::hours(HEALTH_WINDOW_HOURS);
        for monitored in state.integrations() {
            let name = monitored.kind();
            match store.integration_health_summary(name, since).await {
                Ok(s) => integrations.push(IntegrationHealth {
                    name: name.to_owned(),
                    status: match s.last_healthy {
                        None => "unknown",
                        Some(true) => "ok",
                        Some(false) => "down",
                    },
                    endpoint: monitored.integration.endpoint(),
                    checks: s.checks,
                    failures: s.failures,
                    error_rate: s.error_rate(),
                    avg_latency_ms: s.avg_latency_ms,
                    max_latency_ms: s.max_latency_ms,
                    last_checked_at: s.last_checked_at,
                    down_since: s.down_since,
                }),
                Err(err) => tracing::warn!(integration = name, error = %err, "cannot read health"),
            }
        }
        match store.open_alerts(Some(INTEGRATION_DOWN)).await {
            Ok(open) => {
                alerts = open
                    .into_iter()
                    .map(|a| AlertView {
                        id: a.id,
                        kind: a.kind,
                        title: a.title,
                        severity: a.severity,
                        first_seen: a.first_seen,
                        last_seen: a.last_seen,
                    })
                    .collect();
            }
            Err(err) => tracing::warn!(error = %err, "cannot read open alerts"),
        }
    }
    let ok = store_health.status == "ok"
        && integrations.iter().all(|i| i.status != "down")
        && alerts.is_empty();
    Health {
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.uptime().as_secs(),
        store: store_health,
        integrations,
        alerts,
    }
}

/// What the page shell's banner says, empty when all is well.
pub(crate) async fn banner(state: &AppState) -> Vec<String> {
    if let Some(lines) = state.banner_cache().get(&()) {
        return lines;
    }
    let lines = banner_lines(state).await;
    state.banner_cache().insert((), lines.clone());
    lines
}

async fn banner_lines(state: &AppState) -> Vec<String> {
    let health = report(state).await;
    let mut lines = Vec::new();
    if health.store.status != "ok" {
        lines.push(format!(
            "The store is unavailable ({}); figures may be missing or stale.",
            health.store.error.as_deref().unwrap_or("no answer")
        ));
    }
    for alert in &health.alerts {
        lines.push(alert.title.clone());
    }
    for integration in health.integrations.iter().filter(|i| i.status == "down") {
        if !health
            .alerts
            .iter()
            .any(|a| a.title.starts_with(&integration.name))
        {
            lines.push(format!(
                "{} is not answering its health checks.",
                integration.name
            ));
        }
    }
    lines
}
