//! The HTTP core against a local mock: retry schedule (on tokio's paused clock), Retry-After,
//! typed error mapping, malformed bodies, auth headers and metrics.

use std::time::Duration;

use qapms_core::ErrorKind;
use qapms_core::http::{Auth, HttpClient, RetryPolicy};
use secrecy::SecretString;
use serde::Deserialize;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder("test", server.uri())
        // No request timeout: on a paused clock tokio would jump straight to it while the
        // client waits on the mock's socket.
        .timeout(None)
        // Nor a pool idle timer, for the same reason.
        .pool_idle_timeout(None)
        .retry(RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        })
        .build()
        .expect("a test client builds")
}

#[derive(Debug, Deserialize)]
struct Thing {
    name: String,
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_one_two_four_schedule() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/thing"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"name":"ok"}"#))
        .mount(&server)
        .await;
    let http = client(&server);
    let started = tokio::time::Instant::now();
    let thing: Thing = http.get("/thing").json_response().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(thing.name, "ok");
    // 1 s + 2 s + 4 s of backoff; the paused clock only moves when every task sleeps.
    assert!(waited >= Duration::from_secs(7), "{waited:?}");
    assert!(waited < Duration::from_secs(8), "{waited:?}");
    let metrics = http.metrics();
    assert_eq!((metrics.calls, metrics.retries, metrics.errors), (4, 3, 0));
}

#[tokio::test(start_paused = true)]
async fn retry_after_wins_over_the_schedule() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"name":"later"}"#))
        .mount(&server)
        .await;
    let http = client(&server);
    let started = tokio::time::Instant::now();
    let thing: Thing = http.get("/x").json_response().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(thing.name, "later");
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert!(waited < Duration::from_secs(31), "{waited:?}");
    assert_eq!(http.metrics().rate_limited, 1);
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_fails_fast_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let err = client(&server).get("/x").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_hours(1)));
    assert!(err.is_temporary());
}

#[tokio::test(start_paused = true)]
async fn a_plain_post_is_not_retried_but_a_marked_one_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let http = client(&server);
    let err = http.post("/create").json(&1).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let err = http
        .post("/search")
        .idempotent()
        .json(&1)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_temporary());
    assert_eq!(server.received_requests().await.unwrap().len(), 1 + 4);
}

#[tokio::test]
async fn statuses_become_typed_errors() {
    let server = MockServer::start().await;
    let cases = [
        (
            401,
            r#"{"errorMessages":["token revoked"]}"#,
            ErrorKind::Unauthorized,
            "token expired or wrong",
        ),
        (
            403,
            r#"{"errorMessages":["no BROWSE"]}"#,
            ErrorKind::Unauthorized,
            "permission",
        ),
        (
            404,
            r#"{"errorMessages":["Issue does not exist"]}"#,
            ErrorKind::NotFound,
            "Issue does not exist",
        ),
        (
            400,
            r#"{"errorMessages":[],"errors":{"customfield_1":"Sprint is required"}}"#,
            ErrorKind::InvalidInput,
            "field `customfield_1`: Sprint is required",
        ),
    ];
    for (status, body, _, _) in &cases {
        Mock::given(path(format!("/s{status}")))
            .respond_with(ResponseTemplate::new(*status).set_body_string(*body))
            .mount(&server)
            .await;
    }
    // The catch-all: anything not mocked above is a server error.
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let http = HttpClient::builder("test", server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for (status, _, kind, text) in cases {
        let err = http.get(&format!("/s{status}")).send().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}: {err}");
        assert!(err.to_string().contains(text), "{status}: {err}");
        assert_eq!(
            err.context_value("status"),
            Some(status.to_string().as_str())
        );
    }
    let err = http.get("/anything").send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.is_temporary());
}

#[tokio::test]
async fn a_malformed_body_names_the_field() {
    #[derive(Debug, Deserialize)]
    struct Status {
        #[expect(dead_code, reason = "only decoding matters")]
        name: String,
    }
    #[derive(Debug, Deserialize)]
    struct Fields {
        #[expect(dead_code, reason = "only decoding matters")]
        status: Status,
    }
    #[derive(Debug, Deserialize)]
    struct Issue {
        #[expect(dead_code, reason = "only decoding matters")]
        fields: Fields,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"fields":{"status":{"name":42}}}"#),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .get("/issue")
        .json_response::<Issue>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(err.context_value("field"), Some("fields.status.name"));
}

#[tokio::test]
async fn auth_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(header(
        "authorization",
        "Basic cWFAYWNtZS50ZXN0OnNlY3JldC10b2tlbg==",
    ))
    .respond_with(ResponseTemplate::new(204))
    .mount(&server)
    .await;
    Mock::given(header("authorization", "Bearer pat-123"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let basic = HttpClient::builder("test", server.uri())
        .auth(Auth::Basic {
            user: "qa@acme.test".to_owned(),
            password: SecretString::from("secret-token"),
        })
        .build()
        .unwrap();
    basic.get("/").send().await.unwrap();
    let bearer = HttpClient::builder("test", server.uri())
        .auth(Auth::Bearer(SecretString::from("pat-123")))
        .build()
        .unwrap();
    bearer.get("/").send().await.unwrap();
    assert!(!format!("{bearer:?}").contains("pat-123"));
}

#[tokio::test]
async fn base_url_paths_are_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/api/dashboards"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let http = HttpClient::builder("grafana", format!("{}/api/", server.uri()))
        .build()
        .unwrap();
    let list: Vec<u8> = http.get("/dashboards").json_response().await.unwrap();
    assert!(list.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_rate_limiter_paces_calls() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    // 20 per second with a burst of 1: the first at once, then one every 50 ms.
    let http = HttpClient::builder("test", server.uri())
        .timeout(None)
        .pool_idle_timeout(None)
        .rate(20, Duration::from_secs(1), Some(1))
        .build()
        .unwrap();
    // The limiter runs on tokio's clock, so the paused clock shows its waits exactly.
    let started = tokio::time::Instant::now();
    for _ in 0..4 {
        http.get("/").send().await.unwrap();
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_millis(200), "{waited:?}");
    assert_eq!(http.metrics().calls, 4);
}

#[tokio::test(start_paused = true)]
async fn connect_errors_are_retried_on_the_schedule_then_reported() {
    // Port 9 (discard) is closed on test machines: every connect is refused at once.
    let http = HttpClient::builder("test", "http://127.0.0.1:9")
        .timeout(None)
        .pool_idle_timeout(None)
        .retry(RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let err = http.get("/x").send().await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.is_temporary());
    assert!(
        err.context_value("status").is_none(),
        "no HTTP answer: {err}"
    );
    assert!(waited >= Duration::from_secs(7), "{waited:?}");
    let metrics = http.metrics();
    assert_eq!((metrics.calls, metrics.retries, metrics.errors), (4, 3, 1));
}
