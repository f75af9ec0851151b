//! Diagnostics: the config validator's findings for `qapms.yaml`, and ticket checks elsewhere:
//! - a key Jira says does not exist (severity `diagnostics.missingTicket`);
//! - a `skip`/`xfail` (or `@Disabled`, `test.skip`, `@skip`) whose reason cites a ticket that
//!   is now resolved: "PAY-12 is Done; unskip this test?" (`diagnostics.resolvedSkip`).
//!
//! `qapms.yaml` is validated as the editor holds it (not as saved), with the same code the CLI
//! and the server use, so the editor and `qapms config validate` always agree.
//!
//! Keys not in the cache are fetched in the background after a first publish; when they
//! arrive the document is checked again (once, without fetching again), so typing is never
//! held up by Jira.

use std::collections::BTreeSet;
use std::sync::Arc;

use qapms_core::config::Env;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, Uri};

use crate::convert;
use crate::document::Document;
use crate::session::Session;
use crate::workspace::{FETCH_TIMEOUT, TicketState, is_resolved};

/// Most distinct cold keys fetched for one document pass.
const MAX_FETCH: usize = 50;

/// Computes and publishes the diagnostics of `uri`, unless a newer version arrived meanwhile.
/// With `fetch`, keys not cached yet are fetched in the background and the document is
/// checked again once they are known.
pub(crate) async fn publish(client: &Client, session: &Arc<Session>, uri: &Uri, fetch: bool) {
    let cold = publish_now(client, session, uri).await;
    if fetch && !cold.is_empty() {
        let client = client.clone();
        let session = session.clone();
        let uri = uri.clone();
        tokio::spawn(async move {
            let ws = session.workspace();
            let mut learned = false;
            for key in cold.iter().take(MAX_FETCH) {
                if !matches!(
                    ws.ticket(key, FETCH_TIMEOUT * 4).await,
                    TicketState::Unknown
                ) {
                    learned = true;
                }
            }
            if learned {
                publish_now(&client, &session, &uri).await;
            }
        });
    }
}

/// Publishes what is known now; returns the keys that are not cached.
async fn publish_now(client: &Client, session: &Session, uri: &Uri) -> BTreeSet<String> {
    let Some(doc) = session.current(uri) else {
        return BTreeSet::new();
    };
    let (diagnostics, cold) = compute(session, &doc);
    if session.current(uri).map(|d| d.version) != Some(doc.version) {
        return BTreeSet::new();
    }
    if session.should_publish(uri, doc.is_config(), diagnostics.is_empty()) {
        client
            .publish_diagnostics(uri.clone(), diagnostics, Some(doc.version))
            .await;
    }
    cold
}

/// The diagnostics of a document, and the keys that are not cached yet.
fn compute(session: &Session, doc: &Document) -> (Vec<Diagnostic>, BTreeSet<String>) {
    if doc.is_config() {
        let name = doc.path.rsplit('/').next().unwrap_or("qapms.yaml");
        return (validate(&doc.text, name, session.env()), BTreeSet::new());
    }
    let ws = session.workspace();
    let settings = &ws.settings.diagnostics;
    let mut out = Vec::new();
    let mut cold = BTreeSet::new();
    if !settings.enabled || doc.keys().is_empty() {
        return (out, cold);
    }
    let skips: Vec<std::ops::Range<usize>> = doc
        .tests()
        .items
        .iter()
        .flat_map(|t| t.skips.iter().cloned())
        .collect();
    for key in doc.keys() {
        match ws.cached_ticket(&key.key) {
            None => {
                cold.insert(key.key.clone());
            }
            Some(TicketState::Missing) => {
                if let Some(severity) = settings.missing_ticket.severity() {
                    out.push(Diagnostic {
                        range: doc.range(key.range.clone()),
                        severity: Some(severity),
                        code: Some(tower_lsp_server::ls_types::NumberOrString::String(
                            "missing-ticket".to_owned(),
                        )),
                        source: Some("qapms".to_owned()),
                        message: format!(
                            "{} does not exist in Jira (or is hidden from you)",
                            key.key
                        ),
                        ..Diagnostic::default()
                    });
                }
            }
            Some(TicketState::Found(ticket)) => {
                let in_skip = skips
                    .iter()
                    .any(|s| s.start <= key.range.start && key.range.end <= s.end);
                if in_skip
                    && is_resolved(&ticket)
                    && let Some(severity) = settings.resolved_skip.severity()
                {
                    out.push(Diagnostic {
                        range: doc.range(key.range.clone()),
                        severity: Some(severity),
                        code: Some(tower_lsp_server::ls_types::NumberOrString::String(
                            "resolved-skip".to_owned(),
                        )),
                        source: Some("qapms".to_owned()),
                        message: format!("{} is {}; unskip this test?", key.key, ticket.status),
                        ..Diagnostic::default()
                    });
                }
            }
            Some(TicketState::Unknown) => {}
        }
    }
    (out, cold)
}

/// Validates `text` and converts every finding to an LSP diagnostic.
pub(crate) fn validate(text: &str, file_name: &str, env: &Env) -> Vec<Diagnostic> {
    let findings = match qapms_core::config::load_str(text, file_name, None, env) {
        Ok(loaded) => loaded.warnings,
        Err(errors) => errors.diagnostics,
    };
    findings
        .iter()
        .map(|d| Diagnostic {
            range: convert::range(text, (d.line, d.column), (d.end_line, d.end_column)),
            severity: Some(if d.is_error() {
                DiagnosticSeverity::ERROR
            } else {
                DiagnosticSeverity::WARNING
            }),
            source: Some("qapms".to_owned()),
            message: match &d.suggestion {
                Some(s) => format!("{} (did you mean `{s}`?)", d.message),
                None => d.message.clone(),
            },
            ..Diagnostic::default()
        })
        .collect()
}
