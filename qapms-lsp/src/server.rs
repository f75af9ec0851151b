//! The `LanguageServer` implementation: it routes each request or notification to its
//! handler and holds nothing but the client handle, the session and the handshake's facts.
//!
//! Every handler's failure becomes a log line and an empty answer (`Ok(None)`): an editor
//! shows nothing rather than an error popup for a store that is busy or a Jira that is down.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionParams, CodeActionProviderCapability, CodeActionResponse, CodeLens, CodeLensOptions,
    CodeLensParams, CompletionOptions, CompletionParams, CompletionResponse,
    DidChangeConfigurationParams, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DocumentLink, DocumentLinkOptions, DocumentLinkParams,
    ExecuteCommandOptions, ExecuteCommandParams, GotoDefinitionParams, GotoDefinitionResponse,
    Hover, HoverParams, HoverProviderCapability, InitializeParams, InitializeResult,
    InitializedParams, MessageType, OneOf, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, WorkDoneProgressOptions,
    WorkspaceSymbolParams, WorkspaceSymbolResponse,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::document::uri_path;
use crate::handlers;
use crate::progress::Reporter;
use crate::session::{Changed, Edit, Session};
use crate::settings::Settings;
use crate::workspace::Workspace;

/// How often tickets cited in open documents are fetched again from Jira.
const REFRESH_EVERY: Duration = Duration::from_mins(5);

#[derive(Debug)]
pub(crate) struct Backend {
    client: Client,
    session: Arc<Session>,
    progress: Arc<AtomicBool>,
    /// The client takes `CodeAction` literals (else actions are sent as bare commands).
    action_literals: AtomicBool,
    /// The client accepts `workspace/codeLens/refresh`.
    lens_refresh: Arc<AtomicBool>,
    start: RwLock<(Option<PathBuf>, Settings)>,
}

impl Backend {
    pub(crate) fn new(client: Client) -> Self {
        // The editor usually starts the server from the user's shell, so its environment is
        // the best guess at the one qapms will run in.
        let env = qapms_core::config::Env::from_process();
        let (session, changes) = Session::new(env, Workspace::empty(Settings::default()));
        let session = Arc::new(session);
        tokio::spawn(diagnose(client.clone(), session.clone(), changes));
        Self {
            client,
            session,
            progress: Arc::new(AtomicBool::new(false)),
            action_literals: AtomicBool::new(false),
            lens_refresh: Arc::new(AtomicBool::new(false)),
            start: RwLock::new((None, Settings::default())),
        }
    }

    /// Loads the workspace in the background, then re-checks every open document.
    fn load_workspace(&self) {
        let (root, settings) = self
            .start
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let client = self.client.clone();
        let session = self.session.clone();
        let progress = self.progress.load(Ordering::Relaxed);
        let lens_refresh = self.lens_refresh.load(Ordering::Relaxed);
        tokio::spawn(async move {
            let reporter = Reporter::start(&client, progress, "load", "qapms: loading").await;
            let workspace =
                Workspace::load(root, settings, session.env(), &|m| reporter.report(m)).await;
            reporter.finish().await;
            let summary = format!(
                "qapms: {} projects, store {}, Jira {}",
                workspace.projects.iter().count(),
                if workspace.store.is_some() {
                    "open"
                } else {
                    "none"
                },
                if workspace.jira.is_some() {
                    "configured"
                } else {
                    "not configured"
                },
            );
            session.set_workspace(workspace).await;
            client.log_message(MessageType::INFO, summary).await;
            for doc in session.open_documents() {
                handlers::diagnostics::publish(&client, &session, &doc.uri, true).await;
            }
            // Code lenses depend on the store, which was not there when they were asked for.
            if lens_refresh && let Err(e) = client.code_lens_refresh().await {
                tracing::debug!(error = %e, "client did not refresh code lenses");
            }
        });
    }
}

/// Publishes diagnostics for applied edits, coalescing a burst so only the latest version of
/// each document is checked.
async fn diagnose(
    client: Client,
    session: Arc<Session>,
    mut changes: mpsc::UnboundedReceiver<Changed>,
) {
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        while let Ok(next) = changes.try_recv() {
            batch.push(next);
        }
        let mut seen = std::collections::HashSet::new();
        for change in batch.into_iter().rev() {
            if !seen.insert(change.uri.clone()) {
                continue;
            }
            if change.closed {
                if session.should_publish(&change.uri, false, true) {
                    client
                        .publish_diagnostics(change.uri, Vec::new(), None)
                        .await;
                }
                continue;
            }
            handlers::diagnostics::publish(&client, &session, &change.uri, true).await;
        }
    }
}

