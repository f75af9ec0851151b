//! The persona dashboards end to end, on both backends: the JSON API and the pages over a
//! generated workspace (numbers on the page equal the API's), drill-down pages, CSV exports,
//! workflow reports, bad filters (400, never 500), sign-in and access (anonymous, another
//! QA's time, someone else's workflow), CSRF on the new writes, 409 on a stale version, and
//! the rollups the writes keep current.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom as the story it checks"
)]

mod common;

use axum::http::{StatusCode, header};
use chrono::{Duration, Utc};
use qapms_core::model::Role;
use qapms_server::ServerOptions;
use qapms_server::demo::{self, SeedOptions};
use serde_json::{Value, json};

use common::{TestApp, get, json_request, with_session};

fn options() -> ServerOptions {
    ServerOptions::default()
}

/// The `data-value` of the element with this `data-testid`.
fn page_value(html: &str, testid: &str) -> i64 {
    let marker = format!("data-testid=\"{testid}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {testid} on the page"));
    let rest = &html[at..];
    let value = rest
        .split("data-value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    value.parse().unwrap()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF line ends");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (_, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last line ends with CRLF"
    );
    rows
}

async fn seeded(app: &TestApp) {
    demo::seed(
        app.store.as_ref(),
        &SeedOptions {
            qas: 3,
            days: 30,
            seed: 7,
            demo_users: false,
            analyze: true,
            now: Utc::now(),
        },
    )
    .await
    .unwrap();
}

