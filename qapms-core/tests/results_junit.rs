//! The `JUnit` XML reader on each dialect's real shape, on hostile input, and under fuzzing.

// Helpers outside `#[test]` functions are not covered by clippy's allow-unwrap-in-tests.
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::model::TestStatus;
use qapms_core::results::{JunitCase, Limits, identity, parse_junit};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/junit/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap()
}

fn parse(name: &str) -> Vec<JunitCase> {
    parse_junit(&fixture(name), Limits::default()).unwrap()
}

fn statuses(case: &JunitCase) -> Vec<TestStatus> {
    case.attempts.iter().map(|a| a.status).collect()
}

#[test]
fn surefire_retries_become_attempts_in_the_order_they_ran() {
    let cases = parse("surefire.xml");
    assert_eq!(cases.len(), 5);
    assert_eq!(statuses(&cases[0]), [TestStatus::Passed]);
    // Flaky: the failed run first, then the passing one.
    assert_eq!(
        statuses(&cases[1]),
        [TestStatus::Failed, TestStatus::Passed]
    );
    let flaky = cases[1].attempts[0].message.as_deref().unwrap();
    assert!(flaky.contains("expected 401 but was 500") && flaky.contains("LoginTest.java:42"));
    // Rerun failures follow the first failure.
    assert_eq!(statuses(&cases[2]), [TestStatus::Failed; 3]);
    assert_eq!(statuses(&cases[3]), [TestStatus::Error]);
    assert_eq!(statuses(&cases[4]), [TestStatus::Skipped]);
    assert_eq!(
        cases[4].attempts[0].message.as_deref(),
        Some("disabled on CI")
    );
    assert_eq!(cases[0].duration(), Some(100));
    assert_eq!(
        identity::junit_key(&cases[0]),
        "com.acme.pay.LoginTest::logsIn"
    );
    let tickets = identity::ticket_keys(&cases[1], &identity::LinkRules::default());
    assert_eq!(tickets[0].as_str(), "PAY-12");
}

#[test]
fn pytest_reports_give_node_ids_and_decode_entities() {
    let cases = parse("pytest.xml");
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().all(|c| c.pytest));
    assert_eq!(
        identity::pytest_node_id(&cases[1]).as_deref(),
        Some("tests/test_pay.py::TestLogin::test_bad[<script>]")
    );
    assert_eq!(
        identity::pytest_node_id(&cases[2]).as_deref(),
        Some("tests/test_pay.py::test_skipped")
    );
    // No `file` attribute (pytest's default xunit2 family): rebuilt from the class name.
    assert_eq!(
        identity::pytest_node_id(&cases[3]).as_deref(),
        Some("tests/test_refund.py::test_refund_CORE_3")
    );
    let failure = cases[1].attempts[0].message.as_deref().unwrap();
    assert!(
        failure.contains("> ") && failure.contains("assert 500 == 401"),
        "{failure}"
    );
    assert_eq!(
        cases[2].attempts[0].message.as_deref(),
        Some("pytest.skip: needs staging\ntests/test_pay.py:21: needs staging")
    );
    assert_eq!(
        cases[0].properties,
        [("ticket".to_owned(), "PAY-7".to_owned())]
    );
    assert_eq!(cases[0].line, Some(10));
}

