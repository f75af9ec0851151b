//! The dashboard cache on both backends: a computed view is served again while it is fresh,
//! so a write by another process shows only once it expires, and any successful write through
//! the server empties it at once.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use qapms_core::model::{Role, TimeEntry, TimeEntryId, TimeSource};
use qapms_server::ServerOptions;
use serde_json::json;

use common::{Session, TestApp, get, json_request, with_session};

fn cached() -> ServerOptions {
    ServerOptions {
        dashboard_cache: Some(std::time::Duration::from_mins(10)),
        ..ServerOptions::default()
    }
}

async fn team_seconds(app: &TestApp, who: &Session) -> i64 {
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/qa-manager?days=7"),
            who,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["dashboard"]["teamSeconds"].as_i64().unwrap()
}

async fn views_are_reused_until_a_write_goes_through(app: TestApp) {
    app.add_user("mia", Role::QaManager, None).await;
    let mia = app.login("mia").await;
    assert_eq!(team_seconds(&app, &mia).await, 0);

    // Another process writes an entry: the cached view does not show it yet.
    let user = app.store.user_by_name("mia").await.unwrap();
    let now = Utc::now();
    app.store
        .append_time_entry(&TimeEntry {
            id: TimeEntryId::new(),
            user_id: user.id,
            ticket: None,
            workflow_id: None,
            step: None,
            started_at: now - Duration::seconds(120),
            ended_at: now - Duration::seconds(60),
            source: TimeSource::Manual,
            note: None,
            corrects: None,
            exported_worklog_id: None,
            recorded_at: now,
        })
        .await
        .unwrap();
    assert_eq!(team_seconds(&app, &mia).await, 0, "served from the cache");

    // A write through the server empties the cache: both entries show.
    let entry = json!({
        "startedAt": (now - Duration::seconds(50)).to_rfc3339(),
        "durationSeconds": 30,
    });
    let reply = app
        .send(with_session(
            json_request("POST", "/api/v1/time-entries", &entry),
            &mia,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(team_seconds(&app, &mia).await, 60 + 30);
}

/// Two teams with the same (here: no) members share a computed view, but each page's links
/// carry the team that was asked for.
async fn cached_pages_keep_their_own_links(app: TestApp) {
    app.add_user("mia", Role::QaManager, None).await;
    let mia = app.login("mia").await;
    for _ in 0..2 {
        for team in ["alpha", "beta"] {
            let reply = app
                .send(with_session(
                    get(&format!("/dashboards/qa-manager?days=7&team={team}")),
                    &mia,
                    false,
                ))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            let other = if team == "alpha" { "beta" } else { "alpha" };
            assert!(
                reply.body.contains(&format!("team={team}")),
                "{team}: {}",
                reply.body
            );
            assert!(!reply.body.contains(&format!("team={other}")), "{team}");
        }
    }
    // The API answers from the same cached view, with the same figures as the page's JSON.
    let first = app
        .send(with_session(
            get("/api/v1/dashboards/qa-manager?days=7&team=alpha"),
            &mia,
            false,
        ))
        .await;
    let again = app
        .send(with_session(
            get("/api/v1/dashboards/qa-manager?days=7&team=alpha"),
            &mia,
            false,
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json(), again.json());
    assert_eq!(first.json()["filters"]["team"], "alpha");
}

for_each_backend!(super::cached();
    views_are_reused_until_a_write_goes_through,
    cached_pages_keep_their_own_links,
);
