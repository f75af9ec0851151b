//! `GET /metrics`: Prometheus text format. Request latency histograms per route, and for each
//! configured integration its HTTP call counts, errors, retries, 429s and latency histogram
//! (from the core's per-integration `http::Metrics`), and each integration's sync lag: the
//! seconds since its last stored sync batch, read from the store's sync state, so every
//! instance reports the same lag whichever one ran the sync.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};

use crate::AppState;
use crate::observe::esc;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.request_metrics().render(&mut out);
    let snapshots: Vec<_> = state.integrations().iter().map(|m| (m.metrics)()).collect();
    let counters = [
        (
            "calls",
            "HTTP attempts sent to the integration, retries included.",
        ),
        ("errors", "Integration calls that failed after any retries."),
        ("retries", "Integration calls retried."),
        ("rate_limited", "429 answers from the integration."),
    ];
    for (name, help) in counters {
        let _ = writeln!(
            out,
            "# HELP qapms_integration_{name}_total {help}\n# TYPE qapms_integration_{name}_total counter"
        );
        for s in &snapshots {
            let value = match name {
                "calls" => s.calls,
                "errors" => s.errors,
                "retries" => s.retries,
                _ => s.rate_limited,
            };
            let _ = writeln!(
                out,
                "qapms_integration_{name}_total{{integration=\"{}\"}} {value}",
                esc(&s.integration)
            );
        }
    }
    out.push_str(
        "# HELP qapms_integration_call_duration_seconds Latency of integration HTTP attempts.\n\
         # TYPE qapms_integration_call_duration_seconds histogram\n",
    );
    for s in &snapshots {
        let label = esc(&s.integration);
        let mut cumulative = 0_u64;
        for (upper_ms, count) in &s.latency_buckets {
            cumulative += count;
            let le = if *upper_ms == u64::MAX {
                "+Inf".to_owned()
            } else {
                (*upper_ms as f64 / 1000.0).to_string()
            };
            let _ = writeln!(
                out,
                "qapms_integration_call_duration_seconds_bucket{{integration=\"{label}\",le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "qapms_integration_call_duration_seconds_count{{integration=\"{label}\"}} {cumulative}"
        );
    }
    sync_lag(&state, &mut out).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

async fn sync_lag(state: &AppState, out: &mut String) {
    let scopes = match state.store().sync_scopes(None).await {
        Ok(scopes) => scopes,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the sync state for /metrics");
            return;
        }
    };
    let mut newest: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for scope in scopes {
        let at = newest.entry(scope.integration).or_insert(scope.updated_at);
        *at = (*at).max(scope.updated_at);
    }
    out.push_str(
        "# HELP qapms_sync_lag_seconds Seconds since the integration's last stored sync batch.\n\
         # TYPE qapms_sync_lag_seconds gauge\n",
    );
    let now = Utc::now();
    for (integration, at) in newest {
        let lag = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
        let _ = writeln!(
            out,
            "qapms_sync_lag_seconds{{integration=\"{}\"}} {lag}",
            esc(&integration)
        );
    }
}
