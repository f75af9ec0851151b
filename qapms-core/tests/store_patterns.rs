//! Pattern analysis and alerts through the store, on `SQLite` and `PostgreSQL`.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::model::{RunId, TestCase, TestId, TestResult, TestRun, TestSource, TestStatus};
use qapms_core::patterns::alerts::{
    AlertAction, AlertDraft, AlertFilter, AlertKind, AlertSeverity, AlertState, RaiseOutcome,
};
use qapms_core::patterns::analyze::OutcomeKind;
use qapms_core::patterns::classify::ClusterLabel;
use qapms_core::patterns::cluster::CLUSTER_KIND;
use qapms_core::patterns::{AnalyzeOptions, analyze};
use qapms_core::store::Store;

use common::TestStore;

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::hours(hours)
}

fn outage(test: &str) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"/ci/tests/{test}.py\", line 9, in {test}\n  \
         File \"/ci/shop/db.py\", line 40, in connect\n\
         ConnectionError: connection refused to db-1.internal:5432"
    )
}

const ASSERTION: &str = "Traceback (most recent call last):\n  File \"/ci/tests/test_cart.py\", \
     line 12, in test_total\nAssertionError: assert 29 == 30";

/// Eight tests in four groups, three runs on three revisions: t0 fails the same way in every
/// run, t1 fails then passes on retry in run 2, t2..t7 hit a database outage in run 3.
async fn history(s: &dyn Store) -> (Vec<TestId>, Vec<RunId>) {
    let tests: Vec<TestCase> = (0..8)
        .map(|i| TestCase {
            id: TestId::new(),
            source: TestSource::Pytest,
            external_id: format!("tests/test_g{}.py::test_{i}", i / 2),
            title: format!("test {i}"),
            folder_path: None,
            tags: vec![],
            ticket_keys: vec![],
        })
        .collect();
    s.upsert_test_cases(&tests).await.unwrap();
    let ids: Vec<TestId> = tests.iter().map(|t| t.id).collect();
    let mut runs = Vec::new();
    for r in 0..3 {
        let run = TestRun {
            id: RunId::new(),
            source: TestSource::Pytest,
            name: "nightly".into(),
            started_at: at(r),
            finished_at: None,
            environment: Some("staging".into()),
            revision: Some(format!("rev{r}")),
            url: None,
        };
        let mut results = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let result = |attempt, status, message: Option<String>| TestResult {
                run_id: run.id,
                test_id: *id,
                attempt,
                status,
                duration_ms: Some(10),
                message,
                trace_fingerprint: None,
                cluster_id: None,
            };
            if i == 0 {
                results.push(result(1, TestStatus::Failed, Some(ASSERTION.into())));
            } else if i == 1 && r == 1 {
                let m = "TimeoutError: request to /api/x timed out after 5003 ms";
                results.push(result(1, TestStatus::Failed, Some(m.into())));
                results.push(result(2, TestStatus::Passed, None));
            } else if i >= 2 && r == 2 {
                results.push(result(
                    1,
                    TestStatus::Error,
                    Some(outage(&format!("test_{i}"))),
                ));
            } else {
                results.push(result(1, TestStatus::Passed, None));
            }
        }
        s.insert_run(&run, &results).await.unwrap();
        runs.push(run.id);
    }
    (ids, runs)
}

