//! Mutable server state, and the read-only snapshots handlers work on.
//!
//! The framework runs handlers concurrently, so document edits are not applied by the
//! handlers themselves: `didOpen`/`didChange`/`didClose` only queue the edit (synchronously,
//! before their first `.await`, so the queue holds them in arrival order) and one task applies
//! them in order. An edit older than the stored version is dropped. A request that reads a
//! document first waits for a barrier through the same queue, so it sees every edit that
//! arrived before it: hovers during a burst of `didChange` answer for the latest text.
//!
//! The documents map is written only by that task; readers take an `Arc<Document>` out of it
//! under a short read lock (never held across an `.await`). The workspace is swapped whole
//! when it has loaded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use qapms_core::config::Env;
use tokio::sync::{mpsc, oneshot};
use tower_lsp_server::ls_types::Uri;

use crate::document::Document;
use crate::features::keys::Projects;
use crate::workspace::Workspace;

/// What happens to a document.
#[derive(Debug)]
pub(crate) enum Edit {
    Open {
        uri: Uri,
        version: i32,
        text: String,
        language_id: String,
    },
    Change {
        uri: Uri,
        version: i32,
        text: String,
    },
    Close {
        uri: Uri,
    },
    /// Answered once every edit queued before it is applied.
    Barrier(oneshot::Sender<()>),
    /// Answered with the document as of every edit queued before it (and none after).
    Snapshot {
        uri: Uri,
        reply: oneshot::Sender<Option<Arc<Document>>>,
    },
}

/// A document that changed, for the diagnostics that follow.
#[derive(Debug, Clone)]
pub(crate) struct Changed {
    pub uri: Uri,
    pub closed: bool,
}

#[derive(Debug)]
pub(crate) struct Session {
    edits: mpsc::UnboundedSender<Edit>,
    documents: Arc<RwLock<HashMap<Uri, Arc<Document>>>>,
    workspace: RwLock<Arc<Workspace>>,
    /// The projects new documents are analysed with, shared with the edit task.
    projects: Arc<RwLock<Arc<Projects>>>,
    /// Documents whose last published diagnostics were not empty (so an empty set must be
    /// sent to clear them); others get nothing, to keep the client quiet.
    diagnosed: RwLock<HashSet<Uri>>,
    env: Env,
}

impl Session {
    /// The session and the receiver of applied changes (for diagnostics).
    pub(crate) fn new(env: Env, workspace: Workspace) -> (Self, mpsc::UnboundedReceiver<Changed>) {
        let (edits, queue) = mpsc::unbounded_channel();
        let (changed_tx, changed_rx) = mpsc::unbounded_channel();
        let documents: Arc<RwLock<HashMap<Uri, Arc<Document>>>> = Arc::default();
        let projects = Arc::new(RwLock::new(Arc::new(workspace.projects.clone())));
        let session = Self {
            edits,
            documents: documents.clone(),
            workspace: RwLock::new(Arc::new(workspace)),
            projects: projects.clone(),
            diagnosed: RwLock::default(),
            env,
        };
        tokio::spawn(apply_edits(queue, documents, projects, changed_tx));
        (session, changed_rx)
    }

    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    /// Queues an edit. Called before any `.await` in the notification handler.
    pub(crate) fn queue(&self, edit: Edit) {
        if self.edits.send(edit).is_err() {
            tracing::error!("the document task has stopped; edit dropped");
        }
    }

    /// Waits until every edit queued so far is applied.
    pub(crate) async fn settle(&self) {
        let (tx, rx) = oneshot::channel();
        self.queue(Edit::Barrier(tx));
        let _ = rx.await;
    }

    /// The document as of every edit received before this call, and of none received after:
    /// a hover sent right after version 7 answers for version 7 even while 8 is applied.
    pub(crate) async fn document(&self, uri: &Uri) -> Option<Arc<Document>> {
        let (reply, rx) = oneshot::channel();
        self.queue(Edit::Snapshot {
            uri: uri.clone(),
            reply,
        });
        rx.await.ok().flatten()
    }

