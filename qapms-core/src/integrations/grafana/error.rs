//! Grafana-specific error wording on top of the HTTP layer's typed mapping.
//!
//! The HTTP layer turns statuses into kinds and quotes Grafana's `message`. What it cannot
//! know: a 401 means the service-account token is wrong, expired or revoked; a 403 means the
//! account's role is too low (annotations need Editor, or `annotations:write`); and a query
//! that fails inside `/api/ds/query` comes back per `refId`, not as an HTTP error.

use crate::integrations::with_hint;
use crate::{Error, ErrorKind};

/// Adds Grafana's meaning to errors the generic mapping cannot explain.
pub(crate) fn explain(err: Error) -> Error {
    let status = err.context_value("status").map(str::to_owned);
    let hint = match (err.kind(), status.as_deref()) {
        (ErrorKind::Unauthorized, Some("401")) => {
            "check integrations.grafana.token: use a service account token (`glsa_…`) that has \
             not expired or been revoked"
        }
        (ErrorKind::Unauthorized, Some("403")) => {
            "the service account's role is too low for this call (annotations need Editor, \
             dashboards and queries need Viewer on them)"
        }
        (ErrorKind::NotFound, _) => {
            "check the uid, and that integrations.grafana.base_url points at Grafana itself \
             (its API answers under `/api`)"
        }
        _ => return err,
    };
    with_hint(&err, hint)
}

/// One query of a `/api/ds/query` call failed; Grafana gives its own status and reason.
pub(crate) fn query_failed(ref_id: &str, message: &str, status: Option<u16>) -> Error {
    let kind = match status {
        Some(400 | 422) => ErrorKind::InvalidInput,
        Some(401 | 403) => ErrorKind::Unauthorized,
        Some(404) => ErrorKind::NotFound,
        _ => ErrorKind::Upstream,
    };
    let mut err = Error::new(
        kind,
        format!("grafana query `{ref_id}` failed: {message}; check the query and the datasource"),
    )
    .with_context("ref_id", ref_id.to_owned());
    if let Some(status) = status {
        err = err.with_context("status", status.to_string());
    }
    err
}
