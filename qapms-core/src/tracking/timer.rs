//! Timer arithmetic: what stopping, starting or touching a timer writes. Pure; the clock and
//! the store are the caller's.
//!
//! Idle detection: a timer remembers the user's last activity. When it stops (or the user acts
//! again) after a gap longer than the idle threshold, the counted entry ends at the last
//! activity and the gap becomes an [`IdlePeriod`]: not counted, but stored and shown, so the QA
//! can keep it. So for every run of a timer, entry time plus idle time is exactly the time the
//! timer ran; nothing is lost and nothing is counted twice.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::model::{
    IdlePeriod, IssueKey, TimeEntry, TimeEntryId, TimeSource, Timer, TimerChange, TrackingWrite,
    UserId, WorkflowId,
};

/// What a timer runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub ticket: Option<IssueKey>,
    pub workflow_id: Option<WorkflowId>,
    pub step: Option<String>,
}

impl Target {
    fn matches(&self, timer: &Timer) -> bool {
        self.ticket == timer.ticket
            && self.workflow_id == timer.workflow_id
            && self.step == timer.step
    }
}

/// A new timer for `target`, started now.
pub fn new_timer(user: UserId, target: &Target, now: DateTime<Utc>) -> Timer {
    Timer {
        id: Uuid::now_v7(),
        user_id: user,
        ticket: target.ticket.clone(),
        workflow_id: target.workflow_id,
        step: target.step.clone(),
        started_at: now,
        last_activity_at: now,
    }
}

/// The entry and the idle period a timer leaves when it stops at `now`. A zero-length entry is
/// left out; so is an empty idle period.
pub fn stop(
    timer: &Timer,
    now: DateTime<Utc>,
    idle_gap: Duration,
) -> (Option<TimeEntry>, Option<IdlePeriod>) {
    // A clock that went backwards must not produce an entry that ends before it starts.
    let now = now.max(timer.last_activity_at);
    let counted_end = if now - timer.last_activity_at > idle_gap {
        timer.last_activity_at
    } else {
        now
    };
    let entry = (counted_end > timer.started_at).then(|| TimeEntry {
        id: TimeEntryId::new(),
        user_id: timer.user_id,
        ticket: timer.ticket.clone(),
        workflow_id: timer.workflow_id,
        step: timer.step.clone(),
        started_at: timer.started_at,
        ended_at: counted_end,
        source: TimeSource::Timer,
        note: None,
        corrects: None,
        exported_worklog_id: None,
        recorded_at: now,
    });
    let idle = (counted_end < now).then(|| IdlePeriod {
        id: Uuid::now_v7(),
        user_id: timer.user_id,
        ticket: timer.ticket.clone(),
        workflow_id: timer.workflow_id,
        step: timer.step.clone(),
        started_at: counted_end,
        ended_at: now,
        kept_entry_id: None,
        recorded_at: now,
    });
    (entry, idle)
}

/// Plans the tracking write that moves `current` to `desired` at `now`.
///
/// - Same target: the timer is touched (activity recorded). After an idle gap, the time so far
///   is written as an entry, the gap as an idle period, and the timer restarts now.
/// - Another target: the current timer stops and a new one starts (one timer per user).
/// - No target: the current timer stops, but only if `owned(current)`: pausing workflow B must
///   not stop the timer running for workflow A.
pub fn plan(
    user: UserId,
    current: Option<&Timer>,
    desired: Option<&Target>,
    now: DateTime<Utc>,
    idle_gap: Duration,
    owned: impl Fn(&Timer) -> bool,
) -> TrackingWrite {
    let mut write = TrackingWrite::default();
    let replace = |expected: Option<Uuid>, timer: Option<Timer>| TimerChange::Replace {
        user_id: user,
        expected,
        timer,
    };
    match (current, desired) {
        (None, None) => {}
        (None, Some(target)) => {
            write.timer = replace(None, Some(new_timer(user, target, now)));
        }
        (Some(timer), None) => {
            if owned(timer) {
                push_stop(&mut write, timer, now, idle_gap);
                write.timer = replace(Some(timer.id), None);
            }
        }
        (Some(timer), Some(target)) if target.matches(timer) => {
            let now = now.max(timer.last_activity_at);
            if now - timer.last_activity_at > idle_gap {
                push_stop(&mut write, timer, now, idle_gap);
                write.timer = replace(Some(timer.id), Some(new_timer(user, target, now)));
            } else {
                let mut touched = timer.clone();
                touched.last_activity_at = now;
                write.timer = replace(Some(timer.id), Some(touched));
            }
        }
        (Some(timer), Some(target)) => {
            push_stop(&mut write, timer, now, idle_gap);
            let now = now.max(timer.last_activity_at);
            write.timer = replace(Some(timer.id), Some(new_timer(user, target, now)));
        }
    }
    write
}

fn push_stop(write: &mut TrackingWrite, timer: &Timer, now: DateTime<Utc>, idle_gap: Duration) {
    let (entry, idle) = stop(timer, now, idle_gap);
    write.entries.extend(entry);
    write.idle.extend(idle);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::minutes(min)
    }

    fn target(step: &str) -> Target {
        Target {
            ticket: Some(IssueKey::parse("PAY-1").unwrap()),
            workflow_id: None,
            step: Some(step.to_owned()),
        }
    }

    #[test]
    fn stop_counts_until_the_last_activity_after_an_idle_gap() {
        let user = UserId::new();
        let mut timer = new_timer(user, &target("a"), t(0));
        timer.last_activity_at = t(10);
        let (entry, idle) = stop(&timer, t(12), Duration::minutes(15));
        assert_eq!(entry.unwrap().ended_at, t(12));
        assert!(idle.is_none());
        let (entry, idle) = stop(&timer, t(40), Duration::minutes(15));
        let (entry, idle) = (entry.unwrap(), idle.unwrap());
        assert_eq!((entry.started_at, entry.ended_at), (t(0), t(10)));
        assert_eq!((idle.started_at, idle.ended_at), (t(10), t(40)));
    }

    #[test]
    fn plan_touches_switches_and_leaves_foreign_timers_alone() {
        let user = UserId::new();
        let timer = new_timer(user, &target("a"), t(0));
        let gap = Duration::minutes(15);
        let w = plan(user, Some(&timer), Some(&target("a")), t(5), gap, |_| true);
        assert!(w.entries.is_empty());
        let TimerChange::Replace {
            timer: Some(ref touched),
            expected,
            ..
        } = w.timer
        else {
            panic!("expected a touch");
        };
        assert_eq!((touched.id, expected), (timer.id, Some(timer.id)));
        assert_eq!(touched.last_activity_at, t(5));

        let w = plan(user, Some(&timer), Some(&target("b")), t(5), gap, |_| true);
        assert_eq!(w.entries.len(), 1);
        assert_eq!(w.entries[0].step.as_deref(), Some("a"));

        let w = plan(user, Some(&timer), None, t(5), gap, |_| false);
        assert!(w.is_empty());
        let w = plan(user, Some(&timer), None, t(5), gap, |_| true);
        assert_eq!(w.entries[0].ended_at, t(5));

        // Touching after a long gap splits: entry, idle, and a fresh timer.
        let w = plan(user, Some(&timer), Some(&target("a")), t(60), gap, |_| true);
        assert_eq!((w.entries.len(), w.idle.len()), (0, 1));
        let TimerChange::Replace {
            timer: Some(fresh), ..
        } = w.timer
        else {
            panic!("expected a restart");
        };
        assert_ne!(fresh.id, timer.id);
        assert_eq!(fresh.started_at, t(60));
    }
}
