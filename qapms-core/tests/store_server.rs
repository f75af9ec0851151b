//! The dashboard server's store methods (migration 0005): teams, sessions, API tokens, sign-in
//! attempts, integration checks, integration alerts and job leases, on `SQLite` and
//! `PostgreSQL` alike.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::model::{Role, User, UserId};
use qapms_core::store::{
    ApiTokenRecord, Backend, IntegrationCheck, LoginAttempt, NewAlert, SessionRecord,
};
use uuid::Uuid;

use common::TestStore;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

async fn user(store: &TestStore, name: &str, role: Role) -> User {
    let user = User::new(name, role);
    store.store.create_user(&user).await.unwrap();
    user
}

fn session(user: &User, hash: &str) -> SessionRecord {
    SessionRecord {
        token_hash: hash.to_owned(),
        user_id: user.id,
        csrf_token: format!("csrf-{hash}"),
        created_at: at(0),
        expires_at: at(60),
        revoked_at: None,
        ip: Some("127.0.0.1".to_owned()),
        user_agent: Some("test".to_owned()),
    }
}

fn token(user: &User, name: &str, hash: &str) -> ApiTokenRecord {
    ApiTokenRecord {
        id: Uuid::now_v7(),
        user_id: user.id,
        name: name.to_owned(),
        token_hash: hash.to_owned(),
        prefix: "qapms_abcdef".to_owned(),
        created_at: at(0),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

async fn teams_and_roles(s: &TestStore) {
    let store = &s.store;
    let lead = user(s, "lead", Role::TechLead).await;
    let qa = user(s, "qa", Role::Qa).await;
    let other = user(s, "other", Role::Qa).await;
    assert_eq!(store.user_team(&qa.id).await.unwrap(), None);
    store.set_user_team(&qa.id, Some("payments")).await.unwrap();
    store
        .set_user_team(&lead.id, Some(" payments "))
        .await
        .unwrap();
    store
        .set_user_team(&other.id, Some("search"))
        .await
        .unwrap();
    assert_eq!(
        store.user_team(&lead.id).await.unwrap().as_deref(),
        Some("payments")
    );
    assert_eq!(
        store.team_members("payments").await.unwrap(),
        vec![lead.id, qa.id]
    );
    let err = store.set_user_team(&qa.id, Some("  ")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    store.set_user_team(&qa.id, None).await.unwrap();
    assert_eq!(store.team_members("payments").await.unwrap(), vec![lead.id]);
    let err = store
        .set_user_team(&UserId::new(), Some("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    store.set_user_role(&qa.id, Role::QaManager).await.unwrap();
    assert_eq!(
        store.user_by_id(&qa.id).await.unwrap().role,
        Role::QaManager
    );
    let err = store.user_by_id(&UserId::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

async fn sessions_revoke_and_purge(s: &TestStore) {
    let store = &s.store;
    let alice = user(s, "alice", Role::Qa).await;
    store.create_session(&session(&alice, "h1")).await.unwrap();
    store.create_session(&session(&alice, "h2")).await.unwrap();
    let got = store.session("h1").await.unwrap();
    assert_eq!(got, session(&alice, "h1"));
    assert!(
        !format!("{got:?}").contains("csrf-h1"),
        "Debug leaks the CSRF token"
    );

    let err = store
        .create_session(&session(&alice, "h1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let mut backwards = session(&alice, "h3");
    backwards.expires_at = at(-1);
    let err = store.create_session(&backwards).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        store.session("nope").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    store.revoke_session("h1", at(5)).await.unwrap();
    // Revoking again keeps the first time.
    store.revoke_session("h1", at(9)).await.unwrap();
    assert_eq!(store.session("h1").await.unwrap().revoked_at, Some(at(5)));
    store.revoke_session("unknown", at(5)).await.unwrap();

    assert_eq!(
        store.revoke_user_sessions(&alice.id, at(6)).await.unwrap(),
        1
    );
    assert_eq!(store.session("h2").await.unwrap().revoked_at, Some(at(6)));

    assert_eq!(store.purge_sessions(at(60)).await.unwrap(), 0);
    assert_eq!(store.purge_sessions(at(61)).await.unwrap(), 2);
    assert_eq!(
        store.session("h2").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

async fn api_tokens(s: &TestStore) {
    let store = &s.store;
    let alice = user(s, "alice", Role::Qa).await;
    let bob = user(s, "bob", Role::Admin).await;
    let t1 = token(&alice, "ci", "hash-1");
    let t2 = token(&bob, "ci", "hash-2");
    store.create_api_token(&t1).await.unwrap();
    store.create_api_token(&t2).await.unwrap();
    let err = store
        .create_api_token(&token(&alice, "ci", "hash-3"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = store
        .create_api_token(&token(&alice, " ", "hash-4"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    assert_eq!(store.api_token_by_hash("hash-1").await.unwrap(), t1);
    assert_eq!(
        store.api_token_by_hash("hash-x").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.list_api_tokens(None).await.unwrap().len(), 2);
    assert_eq!(
        store.list_api_tokens(Some(&alice.id)).await.unwrap(),
        vec![t1.clone()]
    );

    store.touch_api_token(t1.id, at(3)).await.unwrap();
    store.revoke_api_token(t1.id, at(4)).await.unwrap();
    store.revoke_api_token(t1.id, at(8)).await.unwrap();
    let got = store.api_token_by_hash("hash-1").await.unwrap();
    assert_eq!(got.last_used_at, Some(at(3)));
    assert_eq!(got.revoked_at, Some(at(4)));
    assert_eq!(
        store
            .revoke_api_token(Uuid::now_v7(), at(4))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let json = serde_json::to_string(&got).unwrap();
    assert!(!json.contains("hash-1"), "the hash is serialised: {json}");
}

async fn login_failures_per_user_and_ip(s: &TestStore) {
    let store = &s.store;
    let attempt = |name: &str, ip: &str, ok: bool, minute: i64| LoginAttempt {
        user_name: name.to_owned(),
        ip: ip.to_owned(),
        succeeded: ok,
        attempted_at: at(minute),
    };
    for (name, ip, ok, minute) in [
        ("alice", "10.0.0.1", false, 1),
        ("alice", "10.0.0.1", false, 2),
        ("alice", "10.0.0.2", true, 3),
        ("alice", "10.0.0.1", false, 4),
        ("bob", "10.0.0.1", false, 5),
        ("bob", "10.0.0.3", false, 30),
    ] {
        store
            .record_login_attempt(&attempt(name, ip, ok, minute))
            .await
            .unwrap();
    }
    // Alice's count restarts after her success at minute 3.
    let f = store
        .login_failures("alice", "10.0.0.1", at(0))
        .await
        .unwrap();
    assert_eq!((f.by_user, f.by_ip), (1, 4));
    // The window cuts older attempts.
    let f = store
        .login_failures("bob", "10.0.0.1", at(10))
        .await
        .unwrap();
    assert_eq!((f.by_user, f.by_ip), (1, 0));
    let f = store
        .login_failures("carol", "10.9.9.9", at(0))
        .await
        .unwrap();
    assert_eq!((f.by_user, f.by_ip), (0, 0));
}

async fn integration_health_and_down_since(s: &TestStore) {
    let store = &s.store;
    let check = |minute: i64, healthy: bool, latency: u64| IntegrationCheck {
        integration: "jira".to_owned(),
        checked_at: at(minute),
        healthy,
        latency_ms: Some(latency),
        message: (!healthy).then(|| "connection refused".to_owned()),
    };
    let empty = store
        .integration_health_summary("jira", at(0))
        .await
        .unwrap();
    assert_eq!((empty.checks, empty.failures), (0, 0));
    assert_eq!(empty.last_healthy, None);
    assert!(empty.error_rate().abs() < f64::EPSILON);

    for (minute, healthy, latency) in [
        (0, true, 100),
        (1, true, 300),
        (2, false, 50),
        (3, false, 10),
    ] {
        store
            .record_integration_check(&check(minute, healthy, latency))
            .await
            .unwrap();
    }
    let summary = store
        .integration_health_summary("jira", at(0))
        .await
        .unwrap();
    assert_eq!((summary.checks, summary.failures), (4, 2));
    assert!((summary.avg_latency_ms.unwrap() - 115.0).abs() < 1e-9);
    assert_eq!(summary.max_latency_ms, Some(300));
    assert_eq!(summary.last_checked_at, Some(at(3)));
    assert_eq!(summary.last_healthy, Some(false));
    assert_eq!(summary.down_since, Some(at(2)));
    assert!((summary.error_rate() - 0.5).abs() < 1e-9);

    // The window limits the figures but not "down since".
    let recent = store
        .integration_health_summary("jira", at(3))
        .await
        .unwrap();
    assert_eq!((recent.checks, recent.failures), (1, 1));
    assert_eq!(recent.down_since, Some(at(2)));

    store
        .record_integration_check(&check(4, true, 20))
        .await
        .unwrap();
    let up = store
        .integration_health_summary("jira", at(0))
        .await
        .unwrap();
    assert_eq!(up.down_since, None);
    assert_eq!(up.last_healthy, Some(true));

    // Never healthy: down since the first check.
    let never = IntegrationCheck {
        integration: "grafana".to_owned(),
        ..check(0, false, 5)
    };
    store.record_integration_check(&never).await.unwrap();
    let g = store
        .integration_health_summary("grafana", at(-5))
        .await
        .unwrap();
    assert_eq!(g.down_since, Some(at(0)));
}

async fn integration_alerts_by_fingerprint(s: &TestStore) {
    let store = &s.store;
    let alert = |minute: i64, title: &str| NewAlert {
        kind: "integration_down".to_owned(),
        fingerprint: "jira".to_owned(),
        title: title.to_owned(),
        severity: "critical".to_owned(),
        evidence: serde_json::json!({ "integration": "jira", "minute": minute }),
        seen_at: at(minute),
    };
    let first = store.raise_alert(&alert(2, "jira down")).await.unwrap();
    let again = store
        .raise_alert(&alert(3, "jira still down"))
        .await
        .unwrap();
    assert_eq!(first.id, again.id, "one open alert per fingerprint");
    assert_eq!(again.first_seen, at(2));
    assert_eq!(again.last_seen, at(3));
    assert_eq!(again.title, "jira still down");
    assert_eq!(again.evidence["minute"], 3);
    assert_eq!(again.state, "new");

    let open = store.open_alerts(Some("integration_down")).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(store.open_alerts(Some("flaky")).await.unwrap().is_empty());

    assert!(
        store
            .resolve_alert("integration_down", "jira", at(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .resolve_alert("integration_down", "jira", at(6))
            .await
            .unwrap()
    );
    assert!(store.open_alerts(None).await.unwrap().is_empty());

    let reopened = store
        .raise_alert(&alert(9, "jira down again"))
        .await
        .unwrap();
    // One row per kind and fingerprint (the alerts module's dedup): a resolved alert that
    // recurs is reopened in place, so its history stays in one place.
    assert_eq!(reopened.id, first.id);
    assert_eq!(reopened.state, "new");
    let bad = NewAlert {
        fingerprint: String::new(),
        ..alert(9, "x")
    };
    assert_eq!(
        store.raise_alert(&bad).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

async fn job_lease_is_exclusive_until_dropped(s: &TestStore) {
    let store = &s.store;
    let lease = store.try_job_lease("health").await.unwrap().unwrap();
    assert_eq!(lease.name(), "health");
    assert!(store.try_job_lease("health").await.unwrap().is_none());
    // Another job name is independent.
    let other = store.try_job_lease("sync").await.unwrap();
    assert!(other.is_some());

    // A second store over the same database (another server instance) is excluded too,
    // on PostgreSQL through the advisory lock.
    let second = qapms_core::store::open(s.url()).await.unwrap();
    assert!(second.try_job_lease("health").await.unwrap().is_none());

    drop(lease);
    let mut again = None;
    // On PostgreSQL the server frees the lock when it sees the connection close.
    for _ in 0..50 {
        again = second.try_job_lease("health").await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "the lease was not released on drop");
    assert!(store.try_job_lease(" ").await.is_err());
    if store.backend() == Backend::Postgres {
        drop(again);
        second.close().await;
    }
}

async fn info_counts_server_tables(s: &TestStore) {
    let info = s.store.info().await.unwrap();
    for table in ["sessions", "api_tokens", "login_attempts"] {
        assert!(
            info.tables.iter().any(|(name, _)| name == table),
            "{table} missing from info"
        );
    }
}

for_each_backend!(
    teams_and_roles,
    sessions_revoke_and_purge,
    api_tokens,
    login_failures_per_user_and_ip,
    integration_health_and_down_since,
    integration_alerts_by_fingerprint,
    job_lease_is_exclusive_until_dropped,
    info_counts_server_tables,
);
