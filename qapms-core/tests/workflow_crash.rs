//! Crash safety of workflow transitions: a writer killed with SIGKILL while it drives
//! workflows loses no acknowledged transition and leaves no half of one.
//!
//! The test binary re-runs itself as the writer (`writer_child`, an ignored test that does
//! nothing unless `QAPMS_WF_CRASH_URL` is set). The writer runs `release_smoke_test` workflows
//! through the engine forever and prints `acked <workflow> <version>` after each transition
//! the store acknowledged. The parent kills it at a varying point, reopens the store and
//! checks every acknowledged version is there, every workflow's log is whole (one event per
//! version), and the timer state is one the engine could have written.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;

use qapms_core::ErrorKind;
use qapms_core::config::Env;
use qapms_core::model::{
    Role, StepState, TimeEntryFilter, User, UserId, WorkflowFilter, WorkflowId, WorkflowState,
};
use qapms_core::store::{Store, open};
use qapms_core::workflow::{Catalog, Command, Engine};
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

const URL_VAR: &str = "QAPMS_WF_CRASH_URL";
const PREFIX: &str = "qapms-wf-crash: ";
const ROUNDS: u32 = 3;

fn writer_id() -> UserId {
    UserId::from_uuid(Uuid::from_u128(0xc4a5_4001))
}

async fn writer_user(store: &dyn Store) -> UserId {
    let user = User {
        id: writer_id(),
        ..User::new("wf-crash-writer", Role::Qa)
    };
    match store.create_user(&user).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::Conflict => {}
        Err(e) => panic!("{e}"),
    }
    user.id
}

#[tokio::test]
#[ignore = "the writer half of the workflow crash tests, which start it in a child process"]
async fn writer_child() {
    let env = Env::from_process();
    let Some(url) = env.get_non_empty(URL_VAR) else {
        return;
    };
    let store = open(url).await.unwrap();
    let user = writer_user(store.as_ref()).await;
    let engine = Engine::new(store.clone(), Catalog::new(&BTreeMap::new()));
    loop {
        let w = engine
            .start("release_smoke_test", None, user)
            .await
            .unwrap()
            .workflow;
        println!("{PREFIX}acked {} {}", w.id, w.version);
        for command in [
            Command::StepDone {
                step: None,
                force: true,
            },
            Command::Pause,
            Command::Resume,
            Command::StepDone {
                step: None,
                force: true,
            },
            Command::StepDone {
                step: None,
                force: true,
            },
            Command::StepDone {
                step: None,
                force: true,
            },
            Command::Complete,
        ] {
            let out = engine.apply(&w.id, None, user, &command).await.unwrap();
            println!("{PREFIX}acked {} {}", w.id, out.workflow.version);
        }
    }
}

async fn kill_writer(url: &str, round: u32, acked: &mut HashMap<WorkflowId, u32>) {
    let exe = std::env::current_exe().unwrap();
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(URL_VAR, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let record = |line: &str, acked: &mut HashMap<WorkflowId, u32>| {
        if let Some(rest) = line
            .strip_prefix(PREFIX)
            .and_then(|l| l.strip_prefix("acked "))
        {
            let (id, version) = rest.split_once(' ').unwrap();
            let slot = acked.entry(id.parse().unwrap()).or_default();
            *slot = (*slot).max(version.parse().unwrap());
            true
        } else {
            false
        }
    };
    let want = 20 + 7 * round;
    let mut seen = 0;
    while let Some(line) = tokio::time::timeout(Duration::from_mins(1), lines.next_line())
        .await
        .expect("the writer stalled")
        .unwrap()
    {
        if record(&line, acked) {
            seen += 1;
            if seen >= want {
                // Kill between a few hundred microseconds and a couple of milliseconds later.
                tokio::time::sleep(Duration::from_micros(300 * u64::from(1 + round * 3))).await;
                child.start_kill().unwrap();
                break;
            }
        }
    }
    child.wait().await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        record(&line, acked);
    }
    assert!(seen >= want, "the writer stopped early");
}

async fn verify(url: &str, acked: &HashMap<WorkflowId, u32>) {
    let store = open(url).await.unwrap();
    let all = store
        .list_workflows(&WorkflowFilter::default())
        .await
        .unwrap();
    let by_id: HashMap<WorkflowId, _> = all.iter().map(|w| (w.id, w)).collect();
    for (id, version) in acked {
        let w = by_id
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged workflow {id} was lost"));
        assert!(
            w.version >= *version,
            "{id}: version {} < acknowledged {version}",
            w.version
        );
    }
    for w in &all {
        let events = store.workflow_events(&w.id).await.unwrap();
        let versions: Vec<u32> = events.iter().map(|e| e.version).collect();
        assert_eq!(
            versions,
            (1..=w.version).collect::<Vec<_>>(),
            "log of {}",
            w.id
        );
        let active = w
            .steps
            .iter()
            .filter(|s| s.state == StepState::Active)
            .count();
        assert!(active <= 1);
        if w.state == WorkflowState::Completed {
            assert!(w.steps.iter().all(|s| s.state.is_settled()));
        }
    }
    // The timer, if any, runs for an in-progress workflow's active step.
    if let Some(timer) = store.timer(&writer_id()).await.unwrap() {
        let w = by_id[&timer.workflow_id.unwrap()];
        assert_eq!(w.state, WorkflowState::InProgress);
        assert_eq!(w.active_step().map(|s| s.name.clone()), timer.step);
    }
    // Every timer entry belongs to a stored workflow.
    for e in store
        .time_entries(&TimeEntryFilter::default())
        .await
        .unwrap()
    {
        assert!(by_id.contains_key(&e.workflow_id.unwrap()));
    }
    store.close().await;
}

async fn crash_rounds(t: &common::TestStore) {
    t.store.close().await;
    let mut acked = HashMap::new();
    for round in 0..ROUNDS {
        kill_writer(t.url(), round, &mut acked).await;
        verify(t.url(), &acked).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workflows_survive_sigkill() {
    crash_rounds(&common::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workflows_survive_sigkill() {
    let Some(t) = common::postgres().await else {
        return;
    };
    crash_rounds(&t).await;
}
