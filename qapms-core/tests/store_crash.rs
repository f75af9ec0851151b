//! Crash safety: a writer killed with SIGKILL mid-batch loses no committed batch and leaves no
//! partial one (DESIGN §3: "a crash or a kill at any point loses no committed workflow state or
//! time entry").
//!
//! The test binary re-runs itself as the writer: `writer_child` is an ignored test that does
//! nothing unless `QAPMS_CRASH_URL` is set. The writer stores batches (a run with
//! [`RESULTS_PER_BATCH`] results, then a time entry) forever, printing `begin <name>` before a
//! batch and `committed <name>` after it. The parent waits for a few commits, kills the writer
//! a sixth to a half of a batch's mean duration after a `begin`, reopens the store and checks:
//! - every run has all its results (no partial batch);
//! - every batch reported committed is there, run and time entry (no lost commit);
//! - every time entry has its run (the run is always written first).
//!
//! It does this over several rounds on the same database, for `SQLite` and for `PostgreSQL`.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Duration as Minutes;
use qapms_core::config::Env;
use qapms_core::model::{
    Role, RunId, TestCase, TestId, TestResult, TestRun, TestSource, TestStatus, TimeEntry,
    TimeEntryFilter, TimeEntryId, TimeSource, User, UserId, utc_now,
};
use qapms_core::store::{Store, open};
use qapms_core::{ErrorKind, Result};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use uuid::Uuid;

const URL_VAR: &str = "QAPMS_CRASH_URL";
const ROUND_VAR: &str = "QAPMS_CRASH_ROUND";
const RESULTS_PER_BATCH: usize = 500;
const ROUNDS: u32 = 4;
const PREFIX: &str = "qapms-crash: ";

/// The writer's test cases and user have fixed ids, so every round's writer reuses them.
fn fixed_cases() -> Vec<TestCase> {
    (0..RESULTS_PER_BATCH)
        .map(|i| TestCase {
            id: TestId::from_uuid(Uuid::from_u128(0x7e57_0000 + i as u128)),
            source: TestSource::Junit,
            external_id: format!("com.example.PaymentTest::case{i}"),
            title: format!("case {i}"),
            folder_path: None,
            tags: vec![],
            ticket_keys: vec![],
        })
        .collect()
}

async fn writer_user(store: &dyn Store) -> Result<User> {
    match store.user_by_name("crash-writer").await {
        Ok(user) => Ok(user),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let user = User {
                id: UserId::from_uuid(Uuid::from_u128(0xc4a5_4000)),
                ..User::new("crash-writer", Role::Qa)
            };
            store.create_user(&user).await?;
            Ok(user)
        }
        Err(e) => Err(e),
    }
}

#[tokio::test]
#[ignore = "the writer half of the crash tests, which start it in a child process"]
async fn writer_child() {
    let env = Env::from_process();
    let Some(url) = env.get_non_empty(URL_VAR) else {
        return;
    };
    let round = env.get(ROUND_VAR).unwrap_or("0").to_owned();
    let store = open(url).await.unwrap();
    let cases = fixed_cases();
    store.upsert_test_cases(&cases).await.unwrap();
    let user = writer_user(store.as_ref()).await.unwrap();
    for n in 0.. {
        let name = format!("{round}-{n}");
        let started = utc_now();
        let run = TestRun {
            id: RunId::new(),
            source: TestSource::Junit,
            name: name.clone(),
            started_at: started,
            finished_at: None,
            environment: None,
            revision: None,
            url: None,
        };
        let results: Vec<TestResult> = cases
            .iter()
            .map(|c| TestResult {
                run_id: run.id,
                test_id: c.id,
                attempt: 1,
                status: TestStatus::Passed,
                duration_ms: Some(7),
                message: Some("x".repeat(200)),
                trace_fingerprint: None,
                cluster_id: None,
            })
            .collect();
        let entry = TimeEntry {
            id: TimeEntryId::new(),
            user_id: user.id,
            ticket: None,
            workflow_id: None,
            step: None,
            started_at: started,
            ended_at: started + Minutes::minutes(1),
            source: TimeSource::Timer,
            note: Some(name.clone()),
            corrects: None,
            exported_worklog_id: None,
            recorded_at: started,
        };
        let t0 = Instant::now();
        println!("{PREFIX}begin {name}");
        store.insert_run(&run, &results).await.unwrap();
        store.append_time_entry(&entry).await.unwrap();
        println!("{PREFIX}committed {name} {}", t0.elapsed().as_micros());
    }
}

