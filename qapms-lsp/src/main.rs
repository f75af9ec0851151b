//! The `qapms-lsp` binary: a language server over stdio.
//!
//! Logs go to stderr (stdout carries the protocol). Everything else is in the library.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    qapms_lsp::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(qapms_lsp::run(tokio::io::stdin(), tokio::io::stdout()));
    // tokio reads stdin with a blocking read on a pool thread, which cannot be cancelled, and
    // the input pump always has one outstanding. Dropping the runtime would wait for it, that
    // is for the client to close its end; the protocol says the server exits on `exit`. So
    // give other pool work (a file write) a moment to finish, then go.
    runtime.shutdown_timeout(Duration::from_millis(200));
    ExitCode::SUCCESS
}
