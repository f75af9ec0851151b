//! The Testmo client against wiremock: paging, the automation run lifecycle as a stateful mock
//! (batched appends, a failure midway), 429 with `Retry-After` on a paused clock, error
//! mapping, and secrets kept out of logs.

#![cfg(feature = "testmo")]

#[path = "support/mod.rs"]
mod support;

use std::io::BufReader;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use futures::TryStreamExt as _;
use qapms_core::ErrorKind;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::testmo::models::{CreateAutomationRun, ProjectId};
use qapms_core::integrations::testmo::{Testmo, test_key};
use qapms_core::integrations::{
    Health, Integration as _, ReportedTest, RunReport, TestCaseSource as _,
};
use qapms_core::logging::Redactor;
use qapms_core::model::TestStatus;
use qapms_core::results::{JunitReader, Limits};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{Capture, fixture, fixture_json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "testmo-tok-5b4a3c2d1e";

fn client(server: &MockServer) -> Testmo {
    Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from(TOKEN))
        .retry(RetryPolicy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn tests(n: usize, fail_at: Option<usize>) -> Vec<ReportedTest> {
    (0..n)
        .map(|i| ReportedTest {
            name: format!("test_{i}"),
            folder: "suite.Login".to_owned(),
            status: if Some(i) == fail_at {
                TestStatus::Failed
            } else {
                TestStatus::Passed
            },
            duration_ms: Some(10),
            message: (Some(i) == fail_at).then(|| "boom".to_owned()),
            file: None,
            line: None,
        })
        .collect()
}

#[tokio::test]
async fn lists_follow_next_page_and_send_the_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects"))
        .and(query_param("page", "1"))
        .and(query_param("per_page", "100"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture_json("testmo/projects-page1.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture_json("testmo/projects-page2.response.json")),
        )
        .mount(&server)
        .await;
    let projects: Vec<_> = client(&server).projects().try_collect().await.unwrap();
    let ids: Vec<u64> = projects.iter().map(|p| p.id.0).collect();
    assert_eq!(ids, [1, 2, 7], "both pages, nothing truncated");
    assert_eq!(projects[2].is_completed, Some(true));
}

#[tokio::test]
async fn a_next_page_that_goes_backwards_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"page": 1, "next_page": 1, "result": [{"id": 1}]})),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .projects()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("avoid a loop"), "{err}");
}

#[tokio::test]
async fn cases_come_with_their_folder_paths() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/folders"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture_json("testmo/folders.response.json")),
        )
        .mount(&server)
        .await;
    // Tags come by id; `expands=tags` names them (an id it does not name stays a number).
    let mut cases = fixture_json("testmo/cases.response.json");
    cases["expands"] = json!({"tags": [{"id": 5, "name": "smoke"}, {"id": 9, "name": null}]});
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/cases"))
        .and(query_param("expands", "tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cases))
        .mount(&server)
        .await;
    let testmo = client(&server);
    let cases: Vec<_> = testmo.test_cases("1").try_collect().await.unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].external_id, "8001");
    assert_eq!(cases[0].folder_path.as_deref(), Some("Auth"));
    assert_eq!(cases[1].folder_path.as_deref(), Some("Auth/Refunds"));
    assert_eq!(cases[0].tags, ["smoke", "9"]);
    assert!(cases[1].tags.is_empty());
    let err = testmo
        .test_cases("PAY")
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// A Testmo that keeps run state: ids are handed out, appends land on the right thread, and
/// calls out of order (append after complete, complete twice) are refused, as Testmo does.
#[derive(Default)]
struct Lifecycle {
    log: RwLock<Vec<(String, Value)>>,
    appended: RwLock<Vec<Value>>,
    /// Fail the n-th append call (1-based) with a 500.
    fail_append: Option<usize>,
    appends: AtomicUsize,
    thread_done: RwLock<bool>,
    run_done: RwLock<bool>,
}

struct Shared(Arc<Lifecycle>);

impl Respond for Shared {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let p = request.url.path().trim_start_matches("/api/v1").to_owned();
        state
            .log
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((p.clone(), body.clone()));
        let lock = |m: &'_ RwLock<bool>| *m.read().unwrap_or_else(PoisonError::into_inner);
        match p.as_str() {
            "/projects/1/automation/runs" => {
                if body["name"].as_str().is_none_or(str::is_empty) {
                    return ResponseTemplate::new(422)
                        .set_body_json(fixture_json("testmo/error-422.response.json"));
                }
                ResponseTemplate::new(201).set_body_json(json!({"id": 345}))
            }
            "/automation/runs/345/threads" => {
                ResponseTemplate::new(201).set_body_json(json!({"id": 9876}))
            }
            "/automation/runs/threads/9876/append" => {
                if lock(&state.thread_done) {
                    return ResponseTemplate::new(422)
                        .set_body_json(json!({"message": "thread is completed"}));
                }
                let n = state.appends.fetch_add(1, Ordering::SeqCst) + 1;
                if state.fail_append == Some(n) {
                    return ResponseTemplate::new(500)
                        .set_body_json(json!({"message": "Server Error"}));
                }
                let mut appended = state
                    .appended
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                appended.extend(body["tests"].as_array().cloned().unwrap_or_default());
                ResponseTemplate::new(204)
            }
            "/automation/runs/threads/9876/complete" => {
                *state
                    .thread_done
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = true;
                ResponseTemplate::new(204)
            }
            "/automation/runs/345/append" => ResponseTemplate::new(200),
            "/automation/runs/345/complete" => {
                if !lock(&state.thread_done) || lock(&state.run_done) {
                    return ResponseTemplate::new(422)
                        .set_body_json(json!({"message": "complete threads first"}));
                }
                *state
                    .run_done
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = true;
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({"message": "not found"})),
        }
    }
}

