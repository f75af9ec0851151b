//! Testmo fixtures and the requests the client builds, checked against the derived contract
//! (`../shared/contracts/testmo/testmo-api-v1.derived.yaml`). Without the contracts the tests
//! say so and pass.

#![cfg(feature = "testmo")]

#[path = "support/mod.rs"]
mod support;

use std::sync::OnceLock;

use futures::TryStreamExt as _;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::testmo::Testmo;
use qapms_core::integrations::testmo::models::{ProjectId, RunId};
use qapms_core::integrations::{ReportedTest, RunReport, TestRunSink as _};
use qapms_core::model::TestStatus;
use secrecy::SecretString;
use serde_json::Value;
use support::{check, find_operation, fixture_json, response_schema};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| support::load_spec("testmo/testmo-api-v1.derived.yaml"))
        .as_ref()
}

#[expect(clippy::print_stderr, reason = "a skipped contract check must say so")]
fn spec_or_skip(test: &str) -> Option<&'static Value> {
    let spec = spec();
    if spec.is_none() {
        eprintln!("{test}: skipped, ../shared/contracts/testmo is not present");
    }
    spec
}

/// Fixture, method, concrete path, status.
const RESPONSES: &[(&str, &str, &str, &str)] = &[
    ("testmo/user.response.json", "get", "/user", "200"),
    (
        "testmo/projects-page1.response.json",
        "get",
        "/projects",
        "200",
    ),
    (
        "testmo/projects-page2.response.json",
        "get",
        "/projects",
        "200",
    ),
    ("testmo/project.response.json", "get", "/projects/1", "200"),
    (
        "testmo/milestones.response.json",
        "get",
        "/projects/1/milestones",
        "200",
    ),
    (
        "testmo/runs.response.json",
        "get",
        "/projects/1/runs",
        "200",
    ),
    (
        "testmo/run-results.response.json",
        "get",
        "/runs/501/results",
        "200",
    ),
    (
        "testmo/runs-closed.response.json",
        "get",
        "/projects/1/runs",
        "200",
    ),
    (
        "testmo/run-results-statuses.response.json",
        "get",
        "/runs/601/results",
        "200",
    ),
    (
        "testmo/cases.response.json",
        "get",
        "/projects/1/cases",
        "200",
    ),
    (
        "testmo/folders.response.json",
        "get",
        "/projects/1/folders",
        "200",
    ),
    (
        "testmo/automation-runs.response.json",
        "get",
        "/projects/1/automation/runs",
        "200",
    ),
    (
        "testmo/create-automation-run.response.json",
        "post",
        "/projects/1/automation/runs",
        "200",
    ),
    (
        "testmo/create-automation-run-thread.response.json",
        "post",
        "/automation/runs/345/threads",
        "200",
    ),
    (
        "testmo/error-422.response.json",
        "post",
        "/projects/1/automation/runs",
        "422",
    ),
    ("testmo/error-401.response.json", "get", "/user", "401"),
    (
        "testmo/error-404.response.json",
        "get",
        "/projects/1",
        "404",
    ),
];

#[test]
fn every_fixture_matches_its_response_schema() {
    let Some(spec) = spec_or_skip("every_fixture_matches_its_response_schema") else {
        return;
    };
    for (file, m, p, status) in RESPONSES {
        let (_, op) = find_operation(spec, m, p).unwrap_or_else(|| panic!("{m} {p} not in spec"));
        let schema = response_schema(op, status, "application/json");
        check(spec, schema, true, &fixture_json(file), file);
    }
}

#[test]
fn the_sample_requests_match_their_request_schemas() {
    let Some(spec) = spec_or_skip("the_sample_requests_match_their_request_schemas") else {
        return;
    };
    for (file, p) in [
        (
            "testmo/create-automation-run.request.json",
            "/projects/1/automation/runs",
        ),
        (
            "testmo/create-automation-run-thread.request.json",
            "/automation/runs/345/threads",
        ),
        (
            "testmo/append-automation-run-thread.request.json",
            "/automation/runs/threads/9876/append",
        ),
        (
            "testmo/complete-automation-run-thread.request.json",
            "/automation/runs/threads/9876/complete",
        ),
        (
            "testmo/complete-automation-run.request.json",
            "/automation/runs/345/complete",
        ),
    ] {
        let (_, op) = find_operation(spec, "post", p).unwrap();
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        check(spec, schema, false, &fixture_json(file), file);
    }
}

