//! Syncing a scope from a complete listing: the shape of every source without a change feed
//! (Testmo cases, Postman collections, Splunk templates, Grafana dashboards).
//!
//! The listing is compared with the items the scope stored last time: an item whose
//! fingerprint and local key are unchanged is skipped, a new or changed one is written, and a
//! stored item the listing lacks is deleted, in that order and in batches. The last batch
//! carries the deletions together with the scope's new fingerprint and `full_at`, so a crash
//! before it leaves the old fingerprint in place and the next sync redoes the comparison.
//!
//! A search document can be written by two scopes (the same Postman collection from the API
//! and from an exported file): it is only deleted when no other scope still lists it.

use std::collections::{HashMap, HashSet};

use super::Ctx;
use crate::Result;
use crate::model::{SearchDocument, SearchDocumentKey, TestSource};
use crate::search::{DocRef, IndexChange};
use crate::store::{SyncBatch, SyncItem, SyncedCase};

/// What a scope's items are stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Test cases of this source, keyed by external id.
    Cases(TestSource),
    /// Search documents of the integration's source, keyed by `source_key`.
    Documents,
}

#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Case(SyncedCase),
    Document(SearchDocument),
}

/// One listed item.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) item: SyncItem,
    pub(crate) payload: Payload,
}

impl Entry {
    pub(crate) fn document(item_id: String, fingerprint: String, doc: SearchDocument) -> Self {
        Self {
            item: SyncItem {
                item_id,
                local_key: doc.source_key.clone(),
                fingerprint: Some(fingerprint),
            },
            payload: Payload::Document(doc),
        }
    }

    pub(crate) fn case(fingerprint: String, case: SyncedCase) -> Self {
        Self {
            item: SyncItem {
                item_id: case.external_id.clone(),
                local_key: case.external_id.clone(),
                fingerprint: Some(fingerprint),
            },
            payload: Payload::Case(case),
        }
    }
}

/// Writes a complete listing of `scope`; see the module note.
pub(crate) async fn write_listing(
    cx: &mut Ctx<'_>,
    scope: &str,
    kind: Kind,
    entries: Vec<Entry>,
    fingerprint: Option<String>,
) -> Result<()> {
    let stored: HashMap<String, SyncItem> = cx
        .store
        .sync_items(cx.integration, scope)
        .await?
        .into_iter()
        .map(|i| (i.item_id.clone(), i))
        .collect();
    cx.counts.seen += entries.len() as u64;
    let mut seen: HashSet<String> = HashSet::with_capacity(entries.len());
    let mut moved_keys: Vec<String> = Vec::new();
    let mut changed: Vec<Entry> = Vec::new();
    for entry in entries {
        if !seen.insert(entry.item.item_id.clone()) {
            // Listed twice (a paging overlap): the first one counts.
            continue;
        }
        match stored.get(&entry.item.item_id) {
            Some(old)
                if !cx.options.full
                    && old.fingerprint == entry.item.fingerprint
                    && old.local_key == entry.item.local_key =>
            {
                cx.counts.unchanged += 1;
            }
            Some(old) => {
                if old.local_key != entry.item.local_key {
                    moved_keys.push(old.local_key.clone());
                }
                changed.push(entry);
            }
            None => changed.push(entry),
        }
    }
    let size = cx.options.batch_size.max(1);
    let mut rest = changed.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Entry> = rest.by_ref().take(size).collect();
        write_entries(cx, scope, kind, chunk).await?;
    }
    // The items the listing lacks, plus old keys of items that were re-keyed.
    let stale: Vec<&SyncItem> = stored
        .values()
        .filter(|i| !seen.contains(&i.item_id))
        .collect();
    let mut batch = cx.batch(scope);
    batch.forget = stale
        .iter()
        .map(|i| (scope.to_owned(), i.item_id.clone()))
        .collect();
    let mut doomed: Vec<String> = stale.iter().map(|i| i.local_key.clone()).collect();
    doomed.extend(moved_keys);
    let doomed = still_listed_elsewhere(cx, scope, kind, &stale, doomed).await?;
    add_deletions(cx, &mut batch, kind, &doomed);
    batch.fingerprint = fingerprint;
    batch.cursor = Some(super::cursor::format_time(crate::model::utc_now()));
    batch.full = true;
    finish(cx, &batch, kind).await?;
    cx.counts.scopes += 1;
    Ok(())
}

