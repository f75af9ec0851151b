//! Snapshot tests of every report format, on a workflow and a period made up by hand (fixed
//! ids and times), plus the properties each format promises: escaping, RFC 4180 quoting,
//! formula guards and a stable JSON schema.
//!
//! The expected files live in `tests/fixtures/report/`. After an intended change, regenerate
//! them with `QAPMS_UPDATE_SNAPSHOTS=1 cargo nextest run -p qapms-core --test report_render`
//! and review the diff.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "the fixture is one workflow, built in one place"
)]

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::config::EvidenceKind;
use qapms_core::model::{
    ActionRecord, ActionStatus, ChecklistItem, Evidence, HistoryEntry, IssueKey, RunId, Step,
    StepEstimate, StepState, TestCase, TestId, TestResult, TestRun, TestSource, TestStatus,
    TimeEntry, TimeEntryId, TimeSource, UserId, Workflow, WorkflowEvent, WorkflowId, WorkflowState,
};
use qapms_core::report::{
    self, Format, PeriodData, PeriodScope, WorkflowData, period_report, workflow_report,
};
use serde_json::json;
use uuid::Uuid;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn ada() -> UserId {
    UserId::from_uuid(id(1))
}

fn bob() -> UserId {
    UserId::from_uuid(id(2))
}

fn wid() -> WorkflowId {
    WorkflowId::from_uuid(id(10))
}

fn run_id() -> RunId {
    RunId::from_uuid(id(20))
}

fn key(s: &str) -> IssueKey {
    IssueKey::parse(s).unwrap()
}

fn item(text: &str, done: Option<i64>) -> ChecklistItem {
    ChecklistItem {
        text: text.into(),
        done: done.is_some(),
        done_at: done.map(at),
        done_by: done.map(|_| ada()),
    }
}

fn evidence(kind: EvidenceKind, value: &str, minute: i64) -> Evidence {
    Evidence {
        kind,
        value: value.into(),
        at: at(minute),
        by: ada(),
        action: None,
    }
}

fn step(position: u32, name: &str, state: StepState, estimate_min: Option<u64>) -> Step {
    Step {
        position,
        name: name.into(),
        description: None,
        state,
        estimate_secs: estimate_min.map(|m| m * 60),
        checklist: Vec::new(),
        expects: Vec::new(),
        evidence: Vec::new(),
        reason: None,
        started_at: None,
        completed_at: None,
        runs: Vec::new(),
    }
}

fn entry(n: u128, user: UserId, step: &str, start: i64, minutes: i64) -> HistoryEntry {
    HistoryEntry {
        entry: TimeEntry {
            id: TimeEntryId::from_uuid(id(100 + n)),
            user_id: user,
            ticket: Some(key("PAY-12")),
            workflow_id: Some(wid()),
            step: Some(step.into()),
            started_at: at(start),
            ended_at: at(start + minutes),
            source: TimeSource::Timer,
            note: None,
            corrects: None,
            exported_worklog_id: None,
            recorded_at: at(start + minutes),
        },
        template: Some("verify_ticket".into()),
    }
}

fn case(n: u128, title: &str, linked: bool) -> TestCase {
    TestCase {
        id: TestId::from_uuid(id(200 + n)),
        source: TestSource::Junit,
        external_id: format!("com.acme.PayTest::{title}"),
        title: title.into(),
        folder_path: None,
        tags: Vec::new(),
        ticket_keys: if linked {
            vec![key("PAY-12")]
        } else {
            Vec::new()
        },
    }
}

fn result(n: u128, attempt: u32, status: TestStatus, message: Option<&str>) -> TestResult {
    TestResult {
        run_id: run_id(),
        test_id: TestId::from_uuid(id(200 + n)),
        attempt,
        status,
        duration_ms: Some(120),
        message: message.map(str::to_owned),
        trace_fingerprint: None,
        cluster_id: None,
    }
}

fn event(version: u32, minute: i64, kind: &str, step: Option<u32>) -> WorkflowEvent {
    WorkflowEvent {
        version,
        actor: if kind == "evidence_added" {
            bob()
        } else {
            ada()
        },
        at: at(minute),
        kind: kind.into(),
        step,
        from_state: None,
        to_state: None,
        detail: json!({}),
    }
}

