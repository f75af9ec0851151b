//! Diagnostics for `qapms.yaml`: the config validator's errors and warnings, with exact ranges.
//!
//! The text is validated as the editor holds it (not as saved), against the same code the CLI
//! and the server use, so the editor and `qapms config validate` always agree.

use qapms_core::config::Env;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, Uri};

use crate::convert;
use crate::session::Session;

pub(crate) async fn publish(client: &Client, session: &Session, uri: &Uri) {
    if !is_config_file(uri) {
        return;
    }
    let Some(snapshot) = session.snapshot(uri).await else {
        return;
    };
    let text = snapshot.document.text.clone();
    let name = uri
        .path()
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or("qapms.yaml")
        .to_owned();
    let diagnostics = validate(&text, &name, session.env());
    // Drop results for a version that is no longer current: a newer edit publishes its own.
    if session.version(uri).await != Some(snapshot.document.version) {
        return;
    }
    client
        .publish_diagnostics(uri.clone(), diagnostics, Some(snapshot.document.version))
        .await;
}

fn is_config_file(uri: &Uri) -> bool {
    let path = uri.path().as_str();
    let name = path.rsplit('/').next().unwrap_or("");
    name == "qapms.yaml" || name == "qapms.yml"
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
