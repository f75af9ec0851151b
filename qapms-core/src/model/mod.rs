//! Domain types shared by the store, the engines and every front-end.
//!
//! Ids are newtypes so a [`RunId`] can never be passed where a [`UserId`] is expected. Ids the
//! store mints are `UUIDv7` (time-ordered, so inserts stay index-friendly); an id that comes from an
//! external system and is its identity, such as a Jira [`IssueKey`], keeps that key.
//!
//! Timestamps are UTC with microsecond precision: both backends keep microseconds, so values
//! made with [`utc_now`] read back equal from either backend.
//!
//! JSON uses camelCase field names and `snake_case` enum values (`"tech_lead"`, `"in_progress"`),
//! as DESIGN §5 asks. Types here carry data and validation only; the store owns persistence.

// Defined before the submodules: `macro_rules!` is visible only below its definition.
/// Implements `as_str`, `Display` and `FromStr` for a fieldless enum stored and sent as text.
macro_rules! text_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stable text form used in JSON, the store and configuration.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    _ => Err(crate::Error::invalid_input(format!(
                        "unknown {} `{}`; expected one of: {}",
                        $what,
                        s,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

mod identity;
mod ids;
mod page;
mod raw_json;
mod search;
mod test;
mod ticket;
mod time;
mod user;
mod workflow;

pub use identity::{ExternalKey, ImportBatchOutcome, ImportedAttempt, ImportedTest, TestIdentity};
pub use ids::{IssueKey, PatternId, RunId, TestId, TimeEntryId, UserId, WorkflowId};
pub use page::{Page, PageRequest};
pub use raw_json::RawJson;
pub use search::{SearchDocument, SearchDocumentKey};
pub use test::{TestCase, TestResult, TestRun, TestSource, TestStatus};
pub use ticket::{StatusCategory, Ticket, TicketFilter};
pub use time::{TimeEntry, TimeEntryFilter, TimeSource};
pub use user::{Role, User};
pub use workflow::{
    ActionRecord, ActionStatus, ChecklistItem, Evidence, HistoryEntry, IdlePeriod, Step,
    StepEstimate, StepState, TimeHistoryFilter, Timer, TimerChange, TrackingWrite, Workflow,
    WorkflowEvent, WorkflowFilter, WorkflowState, WorkflowWrite,
};

use chrono::{DateTime, SubsecRound, Utc};

/// The current UTC time, truncated to the microsecond precision the store keeps.
pub fn utc_now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
