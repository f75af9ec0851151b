//! What the index holds for each thing, built from the store's rows.
//!
//! Every indexed document has one `uid` that names it in the index (`t:PAY-12` for a ticket,
//! `c:<test id>` for a test case, `d:<source>/<key>` for a search document, `p:<id>` for a failure
//! cluster, `w:<id>` for a workflow), so an update or a delete replaces exactly that document. Jira descriptions and comments arrive as ADF (Cloud)
//! or plain strings (Data Center) inside the ticket's raw JSON; [`adf_text`] flattens either to
//! text without recursion, so a deeply nested payload cannot overflow the stack.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{IssueKey, SearchDocument, SearchDocumentKey, TestCase, TestId, Ticket};

/// `doc_type` of a Jira ticket.
pub const TYPE_TICKET: &str = "ticket";
/// `doc_type` of a test case (Testmo, Postman, pytest or `JUnit`).
pub const TYPE_CASE: &str = "case";
/// `doc_type` of a Postman request written to `search_documents`.
pub const TYPE_REQUEST: &str = "request";
/// `doc_type` of a failure cluster (read from the analysis' `patterns` rows).
pub const TYPE_CLUSTER: &str = "cluster";
/// `doc_type` of a workflow with its notes and step outcomes.
pub const TYPE_WORKFLOW: &str = "workflow";

/// Longest text kept per document body; longer text is cut at a character boundary, so one
/// huge pasted log cannot blow up the index.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// One document as the index sees it. The bench and tests build these directly; the index
/// builds them from the store with [`IndexDoc::from_ticket`] and friends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexDoc {
    pub uid: String,
    pub source: String,
    pub doc_type: String,
    /// The id a user types: `PAY-12`, `C1234`, a request name.
    pub key: String,
    pub title: String,
    pub body: String,
    pub project: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    /// Ticket keys this document is linked to.
    pub links: Vec<String>,
    pub url: Option<String>,
    /// Extra named text, searched and returned as is.
    pub fields: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

/// Names a thing in the store whose index entry should change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum DocRef {
    Ticket { key: IssueKey },
    TestCase { id: TestId },
    Document { key: SearchDocumentKey },
}

impl DocRef {
    pub fn uid(&self) -> String {
        match self {
            Self::Ticket { key } => ticket_uid(key),
            Self::TestCase { id } => case_uid(id),
            Self::Document { key } => document_uid(key),
        }
    }
}

pub(crate) fn ticket_uid(key: &IssueKey) -> String {
    format!("t:{}", key.as_str())
}

pub(crate) fn case_uid(id: &TestId) -> String {
    format!("c:{id}")
}

pub(crate) fn document_uid(key: &SearchDocumentKey) -> String {
    format!("d:{}/{}", key.source, key.source_key)
}

impl IndexDoc {
    pub fn from_ticket(ticket: &Ticket) -> Self {
        let mut body = String::new();
        if let Some(description) = ticket.raw.path(&["fields", "description"]) {
            push_paragraph(&mut body, &adf_text(&description));
        }
        if let Some(serde_json::Value::Array(comments)) =
            ticket.raw.path(&["fields", "comment", "comments"])
        {
            for comment in &comments {
                if let Some(text) = comment.get("body") {
                    push_paragraph(&mut body, &adf_text(text));
                }
            }
        }
        let mut tags = ticket.labels.clone();
        tags.extend(ticket.components.iter().cloned());
        let mut extra = BTreeMap::new();
        extra.insert("issueType".to_owned(), ticket.issue_type.clone());
        if let Some(priority) = &ticket.priority {
            extra.insert("priority".to_owned(), priority.clone());
        }
        if let Some(assignee) = &ticket.assignee {
            extra.insert("assignee".to_owned(), assignee.clone());
        }
        Self {
            uid: ticket_uid(&ticket.key),
            source: "jira".to_owned(),
            doc_type: TYPE_TICKET.to_owned(),
            key: ticket.key.as_str().to_owned(),
            title: ticket.summary.clone(),
            body: truncate(body),
            project: Some(ticket.project().to_owned()),
            status: Some(ticket.status.clone()),
            tags,
            links: vec![ticket.key.as_str().to_owned()],
            url: ticket.url.clone(),
            fields: extra,
            updated_at: ticket.updated,
        }
    }

