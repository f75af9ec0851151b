//! State-machine properties: random sequences of transitions, by two actors (one of them
//! acting from stale snapshots), with pauses, idle gaps, manual entries, corrections and
//! plain timers, against a real `SQLite` store. After every step the invariants hold:
//!
//! - durations add up: for every timer run that ended, its entry plus its idle period is
//!   exactly the time it ran;
//! - a user never has two timers, and timer entries of one user never overlap;
//! - no entry is lost: every entry the operations report is stored, and nothing else;
//! - a refused operation (invalid transition, stale version) changes nothing at all;
//! - a workflow has at most one active step and exactly one log event per version.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::config::EvidenceKind;
use qapms_core::model::{
    IssueKey, Role, StepState, TimeEntryFilter, TimeSource, Timer, User, UserId, WorkflowId,
};
use qapms_core::store::Store;
use qapms_core::tracking::{ManualEntry, Tracker};
use qapms_core::workflow::{Catalog, Clock, Command, Engine, ItemRef, ManualClock, StepRef};

#[derive(Debug, Clone)]
enum Op {
    Advance(i64),
    Start(usize),
    Act {
        bob: bool,
        workflow: usize,
        stale: bool,
        command: u8,
        step: u32,
    },
    Manual(i64),
    Correct(usize, i64),
    TimerStart(bool),
    TimerStop,
    Heartbeat,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0i64..25).prop_map(Op::Advance),
        1 => (0usize..5).prop_map(Op::Start),
        8 => (any::<bool>(), 0usize..3, prop::bool::weighted(0.15), 0u8..11, 1u32..5).prop_map(
            |(bob, workflow, stale, command, step)| Op::Act { bob, workflow, stale, command, step }
        ),
        1 => (1i64..90).prop_map(Op::Manual),
        1 => (0usize..8, 0i64..60).prop_map(|(i, m)| Op::Correct(i, m)),
        1 => any::<bool>().prop_map(Op::TimerStart),
        1 => Just(Op::TimerStop),
        1 => Just(Op::Heartbeat),
    ]
}

const TEMPLATES: [&str; 5] = [
    "verify_ticket",
    "regression_pass",
    "exploratory_session",
    "reproduce_bug",
    "release_smoke_test",
];

fn command(kind: u8, step: u32) -> Command {
    let step_ref = Some(StepRef::Number(step));
    match kind {
        0 => Command::Pause,
        1 => Command::Resume,
        2 => Command::Complete,
        3 => Command::Abandon { reason: None },
        4 => Command::StartStep {
            step: StepRef::Number(step),
        },
        5 => Command::StepDone {
            step: None,
            force: step.is_multiple_of(2),
        },
        6 => Command::SkipStep {
            step: step_ref,
            reason: "not needed".into(),
        },
        7 => Command::BlockStep {
            step: None,
            reason: if step == 1 {
                String::new()
            } else {
                "waiting".into()
            },
        },
        8 => Command::Tick {
            step: None,
            item: ItemRef::Number(step),
            done: true,
        },
        9 => Command::AddEvidence {
            step: None,
            kind: EvidenceKind::Notes,
            value: format!("note {step}"),
        },
        _ => Command::StepDone {
            step: None,
            force: true,
        },
    }
}

struct World {
    store: Arc<dyn Store>,
    engine: Engine,
    tracker: Tracker,
    clock: Arc<ManualClock>,
    ada: UserId,
    bob: UserId,
    workflows: Vec<WorkflowId>,
    /// Versions seen earlier, per workflow: what a stale front-end would send.
    seen: HashMap<WorkflowId, Vec<u32>>,
    /// Entries the operations reported writing.
    written: usize,
    /// Total time of timer runs that ended, per user, in seconds.
    ran: HashMap<UserId, i64>,
}

const IDLE: i64 = 15;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 8, 0, 0).unwrap()
}

