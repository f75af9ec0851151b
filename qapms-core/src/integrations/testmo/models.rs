//! Testmo's payloads, with only the fields qapms reads.
//!
//! Every response field the derived contract marks optional is `nullable` there, so each is an
//! `Option` here, and unknown fields are ignored. Ids are newtypes so a run id cannot be passed
//! where a project id is expected. Request bodies serialise exactly the contract's property
//! names, leaving out what is not set.

use serde::{Deserialize, Serialize};

macro_rules! testmo_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }
    };
}

testmo_id!(
    /// A Testmo project.
    ProjectId
);
testmo_id!(
    /// A milestone.
    MilestoneId
);
testmo_id!(
    /// A manual test run.
    RunId
);
testmo_id!(
    /// A repository test case.
    CaseId
);
testmo_id!(
    /// A repository folder.
    FolderId
);
testmo_id!(
    /// An automation run.
    AutomationRunId
);
testmo_id!(
    /// A thread of an automation run (one parallel job).
    ThreadId
);

/// One page of any Testmo list; `X` is what `expands=` adds beside the results (ignored
/// unless asked for).
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>, X: Deserialize<'de>"))]
pub struct Page<T, X = serde::de::IgnoredAny> {
    #[serde(default)]
    pub page: Option<u64>,
    #[serde(default)]
    pub next_page: Option<u64>,
    #[serde(default)]
    pub last_page: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
    /// `null` is read as an empty page.
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub result: Vec<T>,
    #[serde(default)]
    pub expands: Option<X>,
}

fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// A single object wrapped as `{"result": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Row<T> {
    pub result: T,
}

/// The token's user (`GET /user`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CurrentUser {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: Option<String>,
    pub is_completed: Option<bool>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Milestone {
    pub id: MilestoneId,
    pub project_id: Option<ProjectId>,
    pub parent_id: Option<MilestoneId>,
    pub name: Option<String>,
    pub is_started: Option<bool>,
    pub is_completed: Option<bool>,
    pub start_date: Option<String>,
    pub due_date: Option<String>,
    pub automation_tags: Option<Vec<String>>,
    pub created_at: Option<String>,
    pub completed_at: Option<String>,
}

/// A manual test run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Run {
    pub id: RunId,
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub milestone_id: Option<MilestoneId>,
    pub config_id: Option<u64>,
    pub state_id: Option<u64>,
    pub is_closed: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub elapsed: Option<u64>,
    pub success_count: Option<u64>,
    pub failure_count: Option<u64>,
    pub completed_count: Option<u64>,
    pub total_count: Option<u64>,
    pub created_at: Option<String>,
    pub closed_at: Option<String>,
}

/// One result of a test in a manual run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunResult {
    pub id: u64,
    pub run_id: Option<RunId>,
    pub test_id: Option<u64>,
    pub case_id: Option<CaseId>,
    /// Testmo's status id (1 passed, 2 failed, ... as configured on the instance).
    pub status_id: Option<u64>,
    pub is_latest: Option<bool>,
    pub note: Option<String>,
    /// Microseconds.
    pub elapsed: Option<u64>,
    pub created_at: Option<String>,
    /// Set on a result that was deleted; such a result is not an attempt.
    pub deleted_at: Option<String>,
}

/// A result status as `expands=statuses` describes it. Statuses are configured per instance,
/// so their ids mean nothing on their own; the flags and the system name say what they are.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusExpand {
    pub id: u64,
    pub name: Option<String>,
    pub system_name: Option<String>,
    pub is_final: Option<bool>,
    pub is_untested: Option<bool>,
    pub is_passed: Option<bool>,
    pub is_failed: Option<bool>,
}

/// What a page of run results carries besides the results.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunResultExpands {
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub statuses: Vec<StatusExpand>,
}

/// One page of `GET /runs/{id}/results?expands=statuses`.
pub type RunResultPage = Page<RunResult, RunResultExpands>;

