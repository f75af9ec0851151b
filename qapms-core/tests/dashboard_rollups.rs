//! Dashboard rollups on both backends: the facts the writes keep current incrementally equal
//! the facts a rebuild computes from the raw tables, after timers, manual entries,
//! corrections (to a new length and to zero), entries on completed workflows, runs stored
//! whole and imported in batches, and workflow completions.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom as the story it checks"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::dashboard::facts::{FactDim, FactKind, FactQuery, day_of};
use qapms_core::model::{
    ExternalKey, ImportedAttempt, ImportedTest, IssueKey, Role, RunId, TestCase, TestId,
    TestResult, TestRun, TestSource, TestStatus, User, UserId,
};
use qapms_core::store::{Store, SyncBatch, SyncedRun};
use qapms_core::tracking::{ManualEntry, Tracker};
use qapms_core::workflow::{Catalog, Command, Engine, ManualClock};

use common::TestStore;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn key(s: &str) -> IssueKey {
    IssueKey::parse(s).unwrap()
}

async fn user(s: &dyn Store, name: &str) -> UserId {
    let u = User::new(name, Role::Qa);
    s.create_user(&u).await.unwrap();
    u.id
}

fn case(external: &str) -> TestCase {
    TestCase {
        id: TestId::new(),
        source: TestSource::Junit,
        external_id: external.to_owned(),
        title: external.to_owned(),
        folder_path: None,
        tags: Vec::new(),
        ticket_keys: Vec::new(),
    }
}

fn result(run: RunId, test: TestId, attempt: u32, status: TestStatus, ms: u64) -> TestResult {
    TestResult {
        run_id: run,
        test_id: test,
        attempt,
        status,
        duration_ms: Some(ms),
        message: None,
        trace_fingerprint: None,
        cluster_id: None,
    }
}

type Measures = (i64, i64, i64, i64, i64, i64);

/// The team-wide rows (read when no user filter is given) equal the per-user rows summed over
/// users, for every kind, day, project, activity, step and test.
async fn team_rows_sum_the_users(s: &dyn Store) {
    let all = s.dashboard_facts_all().await.unwrap();
    for kind in [FactKind::Time, FactKind::Result, FactKind::Verified] {
        let mut expected: BTreeMap<(i64, String, String, String, String), Measures> =
            BTreeMap::new();
        for f in all.iter().filter(|f| f.kind == kind) {
            let key = (
                f.day,
                f.project.clone(),
                f.activity.clone(),
                f.step.clone(),
                f.test_id.map(|t| t.to_string()).unwrap_or_default(),
            );
            let e = expected.entry(key).or_default();
            e.0 += f.n;
            e.1 += f.passed;
            e.2 += f.failed;
            e.3 += f.amount;
            e.4 += f.estimate;
            e.5 += f.tracked;
        }
        let team = s
            .dashboard_fact_totals(&FactQuery {
                kind,
                from_day: -1_000_000,
                to_day: 1_000_000,
                users: None,
                project: None,
                group_by: vec![
                    FactDim::Day,
                    FactDim::Project,
                    FactDim::Activity,
                    FactDim::Step,
                    FactDim::Test,
                ],
            })
            .await
            .unwrap();
        let got: BTreeMap<(i64, String, String, String, String), Measures> = team
            .into_iter()
            .map(|f| {
                (
                    (
                        f.day,
                        f.project,
                        f.activity,
                        f.step,
                        f.test_id.map(|t| t.to_string()).unwrap_or_default(),
                    ),
                    (f.n, f.passed, f.failed, f.amount, f.estimate, f.tracked),
                )
            })
            .collect();
        assert_eq!(got, expected, "{kind:?}");
    }
}

