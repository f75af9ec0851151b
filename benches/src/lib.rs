//! Shared helpers for qapms benchmarks.

pub mod config_gen;
pub mod jira_gen;
pub mod junit_gen;
pub mod pattern_gen;
pub mod search_gen;