/// A verify-ticket workflow with a bit of everything, including hostile text.
fn workflow_data() -> WorkflowData {
    let mut read = step(0, "Read the ticket", StepState::Done, Some(15));
    read.checklist = vec![item("Acceptance criteria understood", Some(5))];
    read.expects = vec![EvidenceKind::Notes];
    read.evidence = vec![evidence(
        EvidenceKind::Notes,
        "AC 2 is ambiguous | asked PO, 50% <b>sure</b>",
        8,
    )];
    read.started_at = Some(at(0));
    read.completed_at = Some(at(12));
    let mut test = step(1, "Test on staging", StepState::Done, Some(45));
    test.checklist = vec![
        item("Happy path", Some(40)),
        item("Refund over the limit", None),
    ];
    test.expects = vec![EvidenceKind::TestResults, EvidenceKind::Links];
    test.evidence = vec![
        evidence(EvidenceKind::Links, "https://ci.acme.test/runs/981", 50),
        evidence(EvidenceKind::Links, "javascript:alert(1)", 51),
        evidence(EvidenceKind::Attachments, "=HYPERLINK(\"http://x\")", 52),
        Evidence {
            kind: EvidenceKind::Links,
            value: "2 Postman requests related to PAY-12".into(),
            at: at(70),
            by: ada(),
            action: Some(ActionRecord {
                key: "1.0".into(),
                kind: "postman_search".into(),
                status: ActionStatus::Succeeded,
                summary: "2 Postman requests related to PAY-12".into(),
                output: json!({"items": ["Refund", "Refund over limit"]}),
                attempts: 1,
            }),
        },
        Evidence {
            kind: EvidenceKind::Notes,
            value: "jira_comment failed".into(),
            at: at(70),
            by: ada(),
            action: Some(ActionRecord {
                key: "1.1".into(),
                kind: "jira_comment".into(),
                status: ActionStatus::Failed,
                summary: "Jira answered 503: try again later".into(),
                output: json!(null),
                attempts: 2,
            }),
        },
    ];
    test.runs = vec![run_id()];
    test.started_at = Some(at(12));
    test.completed_at = Some(at(70));
    let mut report = step(2, "Report, bugs & sign-off", StepState::Blocked, Some(10));
    report.reason = Some("waiting for the *fix* in `PAY-13`".into());
    report.started_at = Some(at(70));
    let mut skip = step(
        3,
        "Regression, of the <refund> flow",
        StepState::Skipped,
        None,
    );
    skip.reason = Some("covered by the nightly run".into());
    let workflow = Workflow {
        id: wid(),
        template: "verify_ticket".into(),
        ticket: Some(key("PAY-12")),
        owner: ada(),
        state: WorkflowState::InProgress,
        version: 9,
        notes: Some("Release 2.3 candidate".into()),
        time_box_secs: None,
        created_at: at(0),
        updated_at: at(75),
        started_at: Some(at(0)),
        completed_at: None,
        steps: vec![read, test, report, skip],
    };
    let mut fix = entry(9, ada(), "Test on staging", 12, 50);
    fix.entry.corrects = Some(TimeEntryId::from_uuid(id(102)));
    WorkflowData {
        workflow,
        events: vec![
            event(1, 0, "created", None),
            event(2, 0, "started", None),
            event(3, 5, "checklist_ticked", Some(0)),
            event(4, 8, "evidence_added", Some(0)),
            event(5, 12, "step_done", Some(0)),
        ],
        history: vec![
            entry(1, ada(), "Read the ticket", 0, 12),
            // Corrected below to 50 minutes.
            entry(2, ada(), "Test on staging", 12, 58),
            entry(3, bob(), "Test on staging", 30, 10),
            fix,
            entry(4, ada(), "Report, bugs & sign-off", 70, 5),
        ],
        runs: vec![(
            TestRun {
                id: run_id(),
                source: TestSource::Junit,
                name: "staging smoke, build #981".into(),
                started_at: at(20),
                finished_at: Some(at(25)),
                environment: Some("staging".into()),
                revision: None,
                url: Some("https://ci.acme.test/runs/981".into()),
            },
            vec![
                result(1, 1, TestStatus::Passed, None),
                result(
                    2,
                    1,
                    TestStatus::Failed,
                    Some("timeout after 30s\n  at Pay.refund"),
                ),
                result(2, 2, TestStatus::Passed, None),
                result(
                    3,
                    1,
                    TestStatus::Failed,
                    Some("expected 402, got 500 | \"limit\""),
                ),
                result(4, 1, TestStatus::Skipped, None),
            ],
        )],
        linked: vec![
            case(1, "refund_happy_path", true),
            case(3, "refund_over_limit", true),
            case(5, "refund_currency_<eur>", true),
        ],
        cases: vec![
            case(2, "refund_retry", false),
            case(4, "refund_audit", false),
        ],
        users: HashMap::from([(ada(), "ada".to_owned()), (bob(), "bob".to_owned())]),
        generated_at: at(80),
    }
}

