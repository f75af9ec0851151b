//! `GET /api/v1/health`: liveness and the store's state.
//!
//! A load balancer and the dashboard's banner both read this. The store check has a short
//! timeout: a locked or unreachable database must make the answer "degraded" quickly, not hang
//! the probe. Integration health joins this payload when the integration layer lands.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::AppState;

const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Health {
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
    store: StoreHealth,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreHealth {
    status: &'static str,
    backend: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store = state.store();
    let backend = store.backend().to_string();
    let store_health = match tokio::time::timeout(STORE_CHECK_TIMEOUT, store.info()).await {
        Ok(Ok(info)) => StoreHealth {
            status: "ok",
            backend,
            schema_version: Some(info.schema_version),
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
    };
    let ok = store_health.status == "ok";
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.uptime().as_secs(),
        store: store_health,
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
