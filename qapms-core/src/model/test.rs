//! Test cases, runs and results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{IssueKey, PatternId, RunId, TestId};

/// Where a test case or a run comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSource {
    Testmo,
    Postman,
    Pytest,
    Junit,
}

text_enum!(TestSource, "test source", {
    Testmo => "testmo",
    Postman => "postman",
    Pytest => "pytest",
    Junit => "junit",
});

/// The outcome of one attempt of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    /// The test could not run to a verdict (fixture or set-up error).
    Error,
    Skipped,
    /// Not run because something it depends on is broken (Testmo "blocked").
    Blocked,
    /// Failed, and was marked as expected to fail (pytest `xfail`).
    ExpectedFailure,
    /// Passed, though it was marked as expected to fail (pytest `xpass`).
    UnexpectedPass,
}

text_enum!(TestStatus, "test status", {
    Passed => "passed",
    Failed => "failed",
    Error => "error",
    Skipped => "skipped",
    Blocked => "blocked",
    ExpectedFailure => "expected_failure",
    UnexpectedPass => "unexpected_pass",
});

impl TestStatus {
    /// Whether this outcome counts against the build.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Error | Self::UnexpectedPass)
    }
}

/// A test case as first seen in one source; other systems' names for it live in the store's
/// identity map, keyed by [`TestCase::id`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCase {
    pub id: TestId,
    pub source: TestSource,
    /// The source's own id: a pytest node id, `class::name` for `JUnit`, a Testmo case id.
    pub external_id: String,
    pub title: String,
    pub folder_path: Option<String>,
    pub tags: Vec<String>,
    pub ticket_keys: Vec<IssueKey>,
}

/// One run of a test suite. Its results are stored with it, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestRun {
    pub id: RunId,
    pub source: TestSource,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub environment: Option<String>,
    /// The build number or source revision that was tested.
    pub revision: Option<String>,
    pub url: Option<String>,
}

/// One attempt of one test in one run. Retries are further attempts, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub run_id: RunId,
    pub test_id: TestId,
    pub attempt: u32,
    pub status: TestStatus,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
    /// A hash of the normalised stack trace, which groups failures with the same cause.
    pub trace_fingerprint: Option<String>,
    /// The failure cluster this result was assigned to, if any.
    pub cluster_id: Option<PatternId>,
}