impl World {
    async fn new() -> Self {
        let store = qapms_core::store::open("sqlite::memory:").await.unwrap();
        let ada = User::new("ada", Role::Qa);
        let bob = User::new("bob", Role::Qa);
        store.create_user(&ada).await.unwrap();
        store.create_user(&bob).await.unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let gap = std::time::Duration::from_secs(u64::try_from(IDLE * 60).unwrap());
        let engine = Engine::new(store.clone(), Catalog::new(&BTreeMap::new()))
            .with_clock(clock.clone())
            .with_idle_gap(gap);
        let tracker = Tracker::new(store.clone())
            .with_clock(clock.clone())
            .with_idle_gap(gap);
        Self {
            store,
            engine,
            tracker,
            clock,
            ada: ada.id,
            bob: bob.id,
            workflows: Vec::new(),
            seen: HashMap::new(),
            written: 0,
            ran: HashMap::new(),
        }
    }

    async fn timers(&self) -> [Option<Timer>; 2] {
        [
            self.store.timer(&self.ada).await.unwrap(),
            self.store.timer(&self.bob).await.unwrap(),
        ]
    }

    async fn snapshot(&self) -> Vec<qapms_core::model::Workflow> {
        let mut out = Vec::new();
        for id in &self.workflows {
            out.push(self.store.workflow(id).await.unwrap());
        }
        out
    }

    async fn entry_count(&self) -> usize {
        self.store
            .time_entries(&TimeEntryFilter::default())
            .await
            .unwrap()
            .len()
    }

    /// Runs one op; returns whether it was refused.
    async fn run(&mut self, op: &Op) -> Option<ErrorKind> {
        let result: qapms_core::Result<usize> = match op {
            Op::Advance(m) => {
                self.clock.advance(Duration::minutes(*m));
                Ok(0)
            }
            Op::Start(t) => match self
                .engine
                .start(
                    TEMPLATES[*t],
                    Some(IssueKey::parse("QA-1").unwrap()),
                    self.ada,
                )
                .await
            {
                Ok(out) => {
                    self.workflows.push(out.workflow.id);
                    Ok(out.entries_written)
                }
                Err(e) => Err(e),
            },
            Op::Act {
                bob,
                workflow,
                stale,
                command: kind,
                step,
            } => {
                let id = self
                    .workflows
                    .get(*workflow % self.workflows.len().max(1))
                    .copied()?;
                let actor = if *bob { self.bob } else { self.ada };
                let current = self.store.workflow(&id).await.unwrap().version;
                let expected = if *stale {
                    self.seen
                        .get(&id)
                        .and_then(|v| v.iter().copied().find(|x| *x < current))
                } else {
                    Some(current)
                };
                let expected = expected?;
                self.engine
                    .apply(&id, Some(expected), actor, &command(*kind, *step))
                    .await
                    .map(|o| o.entries_written)
            }
            Op::Manual(m) => self
                .tracker
                .add_manual(
                    self.ada,
                    &ManualEntry {
                        ticket: None,
                        workflow_id: None,
                        step: None,
                        started_at: self.clock.now() - Duration::minutes(*m + 1),
                        duration: Duration::minutes(*m),
                        note: None,
                    },
                )
                .await
                .map(|_| 1),
            Op::Correct(i, m) => {
                let all = self
                    .store
                    .time_entries(&TimeEntryFilter::default())
                    .await
                    .unwrap();
                let e = all.get(*i % all.len().max(1))?;
                self.tracker
                    .correct(e.user_id, e.id, e.started_at, Duration::minutes(*m), None)
                    .await
                    .map(|_| 1)
            }
            Op::TimerStart(ticket) => {
                let ticket = ticket.then(|| IssueKey::parse("QA-2").unwrap());
                self.tracker
                    .start(self.ada, ticket)
                    .await
                    .map(|_| usize::MAX)
            }
            Op::TimerStop => self
                .tracker
                .stop(self.ada)
                .await
                .map(|s| usize::from(s.entry.is_some())),
            Op::Heartbeat => self.tracker.heartbeat(self.ada).await.map(|()| usize::MAX),
        };
        match result {
            Ok(usize::MAX) => {
                // The tracker does not report entries for starts and heartbeats; count them
                // from the store (they can only come from stopping the previous timer run).
                self.written = self.entry_count().await;
                None
            }
            Ok(n) => {
                self.written += n;
                None
            }
            Err(e) => Some(e.kind()),
        }
    }
}

