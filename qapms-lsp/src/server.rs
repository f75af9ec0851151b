//! The `LanguageServer` implementation: it routes each request or notification to its handler
//! and holds nothing but the client handle and the session.

use std::sync::Arc;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    InitializeParams, InitializeResult, InitializedParams, MessageType, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::handlers;
use crate::session::Session;

#[derive(Debug)]
pub(crate) struct Backend {
    client: Client,
    session: Arc<Session>,
}

impl Backend {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            // The editor usually starts the server from the user's shell, so its environment is
            // the best guess at the one qapms will run in when checking `${VAR}` references.
            session: Arc::new(Session::new(qapms_core::config::Env::from_process())),
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                // Full sync keeps edits trivially ordered by version; incremental sync can come
                // once documents are large enough for it to matter.
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "qapms-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.client
            .log_message(MessageType::INFO, "qapms-lsp ready")
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        if self
            .session
            .update(doc.uri.clone(), doc.version, doc.text)
            .await
        {
            handlers::diagnostics::publish(&self.client, &self.session, &doc.uri).await;
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().last() else {
            return;
        };
        if self
            .session
            .update(uri.clone(), params.text_document.version, change.text)
            .await
        {
            handlers::diagnostics::publish(&self.client, &self.session, &uri).await;
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.session.close(&uri).await;
        self.client.publish_diagnostics(uri, Vec::new(), None).await;
    }
}
