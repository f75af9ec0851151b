//! Pattern detection over test results, logs and metrics.
//!
//! Each detector is a streaming, in-process component with bounded state and no I/O, so the
//! same code (and the same numbers) runs inside the Python package, the language server and the
//! dashboard server without extra services. This module only groups them; each sub-module
//! documents its own design.
//!
//! - [`templates`]: template mining (Drain-like) for failure messages, stack traces and log
//!   lines, with stable content-hash template ids;
//! - [`anomaly`]: streaming, seasonality-aware anomaly scores with O(1) state per series;
//! - [`flaky`]: flakiness scores with calibrated intervals, plus the Allure and TestOps presets;
//! - [`cluster`]: failure clusters from message templates and stack fingerprints, with stable
//!   ids, known-issue rules and Jira links;
//! - [`classify`]: systemic, recurring defect, flaky or one-off, with the evidence;
//! - [`alerts`]: alert kinds, states and transitions;
//! - [`analyze`]: the recompute over the store that ties them together (the only part that
//!   does I/O, through the [`Store`](crate::store::Store) trait).

pub mod alerts;
pub mod analyze;
pub mod anomaly;
pub mod classify;
pub mod cluster;
pub mod flaky;
pub mod templates;

pub use analyze::{Analysis, AnalyzeOptions, analyze};