#[test]
fn jest_newman_and_playwright_shapes() {
    let jest = parse("jest.xml");
    assert_eq!(jest.len(), 2);
    assert_eq!(statuses(&jest[1]), [TestStatus::Failed]);
    assert!(
        jest[1].attempts[0]
            .message
            .as_deref()
            .unwrap()
            .contains("Object.<anonymous>")
    );
    assert_eq!(jest[0].suite.as_deref(), Some("Cart"));

    let newman = parse("newman.xml");
    assert_eq!(newman.len(), 3);
    assert_eq!(
        newman[0].suite_id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    assert_eq!(
        newman[1].attempts[0].message.as_deref(),
        Some("AssertionFailure: expected undefined to be a string\nFailed 1 times.")
    );

    // Playwright reports a retry as the same test case again; the store numbers it.
    let playwright = parse("playwright.xml");
    assert_eq!(playwright.len(), 3);
    assert_eq!(playwright[0].name, playwright[1].name);
    assert_eq!(statuses(&playwright[0]), [TestStatus::Failed]);
    assert_eq!(statuses(&playwright[1]), [TestStatus::Passed]);
}

fn error_of(bytes: &[u8]) -> String {
    let err = parse_junit(bytes, Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    err.to_string()
}

#[test]
fn hostile_and_broken_files_give_a_clear_error_with_a_line() {
    let laughs = error_of(&fixture("billion_laughs.xml"));
    assert!(
        laughs.starts_with("line 2:") && laughs.contains("DOCTYPE"),
        "{laughs}"
    );

    let truncated = error_of(&fixture("truncated.xml"));
    assert!(
        truncated.contains("truncated") || truncated.contains("malformed"),
        "{truncated}"
    );

    let latin1 = error_of(&fixture("latin1.xml"));
    assert!(
        latin1.starts_with("line 1:") && latin1.contains("iso-8859-1"),
        "{latin1}"
    );

    let mismatched = error_of(&fixture("mismatched.xml"));
    assert!(
        mismatched.starts_with("line 4:") && mismatched.contains("malformed"),
        "{mismatched}"
    );

    let not_junit = error_of(b"<html><body/></html>");
    assert!(not_junit.contains("not a JUnit report"), "{not_junit}");

    let utf16 = error_of(b"\xff\xfe<\x00t\x00");
    assert!(!utf16.is_empty());

    let bad_utf8 = error_of(b"<testsuite>\n<testcase name=\"\xff\xfe\"/></testsuite>");
    assert!(bad_utf8.starts_with("line 2:"), "{bad_utf8}");

    assert!(error_of(b"").contains("no JUnit elements"));
}

#[test]
fn huge_attributes_and_texts_are_capped() {
    let limits = Limits {
        max_event_bytes: 1 << 20,
        ..Limits::default()
    };
    let huge_name = format!(
        "<testsuite>\n<testcase name=\"{}\"/></testsuite>",
        "x".repeat(2 << 20)
    );
    let err = parse_junit(huge_name.as_bytes(), limits)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("line 2:") && err.contains("larger than"),
        "{err}"
    );

    let long_name = format!(
        "<testsuite><testcase name=\"{}\"/></testsuite>",
        "n".repeat(9000)
    );
    let err = parse_junit(long_name.as_bytes(), limits)
        .unwrap_err()
        .to_string();
    assert!(err.contains("test name is 9000 bytes"), "{err}");

    let long_message = format!(
        "<testsuite><testcase name=\"t\"><failure message=\"{}\">{}</failure></testcase></testsuite>",
        "m".repeat(100_000),
        "trace ".repeat(100_000)
    );
    let cases = parse_junit(long_message.as_bytes(), limits).unwrap();
    let message = cases[0].attempts[0].message.as_deref().unwrap();
    assert!(message.len() < 17_000 && message.ends_with("[truncated]"));
}

/// Test-only helper: the duration of a case's last attempt.
trait Duration {
    fn duration(&self) -> Option<u64>;
}

impl Duration for JunitCase {
    fn duration(&self) -> Option<u64> {
        self.attempts.last().and_then(|a| a.duration_ms)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_junit(&bytes, Limits::default());
    }

    #[test]
    fn truncations_and_corruptions_of_valid_files_never_panic(
        which in 0usize..5,
        cut in 0.0f64..1.0,
        flip in proptest::option::of((0.0f64..1.0, any::<u8>())),
    ) {
        let name = ["surefire.xml", "pytest.xml", "jest.xml", "newman.xml", "playwright.xml"][which];
        let mut bytes = fixture(name);
        let len = (bytes.len() as f64 * cut) as usize;
        bytes.truncate(len);
        if let Some((at, byte)) = flip
            && !bytes.is_empty()
        {
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] = byte;
        }
        let _ = parse_junit(&bytes, Limits::default());
    }

    #[test]
    fn random_junit_shaped_text_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("<testsuite name=\"s\">"), Just("</testsuite>"), Just("<testcase name=\"t\">"),
                Just("</testcase>"), Just("<testcase name=\"u\"/>"), Just("<failure message=\"m\">"),
                Just("</failure>"), Just("<flakyFailure>"), Just("</flakyFailure>"),
                Just("<rerunFailure/>"), Just("<stackTrace>"), Just("</stackTrace>"),
                Just("<skipped/>"), Just("&amp;"), Just("&bogus;"), Just("&#0;"), Just("<![CDATA[x]]>"),
                Just("<properties><property name=\"ticket\" value=\"PAY-1\"/></properties>"),
                Just("text"), Just("<system-out>o</system-out>"), Just("<!-- c -->"),
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        let _ = parse_junit(text.as_bytes(), Limits::default());
    }
}
