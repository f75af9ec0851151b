//! The store conformance suite: every `Store` method, run against `SQLite` and `PostgreSQL`.
//!
//! Each test is an `async fn(&TestStore)`; `for_each_backend!` at the bottom runs it once per
//! backend on a fresh database (a temporary `SQLite` file, or a new `PostgreSQL` schema). A
//! behaviour both backends must share belongs here, not in a backend-specific test.

// Helpers outside `#[test]` functions are not covered by clippy's allow-unwrap-in-tests.
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::model::{
    ExternalKey, ImportedAttempt, ImportedTest, IssueKey, PageRequest, Role, RunId, StatusCategory,
    TestCase, TestId, TestResult, TestRun, TestSource, TestStatus, Ticket, TicketFilter, TimeEntry,
    TimeEntryFilter, TimeEntryId, TimeSource, User, UserId, utc_now,
};
use qapms_core::store::{Backend, Store};

use common::{Place, TestStore};

// ---- Builders ---------------------------------------------------------------------------------

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn key(s: &str) -> IssueKey {
    IssueKey::parse(s).unwrap()
}

fn ticket(k: &str, status: &str, category: StatusCategory) -> Ticket {
    Ticket {
        key: key(k),
        summary: format!("Summary of {k}"),
        status: status.to_owned(),
        status_category: category,
        issue_type: "Story".to_owned(),
        priority: Some("High".to_owned()),
        assignee: None,
        labels: vec!["checkout".to_owned()],
        components: vec![],
        fix_versions: vec!["1.2".to_owned()],
        updated: at(0),
        url: Some(format!("https://jira.example/browse/{k}")),
        raw: serde_json::json!({ "key": k, "fields": { "customfield_1": [1, 2] } }).into(),
    }
}

fn test_case(i: usize) -> TestCase {
    TestCase {
        id: TestId::new(),
        source: TestSource::Pytest,
        external_id: format!("tests/test_pay.py::test_case_{i}"),
        title: format!("case {i}"),
        folder_path: Some("tests".to_owned()),
        tags: vec!["smoke".to_owned()],
        ticket_keys: vec![key("PAY-1")],
    }
}

fn run(started: DateTime<Utc>) -> TestRun {
    TestRun {
        id: RunId::new(),
        source: TestSource::Pytest,
        name: "nightly".to_owned(),
        started_at: started,
        finished_at: Some(started + Duration::minutes(5)),
        environment: Some("staging".to_owned()),
        revision: Some("abc123".to_owned()),
        url: None,
    }
}

fn result(run: &TestRun, test: &TestCase, attempt: u32, status: TestStatus) -> TestResult {
    TestResult {
        run_id: run.id,
        test_id: test.id,
        attempt,
        status,
        duration_ms: Some(1234),
        message: status
            .is_failure()
            .then(|| "AssertionError: 1 != 2".to_owned()),
        trace_fingerprint: status.is_failure().then(|| "fp-1".to_owned()),
        cluster_id: None,
    }
}

fn entry(user: &User, start: i64, minutes: i64) -> TimeEntry {
    TimeEntry {
        id: TimeEntryId::new(),
        user_id: user.id,
        ticket: Some(key("PAY-12")),
        workflow_id: None,
        step: Some("exploratory testing".to_owned()),
        started_at: at(start),
        ended_at: at(start + minutes),
        source: TimeSource::Timer,
        note: None,
        corrects: None,
        exported_worklog_id: None,
        recorded_at: utc_now(),
    }
}

async fn user(store: &dyn Store, name: &str) -> User {
    let user = User::new(name, Role::Qa);
    store.create_user(&user).await.unwrap();
    user
}

fn kind<T: std::fmt::Debug>(result: qapms_core::Result<T>) -> ErrorKind {
    result.unwrap_err().kind()
}

// ---- The store itself -------------------------------------------------------------------------

