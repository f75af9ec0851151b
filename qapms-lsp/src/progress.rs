//! `$/progress` for long operations (loading the store, the background refresh, indexing).
//!
//! Core code reports progress through a plain callback; [`Reporter`] turns those calls into
//! `$/progress` notifications from a task of its own, so the callback never awaits. Clients
//! that did not announce `window.workDoneProgress` get nothing but the log line.

use tokio::sync::mpsc;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{NumberOrString, ProgressToken};

/// Sends progress messages for one operation; dropping it (or [`Reporter::finish`]) ends it.
#[derive(Debug)]
pub(crate) struct Reporter {
    tx: Option<mpsc::UnboundedSender<String>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Reporter {
    /// Starts an operation titled `title`; `enabled` is the client's `workDoneProgress`.
    pub(crate) async fn start(client: &Client, enabled: bool, id: &str, title: &str) -> Self {
        tracing::info!(operation = title, "started");
        if !enabled {
            return Self {
                tx: None,
                done: None,
            };
        }
        let token = ProgressToken::from(NumberOrString::String(format!("qapms/{id}")));
        if let Err(e) = client.create_work_done_progress(token.clone()).await {
            tracing::debug!(error = %e, "client refused a progress token");
            return Self {
                tx: None,
                done: None,
            };
        }
        let ongoing = client.progress(token, title.to_owned()).begin().await;
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let done = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                ongoing.report(message).await;
            }
            ongoing.finish().await;
        });
        Self {
            tx: Some(tx),
            done: Some(done),
        }
    }

    /// Reports a step; callable from synchronous code.
    pub(crate) fn report(&self, message: &str) {
        tracing::debug!(message, "progress");
        if let Some(tx) = &self.tx {
            let _ = tx.send(message.to_owned());
        }
    }

    /// Ends the operation and waits until the client has been told.
    pub(crate) async fn finish(mut self) {
        self.tx = None;
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}
