//! Health and operations: `/api/v1/health` with integration status, the health monitor and
//! its `integration_down` alert, job leases, `/metrics`, request ids, the OpenAPI document
//! and Swagger UI, every route answering, and one test on a real port with graceful shutdown.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{StatusCode, header};
use chrono::Utc;
use qapms_core::http::Metrics;
use qapms_core::integrations::{Health, HealthReport, Integration};
use qapms_core::store::IntegrationCheck;
use qapms_server::monitor::{self, INTEGRATION_DOWN, Monitored};
use qapms_server::{AppState, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{TestApp, get};

/// An integration whose health the test switches.
#[derive(Debug, Default)]
struct Fake {
    up: AtomicBool,
}

#[async_trait]
impl Integration for Fake {
    fn kind(&self) -> &'static str {
        "jira"
    }

    fn endpoint(&self) -> String {
        "https://jira.example".to_owned()
    }

    async fn health(&self) -> HealthReport {
        let up = self.up.load(Ordering::SeqCst);
        HealthReport {
            health: if up { Health::Ok } else { Health::Unreachable },
            latency: Duration::from_millis(if up { 40 } else { 5 }),
            detail: (!up).then(|| "connection refused".to_owned()),
        }
    }
}

fn monitored(fake: &Arc<Fake>) -> Monitored {
    let metrics = Arc::new(Metrics::new("jira"));
    Monitored {
        integration: fake.clone(),
        metrics: Arc::new(move || metrics.snapshot()),
    }
}

fn options_with(fake: &Arc<Fake>) -> ServerOptions {
    ServerOptions {
        integrations: vec![monitored(fake)],
        ..ServerOptions::default()
    }
}

fn options() -> ServerOptions {
    ServerOptions::default()
}

