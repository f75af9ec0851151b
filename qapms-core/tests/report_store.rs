//! Reports from a real store (SQLite and PostgreSQL): a workflow driven by the engine, a `JUnit`
//! run attached to its step, cases linked to its ticket; and the posting of the report to a
//! wiremock Jira (Cloud ADF and Data Center wiki), with the comment body checked against the
//! contract in `../shared/contracts/jira`, idempotently, and the time as worklogs.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;
mod contract;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::config::{EvidenceKind, JiraDeployment};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::model::{IssueKey, Role, TestCase, TestId, TestSource, User, UserId, WorkflowId};
use qapms_core::report::{self, Format, PeriodQuery, report_marker};
use qapms_core::results::{ImportOptions, import_junit};
use qapms_core::store::Store;
use qapms_core::workflow::{Catalog, Command, Engine, ItemRef, ManualClock};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::TestStore;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn key(s: &str) -> IssueKey {
    IssueKey::parse(s).unwrap()
}

fn linked_case(external: &str, tickets: &[&str]) -> TestCase {
    TestCase {
        id: TestId::new(),
        source: TestSource::Testmo,
        external_id: external.into(),
        title: format!("case {external}"),
        folder_path: None,
        tags: Vec::new(),
        ticket_keys: tickets.iter().map(|t| key(t)).collect(),
    }
}

/// Drives a verify-ticket workflow for PAY-1 through two steps with a `JUnit` run attached.
async fn drive(s: &Arc<dyn Store>) -> (WorkflowId, UserId) {
    let ada = User::new("ada", Role::Qa);
    s.create_user(&ada).await.unwrap();
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = Engine::new(s.clone(), Catalog::new(&BTreeMap::new()))
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_mins(15));
    let id = e
        .start("verify_ticket", Some(key("PAY-1")), ada.id)
        .await
        .unwrap()
        .workflow
        .id;
    clock.advance(Duration::minutes(4));
    e.apply(
        &id,
        None,
        ada.id,
        &Command::Tick {
            step: None,
            item: ItemRef::parse("1"),
            done: true,
        },
    )
    .await
    .unwrap();
    clock.advance(Duration::minutes(4));
    e.apply(
        &id,
        None,
        ada.id,
        &Command::AddEvidence {
            step: None,
            kind: EvidenceKind::Links,
            value: "https://ci.acme.test/runs/7".into(),
        },
    )
    .await
    .unwrap();
    clock.advance(Duration::minutes(4));
    e.apply(
        &id,
        None,
        ada.id,
        &Command::StepDone {
            step: None,
            force: true,
        },
    )
    .await
    .unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit/pytest.xml");
    let summary = import_junit(
        s.as_ref(),
        &[fixture],
        &ImportOptions {
            workflow_tickets: vec![key("PAY-1")],
            ..ImportOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.attached_steps, vec![(id, 1)]);
    clock.advance(Duration::minutes(10));
    e.apply(
        &id,
        None,
        ada.id,
        &Command::StepDone {
            step: None,
            force: true,
        },
    )
    .await
    .unwrap();
    (id, ada.id)
}

async fn workflow_report_from_the_store(t: &TestStore) {
    let s = &t.store;
    let (id, ada) = drive(s).await;
    s.upsert_test_cases(&[
        linked_case("C1", &["PAY-1"]),
        linked_case("C2", &["PAY-10", "OPS-1"]),
        linked_case("C3", &["OPS-2", "PAY-1"]),
        // `_` must not match any character.
        linked_case("C4", &["PAYX1-1"]),
    ])
    .await
    .unwrap();
    let linked = s.test_cases_for_ticket(&key("PAY-1")).await.unwrap();
    let mut names: Vec<&str> = linked.iter().map(|c| c.external_id.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["C1", "C3"]);
    assert!(
        s.test_cases_for_ticket(&key("PAY_1-1"))
            .await
            .unwrap()
            .is_empty()
    );

    let data = report::workflow_data(s.as_ref(), &id, at(60))
        .await
        .unwrap();
    let r = report::workflow_report(&data);
    assert_eq!(r.workflow.owner, "ada");
    assert_eq!(r.steps[0].tracked_seconds, 12 * 60);
    assert_eq!(r.steps[1].tracked_seconds, 10 * 60);
    assert_eq!(r.time.tracked_seconds, 22 * 60);
    assert_eq!(r.steps[0].estimate_seconds, Some(15 * 60));
    assert_eq!(r.checklist.done, 1);
    assert_eq!(r.tests.runs.len(), 1);
    assert_eq!(r.tests.linked, 2);
    assert!(r.tests.executed > 0);
    assert_eq!(r.evidence_links.len(), 1);
    assert!(r.history.iter().any(|h| h.kind == "run_attached"));
    for format in [Format::Markdown, Format::Html, Format::Json, Format::Csv] {
        let text = report::render_workflow(&r, format).unwrap();
        assert!(text.contains("understand"), "{format}");
    }

    let period = report::period_data(
        s.as_ref(),
        &PeriodQuery {
            from: Some(at(0)),
            to: Some(at(24 * 60)),
            user: Some(ada),
            ..PeriodQuery::default()
        },
        at(60),
    )
    .await
    .unwrap();
    let p = report::period_report(&period);
    assert_eq!(p.total_seconds, 22 * 60);
    assert_eq!(p.scope.user.as_deref(), Some("ada"));
    assert_eq!(p.workflows.total, 1);
    assert_eq!(p.accuracy.len(), 2);
    // Nothing before the period.
    let before = report::period_data(
        s.as_ref(),
        &PeriodQuery {
            to: Some(at(0)),
            ..PeriodQuery::default()
        },
        at(60),
    )
    .await
    .unwrap();
    assert_eq!(report::period_report(&before).total_seconds, 0);
}

