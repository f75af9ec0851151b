//! The report models: what a workflow report and a period report say, computed by pure
//! functions from what the store returns, so every renderer and every front-end shows the same
//! numbers.
//!
//! The JSON renderer serialises these types as they are, so their field names and order are
//! the report's stable schema (`schema` names its version): add fields, never rename them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::EvidenceKind;
use crate::model::{
    ActionStatus, HistoryEntry, IssueKey, RunId, StepEstimate, StepState, TestCase, TestId,
    TestResult, TestRun, TestSource, TestStatus, UserId, Workflow, WorkflowEvent, WorkflowId,
    WorkflowState,
};
use crate::tracking::{
    AccuracyRow, TimeReportRow, current_entries, estimate_accuracy, time_report,
};

/// The schema name and version of a workflow report's JSON.
pub const WORKFLOW_SCHEMA: &str = "qapms.report.workflow/v1";
/// The schema name and version of a period report's JSON.
pub const PERIOD_SCHEMA: &str = "qapms.report.period/v1";

/// The longest failure message kept in a report; a trace belongs in the run, not the report.
const MESSAGE_LIMIT: usize = 300;

/// Everything a workflow report is built from, as the store returns it.
#[derive(Debug, Clone)]
pub struct WorkflowData {
    pub workflow: Workflow,
    pub events: Vec<WorkflowEvent>,
    /// Time entries; those of other workflows are ignored.
    pub history: Vec<HistoryEntry>,
    /// The runs attached to the workflow's steps, with their results.
    pub runs: Vec<(TestRun, Vec<TestResult>)>,
    /// Test cases linked to the workflow's ticket.
    pub linked: Vec<TestCase>,
    /// Test cases of the attached runs' results (for titles); may overlap `linked`.
    pub cases: Vec<TestCase>,
    /// User names by id; unknown ids are shown as ids.
    pub users: HashMap<UserId, String>,
    pub generated_at: DateTime<Utc>,
}