/// What a page of cases carries with `expands=tags`: the names of the tag ids.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseExpands {
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub tags: Vec<TagExpand>,
}

/// A tag as `expands=tags` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TagExpand {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
}

/// A case with its tags by name, as [`ListCases::with_tag_names`] streams them.
///
/// [`ListCases::with_tag_names`]: super::ListCases::with_tag_names
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseWithTags {
    pub case: Case,
    /// Names in the order of `case.tags`; an id the page does not describe stays its number.
    pub tags: Vec<String>,
}

/// A run result with its status, as [`Testmo::run_results_with_statuses`] streams them.
///
/// [`Testmo::run_results_with_statuses`]: super::Testmo::run_results_with_statuses
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultWithStatus {
    pub result: RunResult,
    /// `None` when the page's expands do not describe the result's status id.
    pub status: Option<StatusExpand>,
}

/// A repository test case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub project_id: Option<ProjectId>,
    pub folder_id: Option<FolderId>,
    pub name: Option<String>,
    pub key: Option<u64>,
    pub state_id: Option<u64>,
    pub status_id: Option<u64>,
    pub estimate: Option<u64>,
    pub has_automation: Option<bool>,
    /// Tag ids (the repository returns ids, not names).
    pub tags: Option<Vec<u64>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// A repository folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Folder {
    pub id: FolderId,
    pub project_id: Option<ProjectId>,
    pub name: Option<String>,
    pub parent_id: Option<FolderId>,
    pub depth: Option<u64>,
    pub display_order: Option<u64>,
}

/// An automation run as listed (`GET /projects/{id}/automation/runs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AutomationRun {
    pub id: AutomationRunId,
    pub project_id: Option<ProjectId>,
    pub source_id: Option<u64>,
    pub name: Option<String>,
    /// 2 success, 3 failure, 4 running (the contract's enum).
    pub status: Option<u64>,
    pub is_completed: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub elapsed: Option<u64>,
    pub total_count: Option<u64>,
    pub failure_count: Option<u64>,
    pub created_at: Option<String>,
    pub completed_at: Option<String>,
}

/// The answer to a create call: `{"id": 345}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Created {
    pub id: u64,
}

/// A typed field on a run, thread or test (`type` 1 string, 2 text, 3 URL, 4 console, 5 HTML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutomationField {
    #[serde(rename = "type")]
    pub kind: u8,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_highlight: bool,
}

impl AutomationField {
    /// A one-line string field.
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: 1,
            name: name.into(),
            value: Some(value.into()),
            is_highlight: false,
        }
    }

    /// Console output (kept verbatim, monospaced), where failure messages go.
    pub fn console(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: 4,
            name: name.into(),
            value: Some(value.into()),
            is_highlight: false,
        }
    }
}

/// A link shown on the run, e.g. to the CI build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutomationLink {
    pub name: String,
    pub url: String,
}

/// `POST /projects/{id}/automation/runs`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CreateAutomationRun {
    pub name: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AutomationField>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<AutomationLink>,
}

/// `POST /automation/runs/{id}/threads`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CreateThread {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AutomationField>,
}

/// One test in an append call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutomationTest {
    /// A stable hash of folder and name, which Testmo uses to match the test across runs.
    pub key: String,
    pub name: String,
    pub status: String,
    pub folder: String,
    /// Microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AutomationField>,
}

/// `POST /automation/runs/threads/{id}/append`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendTests<'a> {
    pub tests: &'a [AutomationTest],
}

/// `POST /automation/runs/{id}/append`: fields added to the run itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendRun {
    pub fields: Vec<AutomationField>,
}

/// `POST /automation/runs/threads/{id}/complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompleteThread {
    /// Microseconds the thread took, as measured by the submitter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_observed: Option<u64>,
}

/// `POST /automation/runs/{id}/complete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CompleteRun {
    /// Let Testmo measure the run's time from its threads.
    pub measure_elapsed: bool,
}