    /// The document as it is now, without waiting for queued edits.
    pub(crate) fn current(&self, uri: &Uri) -> Option<Arc<Document>> {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .cloned()
    }

    pub(crate) fn open_documents(&self) -> Vec<Arc<Document>> {
        self.documents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Records what is about to be published for `uri`; returns whether to publish it.
    pub(crate) fn should_publish(&self, uri: &Uri, always: bool, empty: bool) -> bool {
        let mut diagnosed = self
            .diagnosed
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let had = if empty {
            diagnosed.remove(uri)
        } else {
            !diagnosed.insert(uri.clone())
        };
        always || !empty || had
    }

    pub(crate) fn workspace(&self) -> Arc<Workspace> {
        self.workspace
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Installs a loaded workspace; open documents are analysed again with its projects.
    pub(crate) async fn set_workspace(&self, workspace: Workspace) {
        let projects = Arc::new(workspace.projects.clone());
        *self
            .workspace
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(workspace);
        // Edits applied from now on use the new projects; those applied before are redone.
        *self
            .projects
            .write()
            .unwrap_or_else(PoisonError::into_inner) = projects.clone();
        self.settle().await;
        let mut docs = self
            .documents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for doc in docs.values_mut() {
            if !Arc::ptr_eq(&doc.projects_arc(), &projects) {
                *doc = Arc::new(doc.reanalysed(projects.clone()));
            }
        }
    }
}

/// The one task that applies edits, in the order they were queued.
async fn apply_edits(
    mut queue: mpsc::UnboundedReceiver<Edit>,
    documents: Arc<RwLock<HashMap<Uri, Arc<Document>>>>,
    projects: Arc<RwLock<Arc<Projects>>>,
    changed: mpsc::UnboundedSender<Changed>,
) {
    while let Some(edit) = queue.recv().await {
        let note = {
            let mut docs = documents.write().unwrap_or_else(PoisonError::into_inner);
            match edit {
                Edit::Barrier(done) => {
                    let _ = done.send(());
                    None
                }
                Edit::Snapshot { uri, reply } => {
                    let _ = reply.send(docs.get(&uri).cloned());
                    None
                }
                Edit::Open {
                    uri,
                    version,
                    text,
                    language_id,
                } => {
                    let projects = projects
                        .read()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone();
                    let doc =
                        Document::new(uri.clone(), version, text.into(), &language_id, projects);
                    docs.insert(uri.clone(), Arc::new(doc));
                    Some(Changed { uri, closed: false })
                }
                Edit::Change { uri, version, text } => match docs.get(&uri) {
                    Some(old) if old.version >= version => {
                        tracing::debug!(version, current = old.version, "stale edit dropped");
                        None
                    }
                    Some(old) => {
                        let projects = projects
                            .read()
                            .unwrap_or_else(PoisonError::into_inner)
                            .clone();
                        let language_id = language_id_of(old);
                        let doc =
                            Document::new(uri.clone(), version, text.into(), language_id, projects);
                        docs.insert(uri.clone(), Arc::new(doc));
                        Some(Changed { uri, closed: false })
                    }
                    None => {
                        tracing::debug!("change for a document that is not open");
                        None
                    }
                },
                Edit::Close { uri } => docs.remove(&uri).map(|_| Changed { uri, closed: true }),
            }
        };
        if let Some(note) = note {
            let _ = changed.send(note);
        }
    }
}

/// The language id a changed document keeps (the client sends it only on open).
fn language_id_of(doc: &Document) -> &'static str {
    use crate::features::regions::Language;
    match doc.language {
        Language::Python => "python",
        Language::Json => "json",
        Language::Yaml => "yaml",
        Language::Markdown => "markdown",
        Language::Gherkin => "feature",
        Language::PlainText => "plaintext",
        // Detected from the path again.
        Language::CLike | Language::Other => "",
    }
}