fn period_data() -> PeriodData {
    let data = workflow_data();
    let mut estimates: Vec<StepEstimate> = data
        .workflow
        .steps
        .iter()
        .map(|s| StepEstimate {
            workflow_id: wid(),
            template: "verify_ticket".into(),
            step: s.name.clone(),
            state: s.state,
            estimate_secs: s.estimate_secs,
        })
        .collect();
    // A workflow with no time in the period does not count.
    estimates.push(StepEstimate {
        workflow_id: WorkflowId::from_uuid(id(11)),
        template: "verify_ticket".into(),
        step: "Read the ticket".into(),
        state: StepState::Done,
        estimate_secs: Some(900),
    });
    let mut history = data.history.clone();
    let mut manual = entry(20, bob(), "x", 200, 30);
    manual.entry.workflow_id = None;
    manual.entry.step = None;
    manual.entry.ticket = Some(key("OPS-7"));
    manual.entry.source = TimeSource::Manual;
    manual.entry.note = Some("=cmd|' /C calc'!A0".into());
    manual.template = None;
    history.push(manual);
    PeriodData {
        scope: PeriodScope {
            from: Some(at(-540)),
            to: Some(at(-540) + Duration::days(7)),
            user: None,
            team: Some("payments".into()),
            ticket: None,
            template: None,
        },
        history,
        estimates,
        workflows: vec![data.workflow],
        users: data.users,
        generated_at: at(80),
    }
}

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name);
    let update = qapms_core::config::Env::from_process().get("QAPMS_UPDATE_SNAPSHOTS") == Some("1");
    if update || !path.exists() {
        std::fs::write(&path, actual).unwrap();
        assert!(
            update,
            "wrote the missing snapshot {}; review and commit it",
            path.display()
        );
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    if expected != actual {
        let new = path.with_extension(format!(
            "{}.new",
            path.extension().and_then(|e| e.to_str()).unwrap_or("")
        ));
        std::fs::write(&new, actual).unwrap();
        panic!(
            "{name} differs from its snapshot; the new output is in {} (diff it, then rerun \
             with QAPMS_UPDATE_SNAPSHOTS=1 if the change is intended)",
            new.display()
        );
    }
}

#[test]
fn workflow_report_numbers() {
    let r = workflow_report(&workflow_data());
    // 12 + 50 (corrected from 58) + 10 (bob) + 5.
    assert_eq!(r.time.tracked_seconds, 77 * 60);
    assert_eq!(r.time.estimated_seconds, Some(70 * 60));
    assert_eq!(r.time.variance_seconds, Some(7 * 60));
    assert_eq!(r.steps[1].tracked_seconds, 60 * 60);
    assert_eq!(r.steps[1].variance_seconds, Some(15 * 60));
    assert_eq!((r.checklist.done, r.checklist.total), (2, 3));
    let by_user: Vec<(&str, u64)> = r
        .time
        .by_user
        .iter()
        .map(|u| (u.user.as_str(), u.seconds))
        .collect();
    assert_eq!(by_user, [("ada", 67 * 60), ("bob", 10 * 60)]);
    let t = &r.tests;
    // refund_retry passed on its retry; refund_audit was skipped.
    assert_eq!((t.linked, t.executed, t.passed, t.failed), (3, 3, 2, 1));
    assert_eq!(t.linked_executed, 2);
    assert_eq!(t.not_run, ["refund_currency_<eur>"]);
    assert_eq!(t.failures[0].test, "refund_over_limit");
    let kinds: Vec<&str> = r.findings.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ["failed_action", "blocked_step", "skipped_step"]);
    assert!(r.steps[1].missing_evidence.is_empty());
    assert_eq!(r.actions.len(), 2);
}

