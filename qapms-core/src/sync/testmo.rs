//! Testmo: the case repository and the closed manual runs of each configured project.
//!
//! **Cases.** Testmo's case listing has no "changed since" filter, so each sync lists a
//! project's cases in full (100 per page, with the folder tree for paths) and writes only the
//! cases whose title, folder or tags changed. A case deleted in Testmo is deleted here too,
//! unless stored results refer to it: then it stays, so its history is not lost (the report
//! counts it as kept).
//!
//! **Runs.** A manual run is imported once it is closed, when its results stop changing: each
//! sync lists the runs closed since the scope's cursor (the newest `closed_at` stored, minus
//! the overlap margin) and stores each run with every result as one batch, oldest first, the
//! run's `closed_at` becoming the cursor in the same transaction. A sync killed between two
//! runs resumes after the last stored one; a run re-read (the overlap, `--full`, a run
//! reopened and closed again) is written again under the same local run id with its results
//! replaced, never twice. Every result of a test in the run is one attempt, in the order
//! Testmo recorded them; the test is found through the identity map by its Testmo case id, so
//! results join the synced case and whatever `JUnit` or pytest history is linked to it.
//! Statuses are configured per instance, so results are read with `expands=statuses` and
//! mapped by the status's flags, never by its id.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;

use super::Ctx;
use super::cursor::{fingerprint, format_time, parse_time};
use super::snapshot::{Entry, Kind, write_listing};
use crate::integrations::TestCaseSource as _;
use crate::integrations::testmo::Testmo;
use crate::integrations::testmo::models::{ProjectId, ResultWithStatus, Run};
use crate::model::{
    ExternalKey, ImportedAttempt, ImportedTest, RunId, TestRun, TestSource, TestStatus,
};
use crate::store::{SyncItem, SyncedCase, SyncedRun};
use crate::{Error, ErrorKind, Result};

pub(crate) fn scope(project: u64) -> String {
    format!("project:{project}")
}

/// The scope of a project's runs.
pub(crate) fn runs_scope(project: u64) -> String {
    format!("runs:{project}")
}

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Testmo, projects: &[u64]) -> Result<()> {
    if projects.is_empty() {
        return Err(crate::Error::config(
            "integrations.testmo.projects is empty: list the Testmo project ids to sync",
        ));
    }
    for &project in projects {
        sync_cases(cx, client, project).await?;
        // After the cases, so results find the cases they belong to.
        sync_runs(cx, client, project).await?;
    }
    Ok(())
}

async fn sync_cases(cx: &mut Ctx<'_>, client: &Testmo, project: u64) -> Result<()> {
    let mut cases = client.test_cases(&project.to_string());
    let mut entries = Vec::new();
    while let Some(case) = cx.cancel.guard(async { Ok(cases.next().await) }).await? {
        let case = case?;
        let tags = case.tags.join("\u{1f}");
        let print = fingerprint([
            case.title.as_str(),
            case.folder_path.as_deref().unwrap_or("\u{0}"),
            tags.as_str(),
        ]);
        entries.push(Entry::case(
            print,
            SyncedCase {
                source: TestSource::Testmo,
                external_id: case.external_id,
                title: case.title,
                folder_path: case.folder_path,
                tags: case.tags,
            },
        ));
    }
    write_listing(
        cx,
        &scope(project),
        Kind::Cases(TestSource::Testmo),
        entries,
        None,
    )
    .await
}

