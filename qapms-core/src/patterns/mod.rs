//! Pattern detection over test results, logs and metrics (issue 5).
//!
//! Each detector is pure, streaming logic with no I/O, so the same numbers reach Python, the
//! language server and the dashboard. The template miner and the classifier live beside these
//! modules (merged from their own branches).

pub mod anomaly;
pub mod flaky;