async fn personas_pages_and_api_agree(app: TestApp) {
    seeded(&app).await;
    // The rollups the writes kept are what a rebuild computes.
    let incremental = app.store.dashboard_facts_all().await.unwrap();
    assert!(!incremental.is_empty());
    app.store.rebuild_dashboard_facts().await.unwrap();
    assert_eq!(app.store.dashboard_facts_all().await.unwrap(), incremental);

    app.add_user("boss", Role::Admin, None).await;
    let admin = app.login("boss").await;
    let api = |path: String| {
        let session = admin.clone();
        let app = &app;
        async move {
            let reply = app.send(with_session(get(&path), &session, false)).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            reply
        }
    };
    for slug in ["qa", "pm", "po", "tech-lead", "qa-manager"] {
        for days in [7, 30, 90] {
            let json = api(format!("/api/v1/dashboards/{slug}?days={days}"))
                .await
                .json();
            assert_eq!(json["persona"], slug);
            assert_eq!(json["filters"]["days"], days);
            assert_eq!(json["dashboard"]["period"]["days"], days);
            let html = api(format!("/dashboards/{slug}?days={days}")).await.body;
            assert!(html.contains("data-testid=\"panel-"), "{slug}");
        }
    }
    let m = api("/api/v1/dashboards/qa-manager?days=30".into())
        .await
        .json()["dashboard"]
        .clone();
    let html = api("/dashboards/qa-manager?days=30".into()).await.body;
    assert!(int(&m["teamSeconds"]) > 0, "{m}");
    assert_eq!(
        page_value(&html, "stat-team-time-total"),
        int(&m["teamSeconds"])
    );
    assert_eq!(
        page_value(&html, "stat-alerts-count"),
        i64::try_from(m["alerts"].as_array().unwrap().len()).unwrap()
    );
    assert_eq!(
        page_value(&html, "stat-portfolio-count"),
        i64::try_from(m["portfolio"].as_array().unwrap().len()).unwrap()
    );
    assert!(
        m["portfolio"].as_array().unwrap().len() >= 3,
        "three projects"
    );
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("<title>Team time per day</title>"));

    let pm = api("/api/v1/dashboards/pm?days=30".into()).await.json()["dashboard"].clone();
    let html = api("/dashboards/pm?days=30".into()).await.body;
    assert!(int(&pm["verifiedTotal"]) > 0, "{pm}");
    assert_eq!(
        page_value(&html, "stat-verified-total"),
        int(&pm["verifiedTotal"])
    );
    assert_eq!(
        page_value(&html, "stat-cycle-time-average"),
        int(&pm["cycleTime"]["averageSeconds"])
    );
    assert_eq!(
        page_value(&html, "stat-bug-inflow-total"),
        int(&pm["bugInflowTotal"])
    );
    let weekly: i64 = pm["verifiedPerWeek"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| int(&w["value"]))
        .sum();
    assert_eq!(weekly, int(&pm["verifiedTotal"]));

    // A project filter narrows the portfolio to that project.
    let pay = api("/api/v1/dashboards/qa-manager?days=30&project=pay".into())
        .await
        .json();
    assert_eq!(pay["filters"]["project"], "PAY");
    let rows = pay["dashboard"]["portfolio"].as_array().unwrap().clone();
    assert!(rows.iter().all(|r| r["project"] == "PAY"), "{rows:?}");

    // CSV exports: the page's table, RFC 4180, with the API's numbers.
    let reply = api("/dashboards/qa-manager/export/team-time.csv?days=30".into()).await;
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = parse_csv(&reply.body);
    assert_eq!(csv[0], ["activity", "step", "seconds", "entries"]);
    assert_eq!(csv.len() - 1, m["teamTime"].as_array().unwrap().len());
    let total: i64 = csv[1..].iter().map(|r| r[2].parse::<i64>().unwrap()).sum();
    assert_eq!(total, int(&m["teamSeconds"]));
    let html = api("/dashboards/qa-manager?days=30".into()).await.body;
    assert!(html.contains("href=\"/dashboards/qa-manager/export/team-time.csv?days=30\""));

    // Drill-down: the tech lead's clusters, tests and runs, and the workflow pages.
    let tl = api("/api/v1/dashboards/tech-lead?days=30".into())
        .await
        .json()["dashboard"]
        .clone();
    let cluster = tl["clusters"][0]["clusterId"].as_str().unwrap().to_owned();
    let html = api("/dashboards/tech-lead?days=30".into()).await.body;
    assert!(html.contains(&format!("href=\"/clusters/{cluster}\"")));
    let page = api(format!("/clusters/{cluster}")).await.body;
    assert!(page.contains("Cluster:"), "{page}");
    let test = page
        .split("href=\"/tests/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let page = api(format!("/tests/{test}")).await.body;
    let run = page
        .split("href=\"/runs/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let page = api(format!("/runs/{run}")).await.body;
    assert!(page.contains("data-testid=\"table-results\""));
    let csv = parse_csv(&api(format!("/runs/{run}/export/results.csv")).await.body);
    assert_eq!(csv[0][0], "test");
    assert!(csv.len() > 1);
    assert_eq!(api(format!("/api/v1/runs/{run}")).await.json()["id"], run);
    assert!(!tl["flakyTests"].as_array().unwrap().is_empty(), "{tl}");
    assert_eq!(
        tl["integrations"].as_array().unwrap().len(),
        0,
        "none configured"
    );

    let workflows = api("/api/v1/workflows?pageSize=5".into()).await.json();
    assert_eq!(workflows["pagination"]["pageSize"], 5);
    assert!(int(&workflows["pagination"]["totalItems"]) > 5);
    let wf = workflows["data"][0]["id"].as_str().unwrap().to_owned();
    let page = api(format!("/workflows/{wf}")).await.body;
    assert!(page.contains(&format!("/workflows/{wf}/report/report.html")));
    let html_report = api(format!("/workflows/{wf}/report/report.html")).await;
    assert!(html_report.body.contains("<html"), "{}", html_report.body);
    let md = api(format!("/workflows/{wf}/report/report.md")).await;
    assert!(md.body.starts_with('#'), "{}", md.body);
    let ticket = workflows["data"][0]["ticket"].as_str().unwrap().to_owned();
    assert!(
        api(format!("/tickets/{ticket}"))
            .await
            .body
            .contains("Linked test cases")
    );
    assert_eq!(
        api(format!("/api/v1/tickets/{ticket}")).await.json()["key"],
        ticket
    );
    let bugs = api("/tickets?project=PAY&type=bug".into()).await.body;
    assert!(bugs.contains("data-testid=\"table-tickets\""));
    for list in [
        "tickets",
        "runs",
        "tests",
        "clusters",
        "alerts",
        "time-entries",
    ] {
        let json = api(format!("/api/v1/{list}?page=1&pageSize=2"))
            .await
            .json();
        assert!(json["data"].as_array().unwrap().len() <= 2, "{list}");
        assert!(json["pagination"]["totalPages"].is_u64(), "{list}");
    }
    let alert = api("/api/v1/alerts".into()).await.json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        api(format!("/alerts/{alert}"))
            .await
            .body
            .contains("Occurrences")
    );
}

