//! Testmo (REST v1): projects, milestones, runs and results, the case repository, and the
//! automation run lifecycle.
//!
//! [`Testmo`] is the client; [`Testmo::builder`] or [`Testmo::from_config`] make one. Lists are
//! page-number paged (`page`, `per_page`, `next_page`) and are streamed through
//! [`crate::http::token_stream`] with `next_page` as the token, so nothing is truncated whatever
//! page size the server really uses. Submitting results goes through [`RunSubmission`], which
//! drives create run → create thread → append (in batches) → complete thread → complete run the
//! way `testmo automation:run:submit` does; [`Testmo::submit_junit`] feeds it from the `JUnit`
//! reader in [`crate::results::junit`]. It implements [`crate::integrations::TestCaseSource`]
//! and [`crate::integrations::TestRunSink`].

mod client;
mod config;
mod error;
pub mod models;

pub use client::{
    AutomationHandler, CaseHandler, ListCases, ListRuns, RunSubmission, Testmo,
    reported_from_junit, test_key, testmo_status,
};
pub use config::TestmoBuilder;
