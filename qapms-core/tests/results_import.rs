//! `results::import_junit` end to end: files on disk into a real `SQLite` store.

// The shared harness's helpers are not covered by clippy's allow-unwrap-in-tests.
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::path::PathBuf;

use qapms_core::ErrorKind;
use qapms_core::model::{ExternalKey, TestSource, TestStatus};
use qapms_core::results::{ImportOptions, import_junit, import_junit_with_progress};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/tests/fixtures/junit/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

#[tokio::test]
async fn several_dialects_import_as_one_run_with_every_attempt() {
    let t = common::sqlite().await;
    let s = t.store.as_ref();
    let paths = [
        "surefire.xml",
        "pytest.xml",
        "jest.xml",
        "newman.xml",
        "playwright.xml",
    ]
    .map(fixture);
    let mut reports = 0;
    let summary = import_junit_with_progress(
        s,
        &paths,
        &ImportOptions {
            run_name: Some("nightly".to_owned()),
            batch_size: 3,
            ..ImportOptions::default()
        },
        &mut |_| reports += 1,
    )
    .await
    .unwrap();
    assert!(reports >= 2);
    assert_eq!(summary.run_name, "nightly");
    assert_eq!(summary.files, 5);
    // 5 surefire + 4 pytest + 2 jest + 3 newman + 2 playwright (one reported twice).
    assert_eq!(summary.tests, 16);
    assert_eq!(summary.attempts, 8 + 4 + 2 + 3 + 3);
    assert_eq!(summary.retried, 3);
    assert_eq!(summary.new_tests, 16);
    assert_eq!(
        summary.passed + summary.failed + summary.skipped,
        summary.tests
    );

    let run = s.run(&summary.run_id).await.unwrap();
    assert_eq!(run.source, TestSource::Junit);
    assert_eq!(
        s.results_for_run(&summary.run_id).await.unwrap().len() as u64,
        summary.attempts
    );
    // The pytest node id and the JUnit key name the same test.
    let by_node = s
        .resolve_test(&ExternalKey::new(
            TestSource::Pytest,
            "tests/test_pay.py::TestLogin::test_ok",
        ))
        .await
        .unwrap();
    let by_junit = s
        .resolve_test(&ExternalKey::new(
            TestSource::Junit,
            "tests.test_pay.TestLogin::test_ok",
        ))
        .await
        .unwrap();
    assert_eq!(by_node, by_junit);
    assert_eq!(
        s.test_case(&by_node).await.unwrap().ticket_keys[0].as_str(),
        "PAY-7"
    );
    // The Playwright retry is attempt 2 of the same test.
    let pw = s
        .resolve_test(&ExternalKey::new(
            TestSource::Junit,
            "checkout.spec.ts::checkout › pays with a card",
        ))
        .await
        .unwrap();
    let history = s.results_for_test(&pw, 10).await.unwrap();
    let attempts: Vec<(u32, TestStatus)> = history.iter().map(|r| (r.attempt, r.status)).collect();
    assert_eq!(attempts, [(2, TestStatus::Passed), (1, TestStatus::Failed)]);

    // Importing again reuses every test and creates none.
    let again = import_junit(s, &paths, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(again.new_tests, 0);
    assert_eq!(again.tests, 16);
}

#[tokio::test]
async fn a_bad_file_rolls_the_whole_import_back_and_names_file_and_line() {
    let t = common::sqlite().await;
    let s = t.store.as_ref();
    let paths = [fixture("surefire.xml"), fixture("mismatched.xml")];
    let err = import_junit(s, &paths, &ImportOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(
        message.contains("mismatched.xml:4: malformed XML"),
        "{message}"
    );
    assert!(s.list_runs(10).await.unwrap().is_empty());
    assert_eq!(
        s.resolve_test(&ExternalKey::new(
            TestSource::Junit,
            "com.acme.pay.LoginTest::logsIn"
        ))
        .await
        .unwrap_err()
        .kind(),
        ErrorKind::NotFound
    );

    let missing = import_junit(s, &[fixture("nope.xml")], &ImportOptions::default())
        .await
        .unwrap_err();
    assert!(missing.to_string().contains("nope.xml"), "{missing}");
    let laughs = import_junit(
        s,
        &[fixture("billion_laughs.xml")],
        &ImportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        laughs
            .to_string()
            .contains("billion_laughs.xml:2: a DOCTYPE"),
        "{laughs}"
    );
    assert!(s.list_runs(10).await.unwrap().is_empty());
}
