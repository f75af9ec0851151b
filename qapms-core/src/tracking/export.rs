//! Exporting time entries to Jira worklogs, idempotently.
//!
//! Each exported entry remembers its worklog id (`exported_worklog_id`, settable once), so a
//! second export skips it. That alone would still duplicate a worklog if the process died
//! between Jira answering and the store recording the id; so every worklog carries a marker
//! with the entry id in its comment, and before adding worklogs to an issue the exporter reads
//! the issue's worklogs and adopts any that already carry an entry's marker.
//!
//! `started` is the entry's own start, not the export time. The Jira call sits behind
//! [`WorklogSink`], so this module stays free of HTTP; the Jira client implements it.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::report::current_entries;
use super::superseded;
use crate::Result;
use crate::model::{HistoryEntry, IssueKey, TimeEntry, TimeEntryId, TimeHistoryFilter};
use crate::store::Store;

/// A worklog already on an issue: its id and the text of its comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingWorklog {
    pub id: String,
    pub comment_text: String,
}

/// Where worklogs go: Jira, or a test double.
#[async_trait]
pub trait WorklogSink: Send + Sync {
    /// The issue's worklogs, with their comment text (any format, searched for markers).
    async fn worklogs(&self, issue: &IssueKey) -> Result<Vec<ExistingWorklog>>;

    /// Adds a worklog and returns its id.
    async fn add_worklog(
        &self,
        issue: &IssueKey,
        started: DateTime<Utc>,
        seconds: u64,
        comment: &str,
    ) -> Result<String>;
}

/// The marker that ties a worklog to a time entry.
pub fn worklog_marker(entry: &TimeEntryId) -> String {
    format!("[qapms:{entry}]")
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportOutcome {
    /// `(entry, worklog id)` created now.
    pub exported: Vec<(TimeEntryId, String)>,
    /// `(entry, worklog id)` found on Jira from an earlier, interrupted export.
    pub adopted: Vec<(TimeEntryId, String)>,
    /// Entries exported before.
    pub already_exported: u64,
    /// Entries under one minute, which Jira refuses.
    pub too_short: u64,
    /// Entries with no ticket.
    pub no_ticket: u64,
    /// Exported entries that were corrected afterwards: their worklog no longer matches and
    /// needs fixing in Jira by hand (the correction is not exported, so nothing counts twice).
    pub stale_worklogs: Vec<(TimeEntryId, String)>,
}

/// A worklog's comment: `described` (a step action's own text) or what the time was spent on,
/// then the marker.
fn comment(h: &HistoryEntry, described: Option<&str>) -> String {
    if let Some(text) = described {
        return format!("{text} {}", worklog_marker(&h.entry.id));
    }
    let what = match (&h.template, &h.entry.step) {
        (Some(t), Some(s)) => format!("{t} / {s}"),
        (None, Some(s)) => s.clone(),
        (Some(t), None) => t.clone(),
        (None, None) => "QA work".to_owned(),
    };
    let note = h
        .entry
        .note
        .as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default();
    format!("{what}{note} {}", worklog_marker(&h.entry.id))
}

/// Whether an entry corrects (directly or down its chain) an entry that was exported.
fn exported_ancestor(entry: &TimeEntry, by_id: &HashMap<TimeEntryId, &TimeEntry>) -> bool {
    let mut next = entry.corrects;
    // A chain is acyclic (each entry corrects an older one); the bound guards bad data.
    for _ in 0..by_id.len() {
        let Some(id) = next else { return false };
        let Some(old) = by_id.get(&id) else {
            return false;
        };
        if old.exported_worklog_id.is_some() {
            return true;
        }
        next = old.corrects;
    }
    false
}

fn seconds(entry: &TimeEntry) -> u64 {
    u64::try_from((entry.ended_at - entry.started_at).num_seconds()).unwrap_or(0)
}

/// Exports the current entries matching `filter` that have a ticket and are not exported yet.
///
/// An error from Jira stops the export; entries exported before it keep their worklog ids,
/// so running the export again finishes the job without duplicates.
pub async fn export_worklogs(
    store: &dyn Store,
    sink: &dyn WorklogSink,
    filter: &TimeHistoryFilter,
) -> Result<ExportOutcome> {
    export_worklogs_where(store, sink, filter, &|_| true).await
}

/// What an export would send, without sending it: the `(entry, issue, started, seconds,
/// comment)` of each worklog [`export_worklogs`] would create (markers already on Jira are not
/// checked, since that needs Jira).
pub async fn planned_worklogs(
    store: &dyn Store,
    filter: &TimeHistoryFilter,
    keep: &(dyn Fn(&HistoryEntry) -> bool + Sync),
) -> Result<(ExportOutcome, Vec<PlannedWorklog>)> {
    let history = store.time_history(filter).await?;
    let (outcome, by_issue) = plan(&history, keep);
    let planned = by_issue
        .into_iter()
        .flat_map(|(issue, pending)| {
            pending.into_iter().map(move |h| PlannedWorklog {
                entry: h.entry.id,
                issue: issue.clone(),
                started: h.entry.started_at,
                seconds: seconds(&h.entry),
                comment: comment(h, None),
            })
        })
        .collect();
    Ok((outcome, planned))
}

/// A worklog an export would create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedWorklog {
    pub entry: TimeEntryId,
    pub issue: IssueKey,
    pub started: DateTime<Utc>,
    pub seconds: u64,
    pub comment: String,
}