async fn info_reports_schema_and_every_table(t: &TestStore) {
    let s = t.store.as_ref();
    s.ping().await.unwrap();
    let expected = match t.place {
        Place::Sqlite { .. } => Backend::Sqlite,
        Place::Postgres { .. } => Backend::Postgres,
    };
    assert_eq!(s.backend(), expected);
    user(s, "ada").await;
    let info = s.info().await.unwrap();
    assert_eq!(info.backend, expected);
    assert_eq!(info.schema_version, latest_migration());
    assert_eq!(s.schema_version().await.unwrap(), latest_migration());
    let names: Vec<&str> = info.tables.iter().map(|(n, _)| n.as_str()).collect();
    for table in [
        "users",
        "tickets",
        "test_cases",
        "test_identities",
        "test_runs",
        "test_results",
        "workflows",
        "workflow_steps",
        "time_entries",
        "patterns",
        "alerts",
        "search_documents",
        "embeddings",
        "integration_state",
        "integration_health",
    ] {
        assert!(names.contains(&table), "{table} missing from {names:?}");
    }
    assert!(info.tables.contains(&("users".to_owned(), 1)));
    assert!(!info.location.is_empty());
}

async fn reopening_keeps_data_and_migrations_are_idempotent(t: &TestStore) {
    let u = user(t.store.as_ref(), "grace").await;
    let again = qapms_core::store::open(t.url()).await.unwrap();
    assert_eq!(again.user_by_name("grace").await.unwrap(), u);
    assert_eq!(
        again.info().await.unwrap().schema_version,
        latest_migration()
    );
    again.close().await;
    assert_eq!(again.ping().await.unwrap_err().kind(), ErrorKind::Store);
}

// ---- Users ------------------------------------------------------------------------------------

async fn users_round_trip(t: &TestStore) {
    let s = t.store.as_ref();
    let mut zoe = User::new("Zoë 测试 🚀", Role::TechLead);
    zoe.email = Some("zoë@example.com".to_owned());
    s.create_user(&zoe).await.unwrap();
    let ada = user(s, "ada").await;
    assert_eq!(s.user_by_name("Zoë 测试 🚀").await.unwrap(), zoe);
    let names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    // Byte order on both backends (PostgreSQL columns use the "C" collation), so capitals first.
    assert_eq!(names, ["Zoë 测试 🚀", "ada"]);

    assert_eq!(s.user_password_hash(&ada.id).await.unwrap(), None);
    s.set_user_password_hash(&ada.id, Some("$argon2id$v=19$…"))
        .await
        .unwrap();
    assert_eq!(
        s.user_password_hash(&ada.id).await.unwrap().as_deref(),
        Some("$argon2id$v=19$…")
    );
    s.set_user_password_hash(&ada.id, None).await.unwrap();
    assert_eq!(s.user_password_hash(&ada.id).await.unwrap(), None);

    s.set_user_disabled(&ada.id, true).await.unwrap();
    let reloaded = s.user_by_name("ada").await.unwrap();
    assert!(reloaded.disabled);
    assert!(reloaded.updated_at >= ada.updated_at);
}

