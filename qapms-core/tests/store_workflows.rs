//! Workflows and time tracking against both store backends: the engine's transitions, their
//! log, optimistic versioning, timers and idle time, manual entries and corrections, history,
//! estimate accuracy and runs attached to the active step.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom as the story it checks"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::config::EvidenceKind;
use qapms_core::model::{
    IssueKey, Role, RunId, StepState, TestRun, TestSource, TimeHistoryFilter, TimeSource,
    TimerChange, TrackingWrite, User, UserId, WorkflowFilter, WorkflowState, WorkflowWrite,
};
use qapms_core::store::Store;
use qapms_core::tracking::{self, ManualEntry, Tracker};
use qapms_core::workflow::{Catalog, Command, Engine, ItemRef, ManualClock, StepRef};

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

fn engine(t: &TestStore, clock: &Arc<ManualClock>) -> Engine {
    Engine::new(t.store.clone(), Catalog::new(&BTreeMap::new()))
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_mins(15))
}

fn tracker(t: &TestStore, clock: &Arc<ManualClock>) -> Tracker {
    Tracker::new(t.store.clone())
        .with_clock(clock.clone())
        .with_idle_gap(std::time::Duration::from_mins(15))
}

fn kind<T: std::fmt::Debug>(r: qapms_core::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

async fn tick_all(e: &Engine, id: &qapms_core::model::WorkflowId, ada: UserId) {
    let w = e.workflow(id).await.unwrap();
    let active = w.active_step().unwrap();
    for n in 1..=u32::try_from(active.checklist.len()).unwrap() {
        e.apply(
            id,
            None,
            ada,
            &Command::Tick {
                step: None,
                item: ItemRef::Number(n),
                done: true,
            },
        )
        .await
        .unwrap();
    }
}

// ---- The lifecycle ----------------------------------------------------------------------------

async fn a_workflow_runs_from_start_to_completion(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);

    let started = e
        .start("verify_ticket", Some(key("PAY-1")), ada)
        .await
        .unwrap();
    let id = started.workflow.id;
    assert_eq!(started.workflow.state, WorkflowState::InProgress);
    assert_eq!(
        started.workflow.version, 3,
        "created, started, first step started"
    );
    assert_eq!(started.workflow.steps[0].state, StepState::Active);
    let timer = s.timer(&ada).await.unwrap().unwrap();
    assert_eq!(timer.step.as_deref(), Some("understand"));
    assert_eq!(timer.ticket, Some(key("PAY-1")));

    // Done with unticked items is refused, and names them.
    clock.advance(Duration::minutes(10));
    let err = e
        .apply(
            &id,
            None,
            ada,
            &Command::StepDone {
                step: None,
                force: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("Acceptance criteria"), "{err}");
    tick_all(&e, &id, ada).await;
    e.apply(
        &id,
        None,
        ada,
        &Command::AddEvidence {
            step: None,
            kind: EvidenceKind::Notes,
            value: "criteria read".to_owned(),
        },
    )
    .await
    .unwrap();
    clock.advance(Duration::minutes(2));
    let done = e
        .apply(
            &id,
            None,
            ada,
            &Command::StepDone {
                step: None,
                force: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.entries_written, 1);
    let w = done.workflow;
    assert_eq!(w.steps[0].state, StepState::Done);
    assert_eq!(w.steps[1].state, StepState::Active);
    assert_eq!(w.steps[0].evidence[0].value, "criteria read");
    assert!(
        w.steps[0]
            .checklist
            .iter()
            .all(|i| i.done && i.done_by == Some(ada))
    );
    assert_eq!(
        s.timer(&ada).await.unwrap().unwrap().step.as_deref(),
        Some("test")
    );

    // Pause stops the timer; a paused workflow takes no step transitions; resume restarts.
    clock.advance(Duration::minutes(5));
    e.apply(&id, None, ada, &Command::Pause).await.unwrap();
    assert!(s.timer(&ada).await.unwrap().is_none());
    let err = e
        .apply(
            &id,
            None,
            ada,
            &Command::StepDone {
                step: None,
                force: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("paused"), "{err}");
    let err = e.apply(&id, None, ada, &Command::Pause).await.unwrap_err();
    assert!(err.to_string().contains("pause"), "{err}");
    clock.advance(Duration::minutes(30));
    e.apply(&id, None, ada, &Command::Resume).await.unwrap();
    assert_eq!(s.timer(&ada).await.unwrap().unwrap().started_at, at(47));

    // Block needs a reason; unblocking is starting the step again.
    assert_eq!(
        kind(
            e.apply(
                &id,
                None,
                ada,
                &Command::BlockStep {
                    step: None,
                    reason: " ".into()
                }
            )
            .await
        ),
        ErrorKind::InvalidInput
    );
    clock.advance(Duration::minutes(3));
    let blocked = e
        .apply(
            &id,
            None,
            ada,
            &Command::BlockStep {
                step: None,
                reason: "env down".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(blocked.workflow.steps[1].state, StepState::Blocked);
    assert_eq!(
        blocked.workflow.steps[1].reason.as_deref(),
        Some("env down")
    );
    assert_eq!(blocked.workflow.steps[2].state, StepState::Active);
    let err = e
        .apply(&id, None, ada, &Command::Complete)
        .await
        .unwrap_err();
    assert!(err.message().contains("still open"), "{err}");
    e.apply(
        &id,
        None,
        ada,
        &Command::StartStep {
            step: StepRef::Name("test".into()),
        },
    )
    .await
    .unwrap();
    let w = e.workflow(&id).await.unwrap();
    assert_eq!(w.steps[2].state, StepState::Pending);
    clock.advance(Duration::minutes(10));
    tick_all(&e, &id, ada).await;
    e.apply(
        &id,
        None,
        ada,
        &Command::StepDone {
            step: None,
            force: false,
        },
    )
    .await
    .unwrap();
    e.apply(
        &id,
        None,
        ada,
        &Command::SkipStep {
            step: Some(StepRef::Number(3)),
            reason: "reported in standup".into(),
        },
    )
    .await
    .unwrap();
    let completed = e.apply(&id, None, ada, &Command::Complete).await.unwrap();
    assert_eq!(completed.workflow.state, WorkflowState::Completed);
    assert!(s.timer(&ada).await.unwrap().is_none());
    assert_eq!(
        kind(e.apply(&id, None, ada, &Command::Resume).await),
        ErrorKind::InvalidInput
    );

    // The log: one event per version, in order, each with its actor and time.
    let events = s.workflow_events(&id).await.unwrap();
    let versions: Vec<u32> = events.iter().map(|e| e.version).collect();
    assert_eq!(
        versions,
        (1..=completed.workflow.version).collect::<Vec<_>>()
    );
    assert!(events.iter().all(|e| e.actor == ada));
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for k in [
        "created",
        "started",
        "step_done",
        "paused",
        "resumed",
        "step_blocked",
        "step_skipped",
        "completed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let skipped = events.iter().find(|e| e.kind == "step_skipped").unwrap();
    assert_eq!(skipped.detail["reason"], "reported in standup");

    // Time: every minute the timer ran, by step, with nothing counted twice.
    let history = s
        .time_history(&TimeHistoryFilter {
            user_id: Some(ada),
            ..TimeHistoryFilter::default()
        })
        .await
        .unwrap();
    let report = tracking::time_report(&history);
    // understand 0..12, test 12..17 and 47..50, report 50..50 (zero, dropped), test 50..60.
    assert_eq!(report.total_seconds, (12 + 5 + 3 + 10) * 60);
    let by_step: BTreeMap<&str, u64> = report
        .by_step
        .iter()
        .map(|r| (r.key.as_str(), r.seconds))
        .collect();
    assert_eq!(by_step["verify_ticket/understand"], 12 * 60);
    assert_eq!(by_step["verify_ticket/test"], 18 * 60);
    assert!(
        history
            .iter()
            .all(|h| h.template.as_deref() == Some("verify_ticket"))
    );
}

async fn a_stale_writer_gets_a_conflict_and_changes_nothing(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let bob = user(s, "bob").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    let w = e
        .start("exploratory_session", None, ada)
        .await
        .unwrap()
        .workflow;
    assert_eq!(w.time_box_secs, Some(90 * 60));
    let seen = w.version;

    // Bob acts first; his action is logged as his and does not touch anyone's timer.
    let bobs = e
        .apply(
            &w.id,
            Some(seen),
            bob,
            &Command::AddEvidence {
                step: None,
                kind: EvidenceKind::Links,
                value: "https://wiki/charter".into(),
            },
        )
        .await
        .unwrap();
    assert!(s.timer(&bob).await.unwrap().is_none());
    assert_eq!(
        s.workflow_events(&w.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .actor,
        bob
    );

    // Ada acts from the view she loaded before: a conflict, and nothing of hers is stored.
    let err = e
        .apply(&w.id, Some(seen), ada, &Command::Pause)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    // A write computed from the old snapshot is refused by the store itself too.
    let mut stale = w.clone();
    stale.version = seen + 1;
    stale.state = WorkflowState::Paused;
    let mut event = s.workflow_events(&w.id).await.unwrap()[0].clone();
    event.version = seen + 1;
    let write = WorkflowWrite {
        workflow: stale,
        expected_version: Some(seen),
        changed_steps: vec![],
        events: vec![event],
        tracking: TrackingWrite {
            timer: TimerChange::Replace {
                user_id: ada,
                expected: s.timer(&ada).await.unwrap().map(|t| t.id),
                timer: None,
            },
            ..TrackingWrite::default()
        },
    };
    assert_eq!(kind(s.write_workflow(&write).await), ErrorKind::Conflict);
    let now = e.workflow(&w.id).await.unwrap();
    assert_eq!(now, bobs.workflow);
    assert!(
        s.timer(&ada).await.unwrap().is_some(),
        "the rolled-back write kept the timer"
    );
    assert_eq!(
        s.workflow_events(&w.id).await.unwrap().len(),
        usize::try_from(now.version).unwrap()
    );
    // Unknown workflow.
    assert_eq!(
        kind(
            e.apply(
                &qapms_core::model::WorkflowId::new(),
                None,
                ada,
                &Command::Pause
            )
            .await
        ),
        ErrorKind::NotFound
    );
    // An unknown template names the closest one.
    let err = e.start("verify_tiket", None, ada).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("verify_ticket"), "{err}");
}

async fn concurrent_transitions_serialise(t: &TestStore) {
    let s = t.store.clone();
    let ada = user(s.as_ref(), "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    let w = e
        .start("release_smoke_test", None, ada)
        .await
        .unwrap()
        .workflow;
    let mut tasks = Vec::new();
    for i in 0..8u32 {
        let e = e.clone();
        let id = w.id;
        tasks.push(tokio::spawn(async move {
            e.apply(
                &id,
                Some(w.version),
                ada,
                &Command::AddEvidence {
                    step: None,
                    kind: EvidenceKind::Notes,
                    value: format!("note {i}"),
                },
            )
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(err) => assert_eq!(err.kind(), ErrorKind::Conflict, "{err}"),
        }
    }
    assert_eq!(ok, 1, "exactly one writer wins from the same version");
    let now = s.workflow(&w.id).await.unwrap();
    assert_eq!(now.version, w.version + 1);
    assert_eq!(now.steps[0].evidence.len(), 1);
}

// ---- Time tracking ----------------------------------------------------------------------------

async fn idle_time_is_set_aside_and_can_be_kept(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    let id = e
        .start("reproduce_bug", Some(key("BUG-4")), ada)
        .await
        .unwrap()
        .workflow
        .id;
    clock.advance(Duration::minutes(10));
    tick_all(&e, &id, ada).await; // activity at 10
    clock.advance(Duration::minutes(50)); // 50 minutes away
    let out = e
        .apply(
            &id,
            None,
            ada,
            &Command::StepDone {
                step: None,
                force: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(out.idle.len(), 1);
    assert_eq!(
        (out.idle[0].started_at, out.idle[0].ended_at),
        (at(10), at(60))
    );
    let tr = tracker(t, &clock);
    let idle = tr.unkept_idle(ada).await.unwrap();
    assert_eq!(idle.len(), 1);
    let history = s.time_history(&TimeHistoryFilter::default()).await.unwrap();
    assert_eq!(tracking::time_report(&history).total_seconds, 10 * 60);
    let kept = tr.keep_idle(ada, idle[0].id).await.unwrap();
    assert_eq!((kept.started_at, kept.ended_at), (at(10), at(60)));
    assert_eq!(
        kind(tr.keep_idle(ada, idle[0].id).await),
        ErrorKind::Conflict
    );
    assert!(tr.unkept_idle(ada).await.unwrap().is_empty());
    let history = s.time_history(&TimeHistoryFilter::default()).await.unwrap();
    assert_eq!(tracking::time_report(&history).total_seconds, 60 * 60);
}

async fn timers_manual_entries_and_corrections(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let tr = tracker(t, &clock);
    let e = engine(t, &clock);

    let timer = tr.start(ada, Some(key("PAY-2"))).await.unwrap();
    assert_eq!(tr.status(ada).await.unwrap().unwrap().id, timer.id);
    // One timer per user, enforced by the store.
    let second = qapms_core::tracking::timer::new_timer(
        ada,
        &tracking::Target {
            ticket: None,
            workflow_id: None,
            step: None,
        },
        at(1),
    );
    let write = TrackingWrite {
        timer: TimerChange::Replace {
            user_id: ada,
            expected: None,
            timer: Some(second),
        },
        ..TrackingWrite::default()
    };
    assert_eq!(kind(s.write_tracking(&write).await), ErrorKind::Conflict);
    // Starting a workflow stops the ticket timer, in the same write.
    clock.advance(Duration::minutes(7));
    e.start("regression_pass", Some(key("PAY-3")), ada)
        .await
        .unwrap();
    let entries = s.time_history(&TimeHistoryFilter::default()).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry.ticket, Some(key("PAY-2")));
    assert_eq!(entries[0].entry.ended_at, at(7));
    clock.advance(Duration::minutes(3));
    let stopped = tr.stop(ada).await.unwrap();
    assert_eq!(stopped.entry.unwrap().step.as_deref(), Some("prepare"));
    assert_eq!(kind(tr.stop(ada).await), ErrorKind::NotFound);

    // Manual entries, backdated; the future is refused.
    let manual = tr
        .add_manual(
            ada,
            &ManualEntry {
                ticket: Some(key("PAY-2")),
                workflow_id: None,
                step: None,
                started_at: at(-24 * 60),
                duration: Duration::minutes(45),
                note: Some("pairing".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(manual.source, TimeSource::Manual);
    assert_eq!(
        kind(
            tr.add_manual(
                ada,
                &ManualEntry {
                    ticket: None,
                    workflow_id: None,
                    step: None,
                    started_at: at(60),
                    duration: Duration::minutes(5),
                    note: None,
                },
            )
            .await
        ),
        ErrorKind::InvalidInput
    );
    // A correction replaces the entry; correcting the replaced one again is a conflict.
    let fixed = tr
        .correct(ada, manual.id, at(-24 * 60), Duration::minutes(30), None)
        .await
        .unwrap();
    assert_eq!(fixed.corrects, Some(manual.id));
    assert_eq!(fixed.note.as_deref(), Some("pairing"));
    assert_eq!(
        kind(
            tr.correct(ada, manual.id, at(-24 * 60), Duration::minutes(1), None)
                .await
        ),
        ErrorKind::Conflict
    );
    let history = s
        .time_history(&TimeHistoryFilter {
            ticket: Some(key("PAY-2")),
            ..TimeHistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "corrections add entries; nothing is lost");
    let report = tracking::time_report(&history);
    assert_eq!(report.total_seconds, (7 + 30) * 60);
    assert_eq!(report.corrected, 1);
    // History by template, step and period.
    let by_template = s
        .time_history(&TimeHistoryFilter {
            template: Some("regression_pass".into()),
            step: Some("prepare".into()),
            from: Some(at(0)),
            to: Some(at(60)),
            ..TimeHistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_template.len(), 1);
    let yesterday = s
        .time_history(&TimeHistoryFilter {
            from: Some(at(-48 * 60)),
            to: Some(at(0)),
            ..TimeHistoryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(yesterday.len(), 2);
}

async fn estimate_accuracy_compares_done_steps(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    // Both under the 15-minute idle gap, so all of it counts.
    for minutes in [10, 12] {
        let id = e
            .start("verify_ticket", None, ada)
            .await
            .unwrap()
            .workflow
            .id;
        clock.advance(Duration::minutes(minutes));
        e.apply(
            &id,
            None,
            ada,
            &Command::StepDone {
                step: None,
                force: true,
            },
        )
        .await
        .unwrap();
        e.apply(&id, None, ada, &Command::Abandon { reason: None })
            .await
            .unwrap();
    }
    let estimates = s.step_estimates(Some("verify_ticket")).await.unwrap();
    let history = s.time_history(&TimeHistoryFilter::default()).await.unwrap();
    let rows = tracking::estimate_accuracy(&estimates, &history);
    assert_eq!(rows.len(), 1, "only done steps count: {rows:?}");
    let row = &rows[0];
    assert_eq!((row.step.as_str(), row.samples), ("understand", 2));
    assert_eq!(row.estimated_seconds, 2 * 15 * 60);
    assert_eq!(row.actual_seconds, 22 * 60);
    assert!((row.ratio.unwrap() - 22.0 / 30.0).abs() < 1e-9);
    assert!((row.mean_abs_error.unwrap() - f64::midpoint(1.0 / 3.0, 1.0 / 5.0)).abs() < 1e-9);
}

async fn runs_attach_to_the_active_step(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    let w = e
        .start("regression_pass", Some(key("REL-9")), ada)
        .await
        .unwrap()
        .workflow;
    e.apply(
        &w.id,
        None,
        ada,
        &Command::StepDone {
            step: None,
            force: true,
        },
    )
    .await
    .unwrap();
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Junit,
        name: "nightly".into(),
        started_at: at(1),
        finished_at: None,
        environment: None,
        revision: None,
        url: None,
    };
    s.insert_run(&run, &[]).await.unwrap();
    let before = s.workflow(&w.id).await.unwrap().version;
    let attached = s
        .attach_run_to_active_steps(&run.id, &[key("REL-9"), key("OTHER-1"), key("REL-9")])
        .await
        .unwrap();
    assert_eq!(attached, vec![(w.id, 1)]);
    let now = s.workflow(&w.id).await.unwrap();
    assert_eq!(now.steps[1].runs, vec![run.id]);
    assert_eq!(now.version, before + 1);
    let last = s.workflow_events(&w.id).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "run_attached");
    // Twice is a no-op.
    assert!(
        s.attach_run_to_active_steps(&run.id, &[key("REL-9")])
            .await
            .unwrap()
            .is_empty()
    );
    // Listing by ticket and state.
    let open = s
        .list_workflows(&WorkflowFilter {
            ticket: Some(key("REL-9")),
            states: vec![WorkflowState::InProgress],
            ..WorkflowFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].steps[1].runs, vec![run.id]);
    assert_eq!(e.current(ada, None).await.unwrap().unwrap().id, w.id);
}

async fn an_imported_junit_run_attaches_to_the_active_step(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let clock = Arc::new(ManualClock::new(at(0)));
    let e = engine(t, &clock);
    let w = e
        .start("verify_ticket", Some(key("PAY-31")), ada)
        .await
        .unwrap()
        .workflow;
    let fixture = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/junit/pytest.xml");
    let options = qapms_core::results::ImportOptions {
        workflow_tickets: vec![key("PAY-31")],
        ..qapms_core::results::ImportOptions::default()
    };
    let summary = qapms_core::results::import_junit(s, &[fixture], &options)
        .await
        .unwrap();
    assert_eq!(summary.attached_steps, vec![(w.id, 0)]);
    let now = s.workflow(&w.id).await.unwrap();
    assert_eq!(now.steps[0].runs, vec![summary.run_id]);
}

for_each_backend!(
    an_imported_junit_run_attaches_to_the_active_step,
    a_workflow_runs_from_start_to_completion,
    a_stale_writer_gets_a_conflict_and_changes_nothing,
    concurrent_transitions_serialise,
    idle_time_is_set_aside_and_can_be_kept,
    timers_manual_entries_and_corrections,
    estimate_accuracy_compares_done_steps,
    runs_attach_to_the_active_step,
);