/// Sorts a history into what is done (counted in the outcome) and what is to export, by issue.
fn plan<'h>(
    history: &'h [HistoryEntry],
    keep: &(dyn Fn(&HistoryEntry) -> bool + Sync),
) -> (ExportOutcome, BTreeMap<IssueKey, Vec<&'h HistoryEntry>>) {
    let mut outcome = ExportOutcome::default();
    let entries: Vec<TimeEntry> = history.iter().map(|h| h.entry.clone()).collect();
    let gone = superseded(&entries);
    for h in history.iter().filter(|h| keep(h)) {
        if gone.contains(&h.entry.id)
            && let Some(id) = &h.entry.exported_worklog_id
        {
            outcome.stale_worklogs.push((h.entry.id, id.clone()));
        }
    }
    let by_id: HashMap<TimeEntryId, &TimeEntry> = entries.iter().map(|e| (e.id, e)).collect();
    let mut by_issue: BTreeMap<IssueKey, Vec<&HistoryEntry>> = BTreeMap::new();
    for h in current_entries(history).into_iter().filter(|h| keep(h)) {
        if exported_ancestor(&h.entry, &by_id) {
            // Its predecessor's worklog is in Jira already (listed as stale above); a new
            // worklog would count the time twice.
            continue;
        }
        if h.entry.exported_worklog_id.is_some() {
            outcome.already_exported += 1;
        } else if seconds(&h.entry) < 60 {
            outcome.too_short += 1;
        } else if let Some(ticket) = &h.entry.ticket {
            by_issue.entry(ticket.clone()).or_default().push(h);
        } else {
            outcome.no_ticket += 1;
        }
    }
    (outcome, by_issue)
}

/// [`export_worklogs`] limited to the entries `keep` accepts (one workflow's, say). Corrections
/// are still worked out over everything `filter` returns.
pub async fn export_worklogs_where(
    store: &dyn Store,
    sink: &dyn WorklogSink,
    filter: &TimeHistoryFilter,
    keep: &(dyn Fn(&HistoryEntry) -> bool + Sync),
) -> Result<ExportOutcome> {
    export_worklogs_described(store, sink, filter, keep, None).await
}

/// [`export_worklogs_where`], with `described` as each worklog's comment (before the marker)
/// instead of the template and step: what a `jira_worklog` step action with a `comment` sends.
pub async fn export_worklogs_described(
    store: &dyn Store,
    sink: &dyn WorklogSink,
    filter: &TimeHistoryFilter,
    keep: &(dyn Fn(&HistoryEntry) -> bool + Sync),
    described: Option<&str>,
) -> Result<ExportOutcome> {
    let history = store.time_history(filter).await?;
    let (mut outcome, by_issue) = plan(&history, keep);
    for (issue, pending) in by_issue {
        let existing: HashMap<TimeEntryId, String> = {
            let logs = sink.worklogs(&issue).await?;
            pending
                .iter()
                .filter_map(|h| {
                    let marker = worklog_marker(&h.entry.id);
                    logs.iter()
                        .find(|l| l.comment_text.contains(&marker))
                        .map(|l| (h.entry.id, l.id.clone()))
                })
                .collect()
        };
        for h in pending {
            if let Some(id) = existing.get(&h.entry.id) {
                store.set_time_entry_worklog(&h.entry.id, id).await?;
                outcome.adopted.push((h.entry.id, id.clone()));
                continue;
            }
            let id = sink
                .add_worklog(
                    &issue,
                    h.entry.started_at,
                    seconds(&h.entry),
                    &comment(h, described),
                )
                .await?;
            store.set_time_entry_worklog(&h.entry.id, &id).await?;
            tracing::info!(issue = %issue, entry = %h.entry.id, worklog = %id, "time exported");
            outcome.exported.push((h.entry.id, id));
        }
    }
    Ok(outcome)
}
