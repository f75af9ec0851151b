//! Step actions carried out by `workflow::ActionRunner` on a real store (SQLite and
//! PostgreSQL) against a wiremock Jira that answers with the official samples; every request
//! body is checked against the contract in `../shared/contracts/jira`. Covers what each action
//! records, that a failure is kept and retried, that a retry repeats nothing that succeeded,
//! and that actions without an integration or a ticket are skipped with the reason.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![cfg(all(feature = "jira", feature = "splunk"))]

mod common;
mod contract;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::config::{SplunkTemplate, WorkflowTemplate};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::splunk::SplTemplates;
use qapms_core::model::{
    ActionRecord, ActionStatus, IssueKey, Role, StatusCategory, Ticket, User, UserId, WorkflowId,
};
use qapms_core::report;
use qapms_core::store::Store;
use qapms_core::workflow::{ActionClients, ActionRunner, Catalog, Command, Engine, ManualClock};
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

/// Two steps: the first moves and comments on the ticket, searches Postman and renders a
/// Splunk search; the second files a bug, logs its time and hands a link over.
fn catalog() -> Catalog {
    let template: WorkflowTemplate = serde_json::from_value(json!({
        "description": "check then file",
        "steps": [
            {
                "name": "check",
                "checklist": ["Looked at it"],
                "actions": [
                    {"kind": "jira_transition", "to": "In Progress"},
                    {"kind": "jira_comment", "body": "Checked {ticket} in `{step}` after {duration}"},
                    {"kind": "postman_search", "query": "{ticket}"},
                    {"kind": "splunk_search", "template": "errors"}
                ]
            },
            {
                "name": "file",
                "actions": [
                    {"kind": "jira_create_issue", "summary": "{title} still fails"},
                    {"kind": "jira_worklog", "comment": "QA time for {ticket}: {duration}"},
                    {"kind": "open_url", "url": "https://ci.acme.test/runs?ticket={ticket}"}
                ]
            }
        ]
    }))
    .unwrap();
    Catalog::new(&BTreeMap::from([("check_then_file".to_owned(), template)]))
}

fn ticket(k: &str, summary: &str) -> Ticket {
    Ticket {
        key: key(k),
        summary: summary.to_owned(),
        status: "To Do".to_owned(),
        status_category: StatusCategory::ToDo,
        issue_type: "Story".to_owned(),
        priority: None,
        assignee: None,
        labels: Vec::new(),
        components: Vec::new(),
        fix_versions: Vec::new(),
        updated: at(0),
        url: None,
        raw: json!({ "key": k }).into(),
    }
}

struct Setup {
    engine: Engine,
    clock: Arc<ManualClock>,
    ada: UserId,
}

async fn setup(s: &Arc<dyn Store>) -> Setup {
    let ada = User::new("ada", Role::Qa);
    s.create_user(&ada).await.unwrap();
    s.upsert_tickets(&[ticket("PAY-1", "Refund over limit")])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(at(0)));
    // The steps take 5 and 20 minutes without a keystroke; no idle gap cuts them.
    let engine = Engine::new(s.clone(), catalog())
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_hours(1));
    Setup {
        engine,
        clock,
        ada: ada.id,
    }
}

/// Starts the workflow for `ticket` and finishes its first step after 5 minutes.
async fn first_step_done(
    setup: &Setup,
    ticket: Option<&str>,
) -> (WorkflowId, Vec<qapms_core::workflow::DueAction>) {
    let id = setup
        .engine
        .start("check_then_file", ticket.map(key), setup.ada)
        .await
        .unwrap()
        .workflow
        .id;
    setup.clock.advance(Duration::minutes(5));
    let due = step_done(setup, &id).await;
    (id, due)
}

/// Finishes the workflow's current step and returns the actions that fell due.
async fn step_done(setup: &Setup, id: &WorkflowId) -> Vec<qapms_core::workflow::DueAction> {
    let command = Command::StepDone {
        step: None,
        force: true,
    };
    let done = setup.engine.apply(id, None, setup.ada, &command).await;
    done.unwrap().actions
}