/// Syncs Jira into the store and refreshes the tickets cited in open documents, every
/// `refreshSecs` (default [`REFRESH_EVERY`]).
async fn refresh_loop(client: Client, session: Arc<Session>, progress: bool, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    loop {
        interval.tick().await;
        let ws = session.workspace();
        ws.catch_up_index().await;
        if ws.jira.is_none() {
            continue;
        }
        let mut keys: Vec<String> = session
            .open_documents()
            .iter()
            .flat_map(|d| d.keys().iter().map(|k| k.key.clone()).collect::<Vec<_>>())
            .collect();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            continue;
        }
        let reporter =
            Reporter::start(&client, progress, "refresh", "qapms: refreshing tickets").await;
        reporter.report(&format!("{} tickets in view", keys.len()));
        let fetched = ws
            .refresh_tickets(&keys, &|message| reporter.report(message))
            .await;
        reporter.finish().await;
        tracing::info!(fetched, "tickets in view refreshed");
        for doc in session.open_documents() {
            handlers::diagnostics::publish(&client, &session, &doc.uri, false).await;
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        #[expect(
            deprecated,
            reason = "root_uri is the fallback for clients without folders"
        )]
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri.clone())
            .map(|uri| PathBuf::from(uri_path(&uri)));
        let settings = Settings::from_json(params.initialization_options);
        let progress = params
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        self.progress.store(progress, Ordering::Relaxed);
        let text = params.capabilities.text_document.as_ref();
        let literals = text
            .and_then(|t| t.code_action.as_ref())
            .is_some_and(|c| c.code_action_literal_support.is_some());
        self.action_literals.store(literals, Ordering::Relaxed);
        let refresh = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.code_lens.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false);
        self.lens_refresh.store(refresh, Ordering::Relaxed);
        *self.start.write().unwrap_or_else(PoisonError::into_inner) = (root, settings);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                // Full sync: each change carries the whole text, so an edit dropped as stale
                // (an older version arriving late) loses nothing.
                text_document_sync: Some(TextDocumentSyncCapability::Kind(
                    TextDocumentSyncKind::FULL,
                )),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(
                        ["-", "\"", "'", ":", " "].map(str::to_owned).to_vec(),
                    ),
                    ..CompletionOptions::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                document_link_provider: Some(DocumentLinkOptions {
                    resolve_provider: Some(false),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: handlers::code_action::COMMANDS
                        .iter()
                        .map(|c| (*c).to_owned())
                        .collect(),
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
                workspace_symbol_provider: Some(OneOf::Left(true)),
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
        self.load_workspace();
        // From the initialisation settings: the workspace is still loading.
        let every = self
            .start
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            .refresh_secs
            .map_or(REFRESH_EVERY, |s| Duration::from_secs(s.max(1)));
        tokio::spawn(refresh_loop(
            self.client.clone(),
            self.session.clone(),
            self.progress.load(Ordering::Relaxed),
            every,
        ));
        self.client
            .log_message(MessageType::INFO, "qapms-lsp ready")
            .await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        self.session.queue(Edit::Open {
            uri: doc.uri,
            version: doc.version,
            text: doc.text,
            language_id: doc.language_id,
        });
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        let Some(change) = params.content_changes.into_iter().next_back() else {
            return;
        };
        self.session.queue(Edit::Change {
            uri: params.text_document.uri,
            version: params.text_document.version,
            text: change.text,
        });
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.session.queue(Edit::Close {
            uri: params.text_document.uri,
        });
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let settings = Settings::from_json(Some(params.settings));
        self.start.write().unwrap_or_else(PoisonError::into_inner).1 = settings;
        self.load_workspace();
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(handlers::hover::hover(&self.session, params).await)
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(handlers::completion::completion(&self.session, params).await)
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(handlers::definition::definition(&self.session, params).await)
    }

    async fn document_link(&self, params: DocumentLinkParams) -> Result<Option<Vec<DocumentLink>>> {
        Ok(handlers::document_link::document_link(&self.session, params).await)
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        Ok(handlers::code_lens::code_lens(&self.session, params).await)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let literals = self.action_literals.load(Ordering::Relaxed);
        Ok(handlers::code_action::code_action(&self.session, params, literals).await)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        Ok(handlers::execute_command::execute(
            &self.client,
            &self.session,
            &params.command,
            params.arguments,
        )
        .await)
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let reporter = Reporter::start(
            &self.client,
            self.progress.load(Ordering::Relaxed),
            "index",
            "qapms: search",
        )
        .await;
        let answer =
            handlers::workspace_symbol::symbols(&self.session, params, &|m| reporter.report(m))
                .await;
        reporter.finish().await;
        Ok(answer)
    }
}