    pub fn from_test_case(case: &TestCase, updated_at: DateTime<Utc>) -> Self {
        let links: Vec<String> = case
            .ticket_keys
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        // A case belongs to the project of its first linked ticket, if any.
        let project = case.ticket_keys.first().map(|k| k.project().to_owned());
        let mut body = String::new();
        if let Some(folder) = &case.folder_path {
            push_paragraph(&mut body, folder);
        }
        let mut fields = BTreeMap::new();
        if let Some(folder) = &case.folder_path {
            fields.insert("folder".to_owned(), folder.clone());
        }
        Self {
            uid: case_uid(&case.id),
            source: case.source.as_str().to_owned(),
            doc_type: TYPE_CASE.to_owned(),
            key: case.external_id.clone(),
            title: case.title.clone(),
            body,
            project,
            status: None,
            tags: case.tags.clone(),
            links,
            // Test cases have no URL in the store; this names the case for the front-ends,
            // which resolve it (the dashboard's test page, the editor's code lens).
            url: Some(format!("qapms://tests/{}", case.id)),
            fields,
            updated_at,
        }
    }

    pub fn from_search_document(doc: &SearchDocument) -> Self {
        Self {
            uid: document_uid(&doc.key()),
            source: doc.source.to_ascii_lowercase(),
            doc_type: doc.doc_type.clone(),
            key: doc.source_key.clone(),
            title: doc.title.clone(),
            body: truncate(doc.body.clone()),
            project: doc.project.clone(),
            status: doc.status.clone(),
            tags: doc.tags.clone(),
            links: doc
                .ticket_keys
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            url: doc.url.clone(),
            fields: doc.fields.clone(),
            updated_at: doc.updated_at,
        }
    }
}

pub(super) fn push_paragraph(out: &mut String, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(text);
}

pub(super) fn truncate(mut text: String) -> String {
    if text.len() > MAX_BODY_BYTES {
        let mut cut = MAX_BODY_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

/// Block nodes after which a line break keeps words of adjacent blocks apart.
const BLOCKS: &[&str] = &[
    "paragraph",
    "heading",
    "listItem",
    "codeBlock",
    "blockquote",
    "tableCell",
    "tableHeader",
    "panel",
    "rule",
];

/// The text of an ADF document (or of a plain string, as Data Center sends), depth-first,
/// with a newline after each block and mentions, emoji and links kept as their visible text.
pub(crate) fn adf_text(value: &serde_json::Value) -> String {
    use serde_json::Value;
    enum Step<'a> {
        Node(&'a Value),
        Break,
    }
    let mut out = String::new();
    let mut stack = vec![Step::Node(value)];
    while let Some(step) = stack.pop() {
        if out.len() > MAX_BODY_BYTES {
            break;
        }
        let node = match step {
            Step::Break => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                continue;
            }
            Step::Node(node) => node,
        };
        match node {
            Value::String(s) => out.push_str(s),
            Value::Array(items) => stack.extend(items.iter().rev().map(Step::Node)),
            Value::Object(map) => {
                let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
                if let Some(text) = map.get("text").and_then(Value::as_str) {
                    out.push_str(text);
                } else if matches!(kind, "mention" | "emoji" | "status" | "inlineCard") {
                    let attrs = map.get("attrs");
                    let text = attrs
                        .and_then(|a| a.get("text").or_else(|| a.get("url")))
                        .and_then(Value::as_str);
                    if let Some(text) = text {
                        out.push_str(text);
                    }
                } else if kind == "hardBreak" {
                    out.push('\n');
                }
                if BLOCKS.contains(&kind) {
                    stack.push(Step::Break);
                }
                if let Some(content) = map.get("content") {
                    stack.push(Step::Node(content));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn adf_paragraphs_and_inline_nodes() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Token refresh fails for "},
                {"type": "mention", "attrs": {"id": "1", "text": "@ana"}},
            ]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "after 15 minutes"}]}]},
            ]},
        ]});
        assert_eq!(
            adf_text(&doc),
            "Token refresh fails for @ana\nafter 15 minutes\n"
        );
    }

    #[test]
    fn plain_string_descriptions_pass_through() {
        assert_eq!(adf_text(&json!("h1. Steps\nlog in")), "h1. Steps\nlog in");
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let mut value = json!({"type": "text", "text": "deep"});
        for _ in 0..100_000 {
            // Built by hand: `json!` with an expression serialises it, recursively.
            let mut node = serde_json::Map::new();
            node.insert("type".into(), "paragraph".into());
            node.insert("content".into(), serde_json::Value::Array(vec![value]));
            value = serde_json::Value::Object(node);
        }
        assert!(adf_text(&value).starts_with("deep"));
        // serde_json's own recursive drop would overflow on this; forget it instead.
        std::mem::forget(value);
    }
}