async fn lifecycle_server(state: &Arc<Lifecycle>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Shared(state.clone()))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn the_lifecycle_runs_in_order_with_batched_appends() {
    let state = Arc::new(Lifecycle::default());
    let server = lifecycle_server(&state).await;
    let progress = RwLock::new(Vec::new());
    let submitted = client(&server)
        .submission(ProjectId(1), "CI build 1234", "backend-unit")
        .config("linux-x86_64")
        .milestone("Release 2.3")
        .tag("nightly")
        .link("CI build", "https://ci.example.invalid/1234")
        .tests(tests(250, Some(7)))
        .max_batch(100)
        .on_progress(|done, total| {
            progress
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push((done, total));
        })
        .send()
        .await
        .unwrap();
    assert_eq!(
        (submitted.id.as_str(), submitted.tests, submitted.failures),
        ("345", 250, 1)
    );
    let log = state.log.read().unwrap().clone();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/projects/1/automation/runs",
            "/automation/runs/345/threads",
            "/automation/runs/threads/9876/append",
            "/automation/runs/threads/9876/append",
            "/automation/runs/threads/9876/append",
            "/automation/runs/threads/9876/complete",
            "/automation/runs/345/complete",
        ]
    );
    let batch_sizes: Vec<usize> = log
        .iter()
        .filter(|(p, _)| p.ends_with("/append"))
        .map(|(_, b)| b["tests"].as_array().unwrap().len())
        .collect();
    assert_eq!(batch_sizes, [100, 100, 50]);
    assert_eq!(
        *progress.read().unwrap(),
        [(100, 250), (200, 250), (250, 250)]
    );
    let create = &log[0].1;
    assert_eq!(create["name"], "CI build 1234");
    assert_eq!(create["source"], "backend-unit");
    assert_eq!(create["config"], "linux-x86_64");
    assert_eq!(create["milestone"], "Release 2.3");
    assert_eq!(create["tags"], json!(["nightly"]));
    let appended = state.appended.read().unwrap().clone();
    assert_eq!(appended.len(), 250);
    let failed = &appended[7];
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        failed["elapsed"], 10_000,
        "milliseconds become microseconds"
    );
    assert_eq!(failed["key"], test_key("suite.Login", "test_7"));
    assert_eq!(failed["fields"][0]["value"], "boom");
    assert_eq!(appended[0]["status"], "passed");
    assert!(*state.run_done.read().unwrap());
}

#[tokio::test]
async fn a_failed_append_midway_completes_the_run_as_aborted() {
    let state = Arc::new(Lifecycle {
        fail_append: Some(2),
        ..Lifecycle::default()
    });
    let server = lifecycle_server(&state).await;
    let err = client(&server)
        .submission(ProjectId(1), "CI build 1235", "backend-unit")
        .tests(tests(30, None))
        .max_batch(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("after 10 of 30 tests"), "{err}");
    assert_eq!(err.context_value("automation_run"), Some("345"));
    let log = state.log.read().unwrap().clone();
    let paths: Vec<&str> = log.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/projects/1/automation/runs",
            "/automation/runs/345/threads",
            "/automation/runs/threads/9876/append",
            "/automation/runs/threads/9876/append",
            "/automation/runs/345/append",
            "/automation/runs/threads/9876/append",
            "/automation/runs/threads/9876/complete",
            "/automation/runs/345/complete",
        ],
        "noted on the run, marked failed, thread and run completed"
    );
    let note = &log[4].1["fields"][0];
    assert_eq!(note["value"], "aborted after 10 of 30 tests");
    assert_eq!(note["is_highlight"], true);
    let appended = state.appended.read().unwrap().clone();
    let marker = appended.last().unwrap();
    assert_eq!(marker["status"], "failed");
    assert_eq!(marker["name"], "qapms: submission aborted");
    assert!(
        *state.run_done.read().unwrap(),
        "the run is not left running"
    );
}