fn splunk_templates() -> SplTemplates {
    SplTemplates::new(BTreeMap::from([(
        "errors".to_owned(),
        SplunkTemplate {
            spl: "index=app ticket={ticket} level=ERROR | stats count".to_owned(),
            description: None,
            earliest: Some("-24h".to_owned()),
            latest: None,
        },
    )]))
}

fn jira(server: &MockServer) -> Jira {
    Jira::builder(server.uri())
        .basic_auth("qa@acme.test", SecretString::from("api-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap()
}

fn sample(name: &str) -> Value {
    let path = contract::contract_path(&format!("jira/samples/{name}")).unwrap();
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The Jira of the happy path: transitions, comments, createmeta, issues and worklogs.
async fn mount_jira(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/transitions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(sample("get-transitions.response.json")),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/transitions"))
        .respond_with(ResponseTemplate::new(204))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/comment"))
        .respond_with(ResponseTemplate::new(201).set_body_json(sample("add-comment.response.json")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/createmeta/PAY/issuetypes"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issueTypes": [{"id": "10001", "name": "Bug"}], "total": 1})),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/createmeta/PAY/issuetypes/10001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"fields": [
            {"fieldId": "summary", "key": "summary", "name": "Summary", "required": true, "hasDefaultValue": false}
        ]})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(sample("create-issue.response.json")),
        )
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/worklog"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "startAt": 0, "maxResults": 1000, "total": 0, "worklogs": []
        })))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/worklog"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "9001"})))
        .mount(server)
        .await;
}

async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

fn posts<'r>(requests: &'r [Request], to: &str) -> Vec<&'r Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == to)
        .collect()
}

/// Checks a request body against the platform contract's schema for `route` `POST`.
fn check_body(request: &Request, route: &str) -> Value {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    if let Some(spec) = contract::load_spec("jira/platform-v3.json", "step actions") {
        let op = &spec["paths"][route]["post"];
        let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        contract::check(&spec, &schema, false, &body, route);
    }
    body
}

fn by_kind<'a>(records: &'a [ActionRecord], kind: &str) -> &'a ActionRecord {
    records
        .iter()
        .find(|r| r.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} record in {records:#?}"))
}

/// Checks what the happy path sent to Jira against the contract and the workflow.
async fn check_jira_requests(server: &MockServer) {
    let requests = server.received_requests().await.unwrap();
    let transition = check_body(
        posts(&requests, "/rest/api/3/issue/PAY-1/transitions")[0],
        "/rest/api/3/issue/{issueIdOrKey}/transitions",
    );
    assert_eq!(transition["transition"]["id"], "2");
    let comment = check_body(
        posts(&requests, "/rest/api/3/issue/PAY-1/comment")[0],
        "/rest/api/3/issue/{issueIdOrKey}/comment",
    );
    // `{duration}` counts the entry the step's transition was writing when its actions fell due.
    let body = comment["body"].to_string();
    assert!(body.contains("Checked PAY-1 in"), "{body}");
    assert!(body.contains("after 5m"), "{body}");
    let issue = check_body(
        posts(&requests, "/rest/api/3/issue")[0],
        "/rest/api/3/issue",
    );
    assert_eq!(issue["fields"]["project"]["key"], "PAY");
    assert_eq!(issue["fields"]["summary"], "Refund over limit still fails");
    let description = issue["fields"]["description"].to_string();
    assert!(description.contains("check_then_file"), "{description}");
    assert!(description.contains("Looked at it"), "{description}");
    let worklog = check_body(
        posts(&requests, "/rest/api/3/issue/PAY-1/worklog")[0],
        "/rest/api/3/issue/{issueIdOrKey}/worklog",
    );
    assert_eq!(worklog["timeSpentSeconds"], 20 * 60);
    // Both steps: 5 minutes stored, 20 in the transition being written.
    let comment = worklog["comment"].to_string();
    assert!(comment.contains("QA time for PAY-1: 25m"), "{comment}");
}