async fn analysis_clusters_classifies_and_persists(t: &TestStore) {
    let s = t.store.as_ref();
    let (ids, runs) = history(s).await;
    let first = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert_eq!(first.failures, 3 + 1 + 6);
    assert_eq!(first.clusters.len(), 3);
    assert_eq!(first.focus_run, Some(runs[2]));
    let outage = &first.clusters[0];
    assert_eq!(outage.tests, 6);
    assert!(outage.new_in_run);
    assert_eq!(outage.classification.label, ClusterLabel::Systemic);
    assert_eq!(outage.classification.evidence.groups_in_run, 3);
    let recurring = first
        .clusters
        .iter()
        .find(|c| c.tests == 1 && c.runs == 3)
        .unwrap();
    assert_eq!(
        recurring.classification.label,
        ClusterLabel::RecurringDefect
    );
    let flaky = first.clusters.iter().find(|c| !c.in_run).unwrap();
    assert_eq!(flaky.classification.label, ClusterLabel::Flaky);
    assert_eq!(first.reassigned, 10);

    // Snapshot of the detected pattern, without the ids that differ per store.
    let mut json = serde_json::to_value(outage).unwrap();
    let c = json["classification"].take();
    let snapshot = serde_json::json!({
        "template": json["template"],
        "exception": json["exception"],
        "frames": json["frames"],
        "failures": json["failures"],
        "tests": json["tests"],
        "runs": json["runs"],
        "environments": json["environments"],
        "newInRun": json["newInRun"],
        "label": c["label"],
        "reason": c["reason"],
        "testsInRun": c["evidence"]["testsInRun"],
        "groupsInRun": c["evidence"]["groupsInRun"],
        "runsSeen": c["evidence"]["runsSeen"],
    });
    assert_eq!(
        snapshot,
        serde_json::json!({
            "template": "ConnectionError: connection refused to db-1.internal:<*>",
            "exception": "ConnectionError",
            "frames": [{"language": "python", "key": "db:connect", "own": true}],
            "failures": 6,
            "tests": 6,
            "runs": 1,
            "environments": ["staging"],
            "newInRun": true,
            "label": "systemic",
            "reason": "6 tests in 3 unrelated groups failed the same way within 60 minutes",
            "testsInRun": 6,
            "groupsInRun": 3,
            "runsSeen": 1,
        })
    );

    // Assignments are stored on the results, and the cluster rows exist.
    let results = s.results_for_run(&runs[2]).await.unwrap();
    let hit = results.iter().find(|r| r.test_id == ids[3]).unwrap();
    assert_eq!(hit.cluster_id, Some(outage.id));
    assert!(hit.trace_fingerprint.is_some());
    let stored = s.patterns_of_kind(CLUSTER_KIND).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert!(
        stored
            .iter()
            .any(|p| p.fingerprint == outage.shape.key.to_string())
    );

    // Alerts: the new outage cluster and its systemic failure.
    let open = s.list_alerts(&AlertFilter::open()).await.unwrap();
    let kinds: Vec<AlertKind> = open.items.iter().map(|a| a.kind).collect();
    assert!(kinds.contains(&AlertKind::NewCluster));
    assert!(kinds.contains(&AlertKind::SystemicFailure));

    // A second recompute changes nothing and dedups every alert.
    let again = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert_eq!(again.reassigned, 0);
    assert!(
        again
            .raised
            .iter()
            .all(|(_, o)| *o == RaiseOutcome::Updated)
    );
    let reopened = s.list_alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(reopened.total_items, open.total_items);
    assert!(reopened.items.iter().all(|a| a.occurrences == 1));
}

fn draft(fingerprint: &str, seen: DateTime<Utc>) -> AlertDraft {
    AlertDraft {
        kind: AlertKind::FlakyTest,
        fingerprint: fingerprint.into(),
        pattern_id: None,
        title: format!("flaky {fingerprint}"),
        severity: AlertSeverity::Low,
        seen_at: seen,
        evidence: serde_json::json!({"n": 1}),
    }
}

