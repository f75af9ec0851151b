//! The documents qapms makes itself, as opposed to those synced from an integration: failure
//! clusters (their template, example and classification) and workflows (their notes, the
//! step outcomes and the evidence recorded, which is what a workflow report is made of).
//!
//! They change on analysis and on workflow actions, which happen in whichever front-end the
//! user is in, not in the sync loop. So instead of each writer telling the index, the index
//! keeps a *signature* of what it last indexed of them (in [`DERIVED_FILE`]) and
//! [`SearchIndex::catch_up`](super::SearchIndex::catch_up) re-indexes both kinds when the
//! store's signature differs. The signature is cheap to compute: the clusters (a few hundred
//! rows) and the most recently updated workflow (one row: every workflow write bumps
//! `updated_at` and `version`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use super::document::{IndexDoc, TYPE_CLUSTER, TYPE_WORKFLOW, push_paragraph};
use crate::Result;
use crate::model::{Workflow, WorkflowFilter};
use crate::patterns::analyze::StoredPattern;
use crate::patterns::cluster::CLUSTER_KIND;
use crate::store::Store;

/// The file in the index directory that holds the signature of the derived documents.
pub(super) const DERIVED_FILE: &str = "qapms-derived";

/// Every failure cluster in the store, with the signature of the derived documents.
pub(super) struct Snapshot {
    pub(super) clusters: Vec<StoredPattern>,
    pub(super) signature: String,
}

/// Reads what the signature is made of.
pub(super) async fn snapshot(store: &dyn Store) -> Result<Snapshot> {
    let clusters = store.patterns_of_kind(CLUSTER_KIND).await?;
    let newest = store
        .list_workflows(&WorkflowFilter {
            limit: Some(1),
            ..WorkflowFilter::default()
        })
        .await?;
    let mut hash = Sha256::new();
    for c in &clusters {
        hash.update(c.id.to_string());
        hash.update(c.occurrences.to_le_bytes());
        hash.update(c.last_seen.timestamp_micros().to_le_bytes());
        hash.update(c.title.as_bytes());
        for link in &c.links {
            hash.update(link.issue.as_str());
        }
        hash.update([0]);
    }
    if let Some(w) = newest.first() {
        hash.update(w.id.to_string());
        hash.update(w.version.to_le_bytes());
        hash.update(w.updated_at.timestamp_micros().to_le_bytes());
    }
    let signature = hash
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        });
    Ok(Snapshot {
        clusters,
        signature,
    })
}

/// Every workflow, as documents.
pub(super) async fn workflow_docs(store: &dyn Store) -> Result<Vec<IndexDoc>> {
    Ok(store
        .list_workflows(&WorkflowFilter::default())
        .await?
        .iter()
        .map(from_workflow)
        .collect())
}

fn text<'a>(value: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A failure cluster: its template is the title, its example, exception and classification
/// the body; it links to the tickets the analysis linked it to.
pub(super) fn from_cluster(p: &StoredPattern) -> IndexDoc {
    let ev = &p.evidence;
    let mut body = String::new();
    for path in [
        &["template"][..],
        &["example"],
        &["exception"],
        &["classification", "reason"],
    ] {
        if let Some(t) = text(ev, path).filter(|t| *t != p.title) {
            push_paragraph(&mut body, t);
        }
    }
    if let Some(frames) = ev.get("frames").and_then(serde_json::Value::as_array) {
        for frame in frames {
            if let Some(function) = text(frame, &["key"]) {
                push_paragraph(&mut body, function);
            }
        }
    }
    let tags = ev
        .get("environments")
        .and_then(serde_json::Value::as_array)
        .map(|envs| {
            envs.iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let links: Vec<String> = p
        .links
        .iter()
        .map(|l| l.issue.as_str().to_owned())
        .collect();
    let mut fields = BTreeMap::new();
    fields.insert("severity".to_owned(), p.severity.clone());
    fields.insert("occurrences".to_owned(), p.occurrences.to_string());
    if let Some(known) = text(ev, &["knownIssue"]) {
        fields.insert("knownIssue".to_owned(), known.to_owned());
    }
    IndexDoc {
        uid: format!("p:{}", p.id),
        source: "cluster".to_owned(),
        doc_type: TYPE_CLUSTER.to_owned(),
        key: p.fingerprint.clone(),
        title: p.title.clone(),
        body,
        project: p.links.first().map(|l| l.issue.project().to_owned()),
        status: text(ev, &["classification", "label"]).map(str::to_owned),
        tags,
        links,
        url: Some(format!("qapms://clusters/{}", p.id)),
        fields,
        updated_at: p.last_seen,
    }
}

/// A workflow: the template and ticket are the title; the notes, each step's outcome, the
/// reason it was skipped or blocked and the evidence recorded are the body.
pub(super) fn from_workflow(w: &Workflow) -> IndexDoc {
    let mut body = String::new();
    if let Some(notes) = &w.notes {
        push_paragraph(&mut body, notes);
    }
    for step in &w.steps {
        let mut line = format!("{}: {}", step.name, step.state.as_str());
        if let Some(reason) = &step.reason {
            let _ = write!(line, " ({reason})");
        }
        push_paragraph(&mut body, &line);
        for evidence in &step.evidence {
            push_paragraph(&mut body, &evidence.value);
        }
    }
    let title = match &w.ticket {
        Some(ticket) => format!("{} for {ticket}", w.template),
        None => w.template.clone(),
    };
    let mut fields = BTreeMap::new();
    fields.insert("template".to_owned(), w.template.clone());
    IndexDoc {
        uid: format!("w:{}", w.id),
        source: "workflow".to_owned(),
        doc_type: TYPE_WORKFLOW.to_owned(),
        key: w.id.to_string(),
        title,
        body: super::document::truncate(body),
        project: w.ticket.as_ref().map(|t| t.project().to_owned()),
        status: Some(w.state.as_str().to_owned()),
        tags: vec![w.template.clone()],
        links: w.ticket.iter().map(|t| t.as_str().to_owned()).collect(),
        url: Some(format!("qapms://workflows/{}", w.id)),
        fields,
        updated_at: w.updated_at,
    }
}
