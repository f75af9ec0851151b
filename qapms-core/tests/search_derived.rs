//! Failure clusters and workflows in the search index, on both backends: a rebuild indexes
//! them, and `catch_up` (which `open` calls, and the long-running front-ends call
//! periodically) re-indexes them after analysis and workflow actions, and only then.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom as the story it checks"
)]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::config::EvidenceKind;
use qapms_core::model::{
    IssueKey, Role, RunId, TestCase, TestId, TestResult, TestRun, TestSource, TestStatus, User,
};
use qapms_core::patterns::{AnalyzeOptions, analyze};
use qapms_core::search::{IndexStatus, SearchIndex, SearchRequest, TYPE_CLUSTER, TYPE_WORKFLOW};
use qapms_core::store::Store;
use qapms_core::workflow::{Catalog, Command, Engine};

use common::TestStore;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::hours(hours)
}

/// One run in which `tests` tests fail with `message`.
async fn failing_run(s: &dyn Store, hour: i64, tests: usize, message: &str) {
    let cases: Vec<TestCase> = (0..tests)
        .map(|i| TestCase {
            id: TestId::new(),
            source: TestSource::Pytest,
            external_id: format!("tests/test_h{hour}.py::test_{i}"),
            title: format!("test {i}"),
            folder_path: None,
            tags: vec![],
            ticket_keys: vec![],
        })
        .collect();
    s.upsert_test_cases(&cases).await.unwrap();
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Pytest,
        name: "nightly".into(),
        started_at: at(hour),
        finished_at: None,
        environment: Some("staging".into()),
        revision: Some(format!("rev{hour}")),
        url: None,
    };
    let results: Vec<TestResult> = cases
        .iter()
        .map(|c| TestResult {
            run_id: run.id,
            test_id: c.id,
            attempt: 1,
            status: TestStatus::Error,
            duration_ms: Some(10),
            message: Some(message.to_owned()),
            trace_fingerprint: None,
            cluster_id: None,
        })
        .collect();
    s.insert_run(&run, &results).await.unwrap();
}

fn keys_of(index: &SearchIndex, query: &str) -> Vec<(String, String)> {
    index
        .search(&SearchRequest::new(query))
        .unwrap()
        .hits
        .into_iter()
        .map(|h| (h.doc_type, h.key))
        .collect()
}

async fn clusters_and_workflows_are_indexed_and_caught_up(t: &TestStore) {
    let s = t.store.as_ref();
    failing_run(
        s,
        0,
        3,
        "ConnectionError: connection refused to ledger-db.internal:5432",
    )
    .await;
    analyze(s, &AnalyzeOptions::default()).await.unwrap();
    let ada = User::new("ada", Role::Qa);
    s.create_user(&ada).await.unwrap();
    let engine = Engine::new(t.store.clone(), Catalog::new(&BTreeMap::new()));
    let ticket = IssueKey::parse("PAY-7").unwrap();
    let started = engine
        .start("verify_ticket", Some(ticket.clone()), ada.id)
        .await
        .unwrap();
    let wf = started.workflow.id;
    engine
        .apply(
            &wf,
            None,
            ada.id,
            &Command::AddEvidence {
                step: None,
                kind: EvidenceKind::Notes,
                value: "refund webhook retried three times before the ledger answered".into(),
            },
        )
        .await
        .unwrap();

    // A new index is built with both kinds.
    let dir = tempfile::tempdir().unwrap();
    let (index, status) = SearchIndex::open(dir.path(), s, &|_| {}).await.unwrap();
    assert!(matches!(status, IndexStatus::Rebuilt { .. }), "{status:?}");
    let clusters = keys_of(&index, "ledger source:cluster");
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0].0, TYPE_CLUSTER);
    let hits = index
        .search(&SearchRequest::new("webhook source:workflow"))
        .unwrap()
        .hits;
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.doc_type, TYPE_WORKFLOW);
    assert_eq!(hit.key, wf.to_string());
    assert_eq!(hit.project.as_deref(), Some("PAY"));
    assert_eq!(hit.links, vec!["PAY-7".to_owned()]);
    assert_eq!(
        hit.url.as_deref(),
        Some(format!("qapms://workflows/{wf}").as_str())
    );
    // Nothing changed since the build: nothing to catch up.
    assert_eq!(index.catch_up(s).await.unwrap(), None);

    // A workflow action and a new kind of failure elsewhere.
    engine
        .apply(
            &wf,
            None,
            ada.id,
            &Command::SkipStep {
                step: None,
                reason: "staging has no SMS gateway".into(),
            },
        )
        .await
        .unwrap();
    failing_run(
        s,
        1,
        2,
        "TimeoutError: inventory-service did not answer in 30 s",
    )
    .await;
    analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert!(keys_of(&index, "gateway source:workflow").is_empty());
    let written = index.catch_up(s).await.unwrap();
    assert!(written.is_some_and(|n| n >= 3), "{written:?}");
    assert_eq!(keys_of(&index, "gateway source:workflow").len(), 1);
    assert_eq!(keys_of(&index, "inventory source:cluster").len(), 1);
    assert_eq!(
        keys_of(&index, "ledger source:cluster").len(),
        1,
        "no duplicates"
    );
    assert_eq!(index.catch_up(s).await.unwrap(), None);

    // Another process's change is caught up when the index is next opened.
    let bob = User::new("bob", Role::Qa);
    s.create_user(&bob).await.unwrap();
    engine
        .start(
            "verify_ticket",
            Some(IssueKey::parse("WEB-3").unwrap()),
            bob.id,
        )
        .await
        .unwrap();
    drop(index);
    let (index, status) = SearchIndex::open(dir.path(), s, &|_| {}).await.unwrap();
    assert!(matches!(status, IndexStatus::Ready { .. }), "{status:?}");
    let web: Vec<_> = index
        .search(&SearchRequest::new("ticket:WEB-3 source:workflow"))
        .unwrap()
        .hits;
    assert_eq!(web.len(), 1, "{web:?}");

    // The ticket's workflows are found by the ticket they link to (as `related` finds them).
    let linked = keys_of(&index, "ticket:PAY-7 source:workflow");
    assert_eq!(linked, vec![(TYPE_WORKFLOW.to_owned(), wf.to_string())]);
}

for_each_backend!(clusters_and_workflows_are_indexed_and_caught_up);
