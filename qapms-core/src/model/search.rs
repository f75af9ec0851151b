//! Documents other parts of qapms hand to search: Postman requests, Splunk saved searches and
//! query templates, workflow reports and notes, failure cluster templates.
//!
//! Tickets and test cases are indexed straight from their own tables; everything else is
//! written here by the part that owns it, and the index is built from these rows. A document is
//! identified by its `source` and `source_key` (unique together), so a sync that sees the same
//! thing again replaces it, and a rename is a delete of the old key plus an upsert of the new.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IssueKey;

/// One searchable document, as stored in `search_documents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDocument {
    /// The system it comes from: `postman`, `splunk`, `workflow`, `cluster`, … (lowercase).
    pub source: String,
    /// Its key within that source, e.g. a Postman request id or a saved search name.
    pub source_key: String,
    /// What it is within the source: `request`, `saved_search`, `template`, `report`, `note`.
    pub doc_type: String,
    pub title: String,
    pub body: String,
    /// A link back to the original, when it has one.
    pub url: Option<String>,
    /// A Jira project key such as `PAY`, when the document belongs to one.
    pub project: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// Tickets the document is about; "related items" finds documents through these first.
    pub ticket_keys: Vec<IssueKey>,
    /// Further named text, searched too and shown by front-ends (`method`, `collection`, …).
    pub fields: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

/// Names one stored search document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchDocumentKey {
    pub source: String,
    pub source_key: String,
}

impl SearchDocumentKey {
    pub fn new(source: impl Into<String>, source_key: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            source_key: source_key.into(),
        }
    }
}

impl SearchDocument {
    pub fn key(&self) -> SearchDocumentKey {
        SearchDocumentKey::new(self.source.clone(), self.source_key.clone())
    }
}