async fn incremental_facts_equal_a_rebuild(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let bob = user(s, "bob").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let engine = Engine::new(t.store.clone(), Catalog::new(&BTreeMap::new()))
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_hours(10));
    let tracker = Tracker::new(t.store.clone())
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_hours(10));

    // A workflow worked through to completion, with time on two steps.
    let started = engine
        .start("verify_ticket", Some(key("PAY-1")), ada)
        .await
        .unwrap();
    let wf = started.workflow.id;
    let steps = started.workflow.steps.len();
    for _ in 0..steps {
        clock.advance(Duration::minutes(20));
        engine
            .apply(
                &wf,
                None,
                ada,
                &Command::StepDone {
                    step: None,
                    force: true,
                },
            )
            .await
            .unwrap();
    }
    let done = engine.workflow(&wf).await.unwrap();
    if done.state != qapms_core::model::WorkflowState::Completed {
        engine
            .apply(&wf, None, ada, &Command::Complete)
            .await
            .unwrap();
    }
    // A late manual entry on the completed workflow adds to its tracked time.
    let late = tracker
        .add_manual(
            ada,
            &ManualEntry {
                ticket: Some(key("PAY-1")),
                workflow_id: Some(wf),
                step: None,
                started_at: at(-60),
                duration: Duration::minutes(15),
                note: None,
            },
        )
        .await
        .unwrap();
    // Manual entries for bob on another project, one corrected, one corrected to zero.
    let first = tracker
        .add_manual(
            bob,
            &ManualEntry {
                ticket: Some(key("WEB-7")),
                workflow_id: None,
                step: None,
                started_at: at(-24 * 60),
                duration: Duration::minutes(90),
                note: None,
            },
        )
        .await
        .unwrap();
    let gone = tracker
        .add_manual(
            bob,
            &ManualEntry {
                ticket: None,
                workflow_id: None,
                step: None,
                started_at: at(-2 * 24 * 60),
                duration: Duration::minutes(30),
                note: None,
            },
        )
        .await
        .unwrap();
    clock.advance(Duration::minutes(1));
    tracker
        .correct(bob, first.id, at(-23 * 60), Duration::minutes(45), None)
        .await
        .unwrap();
    tracker
        .correct(bob, gone.id, at(-2 * 24 * 60), Duration::zero(), None)
        .await
        .unwrap();
    tracker
        .correct(ada, late.id, at(-50), Duration::minutes(5), None)
        .await
        .unwrap();

    // Runs: one stored whole, one imported; retries count as attempts.
    let login = case("auth::login");
    let pay = case("pay::charge");
    s.upsert_test_cases(&[login.clone(), pay.clone()])
        .await
        .unwrap();
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Junit,
        name: "nightly".into(),
        started_at: at(30),
        finished_at: Some(at(40)),
        environment: None,
        revision: None,
        url: None,
    };
    s.insert_run(
        &run,
        &[
            result(run.id, login.id, 1, TestStatus::Failed, 120),
            result(run.id, login.id, 2, TestStatus::Passed, 100),
            result(run.id, pay.id, 1, TestStatus::Passed, 50),
        ],
    )
    .await
    .unwrap();
    let run2 = TestRun {
        id: RunId::new(),
        started_at: at(24 * 60),
        finished_at: Some(at(24 * 60 + 5)),
        ..run.clone()
    };
    s.insert_run(&run2, &[result(run2.id, pay.id, 1, TestStatus::Error, 10)])
        .await
        .unwrap();
    // A second run on the first run's day adds to the same rows; a skip and an unknown
    // duration count as an attempt with no time.
    let run3 = TestRun {
        id: RunId::new(),
        started_at: at(50),
        finished_at: None,
        ..run.clone()
    };
    s.insert_run(
        &run3,
        &[
            result(run3.id, login.id, 1, TestStatus::UnexpectedPass, 70),
            TestResult {
                duration_ms: None,
                ..result(run3.id, pay.id, 1, TestStatus::Skipped, 0)
            },
        ],
    )
    .await
    .unwrap();

    let incremental = s.dashboard_facts_all().await.unwrap();
    assert!(
        incremental.iter().any(|f| f.kind == FactKind::Time)
            && incremental.iter().any(|f| f.kind == FactKind::Result)
            && incremental.iter().any(|f| f.kind == FactKind::Verified),
        "{incremental:#?}"
    );
    assert!(incremental.iter().all(|f| f.n > 0), "{incremental:#?}");
    team_rows_sum_the_users(s).await;
    let rows = s.rebuild_dashboard_facts().await.unwrap();
    let rebuilt = s.dashboard_facts_all().await.unwrap();
    team_rows_sum_the_users(s).await;
    assert_eq!(rows, rebuilt.len() as u64);
    assert_eq!(incremental, rebuilt);
    // A second rebuild changes nothing.
    s.rebuild_dashboard_facts().await.unwrap();
    assert_eq!(s.dashboard_facts_all().await.unwrap(), rebuilt);

    // The numbers themselves: bob's corrected 45 minutes on WEB, nothing for the zeroed entry.
    let bob_time = s
        .dashboard_fact_totals(&FactQuery {
            kind: FactKind::Time,
            from_day: day_of(at(-10 * 24 * 60)),
            to_day: day_of(at(10 * 24 * 60)),
            users: Some(vec![bob]),
            project: None,
            group_by: vec![FactDim::Project],
        })
        .await
        .unwrap();
    assert_eq!(bob_time.len(), 1, "{bob_time:#?}");
    assert_eq!(bob_time[0].project, "WEB");
    assert_eq!(bob_time[0].n, 1);
    assert_eq!(bob_time[0].amount, 45 * 60);
    // Results per test: login 3 attempts in two runs of one day, pay 3 over two days.
    let by_test = s
        .dashboard_fact_totals(&FactQuery {
            kind: FactKind::Result,
            from_day: day_of(at(0)),
            to_day: day_of(at(0)) + 2,
            users: None,
            project: None,
            group_by: vec![FactDim::Test],
        })
        .await
        .unwrap();
    let login_row = by_test
        .iter()
        .find(|f| f.test_id == Some(login.id))
        .unwrap();
    // An unexpected pass is a failure: the test was expected to fail.
    assert_eq!(
        (
            login_row.n,
            login_row.passed,
            login_row.failed,
            login_row.amount
        ),
        (3, 1, 2, 290)
    );
    let pay_row = by_test.iter().find(|f| f.test_id == Some(pay.id)).unwrap();
    assert_eq!(
        (pay_row.n, pay_row.passed, pay_row.failed, pay_row.amount),
        (3, 1, 1, 60)
    );
    // Results have no user: none is any user's, and grouped by user they fall under none.
    let results = |users: Option<Vec<UserId>>, group_by: Vec<FactDim>| FactQuery {
        kind: FactKind::Result,
        from_day: day_of(at(0)),
        to_day: day_of(at(0)) + 2,
        users,
        project: None,
        group_by,
    };
    assert!(
        s.dashboard_fact_totals(&results(Some(vec![ada]), vec![]))
            .await
            .unwrap()
            .is_empty()
    );
    let by_user = s
        .dashboard_fact_totals(&results(None, vec![FactDim::User]))
        .await
        .unwrap();
    assert_eq!(by_user.len(), 1, "{by_user:?}");
    assert_eq!((by_user[0].user_id, by_user[0].n), (None, 6));
    // The completed workflow: one, with the late entry's corrected 5 minutes in its tracked
    // time on top of the timer's.
    let verified = s
        .dashboard_fact_totals(&FactQuery {
            kind: FactKind::Verified,
            from_day: 0,
            to_day: i64::MAX / 2,
            users: Some(vec![ada]),
            project: Some("PAY".into()),
            group_by: vec![],
        })
        .await
        .unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].n, 1);
    let steps = i64::try_from(steps).unwrap();
    assert_eq!(
        verified[0].tracked,
        steps * 20 * 60 + 5 * 60,
        "{verified:#?}"
    );
    // Nobody in the user filter: nothing, and no error.
    let none = s
        .dashboard_fact_totals(&FactQuery {
            kind: FactKind::Time,
            from_day: 0,
            to_day: i64::MAX / 2,
            users: Some(vec![]),
            project: None,
            group_by: vec![FactDim::Day],
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// A Testmo run as a sync writes it: one test with these attempts.
fn synced(run: &TestRun, statuses: &[TestStatus]) -> SyncBatch {
    SyncBatch {
        integration: "testmo".into(),
        scope: "runs:1".into(),
        runs: vec![SyncedRun {
            run: run.clone(),
            tests: vec![ImportedTest {
                keys: vec![ExternalKey::new(TestSource::Testmo, "case-1")],
                title: "Login".into(),
                folder_path: None,
                ticket_keys: Vec::new(),
                attempts: statuses
                    .iter()
                    .map(|s| ImportedAttempt {
                        status: *s,
                        duration_ms: Some(10),
                        message: None,
                    })
                    .collect(),
            }],
        }],
        ..SyncBatch::default()
    }
}

/// Result totals per day around the runs below.
async fn result_days(s: &dyn Store) -> Vec<(i64, i64, i64, i64)> {
    s.dashboard_fact_totals(&FactQuery {
        kind: FactKind::Result,
        from_day: day_of(at(0)) - 5,
        to_day: day_of(at(0)) + 5,
        users: None,
        project: None,
        group_by: vec![FactDim::Day],
    })
    .await
    .unwrap()
    .into_iter()
    .map(|f| (f.day - day_of(at(0)), f.n, f.passed, f.failed))
    .collect()
}

async fn synced_runs_are_rolled_up_and_replaced(t: &TestStore) {
    let s = t.store.as_ref();
    let mut run = TestRun {
        id: RunId::new(),
        source: TestSource::Testmo,
        name: "regression".into(),
        started_at: at(0),
        finished_at: None,
        environment: None,
        revision: None,
        url: None,
    };
    s.write_sync_batch(&synced(&run, &[TestStatus::Failed, TestStatus::Passed]))
        .await
        .unwrap();
    assert_eq!(result_days(s).await, [(0, 2, 1, 1)]);
    // Synced again, moved two days on and passing at once: the first day's rows go.
    run.started_at = at(2 * 24 * 60);
    s.write_sync_batch(&synced(&run, &[TestStatus::Passed]))
        .await
        .unwrap();
    assert_eq!(result_days(s).await, [(2, 1, 1, 0)]);
    let incremental = s.dashboard_facts_all().await.unwrap();
    s.rebuild_dashboard_facts().await.unwrap();
    assert_eq!(s.dashboard_facts_all().await.unwrap(), incremental);
    team_rows_sum_the_users(s).await;
}

crate::for_each_backend!(
    incremental_facts_equal_a_rebuild,
    synced_runs_are_rolled_up_and_replaced
);