#[tokio::test]
async fn a_rejected_run_says_which_field() {
    let state = Arc::new(Lifecycle::default());
    let server = lifecycle_server(&state).await;
    let err = client(&server)
        .submission(ProjectId(1), "  ", "x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("needs a name"), "{err}");
    assert!(
        state.log.read().unwrap().is_empty(),
        "refused before any call"
    );
}

#[tokio::test]
async fn junit_results_are_submitted_like_the_testmo_cli() {
    let state = Arc::new(Lifecycle::default());
    let server = lifecycle_server(&state).await;
    let xml = fixture("junit/pytest.xml");
    let mut reader = JunitReader::new(BufReader::new(xml.as_bytes()), Limits::default());
    let mut cases = Vec::new();
    while let Some(case) = reader.next_case().unwrap() {
        cases.push(case);
    }
    let expected = cases.len();
    assert!(expected > 0);
    let report = RunReport {
        name: "pytest run".into(),
        source: "python".into(),
        ..RunReport::default()
    };
    let submitted = client(&server)
        .submit_junit(ProjectId(1), report, cases.clone())
        .await
        .unwrap();
    assert_eq!(submitted.tests, expected);
    let appended = state.appended.read().unwrap().clone();
    assert_eq!(appended.len(), expected);
    for (test, case) in appended.iter().zip(&cases) {
        assert_eq!(test["name"], case.name.as_str());
        let folder = case
            .classname
            .clone()
            .or(case.suite.clone())
            .unwrap_or_default();
        assert_eq!(test["folder"], folder.as_str());
        let status = test["status"].as_str().unwrap();
        assert!(
            ["passed", "failed", "skipped", "blocked"].contains(&status),
            "{status}"
        );
        if let Some(file) = &case.file {
            assert_eq!(test["file"], file.as_str());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/user"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "60")
                .set_body_json(json!({"message": "Too Many Attempts."})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/user"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture_json("testmo/user.response.json")),
        )
        .mount(&server)
        .await;
    let testmo = Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from(TOKEN))
        .timeout(None)
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let user = testmo.user().await.unwrap();
    assert_eq!(user.name.as_deref(), Some("QA Bot"));
    assert!(
        started.elapsed() >= Duration::from_mins(1),
        "waited as the server asked"
    );
    assert_eq!(testmo.metrics().rate_limited, 1);
}

#[tokio::test]
async fn errors_say_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/user"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(fixture_json("testmo/error-401.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/99"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(fixture_json("testmo/error-404.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/milestones"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "This action is unauthorized."})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/projects/1/automation/runs"))
        .respond_with(
            ResponseTemplate::new(422)
                .set_body_json(fixture_json("testmo/error-422.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": {"id": "two"}})))
        .mount(&server)
        .await;
    let testmo = client(&server);

    let expired = testmo.user().await.unwrap_err();
    assert_eq!(expired.kind(), ErrorKind::Unauthorized);
    assert!(expired.message().contains("expired"), "{expired}");
    assert!(
        expired.message().contains("integrations.testmo.token"),
        "{expired}"
    );

    let unknown = testmo.project(ProjectId(99)).await.unwrap_err();
    assert_eq!(unknown.kind(), ErrorKind::NotFound);
    assert!(unknown.message().contains("project 99"), "{unknown}");
    assert!(
        unknown.message().contains("integrations.testmo.projects"),
        "{unknown}"
    );

    let forbidden = testmo
        .milestones(ProjectId(1))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(forbidden.kind(), ErrorKind::Unauthorized);
    assert!(forbidden.message().contains("permission"), "{forbidden}");

    let invalid = testmo
        .automation()
        .create_run(ProjectId(1), &CreateAutomationRun::default())
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), ErrorKind::InvalidInput);
    assert!(invalid.message().contains("field `name`"), "{invalid}");
    assert!(
        invalid.message().contains("The name field is required."),
        "{invalid}"
    );

    let malformed = testmo.project(ProjectId(2)).await.unwrap_err();
    assert_eq!(malformed.kind(), ErrorKind::Upstream);
    assert!(malformed.message().contains("result.id"), "{malformed}");

    let health = testmo.health().await;
    assert_eq!(health.health, Health::Unauthorized);
}

#[tokio::test]
async fn the_token_never_reaches_logs_or_errors() {
    let capture = Capture::default();
    let _guard = capture.install();
    let server = MockServer::start().await;
    // A hostile server that echoes the token in every answer.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_string(format!(r#"{{"message":"bad token {TOKEN}"}}"#)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(format!(r#"{{"message":"Bearer {TOKEN}"}}"#)),
        )
        .mount(&server)
        .await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(TOKEN));
    let testmo = Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from(TOKEN))
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let errors = [
        testmo.user().await.unwrap_err(),
        testmo
            .submission(ProjectId(1), "run", "src")
            .tests(tests(3, None))
            .send()
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }
    assert!(!format!("{testmo:?}").contains(TOKEN));
    let logs = capture.text();
    assert!(logs.contains("http.call"), "the calls were logged: {logs}");
    assert!(
        !logs.contains(TOKEN),
        "a token leaked into the logs:\n{logs}"
    );
}