async fn actions_run_against_jira_and_are_kept(t: &TestStore) {
    let setup = setup(&t.store).await;
    let server = MockServer::start().await;
    mount_jira(&server).await;
    catch_all(&server).await;
    let runner = ActionRunner::new(
        setup.engine.clone(),
        ActionClients::none()
            .with_jira(jira(&server))
            .with_splunk(splunk_templates(), None),
    );

    let (id, due) = first_step_done(&setup, Some("PAY-1")).await;
    let keys: Vec<&str> = due.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["0.0", "0.1", "0.2", "0.3"]);
    let first = runner.run(&id, setup.ada, &due).await.unwrap();
    assert_eq!(first.len(), 4);
    let moved = by_kind(&first, "jira_transition");
    assert_eq!(moved.status, ActionStatus::Succeeded, "{moved:?}");
    assert_eq!(moved.summary, "moved PAY-1 to In Progress");
    assert_eq!(moved.output["transition"], "2");
    let commented = by_kind(&first, "jira_comment");
    assert_eq!(commented.status, ActionStatus::Succeeded, "{commented:?}");
    assert_eq!(commented.output["commentId"], "10000");
    let postman = by_kind(&first, "postman_search");
    assert_eq!(postman.status, ActionStatus::Skipped);
    assert!(
        postman.summary.contains("no search index"),
        "{}",
        postman.summary
    );
    // Manual mode: the search is rendered with the ticket quoted, for pasting.
    let splunk = by_kind(&first, "splunk_search");
    assert_eq!(splunk.status, ActionStatus::Succeeded, "{splunk:?}");
    assert!(
        splunk.summary.contains("ticket=\"PAY-1\""),
        "{}",
        splunk.summary
    );

    setup.clock.advance(Duration::minutes(20));
    let done = step_done(&setup, &id).await;
    let second = runner.run(&id, setup.ada, &done).await.unwrap();
    let filed = by_kind(&second, "jira_create_issue");
    assert_eq!(filed.status, ActionStatus::Succeeded, "{filed:?}");
    assert_eq!(filed.output["key"], "ED-24");
    // `{title}` is the ticket's summary, from the store.
    assert!(
        filed.summary.ends_with("Refund over limit still fails"),
        "{}",
        filed.summary
    );
    let logged = by_kind(&second, "jira_worklog");
    assert_eq!(logged.status, ActionStatus::Succeeded, "{logged:?}");
    assert_eq!(
        logged.output["exported"].as_array().unwrap().len(),
        1,
        "{logged:?}"
    );
    let link = by_kind(&second, "open_url");
    assert_eq!(link.status, ActionStatus::Succeeded);
    assert_eq!(link.output["url"], "https://ci.acme.test/runs?ticket=PAY-1");

    check_jira_requests(&server).await;

    // The records are evidence on their steps, and the report lists the bug as a finding.
    let w = setup.engine.workflow(&id).await.unwrap();
    let kept: Vec<&str> = w.steps[0]
        .evidence
        .iter()
        .filter_map(|e| e.action.as_ref().map(|a| a.key.as_str()))
        .collect();
    assert_eq!(kept, ["0.0", "0.1", "0.2", "0.3"]);
    assert_eq!(
        w.steps[1].evidence[0].value,
        "http://127.0.0.1/browse/ED-24".replace("http://127.0.0.1", &server.uri())
    );
    let r = report::workflow_report(
        &report::workflow_data(t.store.as_ref(), &id, at(60))
            .await
            .unwrap(),
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == "bug_filed" && f.issue.as_deref() == Some("ED-24")),
        "{:?}",
        r.findings
    );

    // A retry runs only what did not succeed (the skipped Postman search), and calls Jira
    // for nothing.
    let before = server.received_requests().await.unwrap().len();
    let again = runner.retry(&id, setup.ada).await.unwrap();
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].key, "0.2");
    assert_eq!(again[0].attempts, 2);
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    let w = setup.engine.workflow(&id).await.unwrap();
    let postman_records = w.steps[0]
        .evidence
        .iter()
        .filter(|e| e.action.as_ref().is_some_and(|a| a.key == "0.2"))
        .count();
    assert_eq!(postman_records, 1, "a retry replaces its record");
}