/// Parses one of Testmo's times, naming the field when it is not one.
fn testmo_time(text: Option<&str>, field: &str, run: &Run) -> Result<Option<DateTime<Utc>>> {
    match text {
        None => Ok(None),
        Some(text) => parse_time(text).map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::Upstream,
                format!(
                    "testmo run {}: `{field}` is `{text}`, which is not an ISO 8601 time",
                    run.id
                ),
            )
        }),
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one run after the other: fetch, map each result, write the batch with its cursor"
)]
async fn sync_runs(cx: &mut Ctx<'_>, client: &Testmo, project: u64) -> Result<()> {
    let scope = runs_scope(project);
    let state = cx
        .store
        .sync_scopes(Some(cx.integration))
        .await?
        .into_iter()
        .find(|s| s.scope == scope);
    let stored_cursor = state
        .as_ref()
        .and_then(|s| s.cursor.as_deref())
        .and_then(parse_time);
    let cursor = if cx.options.full { None } else { stored_cursor };
    let stored: HashMap<String, SyncItem> = cx
        .store
        .sync_items(cx.integration, &scope)
        .await?
        .into_iter()
        .map(|i| (i.item_id.clone(), i))
        .collect();

    let mut listing = client.runs(ProjectId(project)).closed(true);
    if let Some(cursor) = cursor {
        let overlap = chrono::Duration::from_std(cx.options.overlap).unwrap_or_default();
        listing = listing.closed_after(cursor - overlap);
    }
    let mut stream = listing.stream();
    let mut runs: BTreeMap<(DateTime<Utc>, u64), Run> = BTreeMap::new();
    while let Some(run) = cx.cancel.guard(async { Ok(stream.next().await) }).await? {
        let run = run?;
        if run.is_closed == Some(false) {
            continue;
        }
        let closed = testmo_time(run.closed_at.as_deref(), "closed_at", &run)?
            .or(testmo_time(run.created_at.as_deref(), "created_at", &run)?)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "testmo run {}: a closed run without `closed_at` or `created_at`",
                        run.id
                    ),
                )
            })?;
        // Listed twice (a paging overlap): one is enough.
        runs.insert((closed, run.id.0), run);
    }
    cx.counts.seen += runs.len() as u64;

    // Oldest first: the cursor is the newest `closed_at` stored, so it never passes a run
    // that is not stored yet.
    for ((closed, _), run) in runs {
        let item_id = run.id.to_string();
        let closed_text = format_time(closed);
        let counts = format!(
            "{}/{}/{}",
            run.completed_count.unwrap_or(0),
            run.success_count.unwrap_or(0),
            run.failure_count.unwrap_or(0)
        );
        let print = fingerprint([
            closed_text.as_str(),
            run.name.as_deref().unwrap_or(""),
            counts.as_str(),
        ]);
        let old = stored.get(&item_id);
        if !cx.options.full && old.is_some_and(|o| o.fingerprint.as_deref() == Some(&print)) {
            cx.counts.unchanged += 1;
            continue;
        }
        let local = old
            .and_then(|o| o.local_key.parse::<RunId>().ok())
            .unwrap_or_default();
        let mut results = client.run_results_with_statuses(run.id);
        let mut listed = Vec::new();
        while let Some(result) = cx.cancel.guard(async { Ok(results.next().await) }).await? {
            listed.push(result?);
        }
        let started = testmo_time(run.created_at.as_deref(), "created_at", &run)?.unwrap_or(closed);
        let synced = SyncedRun {
            run: TestRun {
                id: local,
                source: TestSource::Testmo,
                name: run
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("Testmo run {}", run.id)),
                started_at: started.min(closed),
                finished_at: Some(closed),
                environment: None,
                revision: None,
                url: None,
            },
            tests: imported_tests(listed),
        };
        let mut batch = cx.batch(&scope);
        batch.items.push(SyncItem {
            item_id,
            local_key: local.to_string(),
            fingerprint: Some(print),
        });
        batch.runs.push(synced);
        // The cursor never moves back (a `--full` pass re-reads old runs).
        batch.cursor = Some(format_time(stored_cursor.map_or(closed, |c| c.max(closed))));
        cx.counts.written += 1;
        cx.commit(&batch, |_| Vec::new()).await?;
    }
    cx.counts.scopes += 1;
    Ok(())
}