#[test]
fn workflow_report_snapshots() {
    let r = workflow_report(&workflow_data());
    for format in [Format::Markdown, Format::Html, Format::Json, Format::Csv] {
        let text = report::render_workflow(&r, format).unwrap();
        snapshot(&format!("workflow.{}", format.extension()), &text);
    }
    snapshot("workflow.jira.txt", &report::comment(&r));
}

#[test]
fn period_report_snapshots() {
    let r = period_report(&period_data());
    assert_eq!(r.total_seconds, (77 + 30) * 60);
    assert_eq!(r.corrected, 1);
    assert_eq!(r.accuracy.iter().map(|a| a.samples).sum::<u64>(), 2);
    for format in [Format::Markdown, Format::Html, Format::Json, Format::Csv] {
        let text = report::render_period(&r, format).unwrap();
        snapshot(&format!("period.{}", format.extension()), &text);
    }
}

#[test]
fn html_escapes_every_text_and_links_only_web_urls() {
    let html = report::render_workflow(&workflow_report(&workflow_data()), Format::Html).unwrap();
    assert!(!html.contains("<b>sure</b>"));
    assert!(html.contains("&lt;b&gt;sure&lt;/b&gt;"));
    assert!(!html.contains("href=\"javascript:"));
    assert!(html.contains("<a href=\"https://ci.acme.test/runs/981\">"));
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("<svg") && html.contains("role=\"img\""));
    // Self-contained: nothing to fetch.
    for needle in ["<script", "<link", "src=\"http", "@import"] {
        assert!(!html.contains(needle), "{needle}");
    }
}

/// Splits RFC 4180 text into records of fields (quoted fields may hold commas, quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => {
                assert_ne!(c, '\n', "bare LF outside quotes");
                field.push(c);
            }
        }
    }
    assert!(
        !quoted && field.is_empty() && record.is_empty(),
        "unterminated record"
    );
    records
}

#[test]
fn csv_is_rfc_4180_and_formula_safe() {
    let workflow =
        report::render_workflow(&workflow_report(&workflow_data()), Format::Csv).unwrap();
    let rows = parse_csv(&workflow);
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
    assert_eq!(rows[3][5], "Report, bugs & sign-off");
    assert_eq!(rows[3][7], "waiting for the *fix* in `PAY-13`");
    let period = report::render_period(&period_report(&period_data()), Format::Csv).unwrap();
    let rows = parse_csv(&period);
    assert!(rows.iter().all(|r| r.len() == 7));
    for r in &rows {
        for cell in &r[..2] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "formula-like text cell {cell:?}"
            );
        }
    }
}

#[test]
fn json_has_a_stable_schema() {
    let r = workflow_report(&workflow_data());
    let v: serde_json::Value =
        serde_json::from_str(&report::render_workflow(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(v["schema"], "qapms.report.workflow/v1");
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = [
        "schema",
        "generatedAt",
        "workflow",
        "time",
        "checklist",
        "steps",
        "tests",
        "findings",
        "evidenceLinks",
        "actions",
        "history",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    // Field order is the declaration order (the snapshot pins it).
    let text = report::render_workflow(&r, Format::Json).unwrap();
    assert!(text.find("\"schema\"").unwrap() < text.find("\"history\"").unwrap());
    assert_eq!(v["steps"][1]["trackedSeconds"], 3600);
    assert_eq!(v["workflow"]["ticket"], "PAY-12");
}

#[test]
fn formats_parse_by_name() {
    for (name, f) in [
        ("md", Format::Markdown),
        ("markdown", Format::Markdown),
        ("HTML", Format::Html),
        ("json", Format::Json),
        ("csv", Format::Csv),
    ] {
        assert_eq!(name.parse::<Format>().unwrap(), f);
    }
    let err = "pdf".parse::<Format>().unwrap_err();
    assert!(err.to_string().contains("md, html, json or csv"));
}