async fn alerts_dedup_transition_and_reopen(t: &TestStore) {
    let s = t.store.as_ref();
    let raised = s
        .raise_alerts(&[draft("a", at(0)), draft("b", at(0))])
        .await
        .unwrap();
    assert!(raised.iter().all(|(_, o)| *o == RaiseOutcome::Created));
    let id = raised[0].0;
    let again = s.raise_alerts(&[draft("a", at(1))]).await.unwrap();
    assert_eq!(again, vec![(id, RaiseOutcome::Updated)]);
    let alert = s.alert(&id).await.unwrap();
    assert_eq!((alert.occurrences, alert.last_seen), (2, at(1)));

    let acked = s
        .update_alert(&id, AlertAction::Acknowledge, None)
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert!(acked.acknowledged_at.is_some());
    let err = s
        .update_alert(&id, AlertAction::Acknowledge, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("possible: resolve, mute"), "{err}");
    s.update_alert(&id, AlertAction::Resolve, None)
        .await
        .unwrap();
    let back = s.raise_alerts(&[draft("a", at(2))]).await.unwrap();
    assert_eq!(back[0].1, RaiseOutcome::Reopened);
    assert_eq!(s.alert(&id).await.unwrap().state, AlertState::New);

    s.update_alert(&id, AlertAction::Mute { until: None }, None)
        .await
        .unwrap();
    let quiet = s.raise_alerts(&[draft("a", at(3))]).await.unwrap();
    assert_eq!(quiet[0].1, RaiseOutcome::Muted);

    let open = s.list_alerts(&AlertFilter::open()).await.unwrap();
    assert_eq!(open.total_items, 1);
    let muted = AlertFilter {
        states: vec![AlertState::Muted],
        ..AlertFilter::default()
    };
    assert_eq!(s.list_alerts(&muted).await.unwrap().items[0].id, id);
    let page = AlertFilter {
        page: qapms_core::model::PageRequest::new(2, 1),
        ..AlertFilter::default()
    };
    let second = s.list_alerts(&page).await.unwrap();
    assert_eq!((second.total_items, second.items.len()), (2, 1));
    let missing = s
        .update_alert(
            &qapms_core::patterns::alerts::AlertId::new(),
            AlertAction::Resolve,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

/// One passing run of every test, `hours` after the first run.
async fn clean_run(s: &dyn Store, ids: &[TestId], hours: i64) -> RunId {
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Pytest,
        name: "nightly".into(),
        started_at: at(hours),
        finished_at: None,
        environment: Some("staging".into()),
        revision: Some(format!("rev{hours}")),
        url: None,
    };
    let results: Vec<TestResult> = ids
        .iter()
        .map(|id| TestResult {
            run_id: run.id,
            test_id: *id,
            attempt: 1,
            status: TestStatus::Passed,
            duration_ms: Some(10),
            message: None,
            trace_fingerprint: None,
            cluster_id: None,
        })
        .collect();
    s.insert_run(&run, &results).await.unwrap();
    run.id
}

async fn histories_are_aggregated_per_test(t: &TestStore) {
    let s = t.store.as_ref();
    let (ids, runs) = history(s).await;
    let mut seen = Vec::new();
    let total = s
        .scan_test_histories(&mut |h| {
            seen.push(h);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(total, 8 * 3 + 1);
    assert_eq!(seen.len(), 8);
    let t1 = seen.iter().find(|h| h.test_id == ids[1]).unwrap();
    let mut attempts: Vec<_> = t1
        .attempts
        .iter()
        .map(|a| {
            (
                runs.iter().position(|r| *r == a.run_id).unwrap(),
                a.attempt,
                a.outcome,
            )
        })
        .collect();
    attempts.sort_by_key(|a| (a.0, a.1));
    assert_eq!(
        attempts,
        vec![
            (0, 1, OutcomeKind::Pass),
            (1, 1, OutcomeKind::Fail),
            (1, 2, OutcomeKind::Pass),
            (2, 1, OutcomeKind::Pass),
        ]
    );
    assert!(t1.attempts.iter().all(|a| a.duration_ms == Some(10)));
    let t3 = seen.iter().find(|h| h.test_id == ids[3]).unwrap();
    assert_eq!(
        t3.attempts
            .iter()
            .filter(|a| a.outcome == OutcomeKind::Error)
            .count(),
        1
    );
    // An error from the visitor stops the scan and comes back.
    let err = s
        .scan_test_histories(&mut |_| Err(qapms_core::Error::invalid_input("stop")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

async fn alerts_resolve_themselves_when_the_condition_clears(t: &TestStore) {
    let s = t.store.as_ref();
    let (ids, _) = history(s).await;
    let first = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    let outage = first.clusters[0].shape.key.to_string();
    assert!(first.cleared.is_empty());
    let find = |alerts: &[qapms_core::patterns::alerts::Alert], kind| {
        alerts
            .iter()
            .find(|a| a.kind == kind && a.fingerprint == outage)
            .cloned()
            .unwrap()
    };
    let all = s.list_alerts(&AlertFilter::default()).await.unwrap().items;
    let systemic = find(&all, AlertKind::SystemicFailure);
    let new_cluster = find(&all, AlertKind::NewCluster);

    // The next run is clean: the outage is no longer systemic, but its new-cluster alert waits
    // for `resolve_after_runs` quiet runs.
    clean_run(s, &ids, 3).await;
    let second = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert!(second.cleared.iter().any(|c| c.id == systemic.id));
    assert!(!second.cleared.iter().any(|c| c.id == new_cluster.id));
    let resolved = s.alert(&systemic.id).await.unwrap();
    assert_eq!(resolved.state, AlertState::Resolved);
    assert!(
        resolved.evidence["autoResolved"]["reason"]
            .as_str()
            .unwrap()
            .contains("not systemic"),
        "{}",
        resolved.evidence
    );
    assert_eq!(
        s.alert(&new_cluster.id).await.unwrap().state,
        AlertState::New
    );

    // Read-only and auto-resolve-off analyses clear nothing.
    let report = AnalyzeOptions {
        persist: false,
        resolve_after_runs: 1,
        ..AnalyzeOptions::default()
    };
    assert!(analyze(s, &report).await.unwrap().cleared.is_empty());
    let off = AnalyzeOptions {
        auto_resolve: false,
        resolve_after_runs: 1,
        ..AnalyzeOptions::default()
    };
    assert!(analyze(s, &off).await.unwrap().cleared.is_empty());
    assert_eq!(
        s.alert(&new_cluster.id).await.unwrap().state,
        AlertState::New
    );

    // After one quiet run, with `resolve_after_runs: 1` the
    // new-cluster alert resolves.
    let fast = AnalyzeOptions {
        resolve_after_runs: 1,
        ..AnalyzeOptions::default()
    };
    let third = analyze(s, &fast).await.unwrap();
    assert!(third.cleared.iter().any(|c| c.id == new_cluster.id));
    assert_eq!(
        s.alert(&new_cluster.id).await.unwrap().state,
        AlertState::Resolved
    );
}

async fn duration_anomalies_become_alerts(t: &TestStore) {
    let s = t.store.as_ref();
    let test = TestCase {
        id: TestId::new(),
        source: TestSource::Pytest,
        external_id: "tests/test_slow.py::test_checkout".into(),
        title: "checkout".into(),
        folder_path: None,
        tags: vec![],
        ticket_keys: vec![],
    };
    s.upsert_test_cases(std::slice::from_ref(&test))
        .await
        .unwrap();
    let mut last = None;
    for r in 0..40 {
        let run = TestRun {
            id: RunId::new(),
            source: TestSource::Pytest,
            name: "nightly".into(),
            started_at: at(r),
            finished_at: None,
            environment: None,
            revision: None,
            url: None,
        };
        let duration = if r == 39 { 9_000 } else { 100 + (r * 7) % 13 };
        let result = TestResult {
            run_id: run.id,
            test_id: test.id,
            attempt: 1,
            status: TestStatus::Passed,
            duration_ms: Some(u64::try_from(duration).unwrap()),
            message: None,
            trace_fingerprint: None,
            cluster_id: None,
        };
        s.insert_run(&run, &[result]).await.unwrap();
        last = Some(run.id);
    }
    let analysis = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert_eq!(
        analysis.duration_anomalies.len(),
        1,
        "{:?}",
        analysis.duration_anomalies
    );
    let a = &analysis.duration_anomalies[0];
    assert_eq!(
        (a.test_id, a.run_id, a.duration_ms),
        (test.id, last.unwrap(), 9_000)
    );
    assert!(a.expected_ms < 200.0);
    let fingerprint = format!("duration:{}", test.id);
    let open = s.list_alerts(&AlertFilter::open()).await.unwrap().items;
    let alert = open.iter().find(|x| x.fingerprint == fingerprint).unwrap();
    assert_eq!(alert.kind, AlertKind::Anomaly);
    assert!(alert.title.contains("test_checkout"), "{}", alert.title);

    // Back to normal in the next run: the alert resolves itself.
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Pytest,
        name: "nightly".into(),
        started_at: at(40),
        finished_at: None,
        environment: None,
        revision: None,
        url: None,
    };
    let result = TestResult {
        run_id: run.id,
        test_id: test.id,
        attempt: 1,
        status: TestStatus::Passed,
        duration_ms: Some(104),
        message: None,
        trace_fingerprint: None,
        cluster_id: None,
    };
    s.insert_run(&run, &[result]).await.unwrap();
    let next = analyze(s, &AnalyzeOptions::default()).await.unwrap();
    assert!(next.duration_anomalies.is_empty());
    assert!(next.cleared.iter().any(|c| c.fingerprint == fingerprint));
    assert_eq!(
        s.alert(&alert.id).await.unwrap().state,
        AlertState::Resolved
    );
}

for_each_backend!(
    analysis_clusters_classifies_and_persists,
    alerts_dedup_transition_and_reopen,
    histories_are_aggregated_per_test,
    alerts_resolve_themselves_when_the_condition_clears,
    duration_anomalies_become_alerts,
);
