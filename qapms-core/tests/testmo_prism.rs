//! The Testmo client against a Prism mock started from the derived contract: Prism rejects
//! any request that breaks it (path, query values such as `per_page`, body, auth), so every
//! call being answered 2xx shows the requests the client builds are ones the contract allows.
//!
//! Only acceptance is checked: Prism invents response bodies from the schemas, which need not
//! make sense together (a `next_page` of 0, say), so an error that carries no HTTP status
//! (the answer was 2xx, its content odd) counts as accepted. Response shapes are checked in
//! `testmo_contract.rs`. Without Prism or the contracts the test says so and passes.

#![cfg(feature = "testmo")]

#[path = "support/mod.rs"]
mod support;

use futures::StreamExt as _;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::testmo::Testmo;
use qapms_core::integrations::testmo::models::{
    AutomationField, AutomationRunId, CreateAutomationRun, CreateThread, ProjectId, RunId, ThreadId,
};
use qapms_core::integrations::{ReportedTest, RunReport};
use qapms_core::model::TestStatus;
use secrecy::SecretString;
use support::accepted;

async fn first<T: std::fmt::Debug>(
    call: &str,
    mut stream: futures::stream::BoxStream<'static, qapms_core::Result<T>>,
) {
    if let Some(item) = stream.next().await {
        accepted(call, item);
    }
}

#[tokio::test]
async fn prism_accepts_every_request_the_client_makes() {
    let (Some(prism), Some(spec)) = (
        support::find_prism(),
        support::spec_path("testmo/testmo-api-v1.derived.yaml"),
    ) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = support::start_prism(&prism, &spec).await;
    let testmo = Testmo::builder(mock.url.clone())
        .token(SecretString::from("prism-token"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    accepted("user", testmo.user().await);
    accepted("project", testmo.project(ProjectId(1)).await);
    first("projects", testmo.projects()).await;
    first("milestones", testmo.milestones(ProjectId(1))).await;
    first("runs", testmo.runs(ProjectId(1)).closed(true).stream()).await;
    first("run_results", testmo.run_results(RunId(5))).await;
    first(
        "cases",
        testmo.cases().list(ProjectId(1)).automated(false).stream(),
    )
    .await;
    first("folders", testmo.cases().folders(ProjectId(1))).await;
    first("automation.runs", testmo.automation().runs(ProjectId(1))).await;
    let automation = testmo.automation();
    let run = CreateAutomationRun {
        name: "CI".into(),
        source: "unit".into(),
        config: Some("linux".into()),
        milestone: Some("R1".into()),
        tags: vec!["nightly".into()],
        fields: vec![AutomationField::string("Commit", "abc")],
        links: Vec::new(),
    };
    accepted(
        "create_run",
        automation.create_run(ProjectId(1), &run).await,
    );
    accepted(
        "create_thread",
        automation
            .create_thread(AutomationRunId(3), &CreateThread::default())
            .await,
    );
    accepted(
        "append_run",
        automation
            .append_run(
                AutomationRunId(3),
                vec![AutomationField::console("Log", "x")],
            )
            .await,
    );
    accepted(
        "complete_thread",
        automation.complete_thread(ThreadId(4), Some(10)).await,
    );
    accepted(
        "complete_run",
        automation.complete_run(AutomationRunId(3)).await,
    );
    // The whole flow: ids come from Prism's generated answers.
    let report = RunReport {
        name: "CI".into(),
        source: "unit".into(),
        tests: vec![ReportedTest {
            name: "t".into(),
            folder: "f".into(),
            status: TestStatus::Failed,
            duration_ms: Some(5),
            message: Some("boom".into()),
            file: Some("t.py".into()),
            line: Some(3),
        }],
        ..RunReport::default()
    };
    accepted(
        "submit_junit",
        testmo.submit_junit(ProjectId(1), report, Vec::new()).await,
    );
}
