//! Grafana's HTTP API: health, dashboards, annotations and datasource queries.
//!
//! [`Grafana`] is the client; [`Grafana::builder`] or [`Grafana::from_config`] make one. It
//! implements [`crate::integrations::Annotations`] (marking test runs and deploys on the
//! team's dashboards) and [`crate::integrations::MetricSource`] (series for anomaly
//! detection), which is how the rest of qapms sees it. Payloads and the data-frame decoder are
//! in [`models`].

mod client;
mod config;
mod error;
pub mod models;

pub use client::{
    AnnotationHandler, CreateAnnotation, DashboardHandler, DatasourceHandler, Grafana,
    QueryDatasource, SearchDashboards,
};
pub use config::GrafanaBuilder;
pub use models::{DashboardUid, frames_to_series};