/// What one round saw on the writer's stdout.
#[derive(Default)]
struct Seen {
    committed: Vec<String>,
    /// The last batch the writer began before it was killed.
    in_flight: Option<String>,
}

async fn kill_writer_mid_batch(url: &str, round: u32, seen: &mut Seen) {
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
        .env(ROUND_VAR, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed_now = 0u32;
    let mut batch_micros = Vec::new();
    let want = 3 + round;
    while let Some(line) = tokio::time::timeout(Duration::from_mins(1), lines.next_line())
        .await
        .expect("the writer stalled")
        .unwrap()
    {
        let Some(event) = line.strip_prefix(PREFIX) else {
            continue;
        };
        if let Some(rest) = event.strip_prefix("committed ") {
            let (name, micros) = rest.split_once(' ').unwrap();
            seen.committed.push(name.to_owned());
            batch_micros.push(micros.parse::<u64>().unwrap());
            committed_now += 1;
        } else if let Some(name) = event.strip_prefix("begin ") {
            seen.in_flight = Some(name.to_owned());
            if committed_now < want {
                continue;
            }
            // Kill a sixth to a half of the way into this batch, varying the point by round.
            let mean = batch_micros.iter().sum::<u64>() / batch_micros.len() as u64;
            let delay = mean * u64::from(1 + round % 3) / 6;
            tokio::time::sleep(Duration::from_micros(delay)).await;
            child.start_kill().unwrap(); // SIGKILL on Unix
            break;
        }
    }
    let status = child.wait().await.unwrap();
    // Lines written before the kill are still in the pipe: a batch may have committed and been
    // reported in the moment before the signal landed.
    while let Some(line) = lines.next_line().await.unwrap() {
        let Some(event) = line.strip_prefix(PREFIX) else {
            continue;
        };
        if let Some(rest) = event.strip_prefix("committed ") {
            seen.committed
                .push(rest.split_once(' ').unwrap().0.to_owned());
            committed_now += 1;
        } else if let Some(name) = event.strip_prefix("begin ") {
            seen.in_flight = Some(name.to_owned());
        }
    }
    if committed_now < want {
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        panic!("the writer stopped early ({status}): {stderr}");
    }
}

/// Reopens the store as a restarted process would, and checks every batch is whole or absent.
async fn verify(url: &str, seen: &Seen) -> bool {
    let store = open(url).await.unwrap();
    let runs = store.list_runs(10_000).await.unwrap();
    for run in &runs {
        let results = store.results_for_run(&run.id).await.unwrap();
        assert_eq!(
            results.len(),
            RESULTS_PER_BATCH,
            "partial batch {}",
            run.name
        );
    }
    let run_names: HashSet<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let entries = store
        .time_entries(&TimeEntryFilter::default())
        .await
        .unwrap();
    let entry_names: HashSet<&str> = entries.iter().filter_map(|e| e.note.as_deref()).collect();
    for name in &seen.committed {
        assert!(
            run_names.contains(name.as_str()),
            "committed run {name} was lost"
        );
        assert!(
            entry_names.contains(name.as_str()),
            "committed time entry {name} was lost"
        );
    }
    for name in &entry_names {
        assert!(run_names.contains(name), "time entry {name} has no run");
    }
    // The last batch begun is absent: the kill landed inside it.
    let interrupted = seen
        .in_flight
        .as_deref()
        .is_some_and(|name| !run_names.contains(name));
    store.close().await;
    interrupted
}

async fn crash_rounds(t: &common::TestStore) {
    t.store.close().await;
    let mut seen = Seen::default();
    let mut interrupted = 0;
    for round in 0..ROUNDS {
        kill_writer_mid_batch(t.url(), round, &mut seen).await;
        let hit = verify(t.url(), &seen).await;
        if hit {
            interrupted += 1;
        }
    }
    // Killing early in a batch lands inside its transaction nearly always;
    // if it never did, the test proved nothing about partial batches.
    assert!(interrupted > 0, "no round killed the writer inside a batch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill_mid_batch() {
    crash_rounds(&common::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill_mid_batch() {
    let Some(t) = common::postgres().await else {
        return;
    };
    crash_rounds(&t).await;
}
