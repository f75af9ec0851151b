//! Mutable server state and the read-only snapshots handlers work on.
//!
//! Handlers run concurrently, so edits must be applied in order: every change carries the
//! document version, and an older version never replaces a newer one.

use std::collections::HashMap;
use std::sync::Arc;

use qapms_core::config::Env;
use tokio::sync::RwLock;
use tower_lsp_server::ls_types::Uri;

/// One open document.
#[derive(Debug, Clone)]
pub struct Document {
    pub version: i32,
    pub text: Arc<str>,
}

/// All open documents, and the environment the server started in.
#[derive(Debug)]
pub struct Session {
    documents: RwLock<HashMap<Uri, Document>>,
    env: Env,
}

/// A document as it was at one version; handlers read this and never the live session.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub uri: Uri,
    pub document: Document,
}

impl Session {
    /// A session that checks `${VAR}` references against `env`.
    pub fn new(env: Env) -> Self {
        Self {
            documents: RwLock::default(),
            env,
        }
    }

    /// The environment `qapms.yaml` is interpolated against.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Stores `text` at `version` unless a newer version is already there. Returns whether the
    /// document changed.
    pub async fn update(&self, uri: Uri, version: i32, text: String) -> bool {
        let mut documents = self.documents.write().await;
        match documents.get(&uri) {
            Some(existing) if existing.version > version => false,
            _ => {
                documents.insert(
                    uri,
                    Document {
                        version,
                        text: Arc::from(text),
                    },
                );
                true
            }
        }
    }

    pub async fn close(&self, uri: &Uri) {
        self.documents.write().await.remove(uri);
    }

    pub async fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let documents = self.documents.read().await;
        documents.get(uri).map(|document| Snapshot {
            uri: uri.clone(),
            document: document.clone(),
        })
    }

    /// The version currently stored, to drop results computed for an older one.
    pub async fn version(&self, uri: &Uri) -> Option<i32> {
        self.documents.read().await.get(uri).map(|d| d.version)
    }
}