/// Groups a run's results by case: every result of a case is one attempt, in the order
/// Testmo recorded them. Results without a case (a case deleted since), deleted results and
/// untested ones are no attempts.
fn imported_tests(results: Vec<ResultWithStatus>) -> Vec<ImportedTest> {
    let mut by_case: BTreeMap<u64, Vec<ResultWithStatus>> = BTreeMap::new();
    for result in results {
        if result.result.deleted_at.is_some() {
            continue;
        }
        if let Some(case) = result.result.case_id {
            by_case.entry(case.0).or_default().push(result);
        }
    }
    by_case
        .into_iter()
        .filter_map(|(case, mut results)| {
            results.sort_by(|a, b| {
                (a.result.created_at.as_deref(), a.result.id)
                    .cmp(&(b.result.created_at.as_deref(), b.result.id))
            });
            let attempts: Vec<ImportedAttempt> = results
                .iter()
                .filter_map(|r| {
                    Some(ImportedAttempt {
                        status: status_of(r)?,
                        duration_ms: r.result.elapsed.map(|us| us / 1000),
                        message: r.result.note.clone().filter(|n| !n.trim().is_empty()),
                    })
                })
                .collect();
            (!attempts.is_empty()).then(|| ImportedTest {
                keys: vec![ExternalKey::new(TestSource::Testmo, case.to_string())],
                title: format!("Testmo case {case}"),
                folder_path: None,
                ticket_keys: Vec::new(),
                attempts,
            })
        })
        .collect()
}

/// A result's status by the flags of the instance's status, `None` when it is no attempt
/// (untested, or a status the page did not describe).
fn status_of(result: &ResultWithStatus) -> Option<TestStatus> {
    let Some(status) = &result.status else {
        if let Some(id) = result.result.status_id {
            tracing::warn!(
                result = result.result.id,
                status_id = id,
                "testmo result with a status the page does not describe; not stored"
            );
        }
        return None;
    };
    if status.is_untested == Some(true) {
        return None;
    }
    if status.is_passed == Some(true) {
        return Some(TestStatus::Passed);
    }
    if status.is_failed == Some(true) {
        return Some(TestStatus::Failed);
    }
    let name = status
        .system_name
        .as_deref()
        .or(status.name.as_deref())
        .unwrap_or("")
        .to_ascii_lowercase();
    Some(if name.contains("block") {
        TestStatus::Blocked
    } else if name.contains("retest") {
        // Marked for a retest: the last verdict did not hold.
        TestStatus::Failed
    } else {
        // Any other final status (custom ones included) is neither a pass nor a failure.
        TestStatus::Skipped
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::testmo::models::{CaseId, RunResult, StatusExpand};

    fn result(id: u64, case: Option<u64>, status: Option<StatusExpand>) -> ResultWithStatus {
        ResultWithStatus {
            result: RunResult {
                id,
                run_id: None,
                test_id: None,
                case_id: case.map(CaseId),
                status_id: status.as_ref().map(|s| s.id),
                is_latest: None,
                note: Some(format!("note {id}")),
                elapsed: Some(2_500_000),
                created_at: Some(format!("2026-11-20T09:00:{id:02}.000000Z")),
                deleted_at: None,
            },
            status,
        }
    }

    fn status(id: u64, system: &str, passed: bool, failed: bool, untested: bool) -> StatusExpand {
        StatusExpand {
            id,
            name: Some(system.to_owned()),
            system_name: Some(system.to_owned()),
            is_final: Some(!untested),
            is_untested: Some(untested),
            is_passed: Some(passed),
            is_failed: Some(failed),
        }
    }

    #[test]
    fn results_become_attempts_per_case_in_order() {
        let passed = status(2, "passed", true, false, false);
        let failed = status(3, "failed", false, true, false);
        let untested = status(1, "untested", false, false, true);
        let blocked = status(5, "blocked", false, false, false);
        let tests = imported_tests(vec![
            result(3, Some(8001), Some(passed)),
            result(1, Some(8001), Some(failed)),
            result(2, Some(8002), Some(untested)),
            result(4, None, Some(blocked.clone())),
            result(5, Some(8003), Some(blocked)),
            result(6, Some(8004), None),
        ]);
        let summary: Vec<(String, Vec<TestStatus>)> = tests
            .iter()
            .map(|t| {
                (
                    t.keys[0].key.clone(),
                    t.attempts.iter().map(|a| a.status).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "8001".to_owned(),
                    vec![TestStatus::Failed, TestStatus::Passed]
                ),
                ("8003".to_owned(), vec![TestStatus::Blocked]),
            ]
        );
        assert_eq!(tests[0].attempts[0].duration_ms, Some(2500));
        assert_eq!(tests[0].attempts[0].message.as_deref(), Some("note 1"));
    }
}