/// A workflow report: time per step against the estimate, checklist completion, test coverage,
/// findings, evidence and who did what when.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowReport {
    pub schema: &'static str,
    pub generated_at: DateTime<Utc>,
    pub workflow: WorkflowHeader,
    pub time: TimeTotals,
    pub checklist: Completion,
    pub steps: Vec<StepReport>,
    pub tests: Coverage,
    pub findings: Vec<Finding>,
    pub evidence_links: Vec<EvidenceLine>,
    pub actions: Vec<ActionLine>,
    pub history: Vec<HistoryLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowHeader {
    pub id: WorkflowId,
    pub template: String,
    pub ticket: Option<IssueKey>,
    pub owner: String,
    pub state: WorkflowState,
    pub version: u32,
    pub notes: Option<String>,
    pub time_box_seconds: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Tracked time against the estimate. `variance` is tracked minus estimated (positive: over).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeTotals {
    /// The sum of the step estimates; `None` when no step has one.
    pub estimated_seconds: Option<u64>,
    pub tracked_seconds: u64,
    pub variance_seconds: Option<i64>,
    /// Tracked over estimated.
    pub ratio: Option<f64>,
    /// Time on the workflow that names no step of it.
    pub unassigned_seconds: u64,
    pub by_user: Vec<UserTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTime {
    pub user: String,
    pub seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// 1-based, as people count.
    pub number: u32,
    pub name: String,
    pub description: Option<String>,
    pub state: StepState,
    pub reason: Option<String>,
    pub estimate_seconds: Option<u64>,
    pub tracked_seconds: u64,
    pub variance_seconds: Option<i64>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub checklist: Vec<ChecklistLine>,
    pub expected_evidence: Vec<EvidenceKind>,
    /// Expected kinds of evidence the step has none of.
    pub missing_evidence: Vec<EvidenceKind>,
    pub evidence: Vec<EvidenceLine>,
    pub runs: Vec<RunId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistLine {
    pub text: String,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceLine {
    /// The step's 1-based number.
    pub step: u32,
    pub kind: EvidenceKind,
    pub value: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// Test coverage of the ticket: cases linked to it, executed and passed in the attached runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub linked: u64,
    /// Distinct tests that ran (an attempt that was not skipped) in the attached runs.
    pub executed: u64,
    /// Executed tests whose last attempt passed.
    pub passed: u64,
    /// Executed tests whose last attempt failed or errored.
    pub failed: u64,
    /// Linked cases that ran, out of `linked`.
    pub linked_executed: u64,
    pub runs: Vec<RunLine>,
    pub failures: Vec<FailureLine>,
    /// Titles of linked cases that no attached run executed.
    pub not_run: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunLine {
    pub id: RunId,
    pub name: String,
    pub source: TestSource,
    pub started_at: DateTime<Utc>,
    pub url: Option<String>,
    pub tests: u64,
    pub attempts: u64,
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureLine {
    pub test: String,
    pub status: TestStatus,
    pub attempts: u32,
    pub message: Option<String>,
}

/// Something the QA found: a bug filed, a blocked or skipped step, a failed action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// `bug_filed`, `blocked_step`, `skipped_step`, `failed_action` or `missing_evidence`.
    pub kind: &'static str,
    pub step: Option<u32>,
    pub text: String,
    /// The bug's key when one was filed.
    pub issue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionLine {
    pub step: u32,
    pub key: String,
    pub kind: String,
    pub status: ActionStatus,
    pub summary: String,
    pub attempts: u32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLine {
    pub version: u32,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub step: Option<u32>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
}

fn name_of(users: &HashMap<UserId, String>, id: &UserId) -> String {
    users.get(id).cloned().unwrap_or_else(|| id.to_string())
}

fn entry_secs(h: &HistoryEntry) -> u64 {
    u64::try_from((h.entry.ended_at - h.entry.started_at).num_seconds()).unwrap_or(0)
}

fn variance(tracked: u64, estimate: Option<u64>) -> Option<i64> {
    estimate.map(|e| i64::try_from(tracked).unwrap_or(i64::MAX) - i64::try_from(e).unwrap_or(0))
}

#[expect(
    clippy::cast_precision_loss,
    reason = "second counts far below 2^52; ratios are for people"
)]
fn ratio(tracked: u64, estimate: Option<u64>) -> Option<f64> {
    estimate
        .filter(|e| *e > 0)
        .map(|e| tracked as f64 / e as f64)
}

/// The first line of a message, cut at [`MESSAGE_LIMIT`] characters.
fn short_message(message: Option<&str>) -> Option<String> {
    let line = message?.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= MESSAGE_LIMIT {
        return Some(line.to_owned());
    }
    let mut cut: String = line.chars().take(MESSAGE_LIMIT).collect();
    cut.push('…');
    Some(cut)
}

/// Builds the workflow report.
#[expect(
    clippy::too_many_lines,
    reason = "one pass over the steps gathers every section"
)]
pub fn workflow_report(data: &WorkflowData) -> WorkflowReport {
    let w = &data.workflow;
    let users = &data.users;
    // Corrections are folded over the whole history first: a correction may name no workflow.
    let current: Vec<&HistoryEntry> = current_entries(&data.history)
        .into_iter()
        .filter(|h| h.entry.workflow_id == Some(w.id))
        .collect();
    let mut per_step: HashMap<&str, u64> = HashMap::new();
    let mut per_user: BTreeMap<String, u64> = BTreeMap::new();
    let mut tracked = 0u64;
    for h in &current {
        let s = entry_secs(h);
        tracked += s;
        if let Some(step) = h.entry.step.as_deref() {
            *per_step.entry(step).or_default() += s;
        }
        *per_user
            .entry(name_of(users, &h.entry.user_id))
            .or_default() += s;
    }
    let step_names: HashSet<&str> = w.steps.iter().map(|s| s.name.as_str()).collect();
    let unassigned = current
        .iter()
        .filter(|h| {
            h.entry
                .step
                .as_deref()
                .is_none_or(|s| !step_names.contains(s))
        })
        .map(|h| entry_secs(h))
        .sum();

    let mut steps = Vec::with_capacity(w.steps.len());
    let mut evidence_links = Vec::new();
    let mut actions = Vec::new();
    let mut findings = Vec::new();
    let mut checklist = Completion { done: 0, total: 0 };
    for step in &w.steps {
        let number = step.position + 1;
        let spent = per_step.get(step.name.as_str()).copied().unwrap_or(0);
        let lines: Vec<ChecklistLine> = step
            .checklist
            .iter()
            .map(|i| ChecklistLine {
                text: i.text.clone(),
                done: i.done,
                done_at: i.done_at,
                done_by: i.done_by.as_ref().map(|u| name_of(users, u)),
            })
            .collect();
        checklist.total += lines.len() as u64;
        checklist.done += lines.iter().filter(|l| l.done).count() as u64;
        let mut evidence = Vec::new();
        for e in &step.evidence {
            let line = EvidenceLine {
                step: number,
                kind: e.kind,
                value: e.value.clone(),
                at: e.at,
                by: name_of(users, &e.by),
            };
            if let Some(record) = &e.action {
                actions.push(ActionLine {
                    step: number,
                    key: record.key.clone(),
                    kind: record.kind.clone(),
                    status: record.status,
                    summary: record.summary.clone(),
                    attempts: record.attempts,
                    at: e.at,
                });
                if record.status == ActionStatus::Failed {
                    findings.push(Finding {
                        kind: "failed_action",
                        step: Some(number),
                        text: format!("{}: {}", record.kind, record.summary),
                        issue: None,
                    });
                } else if record.kind == "jira_create_issue"
                    && record.status == ActionStatus::Succeeded
                {
                    let key = record
                        .output
                        .get("key")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned);
                    findings.push(Finding {
                        kind: "bug_filed",
                        step: Some(number),
                        text: record.summary.clone(),
                        issue: key,
                    });
                }
            }
            if e.action.is_none()
                && matches!(e.kind, EvidenceKind::Links | EvidenceKind::Attachments)
            {
                evidence_links.push(line.clone());
            }
            evidence.push(line);
        }
        let have: HashSet<EvidenceKind> = step
            .evidence
            .iter()
            .filter(|e| e.action.is_none())
            .map(|e| e.kind)
            .chain((!step.runs.is_empty()).then_some(EvidenceKind::TestResults))
            .collect();
        let missing: Vec<EvidenceKind> = step
            .expects
            .iter()
            .copied()
            .filter(|k| !have.contains(k))
            .collect();
        match step.state {
            StepState::Blocked => findings.push(Finding {
                kind: "blocked_step",
                step: Some(number),
                text: format!(
                    "`{}` is blocked: {}",
                    step.name,
                    step.reason.as_deref().unwrap_or("no reason given")
                ),
                issue: None,
            }),
            StepState::Skipped => findings.push(Finding {
                kind: "skipped_step",
                step: Some(number),
                text: format!(
                    "`{}` was skipped: {}",
                    step.name,
                    step.reason.as_deref().unwrap_or("no reason given")
                ),
                issue: None,
            }),
            StepState::Done if !missing.is_empty() => findings.push(Finding {
                kind: "missing_evidence",
                step: Some(number),
                text: format!(
                    "`{}` is done without the evidence it expects: {}",
                    step.name,
                    missing
                        .iter()
                        .map(|k| evidence_kind_name(*k))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                issue: None,
            }),
            _ => {}
        }
        steps.push(StepReport {
            number,
            name: step.name.clone(),
            description: step.description.clone(),
            state: step.state,
            reason: step.reason.clone(),
            estimate_seconds: step.estimate_secs,
            tracked_seconds: spent,
            variance_seconds: variance(spent, step.estimate_secs),
            started_at: step.started_at,
            completed_at: step.completed_at,
            checklist: lines,
            expected_evidence: step.expects.clone(),
            missing_evidence: missing,
            evidence,
            runs: step.runs.clone(),
        });
    }
    let estimated = w
        .steps
        .iter()
        .filter_map(|s| s.estimate_secs)
        .reduce(|a, b| a + b);
    let history = data
        .events
        .iter()
        .map(|e| HistoryLine {
            version: e.version,
            at: e.at,
            actor: name_of(users, &e.actor),
            kind: e.kind.clone(),
            step: e.step.map(|p| p + 1),
            from_state: e.from_state.clone(),
            to_state: e.to_state.clone(),
        })
        .collect();
    WorkflowReport {
        schema: WORKFLOW_SCHEMA,
        generated_at: data.generated_at,
        workflow: WorkflowHeader {
            id: w.id,
            template: w.template.clone(),
            ticket: w.ticket.clone(),
            owner: name_of(users, &w.owner),
            state: w.state,
            version: w.version,
            notes: w.notes.clone(),
            time_box_seconds: w.time_box_secs,
            created_at: w.created_at,
            started_at: w.started_at,
            completed_at: w.completed_at,
        },
        time: TimeTotals {
            estimated_seconds: estimated,
            tracked_seconds: tracked,
            variance_seconds: variance(tracked, estimated),
            ratio: ratio(tracked, estimated),
            unassigned_seconds: unassigned,
            by_user: per_user
                .into_iter()
                .map(|(user, seconds)| UserTime { user, seconds })
                .collect(),
        },
        checklist,
        steps,
        tests: coverage(data),
        findings,
        evidence_links,
        actions,
        history,
    }
}

fn coverage(data: &WorkflowData) -> Coverage {
    let titles: HashMap<TestId, &str> = data
        .cases
        .iter()
        .chain(&data.linked)
        .map(|c| (c.id, c.title.as_str()))
        .collect();
    // The last attempt of each test over all runs, in run order (run ids are time-ordered).
    let mut last: BTreeMap<TestId, (RunId, &TestResult)> = BTreeMap::new();
    let mut attempts: HashMap<TestId, u32> = HashMap::new();
    let mut runs = Vec::with_capacity(data.runs.len());
    let mut ordered: Vec<&(TestRun, Vec<TestResult>)> = data.runs.iter().collect();
    ordered.sort_by_key(|(run, _)| (run.started_at, run.id));
    for (run, results) in ordered {
        let mut tests: BTreeMap<TestId, &TestResult> = BTreeMap::new();
        for r in results {
            *attempts.entry(r.test_id).or_default() += 1;
            let slot = tests.entry(r.test_id).or_insert(r);
            if r.attempt >= slot.attempt {
                *slot = r;
            }
        }
        let count =
            |f: &dyn Fn(TestStatus) -> bool| tests.values().filter(|r| f(r.status)).count() as u64;
        runs.push(RunLine {
            id: run.id,
            name: run.name.clone(),
            source: run.source,
            started_at: run.started_at,
            url: run.url.clone(),
            tests: tests.len() as u64,
            attempts: results.len() as u64,
            passed: count(&|s| s == TestStatus::Passed),
            failed: count(&TestStatus::is_failure),
            skipped: count(&|s| matches!(s, TestStatus::Skipped | TestStatus::Blocked)),
        });
        for (id, r) in tests {
            if r.status == TestStatus::Skipped || r.status == TestStatus::Blocked {
                // A skip in a later run does not undo an earlier execution.
                last.entry(id).or_insert((run.id, r));
                continue;
            }
            last.insert(id, (run.id, r));
        }
    }
    let ran = |r: &TestResult| !matches!(r.status, TestStatus::Skipped | TestStatus::Blocked);
    let executed: BTreeSet<TestId> = last
        .iter()
        .filter(|(_, (_, r))| ran(r))
        .map(|(id, _)| *id)
        .collect();
    let mut failures: Vec<FailureLine> = last
        .iter()
        .filter(|(_, (_, r))| r.status.is_failure())
        .map(|(id, (_, r))| FailureLine {
            test: titles
                .get(id)
                .map_or_else(|| id.to_string(), |t| (*t).to_owned()),
            status: r.status,
            attempts: attempts.get(id).copied().unwrap_or(1),
            message: short_message(r.message.as_deref()),
        })
        .collect();
    failures.sort_by(|a, b| a.test.cmp(&b.test));
    let mut not_run: Vec<String> = data
        .linked
        .iter()
        .filter(|c| !executed.contains(&c.id))
        .map(|c| c.title.clone())
        .collect();
    not_run.sort();
    Coverage {
        linked: data.linked.len() as u64,
        executed: executed.len() as u64,
        passed: last
            .values()
            .filter(|(_, r)| r.status == TestStatus::Passed)
            .count() as u64,
        failed: failures.len() as u64,
        linked_executed: data
            .linked
            .iter()
            .filter(|c| executed.contains(&c.id))
            .count() as u64,
        runs,
        failures,
        not_run,
    }
}

/// The word for an evidence kind, as in the configuration.
pub fn evidence_kind_name(kind: EvidenceKind) -> &'static str {
    match kind {
        EvidenceKind::Notes => "notes",
        EvidenceKind::Links => "links",
        EvidenceKind::Attachments => "attachments",
        EvidenceKind::TestResults => "test_results",
    }
}

/// What a period report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodScope {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// A user's name, when the report is for one user.
    pub user: Option<String>,
    /// A team's name, when the report is for a team.
    pub team: Option<String>,
    pub ticket: Option<IssueKey>,
    pub template: Option<String>,
}

/// Everything a period report is built from.
#[derive(Debug, Clone)]
pub struct PeriodData {
    pub scope: PeriodScope,
    /// Time entries that started in the period, already limited to the scope.
    pub history: Vec<HistoryEntry>,
    /// Step estimates (for accuracy); steps of workflows with no time in the period are ignored.
    pub estimates: Vec<StepEstimate>,
    /// The workflows in scope touched in the period.
    pub workflows: Vec<Workflow>,
    pub users: HashMap<UserId, String>,
    pub generated_at: DateTime<Utc>,
}

/// Time by user, by ticket, by activity (template and step) and by day, estimate accuracy,
/// and how many workflows moved, for one user or team over a date range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodReport {
    pub schema: &'static str,
    pub generated_at: DateTime<Utc>,
    pub scope: PeriodScope,
    pub total_seconds: u64,
    pub entries: u64,
    /// Entries replaced by corrections, which do not count.
    pub corrected: u64,
    pub by_user: Vec<TimeReportRow>,
    pub by_ticket: Vec<TimeReportRow>,
    pub by_activity: Vec<TimeReportRow>,
    pub by_day: Vec<TimeReportRow>,
    pub by_source: Vec<TimeReportRow>,
    pub accuracy: Vec<AccuracyRow>,
    pub workflows: WorkflowCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCounts {
    pub total: u64,
    pub completed: u64,
    pub abandoned: u64,
    pub open: u64,
}

/// Builds the period report.
pub fn period_report(data: &PeriodData) -> PeriodReport {
    let summary = time_report(&data.history);
    let mut by_user: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for h in current_entries(&data.history) {
        let slot = by_user
            .entry(name_of(&data.users, &h.entry.user_id))
            .or_default();
        slot.0 += entry_secs(h);
        slot.1 += 1;
    }
    let touched: HashSet<WorkflowId> = data
        .history
        .iter()
        .filter_map(|h| h.entry.workflow_id)
        .collect();
    let estimates: Vec<StepEstimate> = data
        .estimates
        .iter()
        .filter(|e| touched.contains(&e.workflow_id))
        .cloned()
        .collect();
    let mut counts = WorkflowCounts::default();
    for w in &data.workflows {
        counts.total += 1;
        match w.state {
            WorkflowState::Completed => counts.completed += 1,
            WorkflowState::Abandoned => counts.abandoned += 1,
            _ => counts.open += 1,
        }
    }
    PeriodReport {
        schema: PERIOD_SCHEMA,
        generated_at: data.generated_at,
        scope: data.scope.clone(),
        total_seconds: summary.total_seconds,
        entries: summary.entries,
        corrected: summary.corrected,
        by_user: by_user
            .into_iter()
            .map(|(key, (seconds, entries))| TimeReportRow {
                key,
                seconds,
                entries,
            })
            .collect(),
        by_ticket: summary.by_ticket,
        by_activity: summary.by_step,
        by_day: summary.by_day,
        by_source: summary.by_source,
        accuracy: estimate_accuracy(&estimates, &data.history),
        workflows: counts,
    }
}
