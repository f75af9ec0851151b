//! qapms-lsp: qapms in any LSP editor.
//!
//! Ticket and test intelligence in any LSP editor: hovers, links, completion and diagnostics
//! for Jira keys (only the configured or synced projects, only in comments, strings and prose),
//! test history, flakiness and clusters on test declarations, workspace symbols from qapms
//! search, code actions that create issues and start workflows, and `qapms.yaml` support.
//!
//! Layout (after ruff's and texlab's servers):
//! - `server`: the `LanguageServer` impl, which only routes to handlers;
//! - `session`: mutable state; edits go through one task, in order, with version checks, and
//!   handlers read immutable `Document` snapshots;
//! - `workspace`: config, store, Jira and the read-only caches (swapped whole on refresh);
//! - `handlers/`: one file per request or notification;
//! - [`features`]: protocol-free recognisers and parsers (key recogniser, comment and string
//!   regions, test file parsers, the config schema walker);
//! - [`convert`]: positions between qapms (1-based line, character column), byte offsets and LSP
//!   (0-based, UTF-16 code units).

pub mod convert;
mod document;
pub mod features;
mod framing;
mod handlers;
mod progress;
mod server;
mod session;
mod settings;
mod workspace;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

/// Serves the protocol on `input`/`output` until the client exits.
///
/// tower-lsp sits between two in-memory pipes: the client's frames reach it through
/// [`framing::pump`], which keeps malformed ones away from it (tower-lsp alone stops reading
/// after one), and its answers reach the client through [`framing::merge`], together with the
/// errors for those malformed frames.
pub async fn run(input: impl AsyncRead + Unpin, output: impl AsyncWrite) {
    const PIPE: usize = 256 * 1024;
    let (service, socket) = LspService::new(server::Backend::new);
    let (server_in, to_server) = tokio::io::duplex(PIPE);
    let (from_server, server_out) = tokio::io::duplex(PIPE);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::channel(64);
    let served = async {
        tokio::join!(
            Server::new(server_in, server_out, socket).serve(service),
            framing::merge(from_server, errors_rx, output),
        );
    };
    tokio::pin!(served);
    // Input ending closes `to_server`, which ends tower-lsp and then the merge; tower-lsp
    // ending first (the client sent `exit`) must not wait for a client that never closes its
    // end, so the pump is simply dropped.
    tokio::select! {
        () = &mut served => return,
        () = framing::pump(input, to_server, errors_tx) => {}
    }
    served.await;
}

/// Logs to stderr, as JSON-free text; stdout belongs to the protocol.
pub fn init_logging() {
    let options = qapms_core::logging::LogOptions {
        format: qapms_core::logging::LogFormat::Pretty,
        filter: "info".to_owned(),
        dir: None,
        file_prefix: "qapms-lsp".to_owned(),
        retention_days: 30,
        stderr: true,
    };
    // A logger that cannot start must not stop the editor's server: carry on without logs.
    if let Ok(guard) = qapms_core::logging::init(&options, qapms_core::logging::Redactor::new()) {
        std::mem::forget(guard);
    }
}