fn ok(file: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fixture_json(file))
}

/// Every request the client sent: its path and query are in the spec, `per_page` is one the
/// spec allows, and its body fits the request schema.
fn check_requests(spec: &Value, requests: &[wiremock::Request]) {
    assert!(!requests.is_empty());
    for request in requests {
        let m = request.method.as_str();
        let p = request.url.path().trim_start_matches("/api/v1");
        let (template, op) =
            find_operation(spec, m, p).unwrap_or_else(|| panic!("{m} {p} is not in the contract"));
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for (key, value) in request.url.query_pairs() {
            assert!(
                params.contains(&key.as_ref()),
                "{m} {template}: query `{key}` is not in the contract"
            );
            if key == "per_page" {
                assert!(
                    ["15", "25", "50", "100"].contains(&value.as_ref()),
                    "per_page {value}"
                );
            }
        }
        if let Some(schema) = op["requestBody"]["content"]["application/json"]["schema"].as_object()
        {
            let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            check(
                spec,
                &Value::Object(schema.clone()),
                false,
                &body,
                &format!("{m} {template} body"),
            );
        }
    }
}

#[tokio::test]
async fn every_request_the_client_builds_is_in_the_contract() {
    let Some(spec) = spec_or_skip("every_request_the_client_builds_is_in_the_contract") else {
        return;
    };
    let server = contract_server().await;
    let testmo = Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from("t"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    testmo.user().await.unwrap();
    testmo.project(ProjectId(1)).await.unwrap();
    let _: Vec<_> = testmo.projects().try_collect().await.unwrap();
    let _: Vec<_> = testmo.milestones(ProjectId(1)).try_collect().await.unwrap();
    let _: Vec<_> = testmo
        .runs(ProjectId(1))
        .closed(false)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let _: Vec<_> = testmo.run_results(RunId(501)).try_collect().await.unwrap();
    let _: Vec<_> = testmo
        .cases()
        .list(ProjectId(1))
        .automated(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let _: Vec<_> = testmo
        .cases()
        .folders(ProjectId(1))
        .try_collect()
        .await
        .unwrap();
    let _: Vec<_> = testmo
        .automation()
        .runs(ProjectId(1))
        .try_collect()
        .await
        .unwrap();
    let report = sample_report();
    let submitted = testmo.submit_run("1", &report).await.unwrap();
    assert_eq!(
        (submitted.id.as_str(), submitted.tests, submitted.failures),
        ("345", 2, 1)
    );
    check_requests(spec, &server.received_requests().await.unwrap());
}

fn sample_report() -> RunReport {
    RunReport {
        name: "CI build 1234".into(),
        source: "backend-unit".into(),
        tags: vec!["nightly".into()],
        milestone: Some("Release 2.3".into()),
        config: Some("linux-x86_64".into()),
        tests: vec![
            ReportedTest {
                name: "test_ok".into(),
                folder: "tests.auth".into(),
                status: TestStatus::Passed,
                duration_ms: Some(152),
                message: None,
                file: Some("tests/auth/test_login.py".into()),
                line: Some(42),
            },
            ReportedTest {
                name: "test_bad".into(),
                folder: "tests.auth".into(),
                status: TestStatus::Error,
                duration_ms: Some(98),
                message: Some("AssertionError: expected 401, got 500".into()),
                file: None,
                line: None,
            },
        ],
    }
}

async fn contract_server() -> MockServer {
    let server = MockServer::start().await;
    for (file, p) in [
        ("testmo/user.response.json", "/api/v1/user"),
        ("testmo/project.response.json", "/api/v1/projects/1"),
        ("testmo/projects-page2.response.json", "/api/v1/projects"),
        (
            "testmo/milestones.response.json",
            "/api/v1/projects/1/milestones",
        ),
        ("testmo/runs.response.json", "/api/v1/projects/1/runs"),
        (
            "testmo/run-results.response.json",
            "/api/v1/runs/501/results",
        ),
        ("testmo/cases.response.json", "/api/v1/projects/1/cases"),
        ("testmo/folders.response.json", "/api/v1/projects/1/folders"),
        (
            "testmo/automation-runs.response.json",
            "/api/v1/projects/1/automation/runs",
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ok(file))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/api/v1/projects/1/automation/runs"))
        .respond_with(ok("testmo/create-automation-run.response.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/automation/runs/345/threads"))
        .respond_with(ok("testmo/create-automation-run-thread.response.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}