async fn user_errors_map_to_kinds(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let err = s
        .create_user(&User::new("ada", Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("ada"), "{err}");
    assert_eq!(kind(s.create_user(&ada).await), ErrorKind::Conflict);
    assert_eq!(
        kind(s.create_user(&User::new("  ", Role::Qa)).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(kind(s.user_by_name("nobody").await), ErrorKind::NotFound);
    let ghost = UserId::new();
    assert_eq!(
        kind(s.set_user_disabled(&ghost, true).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(s.set_user_password_hash(&ghost, None).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(s.user_password_hash(&ghost).await),
        ErrorKind::NotFound
    );
}

// ---- Tickets ----------------------------------------------------------------------------------

async fn tickets_upsert_read_and_list(t: &TestStore) {
    let s = t.store.as_ref();
    let mut batch = vec![
        ticket("PAY-10", "In Review", StatusCategory::InProgress),
        ticket("PAY-2", "To Do", StatusCategory::ToDo),
        ticket("PAY-1", "Done", StatusCategory::Done),
        ticket("OPS-7", "In Review", StatusCategory::InProgress),
    ];
    "Paiement échoue — 支付失败 🧾".clone_into(&mut batch[1].summary);
    batch[1].assignee = Some("zoë".to_owned());
    s.upsert_tickets(&batch).await.unwrap();
    assert_eq!(s.ticket(&key("pay-2")).await.unwrap(), batch[1]);

    // An upsert replaces; within one batch the last copy of a key wins.
    let mut first = ticket("PAY-2", "In Review", StatusCategory::InProgress);
    "first".clone_into(&mut first.summary);
    let mut last = first.clone();
    "last".clone_into(&mut last.summary);
    s.upsert_tickets(&[first, last.clone()]).await.unwrap();
    assert_eq!(s.ticket(&key("PAY-2")).await.unwrap(), last);
    s.upsert_tickets(&[]).await.unwrap();

    let page = s
        .list_tickets(&TicketFilter {
            project: Some("pay".to_owned()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    let keys: Vec<&str> = page.items.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        keys,
        ["PAY-1", "PAY-2", "PAY-10"],
        "ordered by issue number"
    );
    assert_eq!(page.total_items, 3);

    let review = s
        .list_tickets(&TicketFilter {
            status: Some("In Review".to_owned()),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    let keys: Vec<&str> = review.items.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["OPS-7", "PAY-2", "PAY-10"]);

    let done = s
        .list_tickets(&TicketFilter {
            project: Some("PAY".to_owned()),
            status_category: Some(StatusCategory::Done),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(done.items.len(), 1);

    let second = s
        .list_tickets(&TicketFilter {
            page: PageRequest::new(2, 3),
            ..TicketFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (second.items.len(), second.total_items, second.total_pages()),
        (1, 4, 2)
    );
    assert_eq!(second.items[0].key.as_str(), "PAY-10");

    assert_eq!(kind(s.ticket(&key("NOPE-1")).await), ErrorKind::NotFound);
}

// ---- Test cases, runs, results ----------------------------------------------------------------

async fn test_cases_upsert_and_conflict_rolls_back(t: &TestStore) {
    let s = t.store.as_ref();
    let mut a = test_case(1);
    let b = test_case(2);
    s.upsert_test_cases(&[a.clone(), b.clone()]).await.unwrap();
    "renamed ✓".clone_into(&mut a.title);
    a.ticket_keys.push(key("OPS-3"));
    s.upsert_test_cases(&[a.clone()]).await.unwrap();
    assert_eq!(s.test_case(&a.id).await.unwrap(), a);

    // A batch whose last case collides with `b` on (source, external id) stores nothing.
    let fresh = test_case(3);
    let mut clash = test_case(2);
    "clash".clone_into(&mut clash.title);
    let err = s
        .upsert_test_cases(&[fresh.clone(), clash])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(kind(s.test_case(&fresh.id).await), ErrorKind::NotFound);
    assert_eq!(s.test_case(&b.id).await.unwrap(), b);
}

async fn runs_and_results_round_trip(t: &TestStore) {
    let s = t.store.as_ref();
    let cases: Vec<TestCase> = (0..3).map(test_case).collect();
    s.upsert_test_cases(&cases).await.unwrap();

    let older = run(at(0));
    let newer = run(at(60));
    let older_results = vec![
        result(&older, &cases[0], 1, TestStatus::Failed),
        result(&older, &cases[0], 2, TestStatus::Passed),
        result(&older, &cases[1], 1, TestStatus::Skipped),
    ];
    let mut newer_results = vec![
        result(&newer, &cases[0], 1, TestStatus::ExpectedFailure),
        result(&newer, &cases[2], 1, TestStatus::Error),
    ];
    newer_results[1].message = Some("ошибка: ключ ≠ значение 🔥".to_owned());
    newer_results[1].duration_ms = None;
    s.insert_run(&older, &older_results).await.unwrap();
    s.insert_run(&newer, &newer_results).await.unwrap();

    assert_eq!(s.run(&older.id).await.unwrap(), older);
    let runs = s.list_runs(10).await.unwrap();
    assert_eq!(runs, vec![newer.clone(), older.clone()]);
    assert_eq!(s.list_runs(1).await.unwrap(), vec![newer.clone()]);

    let mut by_run = s.results_for_run(&older.id).await.unwrap();
    let mut expected = older_results.clone();
    let sort = |v: &mut Vec<TestResult>| v.sort_by_key(|r| (r.test_id, r.attempt));
    sort(&mut by_run);
    sort(&mut expected);
    assert_eq!(by_run, expected);

    // Newest run first, last attempt first within a run.
    let history = s.results_for_test(&cases[0].id, 10).await.unwrap();
    assert_eq!(
        history,
        vec![
            newer_results[0].clone(),
            older_results[1].clone(),
            older_results[0].clone()
        ]
    );
    assert_eq!(s.results_for_test(&cases[0].id, 2).await.unwrap().len(), 2);
    assert_eq!(
        s.results_for_test(&cases[2].id, 10).await.unwrap(),
        vec![newer_results[1].clone()]
    );
    assert!(
        s.results_for_test(&TestId::new(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(kind(s.run(&RunId::new()).await), ErrorKind::NotFound);
    assert_eq!(kind(s.test_case(&TestId::new()).await), ErrorKind::NotFound);
}

async fn a_run_with_a_bad_result_is_not_stored_at_all(t: &TestStore) {
    let s = t.store.as_ref();
    let cases: Vec<TestCase> = (0..50).map(test_case).collect();
    s.upsert_test_cases(&cases).await.unwrap();
    let r = run(at(0));
    let mut results: Vec<TestResult> = cases
        .iter()
        .map(|c| result(&r, c, 1, TestStatus::Passed))
        .collect();
    // The last row names a test that does not exist: a foreign-key violation in the database.
    let ghost = test_case(999);
    results.push(result(&r, &ghost, 1, TestStatus::Failed));
    let err = s.insert_run(&r, &results).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(kind(s.run(&r.id).await), ErrorKind::NotFound);
    assert!(s.results_for_run(&r.id).await.unwrap().is_empty());
    assert!(
        s.results_for_test(&cases[0].id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The same test and attempt twice: a unique violation, also all-or-nothing.
    results.pop();
    results.push(result(&r, &cases[0], 1, TestStatus::Failed));
    assert_eq!(kind(s.insert_run(&r, &results).await), ErrorKind::Conflict);
    assert_eq!(kind(s.run(&r.id).await), ErrorKind::NotFound);

    // Checked before any SQL: a result of another run, attempt 0, an empty run name.
    results.pop();
    let mut stray = result(&r, &cases[0], 2, TestStatus::Passed);
    stray.run_id = RunId::new();
    assert_eq!(
        kind(s.insert_run(&r, &[stray]).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(
            s.insert_run(&r, &[result(&r, &cases[0], 0, TestStatus::Passed)])
                .await
        ),
        ErrorKind::InvalidInput
    );
    let mut unnamed = r.clone();
    unnamed.name = String::new();
    assert_eq!(
        kind(s.insert_run(&unnamed, &[]).await),
        ErrorKind::InvalidInput
    );

    // Then the good batch goes in, once.
    s.insert_run(&r, &results).await.unwrap();
    assert_eq!(s.results_for_run(&r.id).await.unwrap().len(), 50);
    assert_eq!(kind(s.insert_run(&r, &[]).await), ErrorKind::Conflict);
}

async fn ten_thousand_results_in_one_run(t: &TestStore) {
    let s = t.store.as_ref();
    let cases: Vec<TestCase> = (0..10_000).map(test_case).collect();
    s.upsert_test_cases(&cases).await.unwrap();
    let r = run(at(0));
    let results: Vec<TestResult> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let status = if i % 97 == 0 {
                TestStatus::Failed
            } else {
                TestStatus::Passed
            };
            result(&r, c, 1, status)
        })
        .collect();
    s.insert_run(&r, &results).await.unwrap();
    let stored = s.results_for_run(&r.id).await.unwrap();
    assert_eq!(stored.len(), 10_000);
    let failed = stored
        .iter()
        .filter(|r| r.status == TestStatus::Failed)
        .count();
    assert_eq!(
        failed,
        results
            .iter()
            .filter(|r| r.status == TestStatus::Failed)
            .count()
    );
    let info = s.info().await.unwrap();
    assert!(info.tables.contains(&("test_results".to_owned(), 10_000)));
    assert!(info.tables.contains(&("test_cases".to_owned(), 10_000)));
}

async fn concurrent_writers_all_land(t: &TestStore) {
    let store: Arc<dyn Store> = Arc::clone(&t.store);
    let cases: Vec<TestCase> = (0..40).map(test_case).collect();
    store.upsert_test_cases(&cases).await.unwrap();
    let writer = user(store.as_ref(), "ada").await;
    let cases = Arc::new(cases);

    let mut tasks = tokio::task::JoinSet::<qapms_core::Result<()>>::new();
    for w in 0..8 {
        let (store, cases, writer) = (Arc::clone(&store), Arc::clone(&cases), writer.clone());
        tasks.spawn(async move {
            for i in 0..5 {
                let r = run(at(w * 100 + i));
                let results: Vec<TestResult> = cases
                    .iter()
                    .map(|c| result(&r, c, 1, TestStatus::Passed))
                    .collect();
                store.insert_run(&r, &results).await?;
                store
                    .append_time_entry(&entry(&writer, w * 100 + i, 1))
                    .await?;
                store
                    .set_cursor("jira", &format!("writer-{w}"), &i.to_string())
                    .await?;
            }
            Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().unwrap();
    }
    let runs = store.list_runs(100).await.unwrap();
    assert_eq!(runs.len(), 40);
    for r in &runs {
        assert_eq!(store.results_for_run(&r.id).await.unwrap().len(), 40);
    }
    let entries = store
        .time_entries(&TimeEntryFilter::default())
        .await
        .unwrap();
    assert_eq!(entries.len(), 40);
    for w in 0..8 {
        assert_eq!(
            store
                .cursor("jira", &format!("writer-{w}"))
                .await
                .unwrap()
                .as_deref(),
            Some("4")
        );
    }
}

// ---- Time -------------------------------------------------------------------------------------

async fn time_entries_append_and_filter(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let bob = user(s, "bob").await;
    let e1 = entry(&ada, 0, 30);
    let mut e2 = entry(&ada, 60, 15);
    e2.ticket = Some(key("OPS-3"));
    e2.note = Some("révision · 審查 ✅".to_owned());
    e2.source = TimeSource::Manual;
    let e3 = entry(&bob, 120, 45);
    for e in [&e1, &e2, &e3] {
        s.append_time_entry(e).await.unwrap();
    }

    let all = s.time_entries(&TimeEntryFilter::default()).await.unwrap();
    assert_eq!(all, vec![e1.clone(), e2.clone(), e3.clone()]);
    let ada_only = TimeEntryFilter {
        user_id: Some(ada.id),
        ..TimeEntryFilter::default()
    };
    assert_eq!(
        s.time_entries(&ada_only).await.unwrap(),
        vec![e1.clone(), e2.clone()]
    );
    let pay = TimeEntryFilter {
        ticket: Some(key("PAY-12")),
        ..TimeEntryFilter::default()
    };
    assert_eq!(
        s.time_entries(&pay).await.unwrap(),
        vec![e1.clone(), e3.clone()]
    );
    // Periods are half-open on the start time: [60, 120) holds e2 only.
    let period = TimeEntryFilter {
        from: Some(at(60)),
        to: Some(at(120)),
        ..TimeEntryFilter::default()
    };
    assert_eq!(s.time_entries(&period).await.unwrap(), vec![e2.clone()]);
    let both = TimeEntryFilter {
        user_id: Some(bob.id),
        from: Some(at(0)),
        ..TimeEntryFilter::default()
    };
    assert_eq!(s.time_entries(&both).await.unwrap(), vec![e3.clone()]);

    // A correction is a new entry that names the old one.
    let mut fix = entry(&ada, 0, 20);
    fix.corrects = Some(e1.id);
    fix.source = TimeSource::Manual;
    s.append_time_entry(&fix).await.unwrap();
    assert_eq!(s.time_entries(&ada_only).await.unwrap().len(), 3);

    // Export bookkeeping: set once; the same value again is a no-op; another value is refused.
    s.set_time_entry_worklog(&e1.id, "10042").await.unwrap();
    s.set_time_entry_worklog(&e1.id, "10042").await.unwrap();
    let err = s.set_time_entry_worklog(&e1.id, "99999").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("append-only"), "{err}");
    let e1_now = s.time_entries(&ada_only).await.unwrap().remove(0);
    assert_eq!(e1_now.exported_worklog_id.as_deref(), Some("10042"));
    assert_eq!(
        kind(s.set_time_entry_worklog(&TimeEntryId::new(), "1").await),
        ErrorKind::NotFound
    );
}

async fn time_entry_errors_map_to_kinds(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let e = entry(&ada, 0, 10);
    s.append_time_entry(&e).await.unwrap();
    assert_eq!(kind(s.append_time_entry(&e).await), ErrorKind::Conflict);

    let mut backwards = entry(&ada, 30, 10);
    backwards.ended_at = at(0);
    assert_eq!(
        kind(s.append_time_entry(&backwards).await),
        ErrorKind::InvalidInput
    );

    // Foreign keys: an unknown user, an unknown corrected entry.
    let stranger = User::new("stranger", Role::Qa);
    let err = s
        .append_time_entry(&entry(&stranger, 0, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let mut orphan = entry(&ada, 0, 1);
    orphan.corrects = Some(TimeEntryId::new());
    assert_eq!(
        kind(s.append_time_entry(&orphan).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        s.time_entries(&TimeEntryFilter::default()).await.unwrap(),
        vec![e]
    );
}

async fn time_entries_are_append_only_in_the_database(t: &TestStore) {
    let s = t.store.as_ref();
    let ada = user(s, "ada").await;
    let e = entry(&ada, 0, 10);
    s.append_time_entry(&e).await.unwrap();

    // Even SQL that bypasses the store cannot rewrite or remove history.
    for sql in [
        "UPDATE time_entries SET ended_at = started_at",
        "UPDATE time_entries SET note = 'edited'",
        "UPDATE time_entries SET user_id = user_id, ticket_key = 'PAY-13'",
        "DELETE FROM time_entries",
    ] {
        let err = t.raw_execute(sql).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    if matches!(t.place, Place::Postgres { .. }) {
        let err = t
            .raw_execute("TRUNCATE time_entries CASCADE")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    // Setting the export id once is the one permitted update.
    assert_eq!(
        t.raw_execute("UPDATE time_entries SET exported_worklog_id = 'w1'")
            .await
            .unwrap(),
        1
    );
    let err = t
        .raw_execute("UPDATE time_entries SET exported_worklog_id = NULL")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let stored = s.time_entries(&TimeEntryFilter::default()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].ended_at, e.ended_at);
}

async fn foreign_keys_are_enforced_in_the_database(t: &TestStore) {
    let err = t
        .raw_execute(
            "INSERT INTO workflow_steps (id, workflow_id, position, name, state) \
             SELECT id, id, 0, 'orphan', 'todo' FROM users",
        )
        .await;
    // No users yet: nothing inserted, nothing to violate.
    assert_eq!(err.unwrap(), 0);
    user(t.store.as_ref(), "ada").await;
    let err = t
        .raw_execute(
            "INSERT INTO workflow_steps (id, workflow_id, position, name, state) \
             SELECT id, id, 0, 'orphan', 'todo' FROM users",
        )
        .await
        .unwrap_err();
    let db = err.as_database_error().expect("a database error");
    assert!(db.is_foreign_key_violation(), "{err}");
}

// ---- Run imports and test identity ----------------------------------------------------------

fn imported(
    keys: &[(TestSource, &str)],
    tickets: &[&str],
    statuses: &[TestStatus],
) -> ImportedTest {
    ImportedTest {
        keys: keys.iter().map(|(s, k)| ExternalKey::new(*s, *k)).collect(),
        title: keys[0].1.to_owned(),
        folder_path: None,
        ticket_keys: tickets.iter().map(|k| key(k)).collect(),
        attempts: statuses
            .iter()
            .map(|s| ImportedAttempt {
                status: *s,
                duration_ms: Some(5),
                message: s.is_failure().then(|| "boom".to_owned()),
            })
            .collect(),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one import told batch by batch, each batch checked where it is added"
)]
async fn run_import_resolves_identities_and_numbers_attempts(t: &TestStore) {
    let s = t.store.as_ref();
    // A test stored before, without identity rows: its own source and id still find it.
    let known = TestCase {
        external_id: "tests/test_a.py::test_known".to_owned(),
        ..test_case(0)
    };
    s.upsert_test_cases(std::slice::from_ref(&known))
        .await
        .unwrap();

    let r = run(at(0));
    let mut import = s.begin_run_import(&r).await.unwrap();
    let first = import
        .add(&[
            imported(
                &[
                    (TestSource::Pytest, "tests/test_a.py::test_known"),
                    (TestSource::Junit, "tests.test_a::test_known"),
                ],
                &["OPS-9"],
                &[TestStatus::Failed, TestStatus::Passed],
            ),
            imported(
                &[(TestSource::Junit, "C::new")],
                &["PAY-3"],
                &[TestStatus::Passed],
            ),
        ])
        .await
        .unwrap();
    assert_eq!((first.new_tests, first.results), (1, 3));
    // The same new test again in a later batch (a Playwright retry): next attempt number, and
    // its new ticket link joins the one the first batch stored.
    let second = import
        .add(&[imported(
            &[(TestSource::Junit, "C::new")],
            &["PAY-4"],
            &[TestStatus::Failed],
        )])
        .await
        .unwrap();
    assert_eq!((second.new_tests, second.results), (0, 1));
    // Under a key of another system too: still the same test, and the new key names it.
    let third = import
        .add(&[imported(
            &[
                (TestSource::Postman, "req-new"),
                (TestSource::Junit, "C::new"),
            ],
            &[],
            &[TestStatus::Passed],
        )])
        .await
        .unwrap();
    assert_eq!((third.new_tests, third.results), (0, 1));
    import.finish(Some(at(3))).await.unwrap();

    assert_eq!(s.run(&r.id).await.unwrap().finished_at, Some(at(3)));
    let results = s.results_for_run(&r.id).await.unwrap();
    assert_eq!(results.len(), 5);
    let known_results: Vec<(u32, TestStatus)> = results
        .iter()
        .filter(|x| x.test_id == known.id)
        .map(|x| (x.attempt, x.status))
        .collect();
    assert_eq!(
        known_results,
        [(1, TestStatus::Failed), (2, TestStatus::Passed)]
    );

    let new_id = s
        .resolve_test(&ExternalKey::new(TestSource::Junit, "C::new"))
        .await
        .unwrap();
    let new_attempts: Vec<u32> = results
        .iter()
        .filter(|x| x.test_id == new_id)
        .map(|x| x.attempt)
        .collect();
    assert_eq!(new_attempts, [1, 2, 3]);
    assert_eq!(
        s.resolve_test(&ExternalKey::new(TestSource::Postman, "req-new"))
            .await
            .unwrap(),
        new_id
    );
    assert_eq!(
        s.resolve_test(&ExternalKey::new(
            TestSource::Junit,
            "tests.test_a::test_known"
        ))
        .await
        .unwrap(),
        known.id
    );
    // Ticket links merge into the stored test.
    let stored = s.test_case(&known.id).await.unwrap();
    assert_eq!(stored.ticket_keys, [key("PAY-1"), key("OPS-9")]);
    assert_eq!(
        s.test_case(&new_id).await.unwrap().ticket_keys,
        [key("PAY-3"), key("PAY-4")]
    );
    let identities = s.test_identities(&new_id).await.unwrap();
    assert_eq!(identities.len(), 2);
    assert_eq!(identities[0].valid_to, None);
    assert_eq!(
        kind(
            s.resolve_test(&ExternalKey::new(TestSource::Junit, "nope"))
                .await
        ),
        ErrorKind::NotFound
    );
}

async fn a_dropped_or_failed_import_leaves_nothing(t: &TestStore) {
    let s = t.store.as_ref();
    let r = run(at(0));
    let mut import = s.begin_run_import(&r).await.unwrap();
    import
        .add(&[imported(
            &[(TestSource::Junit, "C::a")],
            &[],
            &[TestStatus::Passed],
        )])
        .await
        .unwrap();
    let bad = ImportedTest {
        attempts: vec![],
        ..imported(&[(TestSource::Junit, "C::b")], &[], &[])
    };
    assert_eq!(kind(import.add(&[bad]).await), ErrorKind::InvalidInput);
    drop(import);
    assert_eq!(kind(s.run(&r.id).await), ErrorKind::NotFound);
    assert_eq!(
        kind(
            s.resolve_test(&ExternalKey::new(TestSource::Junit, "C::a"))
                .await
        ),
        ErrorKind::NotFound
    );
    // The store is usable afterwards (the SQLite write lock was released).
    let again = run(at(1));
    let import = s.begin_run_import(&again).await.unwrap();
    assert_eq!(
        kind(import.finish(Some(at(-5))).await),
        ErrorKind::InvalidInput
    );
    assert_eq!(kind(s.run(&again.id).await), ErrorKind::NotFound);
}

async fn a_large_import_in_batches(t: &TestStore) {
    let s = t.store.as_ref();
    let r = run(at(0));
    let mut import = s.begin_run_import(&r).await.unwrap();
    for batch in 0..3 {
        let tests: Vec<ImportedTest> = (0..2500)
            .map(|i| {
                let name = format!("pkg.Class{}::test_{i}", batch % 2);
                imported(
                    &[(TestSource::Junit, name.as_str())],
                    &[],
                    &[TestStatus::Passed],
                )
            })
            .collect();
        import.add(&tests).await.unwrap();
    }
    import.finish(None).await.unwrap();
    let results = s.results_for_run(&r.id).await.unwrap();
    assert_eq!(results.len(), 7500);
    assert_eq!(results.iter().filter(|x| x.attempt == 2).count(), 2500);
}

// ---- Integration state ------------------------------------------------------------------------

async fn cursors_round_trip(t: &TestStore) {
    let s = t.store.as_ref();
    assert_eq!(s.cursor("jira", "issues").await.unwrap(), None);
    s.set_cursor("jira", "issues", "2025-03-01T09:00:00Z")
        .await
        .unwrap();
    s.set_cursor("testmo", "issues", "run-7").await.unwrap();
    s.set_cursor("jira", "issues", "2025-03-02T10:00:00.123456Z")
        .await
        .unwrap();
    s.set_cursor("jira", "sprints", "página ✓").await.unwrap();
    assert_eq!(
        s.cursor("jira", "issues").await.unwrap().as_deref(),
        Some("2025-03-02T10:00:00.123456Z")
    );
    assert_eq!(
        s.cursor("testmo", "issues").await.unwrap().as_deref(),
        Some("run-7")
    );
    assert_eq!(
        s.cursor("jira", "sprints").await.unwrap().as_deref(),
        Some("página ✓")
    );
    assert_eq!(
        kind(s.set_cursor("", "issues", "x").await),
        ErrorKind::InvalidInput
    );
}

for_each_backend!(
    info_reports_schema_and_every_table,
    reopening_keeps_data_and_migrations_are_idempotent,
    users_round_trip,
    user_errors_map_to_kinds,
    tickets_upsert_read_and_list,
    test_cases_upsert_and_conflict_rolls_back,
    runs_and_results_round_trip,
    a_run_with_a_bad_result_is_not_stored_at_all,
    ten_thousand_results_in_one_run,
    concurrent_writers_all_land,
    time_entries_append_and_filter,
    time_entry_errors_map_to_kinds,
    time_entries_are_append_only_in_the_database,
    foreign_keys_are_enforced_in_the_database,
    cursors_round_trip,
    run_import_resolves_identities_and_numbers_attempts,
    a_dropped_or_failed_import_leaves_nothing,
    a_large_import_in_batches,
);

/// The number of the newest migration file, which a freshly migrated store must report. Both
/// backends carry the same numbers, so either folder tells.
fn latest_migration() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::read_dir(&dir)
        .expect("the migrations folder")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse::<i64>().ok()
        })
        .max()
        .expect("at least one migration")
}
