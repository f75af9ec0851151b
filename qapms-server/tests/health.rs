//! Router tests with `oneshot`, and one test on a real port.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use qapms_server::{AppState, app};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

async fn state() -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("qapms.db").display());
    let store = qapms_core::store::open(&url).await.unwrap();
    // The temp dir must outlive the store; leak it for the test's lifetime.
    std::mem::forget(dir);
    AppState::new(store)
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, String) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn health_reports_store_ok() {
    let (status, body) = get(app(state().await), "/api/v1/health").await;
    assert_eq!(status, StatusCode::OK);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["store"]["status"], "ok");
    assert_eq!(json["store"]["backend"], "sqlite");
    assert!(json["store"]["schemaVersion"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn home_page_is_html() {
    let (status, body) = get(app(state().await), "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>qapms</h1>"));
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let (status, body) = get(app(state().await), "/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "NOT_FOUND");
    assert!(json["error"].as_str().unwrap().contains("/api/v1/nope"));
    assert!(json["details"].is_object());
}

#[tokio::test]
async fn serves_on_a_real_port_and_shuts_down() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(qapms_server::serve(listener, state().await, async {
        let _ = stop_rx.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"ok\""), "{response}");

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
