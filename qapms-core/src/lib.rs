//! qapms-core: the library behind every qapms front-end.
//!
//! The Python package, the language server and the dashboard server are thin layers over this
//! crate, so whatever a user sees (a ticket, a timer, a flakiness score) is computed here once.
//! The crate knows nothing of those front-ends: it returns domain types and [`Error`]s, and each
//! front-end converts them at its own edge.
//!
//! The public surface:
//! - [`config`]: `qapms.yaml` discovery, profiles, interpolation, validation with spans, schema;
//! - [`secrets`]: the `enc:v1:` envelope (AES-256-GCM) and master-key sources;
//! - [`model`]: domain types with typed ids ([`model::IssueKey`], [`model::RunId`], …);
//! - [`store`]: the [`store::Store`] trait over `SQLite` (default) and `PostgreSQL`;
//! - [`logging`]: tracing set-up with secret redaction and compressed rolling files;
//! - [`http`]: the one HTTP client (timeouts, auth, retries, rate limits, paging, metrics);
//! - [`integrations`]: the `Integration` trait, capability traits and the Jira, Testmo and
//!   Splunk clients;
//! - [`patterns`]: log and failure templates, anomaly detection and flakiness scoring;
//! - [`results`]: streaming `JUnit` XML import and stable test identity;
//! - [`search`]: the full-text index over every source, fuzzy ids and keys, related items;
//! - [`report`]: workflow and period reports in Markdown, HTML, JSON and CSV, posted to Jira;
//! - [`dashboard`]: persona dashboards over daily rollups (data only, no HTML);
//! - [`sync`]: incremental sync of every integration into the store and the search index.

pub mod config;
pub mod dashboard;
mod error;
pub mod http;
pub mod integrations;
pub mod logging;
pub mod model;
pub mod patterns;
pub mod report;
pub mod results;
pub mod search;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod tracking;
pub mod workflow;

pub use error::{Error, ErrorKind, Result};
