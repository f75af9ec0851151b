//! The credential cache on both backends: a checked session or token is trusted for the time to
//! live without asking the store, a sign-out, revocation or disabling through the server ends
//! it at once, and a change made elsewhere is seen once the entry expires.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use qapms_core::model::Role;
use qapms_server::ServerOptions;
use serde_json::json;

use common::{TestApp, get, json_request, with_bearer, with_session};

fn cached_for(ttl: std::time::Duration) -> ServerOptions {
    ServerOptions {
        auth_cache: Some(ttl),
        dashboard_cache: Some(ttl),
        ..ServerOptions::default()
    }
}

fn cached() -> ServerOptions {
    cached_for(std::time::Duration::from_mins(10))
}

async fn changes_through_the_server_take_effect_at_once(app: TestApp) {
    app.add_user("alice", Role::Qa, None).await;
    app.add_user("root", Role::Admin, None).await;
    let alice = app.login("alice").await;
    let me = || with_session(get("/api/v1/me"), &alice, false);
    assert_eq!(app.send(me()).await.status, StatusCode::OK);

    // Disabled by another process: the remembered check still answers.
    let id = app.store.user_by_name("alice").await.unwrap().id;
    app.store.set_user_disabled(&id, true).await.unwrap();
    assert_eq!(
        app.send(me()).await.status,
        StatusCode::OK,
        "served from the credential cache"
    );

    // Any write through the server forgets every remembered credential.
    let root = app.login("root").await;
    let reply = app
        .send(with_session(
            json_request("POST", "/api/v1/tokens", &json!({ "name": "ci" })),
            &root,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let reply = app.send(me()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert!(reply.body.contains("disabled"), "{}", reply.body);

    // A token used and then revoked through the server is refused on its next request.
    let token = reply_token(&app, &root).await;
    assert_eq!(
        app.send(with_bearer(get("/api/v1/me"), &token.1))
            .await
            .status,
        StatusCode::OK
    );
    let revoke = Request::delete(format!("/api/v1/tokens/{}", token.0))
        .body(Body::empty())
        .unwrap();
    let reply = app.send(with_bearer(revoke, &token.1)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.body);
    let reply = app.send(with_bearer(get("/api/v1/me"), &token.1)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);

    // Signing out ends the session for the very next request.
    let reply = app
        .send(with_session(
            Request::delete("/api/v1/sessions/current")
                .body(Body::empty())
                .unwrap(),
            &root,
            true,
        ))
        .await;
    assert!(reply.status.is_success(), "{}", reply.body);
    let reply = app
        .send(with_session(get("/api/v1/me"), &root, false))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

/// A new API token for `who`: (id, secret).
async fn reply_token(app: &TestApp, who: &common::Session) -> (String, String) {
    let reply = app
        .send(with_session(
            json_request("POST", "/api/v1/tokens", &json!({ "name": "probe" })),
            who,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let created = reply.json();
    (
        created["id"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

for_each_backend!(super::cached();
    changes_through_the_server_take_effect_at_once,
);

/// With a short time to live, a change made elsewhere is seen once the entry has expired.
mod expiry {
    use super::*;

    async fn a_change_elsewhere_shows_after_the_ttl(app: TestApp) {
        app.add_user("bob", Role::Qa, None).await;
        let bob = app.login("bob").await;
        let me = || with_session(get("/api/v1/me"), &bob, false);
        assert_eq!(app.send(me()).await.status, StatusCode::OK);
        let id = app.store.user_by_name("bob").await.unwrap().id;
        app.store.set_user_disabled(&id, true).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.send(me()).await.status, StatusCode::UNAUTHORIZED);
    }

    for_each_backend!(super::cached_for(std::time::Duration::from_millis(100));
        a_change_elsewhere_shows_after_the_ttl,
    );
}