for_each_backend!(actions_run_against_jira_and_are_kept);

#[tokio::test]
async fn a_failed_action_is_kept_and_a_retry_finishes_it() {
    let t = common::sqlite().await;
    let setup = setup(&t.store).await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/transitions"))
        .respond_with(ResponseTemplate::new(503).set_body_string("down for maintenance"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_jira(&server).await;
    catch_all(&server).await;
    let runner = ActionRunner::new(
        setup.engine.clone(),
        ActionClients::none().with_jira(jira(&server)),
    );
    let (id, due) = first_step_done(&setup, Some("PAY-1")).await;
    let first = runner.run(&id, setup.ada, &due).await.unwrap();
    let moved = by_kind(&first, "jira_transition");
    assert_eq!(moved.status, ActionStatus::Failed);
    assert!(moved.summary.contains("503"), "{}", moved.summary);
    // The comment after it still ran.
    assert_eq!(
        by_kind(&first, "jira_comment").status,
        ActionStatus::Succeeded
    );
    // The step stays done: an integration being down does not undo the QA's work.
    let w = setup.engine.workflow(&id).await.unwrap();
    assert_eq!(w.steps[0].state.as_str(), "done");

    let retried = runner.retry(&id, setup.ada).await.unwrap();
    let moved = by_kind(&retried, "jira_transition");
    assert_eq!(moved.status, ActionStatus::Succeeded, "{moved:?}");
    assert_eq!(moved.attempts, 2);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        posts(&requests, "/rest/api/3/issue/PAY-1/comment").len(),
        1,
        "the comment that succeeded is not posted again"
    );
}

#[tokio::test]
async fn actions_without_an_integration_or_a_ticket_are_skipped_with_the_reason() {
    let t = common::sqlite().await;
    let setup = setup(&t.store).await;
    let runner = ActionRunner::new(setup.engine.clone(), ActionClients::none());
    let (id, due) = first_step_done(&setup, Some("PAY-1")).await;
    let records = runner.run(&id, setup.ada, &due).await.unwrap();
    let moved = by_kind(&records, "jira_transition");
    assert_eq!(moved.status, ActionStatus::Skipped);
    assert_eq!(
        moved.summary,
        "integrations.jira is not configured (or not enabled)"
    );
    assert_eq!(
        by_kind(&records, "splunk_search").status,
        ActionStatus::Skipped
    );

    let (no_ticket, due) = first_step_done(&setup, None).await;
    let server = MockServer::start().await;
    catch_all(&server).await;
    let runner = ActionRunner::new(
        setup.engine.clone(),
        ActionClients::none().with_jira(jira(&server)),
    );
    let records = runner.run(&no_ticket, setup.ada, &due).await.unwrap();
    let commented = by_kind(&records, "jira_comment");
    assert_eq!(commented.status, ActionStatus::Skipped);
    assert!(
        commented.summary.contains("no ticket"),
        "{}",
        commented.summary
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_abandoned_workflow_runs_no_actions() {
    let t = common::sqlite().await;
    let setup = setup(&t.store).await;
    let server = MockServer::start().await;
    catch_all(&server).await;
    let runner = ActionRunner::new(
        setup.engine.clone(),
        ActionClients::none().with_jira(jira(&server)),
    );
    let (id, _) = first_step_done(&setup, Some("PAY-1")).await;
    setup
        .engine
        .apply(&id, None, setup.ada, &Command::Abandon { reason: None })
        .await
        .unwrap();
    let err = runner.retry(&id, setup.ada).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("abandoned"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
