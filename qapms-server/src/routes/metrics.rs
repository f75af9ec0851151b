//! `GET /metrics`: Prometheus text format. Request latency histograms per route, and for each
//! configured integration its HTTP call counts, errors, retries, 429s and latency histogram
//! (from the core's per-integration `http::Metrics`). Sync lag is not exported: there is no
//! sync job yet, and a made-up figure would mislead alerting.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

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
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
