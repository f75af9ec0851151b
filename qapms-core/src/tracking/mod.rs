//! Time tracking: timers, idle detection, manual entries and corrections, history, estimate
//! accuracy and the export of time to Jira worklogs.
//!
//! Time entries are append-only ([`crate::model::TimeEntry`]): a correction is a new entry
//! whose `corrects` names the entry it replaces, and a correction with zero length removes the
//! time. [`current_entries`] folds a history into the entries that count. Timers that follow
//! workflow steps are driven by the workflow engine; [`Tracker`] covers the rest (a timer on a
//! bare ticket, manual entries, corrections, kept idle time). Both plan writes with the pure
//! functions in [`timer`] and hand them to the store in one transaction.

pub mod branch;
pub mod export;
pub mod report;
pub mod timer;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::model::{
    IdlePeriod, IssueKey, TimeEntry, TimeEntryFilter, TimeEntryId, TimeSource, Timer, TimerChange,
    TrackingWrite, UserId, WorkflowId,
};
use crate::store::Store;
use crate::workflow::{Clock, DEFAULT_IDLE_GAP, SystemClock};
use crate::{Error, ErrorKind, Result};

pub use branch::{current_branch, ticket_from_branch};
pub use export::{
    ExistingWorklog, ExportOutcome, PlannedWorklog, WorklogSink, export_worklogs,
    export_worklogs_described, export_worklogs_where, planned_worklogs, worklog_marker,
};
pub use report::{
    AccuracyRow, TimeReport, TimeReportRow, current_entries, estimate_accuracy, time_report,
};
pub use timer::Target;

/// A manual entry: time worked without a timer, possibly long ago.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualEntry {
    pub ticket: Option<IssueKey>,
    pub workflow_id: Option<WorkflowId>,
    pub step: Option<String>,
    /// When the work started; backdating is allowed, the future is not.
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub note: Option<String>,
}

/// What stopping a timer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub timer: Timer,
    pub entry: Option<TimeEntry>,
    pub idle: Option<IdlePeriod>,
}

/// Timers that follow no workflow, manual entries, corrections and kept idle time.
#[derive(Debug, Clone)]
pub struct Tracker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    idle_gap: Duration,
}

