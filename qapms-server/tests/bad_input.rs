//! Bad input gets a 4xx in the error format, never a 500 or a panic: malformed JSON, unknown
//! fields, invalid UTF-8, oversized bodies, wrong content types, SQL-injection strings, path
//! traversal in asset paths and bad query parameters. The JSON body parser is also fed
//! arbitrary bytes (proptest).

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use axum::http::StatusCode;
use proptest::prelude::*;
use qapms_core::model::Role;
use qapms_server::ServerOptions;
use serde_json::json;

use common::{TestApp, get, json_request, raw_request, with_session};

fn options() -> ServerOptions {
    ServerOptions::default()
}

const LOGIN: &str = "/api/v1/sessions";

async fn malformed_json_is_400(app: TestApp) {
    for body in [
        &b"{"[..],
        b"{\"name\": }",
        b"[1, 2",
        b"nul",
        b"{\"name\":\"a\"} trailing",
    ] {
        let reply = app
            .send(raw_request(
                "POST",
                LOGIN,
                "application/json",
                body.to_vec(),
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {}",
            reply.body
        );
        assert_eq!(reply.error_code(), "BAD_REQUEST");
    }
}

async fn wrong_shape_and_unknown_fields_are_422(app: TestApp) {
    for body in [
        json!({ "name": "a", "password": "b", "admin": true }),
        json!({ "name": "a" }),
        json!({ "name": 5, "password": "b" }),
        json!([]),
    ] {
        let reply = app.send(json_request("POST", LOGIN, &body)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.error_code(), "INVALID_INPUT");
    }
    let reply = app
        .send(json_request(
            "POST",
            LOGIN,
            &json!({ "name": "a", "password": "b", "extra": 1 }),
        ))
        .await;
    assert!(reply.json()["error"].as_str().unwrap().contains("extra"));
}

async fn invalid_utf8_is_400(app: TestApp) {
    let reply = app
        .send(raw_request(
            "POST",
            LOGIN,
            "application/json",
            b"{\"name\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.error_code(), "BAD_REQUEST");
    assert!(reply.json()["details"]["byteOffset"].is_u64());
}

async fn oversized_body_is_413(app: TestApp) {
    let huge = format!(
        "{{\"name\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(qapms_server::api::BODY_LIMIT + 10)
    );
    let reply = app
        .send(raw_request(
            "POST",
            LOGIN,
            "application/json",
            huge.into_bytes(),
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(reply.error_code(), "PAYLOAD_TOO_LARGE");
}

async fn wrong_content_type_is_415(app: TestApp) {
    let reply = app
        .send(raw_request("POST", LOGIN, "text/plain", b"{}".to_vec()))
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_code(), "UNSUPPORTED_MEDIA_TYPE");
}

async fn sql_injection_strings_are_plain_data(app: TestApp) {
    app.add_user("admin", Role::Admin, None).await;
    let admin = app.login("admin").await;
    for evil in [
        "' OR '1'='1",
        "admin'--",
        "x'; DROP TABLE users; --",
        "\" OR 1=1 --",
        "%' UNION SELECT password_hash FROM users --",
    ] {
        let reply = app
            .send(json_request(
                "POST",
                LOGIN,
                &json!({ "name": evil, "password": evil }),
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{evil}: {}",
            reply.body
        );
        let path = format!("/api/v1/users/{}", urlencode(evil));
        let reply = app.send(with_session(get(&path), &admin, false)).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{evil}: {}",
            reply.body
        );
        let create = json_request(
            "POST",
            "/api/v1/users",
            &json!({ "name": evil, "role": "qa", "password": "long enough pw" }),
        );
        let reply = app.send(with_session(create, &admin, true)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{evil}");
        let token = json_request("POST", "/api/v1/tokens", &json!({ "name": evil }));
        let reply = app.send(with_session(token, &admin, true)).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "a token name is free text"
        );
    }
    // Nothing was dropped or changed.
    assert_eq!(app.store.list_users().await.unwrap().len(), 1);
    assert_eq!(app.store.list_api_tokens(None).await.unwrap().len(), 5);
}

async fn path_traversal_in_assets_is_refused(app: TestApp) {
    for path in [
        "/assets/%2e%2e/Cargo.toml",
        "/assets/..%2fCargo.toml",
        "/assets/vendor/%2e%2e/%2e%2e/src/lib.rs",
        "/assets/%2fetc%2fpasswd",
        "/assets/a%5c..%5cb",
        "/assets/a%00b",
    ] {
        let reply = app.send(get(path)).await;
        assert!(
            reply.status == StatusCode::BAD_REQUEST || reply.status == StatusCode::NOT_FOUND,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
        reply.error_code();
        assert!(!reply.body.contains("[package]"), "{path} leaked a file");
    }
    let reply = app.send(get("/assets/nope.css")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

async fn bad_query_parameters_are_4xx(app: TestApp) {
    app.add_user("admin", Role::Admin, None).await;
    let admin = app.login("admin").await;
    for (path, status) in [
        ("/api/v1/users?page=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("/api/v1/users?pageSize=0", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "/api/v1/users?pageSize=100000",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("/api/v1/users?page=abc", StatusCode::BAD_REQUEST),
        ("/api/v1/users?page=-1", StatusCode::BAD_REQUEST),
        (
            "/api/v1/users?page=99999999999999999999999",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/v1/users?sort=name", StatusCode::BAD_REQUEST),
        ("/dashboards/qa?days=14", StatusCode::UNPROCESSABLE_ENTITY),
        ("/dashboards/qa?days=x", StatusCode::BAD_REQUEST),
        ("/dashboards/qa?colour=red", StatusCode::BAD_REQUEST),
        ("/dashboards/nobody", StatusCode::NOT_FOUND),
    ] {
        let reply = app.send(with_session(get(path), &admin, false)).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        reply.error_code();
    }
    let revoke = axum::http::Request::delete("/api/v1/tokens/not-a-uuid")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(with_session(revoke, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // A far page is empty, not an error.
    let reply = app
        .send(with_session(get("/api/v1/users?page=1000"), &admin, false))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["data"], json!([]));
}

async fn wrong_method_is_405_not_500(app: TestApp) {
    let request = axum::http::Request::put("/api/v1/health")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

for_each_backend!(super::options();
    malformed_json_is_400,
    wrong_shape_and_unknown_fields_are_422,
    invalid_utf8_is_400,
    oversized_body_is_413,
    wrong_content_type_is_415,
    sql_injection_strings_are_plain_data,
    path_traversal_in_assets_is_refused,
    bad_query_parameters_are_4xx,
    wrong_method_is_405_not_500,
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bodies_never_cause_a_server_error(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = rt.block_on(async {
            let app = TestApp::sqlite(ServerOptions::default()).await;
            for path in [LOGIN, "/api/v1/tokens", "/api/v1/users"] {
                let reply = app
                    .send(raw_request("POST", path, "application/json", body.clone()))
                    .await;
                if reply.status.is_server_error() {
                    return reply.status;
                }
                reply.error_code();
            }
            StatusCode::OK
        });
        prop_assert!(!status.is_server_error());
    }

    #[test]
    fn arbitrary_json_shapes_never_cause_a_server_error(name in ".{0,40}", password in ".{0,40}", extra in proptest::option::of("[a-z]{1,8}")) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let status = rt.block_on(async {
            let app = TestApp::sqlite(ServerOptions::default()).await;
            let mut body = json!({ "name": name, "password": password });
            if let Some(key) = extra {
                body[key] = json!(1);
            }
            app.send(json_request("POST", LOGIN, &body)).await.status
        });
        prop_assert!(status.is_client_error(), "{status}");
    }
}
