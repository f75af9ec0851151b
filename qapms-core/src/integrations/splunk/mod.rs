//! Splunk: ready-to-paste SPL from templates (manual mode), and search jobs and the export
//! stream over the REST API of Splunk Enterprise (REST mode).
//!
//! Manual mode needs no connection, since Splunk Cloud access is often not given:
//! [`SplTemplates`] renders the named templates of `integrations.splunk.templates` with
//! parameters and a time range, quoting every value so it stays a string whatever it holds.
//! REST mode is [`Splunk`]: create a job and poll `dispatchState` until it is done, then read
//! its results page by page; or stream `search/v2/jobs/export` (`output_mode=json`), which
//! [`ndjson`] splits line by line as the bytes arrive, so memory does not grow with the
//! number of rows. It implements [`crate::integrations::LogSearch`].

mod client;
mod config;
mod error;
pub mod models;
pub mod ndjson;
mod session;
mod template;

pub use client::{CreateJob, Export, JobHandler, PollPolicy, Splunk, export_rows};
pub use config::SplunkBuilder;
pub use template::{RenderedSearch, SplTemplates};