fn check_invariants(
    world: &World,
    entries: &[qapms_core::model::TimeEntry],
    idle: &[qapms_core::model::IdlePeriod],
) {
    // No lost entries, no extra ones.
    assert_eq!(entries.len(), world.written, "entries stored vs reported");
    for user in [world.ada, world.bob] {
        // Timer entries of one user never overlap.
        let mut timed: Vec<_> = entries
            .iter()
            .filter(|e| e.user_id == user && e.source == TimeSource::Timer && e.corrects.is_none())
            .collect();
        timed.sort_by_key(|e| e.started_at);
        for pair in timed.windows(2) {
            assert!(pair[1].started_at >= pair[0].ended_at, "overlap: {pair:?}");
        }
        // Durations add up: timer entries plus idle time equal the time timers ran.
        let counted: i64 = timed
            .iter()
            .map(|e| (e.ended_at - e.started_at).num_seconds())
            .sum();
        let idle_secs: i64 = idle
            .iter()
            .filter(|p| p.user_id == user)
            .map(|p| (p.ended_at - p.started_at).num_seconds())
            .sum();
        assert_eq!(
            counted + idle_secs,
            world.ran.get(&user).copied().unwrap_or(0),
            "timer time for {user}"
        );
    }
}

async fn scenario(ops: Vec<Op>) {
    let mut world = World::new().await;
    world.run(&Op::Start(0)).await;
    for op in &ops {
        let timers_before = world.timers().await;
        let before = world.snapshot().await;
        let entries_before = world.entry_count().await;
        let now = world.clock.now();
        let refused = world.run(op).await;
        let timers_after = world.timers().await;
        let after = world.snapshot().await;
        if let Some(kind) = refused {
            assert!(
                matches!(
                    kind,
                    ErrorKind::InvalidInput | ErrorKind::Conflict | ErrorKind::NotFound
                ),
                "{op:?}: unexpected {kind:?}"
            );
            // Refused means nothing changed: workflows, timers, entries.
            assert_eq!(before, after[..before.len()], "{op:?} changed a workflow");
            assert_eq!(timers_before, timers_after, "{op:?} changed a timer");
            assert_eq!(
                entries_before,
                world.entry_count().await,
                "{op:?} wrote entries"
            );
        }
        // Timer runs that ended in this op ran until now.
        for (old, new) in timers_before.iter().zip(&timers_after) {
            if let Some(old) = old
                && new.as_ref().is_none_or(|n| n.id != old.id)
            {
                *world.ran.entry(old.user_id).or_default() += (now - old.started_at).num_seconds();
            }
        }
        for w in &after {
            assert!(
                w.steps
                    .iter()
                    .filter(|s| s.state == StepState::Active)
                    .count()
                    <= 1
            );
            let events = world.store.workflow_events(&w.id).await.unwrap();
            assert_eq!(events.len(), usize::try_from(w.version).unwrap());
            world.seen.entry(w.id).or_default().push(w.version);
        }
        let entries = world
            .store
            .time_entries(&TimeEntryFilter::default())
            .await
            .unwrap();
        let mut idle = world
            .store
            .idle_periods(&world.ada, None, None)
            .await
            .unwrap();
        idle.extend(
            world
                .store
                .idle_periods(&world.bob, None, None)
                .await
                .unwrap(),
        );
        check_invariants(&world, &entries, &idle);
        // Bob never owns a timer: his actions are logged, not timed.
        assert!(timers_after[1].is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_over_random_sequences(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(scenario(ops));
    }
}
