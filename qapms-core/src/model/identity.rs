//! Test identity across systems, and the shape of an imported test.
//!
//! A test has one stable [`TestId`]; each system names it its own way (a pytest node id, a `JUnit`
//! `classname::name`, a Testmo case id, a Postman request id). An [`ExternalKey`] is one such
//! name, and the store's `test_identities` table maps every current key to its test, keeping
//! closed rows as rename history.
//!
//! [`ImportedTest`] is what an importer hands the store: the keys it knows the test by (the
//! first is the canonical one, used when the test is new), descriptive fields, and every
//! attempt in the order it ran.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{IssueKey, TestId, TestSource, TestStatus};

/// One system's name for a test: `(pytest, "tests/test_pay.py::TestLogin::test_ok")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalKey {
    pub system: TestSource,
    pub key: String,
}

impl ExternalKey {
    pub fn new(system: TestSource, key: impl Into<String>) -> Self {
        Self {
            system,
            key: key.into(),
        }
    }
}

impl std::fmt::Display for ExternalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.system, self.key)
    }
}

/// A row of the identity map: a key, the test it names, and when it was current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestIdentity {
    pub test_id: TestId,
    pub key: ExternalKey,
    pub valid_from: DateTime<Utc>,
    /// Set when the key stopped naming the test (a rename); `None` while it is current.
    pub valid_to: Option<DateTime<Utc>>,
}

/// One attempt of an imported test, before it has a run or a test id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedAttempt {
    pub status: TestStatus,
    pub duration_ms: Option<u64>,
    /// The failure or skip message, with the trace after it when the report has one.
    pub message: Option<String>,
}

/// A test as an importer found it in a report, with all its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedTest {
    /// Every key the report gives the test, canonical first; never empty.
    pub keys: Vec<ExternalKey>,
    pub title: String,
    pub folder_path: Option<String>,
    /// Jira keys linked by naming convention or by a property; merged into the stored test.
    pub ticket_keys: Vec<IssueKey>,
    /// In the order they ran; retries follow the first attempt.
    pub attempts: Vec<ImportedAttempt>,
}

/// What the store did with one batch of imported tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportBatchOutcome {
    /// Tests the store had not seen under any of their keys, created by this batch.
    pub new_tests: u64,
    /// Result rows written (one per attempt).
    pub results: u64,
}