for_each_backend!(workflow_report_from_the_store);

fn sample(name: &str) -> Value {
    let path = contract::contract_path(&format!("jira/samples/{name}")).unwrap();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn jira(server: &MockServer, deployment: JiraDeployment) -> Jira {
    let b = Jira::builder(server.uri()).deployment(deployment);
    let b = match deployment {
        JiraDeployment::Cloud => b.basic_auth("qa@acme.test", SecretString::from("api-token")),
        JiraDeployment::DataCenter => b.bearer_auth(SecretString::from("pat")),
    };
    b.retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap()
}

async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

fn posts(requests: &[Request]) -> Vec<&Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect()
}

#[tokio::test]
async fn the_report_posts_once_per_version_as_adf_on_cloud() {
    let t = common::sqlite().await;
    let (id, _) = drive(&t.store).await;
    let r = report::workflow_report(
        &report::workflow_data(t.store.as_ref(), &id, at(60))
            .await
            .unwrap(),
    );
    let marker = report_marker(&id, r.workflow.version);

    let server = MockServer::start().await;
    let mut listed = sample("get-comments.response.json");
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // After the first post, the listing holds the posted comment.
    listed["comments"][0]["body"]["content"][0]["content"][0]["text"] =
        Value::String(format!("older text {marker}"));
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(200).set_body_json(listed))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(sample("add-comment.response.json")))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::Cloud);

    let first = report::post_comment(&jira, &r).await.unwrap();
    assert!(first.created);
    let second = report::post_comment(&jira, &r).await.unwrap();
    assert!(!second.created);
    assert_eq!(second.comment_id, "10000");

    let requests = server.received_requests().await.unwrap();
    let posted = posts(&requests);
    assert_eq!(posted.len(), 1, "the second post must add nothing");
    let body: Value = serde_json::from_slice(&posted[0].body).unwrap();
    if let Some(spec) = contract::load_spec("jira/platform-v3.json", "report comment") {
        let op = &spec["paths"]["/rest/api/3/issue/{issueIdOrKey}/comment"]["post"];
        let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        contract::check(&spec, &schema, false, &body, "the comment body");
    }
    assert_eq!(body["body"]["type"], "doc");
    let text = body["body"].to_string();
    assert!(text.contains(&marker));
    assert!(text.contains("QA report: verify_ticket"));
    // A link in the evidence became an ADF link mark.
    assert!(text.contains("\"href\":\"https://ci.acme.test/runs/7\""));
}

#[tokio::test]
async fn the_report_posts_as_wiki_text_on_data_center_and_time_as_worklogs() {
    let t = common::sqlite().await;
    let (id, _) = drive(&t.store).await;
    let r = report::workflow_report(
        &report::workflow_data(t.store.as_ref(), &id, at(60))
            .await
            .unwrap(),
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/2/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "startAt": 0, "maxResults": 100, "total": 0, "comments": []
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "501", "body": "x"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/2/issue/PAY-1/worklog"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "startAt": 0, "maxResults": 1000, "total": 0, "worklogs": []
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/issue/PAY-1/worklog"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "9001"})))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::DataCenter);

    let posted = report::post_comment(&jira, &r).await.unwrap();
    assert_eq!(posted.comment_id, "501");
    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&posts(&requests)[0].body).unwrap();
    let wiki = body["body"].as_str().unwrap();
    assert!(wiki.contains("*QA report: verify_ticket*"), "{wiki}");
    assert!(wiki.contains("[https://ci.acme.test/runs/7|https://ci.acme.test/runs/7]"));

    let first = report::post_worklogs(t.store.as_ref(), &jira, &id)
        .await
        .unwrap();
    assert_eq!(first.exported.len(), 2, "{first:?}");
    let again = report::post_worklogs(t.store.as_ref(), &jira, &id)
        .await
        .unwrap();
    assert!(again.exported.is_empty());
    assert_eq!(again.already_exported, 2);
}
