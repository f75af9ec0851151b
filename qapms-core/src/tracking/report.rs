//! History, reports and estimate accuracy, computed from stored entries. Pure functions over
//! what the store returns, so every front-end shows the same numbers.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;

use super::superseded;
use crate::model::{HistoryEntry, StepEstimate, StepState, TimeEntry, WorkflowId};

/// The entries that count: those no later entry corrects, without zero-length ones (a
/// zero-length correction removes time).
pub fn current_entries(history: &[HistoryEntry]) -> Vec<&HistoryEntry> {
    let entries: Vec<TimeEntry> = history.iter().map(|h| h.entry.clone()).collect();
    let gone = superseded(&entries);
    history
        .iter()
        .filter(|h| !gone.contains(&h.entry.id) && h.entry.ended_at > h.entry.started_at)
        .collect()
}

/// An entry's length in whole seconds.
pub(crate) fn secs(entry: &TimeEntry) -> u64 {
    u64::try_from((entry.ended_at - entry.started_at).num_seconds()).unwrap_or(0)
}

/// One line of a report: a key and its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeReportRow {
    pub key: String,
    pub seconds: u64,
    pub entries: u64,
}

/// Time by ticket, by template and step, and by day (UTC), with the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeReport {
    pub total_seconds: u64,
    pub entries: u64,
    /// Entries that were corrected (replaced) and do not count.
    pub corrected: u64,
    pub by_ticket: Vec<TimeReportRow>,
    pub by_step: Vec<TimeReportRow>,
    pub by_day: Vec<TimeReportRow>,
    pub by_source: Vec<TimeReportRow>,
}

fn rows(map: BTreeMap<String, (u64, u64)>) -> Vec<TimeReportRow> {
    map.into_iter()
        .map(|(key, (seconds, entries))| TimeReportRow {
            key,
            seconds,
            entries,
        })
        .collect()
}

/// Summarises a history (as [`Store::time_history`](crate::store::Store::time_history)
/// returns it).
pub fn time_report(history: &[HistoryEntry]) -> TimeReport {
    let current = current_entries(history);
    let mut by_ticket: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_step: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_day: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_source: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut total = 0u64;
    for h in &current {
        let s = secs(&h.entry);
        total += s;
        let add = |map: &mut BTreeMap<String, (u64, u64)>, key: String| {
            let slot = map.entry(key).or_default();
            slot.0 += s;
            slot.1 += 1;
        };
        add(
            &mut by_ticket,
            h.entry
                .ticket
                .as_ref()
                .map_or_else(|| "(no ticket)".to_owned(), ToString::to_string),
        );
        let step = match (&h.template, &h.entry.step) {
            (Some(t), Some(s)) => format!("{t}/{s}"),
            (None, Some(s)) => s.clone(),
            (Some(t), None) => t.clone(),
            (None, None) => "(no step)".to_owned(),
        };
        add(&mut by_step, step);
        let day: NaiveDate = h.entry.started_at.date_naive();
        add(&mut by_day, day.to_string());
        add(&mut by_source, h.entry.source.as_str().to_owned());
    }
    TimeReport {
        total_seconds: total,
        entries: current.len() as u64,
        corrected: (history.len() - current.len()) as u64,
        by_ticket: rows(by_ticket),
        by_step: rows(by_step),
        by_day: rows(by_day),
        by_source: rows(by_source),
    }
}

/// Estimate accuracy of one template step over the finished steps that had an estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccuracyRow {
    pub template: String,
    pub step: String,
    /// Finished (done) steps with an estimate.
    pub samples: u64,
    pub estimated_seconds: u64,
    pub actual_seconds: u64,
    /// Actual over estimated time: above 1 means the estimate is too low.
    pub ratio: Option<f64>,
    /// Mean absolute percentage error of the estimate per step, as a fraction.
    pub mean_abs_error: Option<f64>,
}

/// Compares estimates with tracked time, per template and step. Only steps that are done
/// count: a skipped or unfinished step says nothing about its estimate.
#[expect(
    clippy::cast_precision_loss,
    reason = "second counts far below 2^52; ratios are for people"
)]
pub fn estimate_accuracy(estimates: &[StepEstimate], history: &[HistoryEntry]) -> Vec<AccuracyRow> {
    let mut actual: HashMap<(WorkflowId, &str), u64> = HashMap::new();
    for h in current_entries(history) {
        if let (Some(w), Some(step)) = (h.entry.workflow_id, h.entry.step.as_deref()) {
            *actual.entry((w, step)).or_default() += secs(&h.entry);
        }
    }
    let mut groups: BTreeMap<(String, String), Vec<(u64, u64)>> = BTreeMap::new();
    for e in estimates {
        let Some(estimate) = e.estimate_secs.filter(|s| *s > 0) else {
            continue;
        };
        if e.state != StepState::Done {
            continue;
        }
        let spent = actual
            .get(&(e.workflow_id, e.step.as_str()))
            .copied()
            .unwrap_or(0);
        groups
            .entry((e.template.clone(), e.step.clone()))
            .or_default()
            .push((estimate, spent));
    }
    groups
        .into_iter()
        .map(|((template, step), samples)| {
            let planned: u64 = samples.iter().map(|s| s.0).sum();
            let spent: u64 = samples.iter().map(|s| s.1).sum();
            let n = samples.len() as f64;
            let mape = samples
                .iter()
                .map(|(e, a)| (*a as f64 - *e as f64).abs() / *e as f64)
                .sum::<f64>()
                / n;
            AccuracyRow {
                template,
                step,
                samples: samples.len() as u64,
                estimated_seconds: planned,
                actual_seconds: spent,
                ratio: (planned > 0).then(|| spent as f64 / planned as f64),
                mean_abs_error: (!samples.is_empty()).then_some(mape),
            }
        })
        .collect()
}