impl Tracker {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            idle_gap: DEFAULT_IDLE_GAP,
        }
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    #[must_use]
    pub fn with_idle_gap(mut self, gap: std::time::Duration) -> Self {
        self.idle_gap = Duration::from_std(gap).unwrap_or(DEFAULT_IDLE_GAP);
        self
    }

    /// The user's running timer.
    pub async fn status(&self, user: UserId) -> Result<Option<Timer>> {
        self.store.timer(&user).await
    }

    /// Starts a timer on `ticket` (or on nothing in particular). A timer already running on
    /// something else is stopped first, in the same write; one already on `ticket` is kept.
    pub async fn start(&self, user: UserId, ticket: Option<IssueKey>) -> Result<Timer> {
        let now = self.clock.now();
        let current = self.store.timer(&user).await?;
        let target = Target {
            ticket,
            workflow_id: None,
            step: None,
        };
        let write = timer::plan(
            user,
            current.as_ref(),
            Some(&target),
            now,
            self.idle_gap,
            |_| true,
        );
        let TimerChange::Replace {
            timer: Some(ref started),
            ..
        } = write.timer
        else {
            return Err(Error::store(
                "internal error: a timer start planned no timer",
            ));
        };
        let started = started.clone();
        self.store.write_tracking(&write).await?;
        Ok(started)
    }

    /// Stops the user's timer, whatever it runs for. No timer is [`ErrorKind::NotFound`].
    pub async fn stop(&self, user: UserId) -> Result<Stopped> {
        let now = self.clock.now();
        let Some(current) = self.store.timer(&user).await? else {
            return Err(Error::not_found("no timer is running"));
        };
        let (entry, idle) = timer::stop(&current, now, self.idle_gap);
        let write = TrackingWrite {
            entries: entry.iter().cloned().collect(),
            idle: idle.iter().cloned().collect(),
            timer: TimerChange::Replace {
                user_id: user,
                expected: Some(current.id),
                timer: None,
            },
            kept_idle: Vec::new(),
        };
        self.store.write_tracking(&write).await?;
        Ok(Stopped {
            timer: current,
            entry,
            idle,
        })
    }

    /// Records activity: the timer counts on (after an idle gap, the gap is set aside).
    pub async fn heartbeat(&self, user: UserId) -> Result<()> {
        let now = self.clock.now();
        let Some(current) = self.store.timer(&user).await? else {
            return Ok(());
        };
        let target = Target {
            ticket: current.ticket.clone(),
            workflow_id: current.workflow_id,
            step: current.step.clone(),
        };
        let write = timer::plan(
            user,
            Some(&current),
            Some(&target),
            now,
            self.idle_gap,
            |_| true,
        );
        self.store.write_tracking(&write).await
    }

    /// Appends a manual entry.
    pub async fn add_manual(&self, user: UserId, manual: &ManualEntry) -> Result<TimeEntry> {
        let now = self.clock.now();
        if manual.duration <= Duration::zero() {
            return Err(Error::invalid_input(
                "a manual entry needs a duration above zero",
            ));
        }
        let ended_at = manual
            .started_at
            .checked_add_signed(manual.duration)
            .ok_or_else(|| Error::invalid_input("the entry's end is out of range"))?;
        if ended_at > now + Duration::minutes(1) {
            return Err(Error::invalid_input(
                "a manual entry cannot end in the future; give an earlier start or a shorter duration",
            ));
        }
        let entry = TimeEntry {
            id: TimeEntryId::new(),
            user_id: user,
            ticket: manual.ticket.clone(),
            workflow_id: manual.workflow_id,
            step: manual.step.clone(),
            started_at: manual.started_at,
            ended_at,
            source: TimeSource::Manual,
            note: manual.note.clone(),
            corrects: None,
            exported_worklog_id: None,
            recorded_at: now,
        };
        self.store
            .write_tracking(&TrackingWrite {
                entries: vec![entry.clone()],
                ..TrackingWrite::default()
            })
            .await?;
        Ok(entry)
    }

    /// Corrects an entry: appends a new one that replaces it, with a new start and length
    /// (zero removes the time). Only the newest entry of a chain can be corrected.
    pub async fn correct(
        &self,
        user: UserId,
        entry: TimeEntryId,
        started_at: DateTime<Utc>,
        duration: Duration,
        note: Option<String>,
    ) -> Result<TimeEntry> {
        let now = self.clock.now();
        let all = self
            .store
            .time_entries(&TimeEntryFilter {
                user_id: Some(user),
                ..TimeEntryFilter::default()
            })
            .await?;
        let Some(old) = all.iter().find(|e| e.id == entry) else {
            return Err(Error::not_found("no such time entry for this user")
                .with_context("entry", entry.to_string()));
        };
        if all.iter().any(|e| e.corrects == Some(entry)) {
            return Err(Error::new(
                ErrorKind::Conflict,
                "this entry was already corrected; correct the newest entry instead",
            )
            .with_context("entry", entry.to_string()));
        }
        if duration < Duration::zero() {
            return Err(Error::invalid_input("a duration cannot be negative"));
        }
        let ended_at = started_at
            .checked_add_signed(duration)
            .ok_or_else(|| Error::invalid_input("the entry's end is out of range"))?;
        let corrected = TimeEntry {
            id: TimeEntryId::new(),
            user_id: old.user_id,
            ticket: old.ticket.clone(),
            workflow_id: old.workflow_id,
            step: old.step.clone(),
            started_at,
            ended_at,
            source: old.source,
            note: note.or_else(|| old.note.clone()),
            corrects: Some(entry),
            exported_worklog_id: None,
            recorded_at: now,
        };
        self.store
            .write_tracking(&TrackingWrite {
                entries: vec![corrected.clone()],
                ..TrackingWrite::default()
            })
            .await?;
        Ok(corrected)
    }

    /// Idle periods of the user not kept yet, oldest first.
    pub async fn unkept_idle(&self, user: UserId) -> Result<Vec<IdlePeriod>> {
        Ok(self
            .store
            .idle_periods(&user, None, None)
            .await?
            .into_iter()
            .filter(|p| p.kept_entry_id.is_none())
            .collect())
    }

    /// Keeps an idle period: its time becomes an entry (source `timer`, since the timer was
    /// running), and the period is marked kept, in one write.
    pub async fn keep_idle(&self, user: UserId, idle: uuid::Uuid) -> Result<TimeEntry> {
        let now = self.clock.now();
        let periods = self.store.idle_periods(&user, None, None).await?;
        let Some(period) = periods.iter().find(|p| p.id == idle) else {
            return Err(Error::not_found("no such idle period for this user"));
        };
        let entry = TimeEntry {
            id: TimeEntryId::new(),
            user_id: user,
            ticket: period.ticket.clone(),
            workflow_id: period.workflow_id,
            step: period.step.clone(),
            started_at: period.started_at,
            ended_at: period.ended_at,
            source: TimeSource::Timer,
            note: Some("kept idle time".to_owned()),
            corrects: None,
            exported_worklog_id: None,
            recorded_at: now,
        };
        self.store
            .write_tracking(&TrackingWrite {
                entries: vec![entry.clone()],
                kept_idle: vec![(idle, entry.id)],
                ..TrackingWrite::default()
            })
            .await?;
        Ok(entry)
    }
}

/// Ids of entries that a later entry corrects.
pub(crate) fn superseded(entries: &[TimeEntry]) -> HashSet<TimeEntryId> {
    entries.iter().filter_map(|e| e.corrects).collect()
}