async fn health_reports_store_ok(app: TestApp) {
    let reply = app.send(get("/api/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let json = reply.json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["store"]["status"], "ok");
    assert!(json["store"]["schemaVersion"].as_i64().unwrap() >= 5);
    assert_eq!(json["integrations"], serde_json::json!([]));
    assert_eq!(json["alerts"], serde_json::json!([]));
}

async fn integration_down_two_minutes_raises_then_resolves(app: TestApp) {
    let fake = Arc::new(Fake::default());
    let state = AppState::with_options(app.store.clone(), options_with(&fake));
    let integrations = vec![monitored(&fake)];
    let store = app.store.as_ref();

    // Before any check the integration is "unknown".
    let reply = common::send(qapms_server::app(state.clone()), get("/api/v1/health")).await;
    assert_eq!(reply.json()["integrations"][0]["status"], "unknown");

    // A first failure is logged but not yet an alert.
    monitor::check_all(store, &integrations).await;
    assert!(
        store
            .open_alerts(Some(INTEGRATION_DOWN))
            .await
            .unwrap()
            .is_empty()
    );

    // Down for more than two minutes (an earlier failed check): the next failure alerts.
    store
        .record_integration_check(&IntegrationCheck {
            integration: "jira".to_owned(),
            checked_at: Utc::now() - chrono::Duration::minutes(3),
            healthy: false,
            latency_ms: Some(5),
            message: Some("connection refused".to_owned()),
        })
        .await
        .unwrap();
    monitor::check_all(store, &integrations).await;
    monitor::check_all(store, &integrations).await;
    let open = store.open_alerts(Some(INTEGRATION_DOWN)).await.unwrap();
    assert_eq!(open.len(), 1, "one alert, refreshed");
    assert_eq!(open[0].fingerprint, "jira");
    assert_eq!(open[0].severity, "critical");

    let reply = common::send(qapms_server::app(state.clone()), get("/api/v1/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let json = reply.json();
    assert_eq!(json["status"], "degraded");
    let jira = &json["integrations"][0];
    assert_eq!(jira["name"], "jira");
    assert_eq!(jira["status"], "down");
    assert_eq!(jira["endpoint"], "https://jira.example");
    assert_eq!(jira["checks"], 4);
    assert_eq!(jira["failures"], 4);
    assert_eq!(jira["errorRate"], 1.0);
    assert!(jira["downSince"].is_string());
    assert_eq!(json["alerts"][0]["kind"], INTEGRATION_DOWN);

    fake.up.store(true, Ordering::SeqCst);
    monitor::check_all(store, &integrations).await;
    assert!(
        store
            .open_alerts(Some(INTEGRATION_DOWN))
            .await
            .unwrap()
            .is_empty()
    );
    let json = common::send(qapms_server::app(state), get("/api/v1/health"))
        .await
        .json();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["integrations"][0]["status"], "ok");
    assert_eq!(json["integrations"][0]["maxLatencyMs"], 40);
    assert!((json["integrations"][0]["errorRate"].as_f64().unwrap() - 0.8).abs() < 1e-9);
}

async fn only_one_instance_runs_a_job(app: TestApp) {
    let other = qapms_core::store::open(&app.url).await.unwrap();
    let lease = app
        .store
        .try_job_lease(monitor::HEALTH_JOB)
        .await
        .unwrap()
        .unwrap();
    let ran = monitor::run_job(other.as_ref(), monitor::HEALTH_JOB, || async {}).await;
    assert!(
        !ran,
        "the second instance must skip while the first holds the lease"
    );
    drop(lease);
    let mut ran = false;
    for _ in 0..50 {
        ran = monitor::run_job(other.as_ref(), monitor::HEALTH_JOB, || async {}).await;
        if ran {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ran, "the job runs once the lease is free");
    other.close().await;
}

async fn scheduler_checks_at_start(app: TestApp) {
    let fake = Arc::new(Fake::default());
    let _scheduler = monitor::Scheduler::start(app.store.clone(), vec![monitored(&fake)]);
    let since = Utc::now() - chrono::Duration::minutes(1);
    let mut checks = 0;
    for _ in 0..100 {
        checks = app
            .store
            .integration_health_summary("jira", since)
            .await
            .unwrap()
            .checks;
        if checks > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        checks, 1,
        "the first check runs at start-up, then every 60 s"
    );
}

async fn metrics_are_prometheus_text(app: TestApp) {
    let fake = Arc::new(Fake::default());
    let state = AppState::with_options(app.store.clone(), options_with(&fake));
    let router = qapms_server::app(state);
    common::send(router.clone(), get("/api/v1/health")).await;
    common::send(router.clone(), get("/api/v1/users/alice")).await;
    let reply = common::send(router, get("/metrics")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = &reply.body;
    assert!(text.contains("# TYPE qapms_http_request_duration_seconds histogram"));
    assert!(text.contains(
        "qapms_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/health\"} 1"
    ));
    assert!(
        text.contains(
            "qapms_http_requests_total{method=\"GET\",route=\"/api/v1/users/{name}\",status=\"401\"} 1"
        ),
        "routes are labelled by template, not by path:\n{text}"
    );
    assert!(!text.contains("alice"));
    assert!(text.contains("qapms_integration_calls_total{integration=\"jira\"} 0"));
    assert!(text.contains(
        "qapms_integration_call_duration_seconds_bucket{integration=\"jira\",le=\"+Inf\"} 0"
    ));
    // Nothing synced yet: the gauge is declared, with no made-up sample.
    assert!(text.contains("# TYPE qapms_sync_lag_seconds gauge"));
    assert!(
        !text.contains("qapms_sync_lag_seconds{"),
        "no made-up sync lag"
    );
}

async fn request_ids_are_echoed_or_made(app: TestApp) {
    let mut request = get("/api/v1/health");
    request
        .headers_mut()
        .insert("x-request-id", "req-42".parse().unwrap());
    let reply = app.send(request).await;
    assert_eq!(reply.headers["x-request-id"], "req-42");
    let reply = app.send(get("/api/v1/health")).await;
    let made = reply.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");
}

async fn openapi_documents_every_api_route(app: TestApp) {
    let reply = app.send(get("/api/v1/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/health", &["get"][..]),
        ("/api/v1/sessions", &["post"]),
        ("/api/v1/sessions/current", &["delete"]),
        ("/api/v1/me", &["get"]),
        ("/api/v1/users", &["get", "post"]),
        ("/api/v1/users/{name}", &["get", "patch"]),
        ("/api/v1/tokens", &["get", "post"]),
        ("/api/v1/tokens/{id}", &["delete"]),
        ("/api/v1/dashboards/{persona}", &["get"]),
        ("/api/v1/tickets", &["get"]),
        ("/api/v1/tickets/{key}", &["get"]),
        ("/api/v1/runs", &["get"]),
        ("/api/v1/runs/{id}", &["get"]),
        ("/api/v1/tests", &["get"]),
        ("/api/v1/tests/{id}", &["get"]),
        ("/api/v1/clusters", &["get"]),
        ("/api/v1/clusters/{id}", &["get"]),
        ("/api/v1/alerts", &["get"]),
        ("/api/v1/alerts/{id}", &["get"]),
        ("/api/v1/workflows", &["get", "post"]),
        ("/api/v1/workflows/{id}", &["get"]),
        ("/api/v1/workflows/{id}/actions", &["post"]),
        ("/api/v1/time-entries", &["get", "post"]),
        ("/api/v1/time-entries/{id}", &["get"]),
        ("/api/v1/search", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not documented"
            );
        }
    }
    assert_eq!(
        paths.len(),
        6 + 2 + 16 + 1,
        "a route is documented that does not exist, or vice versa"
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "ErrorBody",
        "UserView",
        "Health",
        "Pagination",
        "LoginRequest",
    ] {
        assert!(schemas.contains_key(schema), "{schema} missing");
    }
    assert!(doc["components"]["securitySchemes"]["token"].is_object());

    let reply = app.send(get("/api/v1/docs/")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("swagger"), "{}", reply.body);
    assert!(!reply.body.contains("cdn"), "Swagger UI is vendored");
}

async fn every_route_answers_without_a_server_error(app: TestApp) {
    for path in [
        "/",
        "/login",
        "/dashboards/qa",
        "/dashboards/pm",
        "/dashboards/po",
        "/dashboards/tech-lead",
        "/dashboards/qa-manager",
        "/assets/app.css",
        "/metrics",
        "/api/v1/health",
        "/api/v1/openapi.json",
        "/api/v1/docs/",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/x",
        "/api/v1/tokens",
        "/api/v1/search?q=x",
        "/api/v1/nope",
        "/nope",
    ] {
        let reply = app.send(get(path)).await;
        assert!(!reply.status.is_server_error(), "{path}: {}", reply.status);
    }
    let reply = app.send(get("/api/v1/nope")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "NOT_FOUND");
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nope")
    );
}

for_each_backend!(super::options();
    health_reports_store_ok,
    integration_down_two_minutes_raises_then_resolves,
    only_one_instance_runs_a_job,
    scheduler_checks_at_start,
    metrics_are_prometheus_text,
    request_ids_are_echoed_or_made,
    openapi_documents_every_api_route,
    every_route_answers_without_a_server_error,
);

#[tokio::test]
async fn serves_on_a_real_port_and_shuts_down_gracefully() {
    let app = TestApp::sqlite(ServerOptions::default()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(qapms_server::serve(listener, app.state.clone(), async {
        let _ = stop_rx.await;
    }));

    // A connection opened before shutdown is answered after shutdown is requested.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop_tx.send(()).unwrap();
    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");
    assert!(response.to_ascii_lowercase().contains("x-request-id:"));
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}