async fn bad_filters_are_4xx_never_500(app: TestApp) {
    app.add_user("lead", Role::TechLead, Some("web")).await;
    let session = app.login("lead").await;
    let unreadable = (StatusCode::BAD_REQUEST, "BAD_REQUEST");
    let against_rules = (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT");
    for (query, (status, code)) in [
        ("days=8", against_rules),
        ("days=abc", unreadable),
        ("days=-7", unreadable),
        ("days=30&days=90", unreadable),
        ("project=%3Cscript%3E", against_rules),
        ("project=PAY%27%20OR%201%3D1", against_rules),
        ("team=%00", against_rules),
        ("unknown=1", unreadable),
    ] {
        for path in ["/api/v1/dashboards/qa-manager", "/dashboards/qa-manager"] {
            let reply = app
                .send(with_session(
                    get(&format!("{path}?{query}")),
                    &session,
                    false,
                ))
                .await;
            assert_eq!(reply.status, status, "{path}?{query}: {}", reply.body);
            assert_eq!(reply.error_code(), code, "{path}?{query}");
        }
    }
    let reply = app
        .send(with_session(get("/api/v1/dashboards/ceo"), &session, false))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    for path in [
        "/api/v1/runs/not-a-uuid",
        "/api/v1/tickets/not%20a%20key",
        "/api/v1/time-entries?from=yesterday",
        "/api/v1/alerts?state=loud",
        "/runs/..%2f..%2fetc",
        "/dashboards/qa/export/nope.csv",
    ] {
        let reply = app.send(with_session(get(path), &session, false)).await;
        assert!(reply.status.is_client_error(), "{path}: {}", reply.status);
    }
    // Anonymous: the API says 401, pages send to sign-in.
    let reply = app.send(get("/api/v1/dashboards/qa")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = app.send(get("/api/v1/time-entries")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    for page in [
        "/dashboards/pm",
        "/runs/0190c8a0-0000-7000-8000-000000000000",
        "/tickets",
    ] {
        let reply = app.send(get(page)).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(reply.headers[header::LOCATION], "/login");
    }
}

async fn writes_access_csrf_and_conflicts(app: TestApp) {
    app.add_user("ana", Role::Qa, Some("web")).await;
    app.add_user("ben", Role::Qa, Some("web")).await;
    app.add_user("lead", Role::TechLead, Some("web")).await;
    let ana = app.login("ana").await;
    let ben = app.login("ben").await;
    let lead = app.login("lead").await;

    let started = Utc::now() - Duration::minutes(50);
    let entry = json!({
        "ticket": "WEB-3",
        "startedAt": started.to_rfc3339(),
        "durationSeconds": 1800,
        "note": "=cmd|' /C calc'!A0",
    });
    // A cookie session without its CSRF token is refused, and nothing is written.
    let reply = app
        .send(with_session(
            json_request("POST", "/api/v1/time-entries", &entry),
            &ana,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.error_code(), "CSRF_TOKEN_INVALID");
    let reply = app
        .send(with_session(
            json_request("POST", "/api/v1/time-entries", &entry),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    // Malformed and unknown fields are 4xx.
    let reply = app
        .send(with_session(
            json_request(
                "POST",
                "/api/v1/time-entries",
                &json!({"startedAt": "x", "durationSeconds": 1}),
            ),
            &ana,
            true,
        ))
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.body);
    let reply = app
        .send(with_session(
            json_request(
                "POST",
                "/api/v1/time-entries",
                &json!({"startedAt": started.to_rfc3339(), "durationSeconds": 0}),
            ),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The rollup has the entry already: ana's tracked time on her QA view.
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/qa?days=7"),
            &ana,
            false,
        ))
        .await;
    let qa = reply.json()["dashboard"].clone();
    assert_eq!(int(&qa["tracked"]["periodSeconds"]), 1800, "{qa}");
    let page = app
        .send(with_session(get("/dashboards/qa?days=7"), &ana, false))
        .await
        .body;
    assert_eq!(page_value(&page, "stat-tracked-period"), 1800);

    // A QA sees only her own entries; her lead sees the team's.
    let path = format!("/api/v1/time-entries/{id}");
    assert_eq!(
        app.send(with_session(get(&path), &ana, false)).await.status,
        StatusCode::OK
    );
    let reply = app.send(with_session(get(&path), &ben, false)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .send(with_session(
            get("/api/v1/time-entries?user=ana"),
            &ben,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .send(with_session(get("/api/v1/time-entries"), &ben, false))
        .await;
    assert_eq!(reply.json()["pagination"]["totalItems"], 0);
    let reply = app
        .send(with_session(
            get("/api/v1/time-entries?user=ana"),
            &lead,
            false,
        ))
        .await;
    assert_eq!(reply.json()["pagination"]["totalItems"], 1);
    assert_eq!(
        app.send(with_session(get(&path), &lead, false))
            .await
            .status,
        StatusCode::OK
    );
    // Ben's manager view counts only his own (empty) time.
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/qa-manager?days=7"),
            &ben,
            false,
        ))
        .await;
    assert_eq!(reply.json()["dashboard"]["teamSeconds"], 0);
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/qa-manager?days=7"),
            &lead,
            false,
        ))
        .await;
    assert_eq!(reply.json()["dashboard"]["teamSeconds"], 1800);

    // Workflows: start, act with the version seen, 409 on a stale one, 403 for others.
    let reply = app
        .send(with_session(
            json_request(
                "POST",
                "/api/v1/workflows",
                &json!({"template": "verify_ticket", "ticket": "WEB-3"}),
            ),
            &ana,
            false,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "CSRF on starting too");
    let reply = app
        .send(with_session(
            json_request(
                "POST",
                "/api/v1/workflows",
                &json!({"template": "verify_ticket", "ticket": "WEB-3"}),
            ),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let wf = reply.json();
    let wf_id = wf["id"].as_str().unwrap().to_owned();
    let version = int(&wf["version"]);
    let actions = format!("/api/v1/workflows/{wf_id}/actions");
    let act = |body: Value| json_request("POST", &actions, &body);
    let reply = app
        .send(with_session(
            act(json!({"action": "step_done", "expectedVersion": version, "force": true})),
            &ben,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "not ben's workflow");
    let reply = app
        .send(with_session(
            act(json!({"action": "step_done", "expectedVersion": version, "force": true})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let done_at = int(&reply.json()["version"]);
    assert!(done_at > version);
    // The step's searches ran: without a search index they are skipped, with the reason,
    // and kept on the step; a retry runs them again.
    let records = |wf: &Value| -> Vec<(String, String, i64)> {
        wf["steps"][0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.get("action"))
            .map(|a| {
                let text = |k: &str| a[k].as_str().unwrap().to_owned();
                (text("kind"), text("status"), int(&a["attempts"]))
            })
            .collect()
    };
    let skipped = |kind: &str, attempts| (kind.to_owned(), "skipped".to_owned(), attempts);
    assert_eq!(
        records(&reply.json()),
        [skipped("postman_search", 1), skipped("testmo_search", 1)]
    );
    let reply = app
        .send(with_session(
            act(json!({"action": "retry_actions", "expectedVersion": version})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    let reply = app
        .send(with_session(
            act(json!({"action": "retry_actions", "expectedVersion": done_at})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        records(&reply.json()),
        [skipped("postman_search", 2), skipped("testmo_search", 2)]
    );
    let now_at = int(&reply.json()["version"]);
    assert!(now_at > done_at);
    let reply = app
        .send(with_session(
            act(json!({"action": "pause", "expectedVersion": version})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(reply.error_code(), "CONFLICT");
    let reply = app
        .send(with_session(
            act(json!({"action": "step_block", "expectedVersion": now_at})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is needed"
    );
    let reply = app
        .send(with_session(
            act(json!({"action": "step_block", "expectedVersion": now_at, "reason": "no build"})),
            &ana,
            true,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/pm?days=7"),
            &lead,
            false,
        ))
        .await;
    let blockers = reply.json()["dashboard"]["blockers"].clone();
    assert_eq!(blockers.as_array().unwrap().len(), 1, "{blockers}");
    assert_eq!(blockers[0]["reason"], "no build");
    let reply = app
        .send(with_session(
            act(json!({"action": "fly", "expectedVersion": 1})),
            &ana,
            true,
        ))
        .await;
    assert!(reply.status.is_client_error());
    // Workflow detail: ben may not look at ana's.
    let detail = format!("/api/v1/workflows/{wf_id}");
    assert_eq!(
        app.send(with_session(get(&detail), &ben, false))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(with_session(get(&detail), &lead, false))
            .await
            .status,
        StatusCode::OK
    );
    // Only admins manage users.
    let reply = app
        .send(with_session(get("/api/v1/users"), &lead, false))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // Her open workflows export as CSV, the blocked step included.
    let reply = app
        .send(with_session(
            get("/dashboards/qa/export/my-tickets.csv?days=7"),
            &ana,
            false,
        ))
        .await;
    let csv = parse_csv(&reply.body);
    assert_eq!(csv.len(), 2, "{}", reply.body);
    assert_eq!(csv[1][0], "WEB-3");
    assert_eq!(csv[1][5], "yes", "blocked");
}

for_each_backend!(super::options();
    personas_pages_and_api_agree,
    bad_filters_are_4xx_never_500,
    writes_access_csrf_and_conflicts,
);

#[tokio::test]
async fn the_demo_is_labelled_on_every_page() {
    let app = TestApp::sqlite(ServerOptions {
        demo: true,
        ..ServerOptions::default()
    })
    .await;
    app.add_user("boss", Role::Admin, None).await;
    let session = app.login("boss").await;
    for path in ["/dashboards/qa", "/dashboards/tech-lead", "/tickets"] {
        let reply = app.send(with_session(get(path), &session, false)).await;
        assert!(reply.body.contains("data-testid=\"demo-banner\""), "{path}");
    }
    let login = app.send(get("/login")).await;
    assert!(login.body.contains("Demo workspace"));
    let reply = app
        .send(with_session(
            get("/api/v1/dashboards/tech-lead"),
            &session,
            false,
        ))
        .await;
    let names: Vec<String> = reply.json()["dashboard"]["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["integration"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["jira", "testmo"]);
}

#[tokio::test]
async fn the_generator_is_deterministic() {
    let now = Utc::now();
    let mut summaries = Vec::new();
    let mut facts = Vec::new();
    for _ in 0..2 {
        let (store, _url, _dir) = common::sqlite_store().await;
        let summary = demo::seed(
            store.as_ref(),
            &SeedOptions {
                qas: 2,
                days: 14,
                seed: 99,
                demo_users: false,
                analyze: false,
                now,
            },
        )
        .await
        .unwrap();
        summaries.push(summary);
        let mut rows = store.dashboard_facts_all().await.unwrap();
        // User ids are minted per user (UUIDv7 at creation): compare without them.
        for f in &mut rows {
            f.user_id = None;
        }
        rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        facts.push(rows);
    }
    assert_eq!(summaries[0], summaries[1]);
    assert!(summaries[0].time_entries > 0 && summaries[0].runs > 0);
    assert_eq!(facts[0], facts[1]);
}
