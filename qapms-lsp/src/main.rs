//! The `qapms-lsp` binary: a language server over stdio.
//!
//! Logs go to stderr (stdout carries the protocol). Everything else is in the library.

#[tokio::main]
async fn main() {
    qapms_lsp::init_logging();
    let stdin = tokio::io::stdin();
    let stdout = tokio::io::stdout();
    qapms_lsp::run(stdin, stdout).await;
}