/// Removes a scope the source no longer has, with everything only it listed.
pub(crate) async fn drop_scope(cx: &mut Ctx<'_>, scope: &str, kind: Kind) -> Result<()> {
    let stored = cx.store.sync_items(cx.integration, scope).await?;
    let refs: Vec<&SyncItem> = stored.iter().collect();
    let keys = stored.iter().map(|i| i.local_key.clone()).collect();
    let doomed = still_listed_elsewhere(cx, scope, kind, &refs, keys).await?;
    let mut batch = cx.batch(scope);
    add_deletions(cx, &mut batch, kind, &doomed);
    batch.drop_scope = true;
    finish(cx, &batch, kind).await
}

async fn write_entries(cx: &mut Ctx<'_>, scope: &str, kind: Kind, chunk: Vec<Entry>) -> Result<()> {
    let mut batch = cx.batch(scope);
    let n = chunk.len() as u64;
    for entry in chunk {
        batch.items.push(entry.item);
        match entry.payload {
            Payload::Case(case) => batch.cases.push(case),
            Payload::Document(doc) => batch.documents.push(doc),
        }
    }
    cx.counts.written += n;
    cx.commit(&batch, |outcome| match kind {
        Kind::Cases(_) => outcome
            .cases
            .iter()
            .map(|id| IndexChange::Upserted(DocRef::TestCase { id: *id }))
            .collect(),
        Kind::Documents => batch
            .documents
            .iter()
            .map(|d| IndexChange::Upserted(DocRef::Document { key: d.key() }))
            .collect(),
    })
    .await?;
    Ok(())
}

/// `keys` minus those another scope of the integration still lists under the same key.
async fn still_listed_elsewhere(
    cx: &Ctx<'_>,
    scope: &str,
    kind: Kind,
    stale: &[&SyncItem],
    keys: Vec<String>,
) -> Result<Vec<String>> {
    if kind != Kind::Documents || keys.is_empty() {
        return Ok(keys);
    }
    let ids: Vec<String> = stale.iter().map(|i| i.item_id.clone()).collect();
    let elsewhere: HashSet<String> = cx
        .store
        .sync_items_by_id(cx.integration, &ids)
        .await?
        .into_iter()
        .filter(|(s, _)| s != scope)
        .map(|(_, i)| i.local_key)
        .collect();
    Ok(keys
        .into_iter()
        .filter(|k| !elsewhere.contains(k))
        .collect())
}

fn add_deletions(cx: &Ctx<'_>, batch: &mut SyncBatch, kind: Kind, keys: &[String]) {
    match kind {
        Kind::Cases(source) => {
            batch.delete_cases = keys.iter().map(|k| (source, k.clone())).collect();
        }
        Kind::Documents => {
            batch.delete_documents = keys
                .iter()
                .map(|k| SearchDocumentKey::new(cx.integration, k.clone()))
                .collect();
        }
    }
}

/// Commits a batch of deletions and counts what went.
async fn finish(cx: &mut Ctx<'_>, batch: &SyncBatch, kind: Kind) -> Result<()> {
    let outcome = cx
        .commit(batch, |outcome| match kind {
            Kind::Cases(_) => outcome
                .deleted_cases
                .iter()
                .map(|id| IndexChange::Deleted(DocRef::TestCase { id: *id }))
                .collect(),
            Kind::Documents => batch
                .delete_documents
                .iter()
                .map(|key| IndexChange::Deleted(DocRef::Document { key: key.clone() }))
                .collect(),
        })
        .await?;
    cx.counts.deleted += outcome.deleted_documents + outcome.deleted_cases.len() as u64;
    Ok(())
}
