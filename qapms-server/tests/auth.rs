//! Sign-in and access, on both store backends: anonymous callers, wrong roles, team scope,
//! CSRF missing or wrong, expired and revoked sessions, API tokens, and rate-limited sign-in.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{StatusCode, header};
use qapms_core::model::Role;
use qapms_server::ServerOptions;
use qapms_server::auth::AuthSettings;
use serde_json::json;

use common::{PASSWORD, TestApp, get, json_request, raw_request, with_bearer, with_session};

fn options() -> ServerOptions {
    ServerOptions {
        auth: AuthSettings {
            max_failures_per_user: 3,
            max_failures_per_ip: 5,
            ..AuthSettings::default()
        },
        ..ServerOptions::default()
    }
}

async fn anonymous_is_refused(app: TestApp) {
    for path in [
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/users/x",
    ] {
        let reply = app.send(get(path)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(reply.error_code(), "UNAUTHORIZED");
    }
    let reply = app
        .send(json_request(
            "POST",
            "/api/v1/tokens",
            &json!({ "name": "x" }),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Pages send anonymous visitors to the sign-in page.
    let reply = app.send(get("/dashboards/qa")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers[header::LOCATION], "/login");
}

async fn sign_in_sets_a_safe_cookie_and_me_answers(app: TestApp) {
    app.add_user("alice", Role::Qa, Some("payments")).await;
    let session = app.login("alice").await;
    let cookie = session.set_cookie.to_ascii_lowercase();
    assert!(cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("samesite=lax"), "{cookie}");
    assert!(cookie.contains("path=/"), "{cookie}");
    assert!(cookie.contains("max-age="), "{cookie}");

    let reply = app
        .send(with_session(get("/api/v1/me"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let me = reply.json();
    assert_eq!(me["user"]["name"], "alice");
    assert_eq!(me["user"]["role"], "qa");
    assert_eq!(me["user"]["team"], "payments");
    assert_eq!(me["auth"], "session");
    assert_eq!(me["csrfToken"], session.csrf.as_str());
    assert!(me["user"].get("passwordHash").is_none());
}

async fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    for name in ["alice", "nobody"] {
        let reply = app
            .send(json_request(
                "POST",
                "/api/v1/sessions",
                &json!({ "name": name, "password": "wrong password" }),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.json()["error"], "wrong user name or password");
        assert!(reply.headers.get(header::SET_COOKIE).is_none());
    }
}

async fn csrf_is_required_for_cookie_writes(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let session = app.login("alice").await;
    let create = || json_request("POST", "/api/v1/tokens", &json!({ "name": "ci" }));

    let reply = app.send(with_session(create(), &session, false)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "CSRF_TOKEN_INVALID");

    let mut wrong = with_session(create(), &session, false);
    wrong
        .headers_mut()
        .insert("x-csrf-token", "not-the-token".parse().unwrap());
    let reply = app.send(wrong).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "CSRF_TOKEN_INVALID");

    // A form post carries it in `_csrf`.
    let mut form = raw_request(
        "POST",
        "/logout",
        "application/x-www-form-urlencoded",
        b"_csrf=wrong".to_vec(),
    );
    form.headers_mut()
        .insert(header::COOKIE, session.cookie.parse().unwrap());
    assert_eq!(app.send(form).await.status, StatusCode::FORBIDDEN);

    let reply = app.send(with_session(create(), &session, true)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

async fn sign_out_revokes_the_session(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let session = app.login("alice").await;
    let logout = axum::http::Request::delete("/api/v1/sessions/current")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(with_session(logout, &session, true)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    assert!(
        reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie no longer works, on this or any other instance (the store says so).
    let reply = app
        .send(with_session(get("/api/v1/me"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.json()["error"]
            .as_str()
            .unwrap()
            .contains("signed out")
    );
}

async fn forged_cookie_is_refused(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let session = app.login("alice").await;
    let (name_value, mac) = session.cookie.rsplit_once('.').unwrap();
    let forged = common::Session {
        cookie: format!("{name_value}.{}", mac.chars().rev().collect::<String>()),
        ..session.clone()
    };
    let reply = app
        .send(with_session(get("/api/v1/me"), &forged, false))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // A cookie signed by another server's key is refused too.
    let other = TestApp::sqlite(ServerOptions::default()).await;
    other.add_user("alice", Role::Qa, None).await;
    let reply = other
        .send(with_session(get("/api/v1/me"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn wrong_role_is_forbidden(app: TestApp) {
    app.add_user("admin", Role::Admin, None).await;
    app.add_user("qa1", Role::Qa, Some("payments")).await;
    let qa = app.login("qa1").await;
    let reply = app
        .send(with_session(get("/api/v1/users"), &qa, false))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "FORBIDDEN");
    let create = json_request(
        "POST",
        "/api/v1/users",
        &json!({ "name": "eve", "role": "admin", "password": "long enough pw" }),
    );
    let reply = app.send(with_session(create, &qa, true)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(app.store.user_by_name("eve").await.is_err());

    let admin = app.login("admin").await;
    let reply = app
        .send(with_session(get("/api/v1/users?pageSize=1"), &admin, false))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["name"], "admin");
    assert_eq!(
        body["pagination"],
        json!({ "page": 1, "pageSize": 1, "totalItems": 2, "totalPages": 2 })
    );
}

async fn admin_manages_users(app: TestApp) {
    app.add_user("admin", Role::Admin, None).await;
    let admin = app.login("admin").await;
    let create = json_request(
        "POST",
        "/api/v1/users",
        &json!({ "name": "bob", "role": "tech_lead", "team": "search", "password": PASSWORD }),
    );
    let reply = app.send(with_session(create, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.json()["team"], "search");
    let bob = app.login("bob").await;

    let patch = json_request(
        "PATCH",
        "/api/v1/users/bob",
        &json!({ "role": "qa_manager", "team": "" }),
    );
    let reply = app.send(with_session(patch, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["role"], "qa_manager");
    assert!(reply.json()["team"].is_null());

    let disable = json_request("PATCH", "/api/v1/users/bob", &json!({ "disabled": true }));
    let reply = app.send(with_session(disable, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app.send(with_session(get("/api/v1/me"), &bob, false)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "disabling signs out"
    );

    let demote = json_request("PATCH", "/api/v1/users/admin", &json!({ "role": "qa" }));
    let reply = app.send(with_session(demote, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.error_code(), "LAST_ADMIN");

    let taken = json_request(
        "POST",
        "/api/v1/users",
        &json!({ "name": "bob", "role": "qa", "password": "long enough pw" }),
    );
    let reply = app.send(with_session(taken, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);

    let weak = json_request(
        "POST",
        "/api/v1/users",
        &json!({ "name": "carol", "role": "qa", "password": "short" }),
    );
    let reply = app.send(with_session(weak, &admin, true)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.store.user_by_name("carol").await.is_err());
}

async fn team_scope_limits_who_is_visible(app: TestApp) {
    app.add_user("lead", Role::TechLead, Some("payments")).await;
    app.add_user("qa1", Role::Qa, Some("payments")).await;
    app.add_user("qa2", Role::Qa, Some("search")).await;
    let lead = app.login("lead").await;
    let qa1 = app.login("qa1").await;
    let look = |name: &str| get(&format!("/api/v1/users/{name}"));

    assert_eq!(
        app.send(with_session(look("qa1"), &lead, false))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(with_session(look("qa2"), &lead, false))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(with_session(look("qa1"), &qa1, false))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(with_session(look("lead"), &qa1, false))
            .await
            .status,
        StatusCode::FORBIDDEN,
        "a QA sees only their own"
    );
    // An unknown name looks like a forbidden one to a non-admin.
    assert_eq!(
        app.send(with_session(look("ghost"), &qa1, false))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn api_tokens_work_and_revoke(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let session = app.login("alice").await;
    let create = json_request(
        "POST",
        "/api/v1/tokens",
        &json!({ "name": "ci", "expiresInDays": 30 }),
    );
    let reply = app.send(with_session(create, &session, true)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("qapms_"));
    let id = created["id"].as_str().unwrap().to_owned();

    let reply = app.send(with_bearer(get("/api/v1/me"), &token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["auth"], "token");
    assert!(reply.json()["csrfToken"].is_null());

    // A bearer write needs no CSRF token: browsers never attach one on their own.
    let second = json_request("POST", "/api/v1/tokens", &json!({ "name": "ci-2" }));
    let reply = app.send(with_bearer(second, &token)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);

    let reply = app.send(with_bearer(get("/api/v1/tokens"), &token)).await;
    let list = reply.json();
    assert_eq!(list["pagination"]["totalItems"], 2);
    assert!(
        !reply.body.contains(&token),
        "a listed token shows its value"
    );
    assert!(list["data"][0]["lastUsedAt"].is_string());

    let revoke = axum::http::Request::delete(format!("/api/v1/tokens/{id}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(with_bearer(revoke, &token)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app.send(with_bearer(get("/api/v1/me"), &token)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.json()["error"].as_str().unwrap().contains("revoked"));

    let reply = app
        .send(with_bearer(get("/api/v1/me"), "qapms_made_up"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let mut basic = get("/api/v1/me");
    basic
        .headers_mut()
        .insert(header::AUTHORIZATION, "Basic YTpi".parse().unwrap());
    assert_eq!(app.send(basic).await.status, StatusCode::UNAUTHORIZED);
}

async fn sign_in_is_rate_limited_per_user(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let attempt = |password: &str| {
        json_request(
            "POST",
            "/api/v1/sessions",
            &json!({ "name": "alice", "password": password }),
        )
    };
    for _ in 0..3 {
        assert_eq!(
            app.send(attempt("wrong password")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused until the window passes.
    let reply = app.send(attempt(PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "RATE_LIMITED");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert!(reply.headers.get(header::SET_COOKIE).is_none());
}

async fn sign_in_is_rate_limited_per_address(app: TestApp) {
    let from = |ip: [u8; 4], name: &str| {
        let mut request = json_request(
            "POST",
            "/api/v1/sessions",
            &json!({ "name": name, "password": "guess" }),
        );
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 5000))));
        request
    };
    for i in 0..5 {
        let reply = app.send(from([10, 0, 0, 9], &format!("user{i}"))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app.send(from([10, 0, 0, 9], "someone-else")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let reply = app.send(from([10, 0, 0, 10], "someone-else")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

async fn cross_site_sign_in_is_refused(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    let mut request = json_request(
        "POST",
        "/api/v1/sessions",
        &json!({ "name": "alice", "password": PASSWORD }),
    );
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    request
        .headers_mut()
        .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "CSRF_TOKEN_INVALID");
}

for_each_backend!(super::options();
    anonymous_is_refused,
    sign_in_sets_a_safe_cookie_and_me_answers,
    wrong_password_and_unknown_user_look_the_same,
    csrf_is_required_for_cookie_writes,
    sign_out_revokes_the_session,
    forged_cookie_is_refused,
    wrong_role_is_forbidden,
    admin_manages_users,
    team_scope_limits_who_is_visible,
    api_tokens_work_and_revoke,
    sign_in_is_rate_limited_per_user,
    sign_in_is_rate_limited_per_address,
    cross_site_sign_in_is_refused,
);

#[tokio::test]
async fn expired_session_is_refused() {
    let app = TestApp::sqlite(ServerOptions {
        auth: AuthSettings {
            session_ttl: Duration::from_millis(1),
            ..AuthSettings::default()
        },
        ..ServerOptions::default()
    })
    .await;
    app.add_user("alice", Role::Qa, None).await;
    let session = app.login("alice").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reply = app
        .send(with_session(get("/api/v1/me"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.json()["error"].as_str().unwrap().contains("expired"));
}
