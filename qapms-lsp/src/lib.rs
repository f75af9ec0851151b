//! qapms-lsp: qapms in any LSP editor.
//!
//! This first cut serves `qapms.yaml`: the editor gets the config validator's diagnostics with
//! exact ranges while the user types. Ticket and test intelligence build on the same skeleton.
//!
//! Layout (after ruff's and texlab's servers):
//! - [`server`]: the `LanguageServer` impl, which only routes to handlers;
//! - [`session`]: mutable state (open documents), behind one lock that is never held across an
//!   `.await`; handlers take a [`session::Snapshot`] and work on that;
//! - `handlers/`: one file per request or notification;
//! - [`convert`]: positions between qapms (1-based line, character column) and LSP (0-based,
//!   UTF-16 code units).

pub mod convert;
mod handlers;
mod server;
pub mod session;

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

/// Serves the protocol on `input`/`output` until the client exits.
pub async fn run(input: impl AsyncRead + Unpin, output: impl AsyncWrite) {
    let (service, socket) = LspService::new(server::Backend::new);
    Server::new(input, output, socket).serve(service).await;
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
