//! Postman: collections from the API (with an API key) and from exported collection files,
//! flattened into one searchable document per request.
//!
//! Each collection is a scope: `api:<uid>` or `file:<path as configured>`. A collection is
//! fetched and compared request by request only when it changed: its `updatedAt` in the
//! collection listing (one cheap call for the whole workspace, which Postman rate-limits to
//! 10 per 10 s), or the digest of the file. A collection deleted from the workspace, or a file
//! dropped from the config, is removed with its requests; a configured file that cannot be read
//! fails the sync (its requests are kept) rather than being taken for an empty collection.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::Ctx;
use super::cursor::{file_fingerprint, fingerprint};
use super::snapshot::{Entry, Kind, drop_scope, write_listing};
use crate::integrations::CatalogRequest;
use crate::integrations::postman::{Postman, parse_collection};
use crate::model::{SearchDocument, utc_now};
use crate::search::TYPE_REQUEST;
use crate::{Error, Result};

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Postman) -> Result<()> {
    let mut wanted: HashSet<String> = HashSet::new();
    let stored = cx.store.sync_scopes(Some(cx.integration)).await?;
    let fingerprint_of = |scope: &str| {
        stored
            .iter()
            .find(|s| s.scope == scope)
            .and_then(|s| s.fingerprint.clone())
    };
    let mut first_error: Option<Error> = None;
    let mut api_listed = false;
    if client.has_api_key() {
        let summaries = cx.cancel.guard(client.collections().list().send()).await?;
        api_listed = true;
        for summary in summaries {
            let id = summary.collection_id();
            let scope = format!("api:{id}");
            if !wanted.insert(scope.clone()) {
                // Listed twice (a listing that shifted while it was paged).
                continue;
            }
            let updated = summary.updated_at.map(super::cursor::format_time);
            if !cx.options.full && updated.is_some() && fingerprint_of(&scope) == updated {
                cx.counts.unchanged += 1;
                continue;
            }
            let collection = cx.cancel.guard(client.collections().get(&id)).await?;
            let when = summary.updated_at.unwrap_or_else(utc_now);
            let entries = entries(&collection.flatten(), when);
            write_listing(cx, &scope, Kind::Documents, entries, updated).await?;
        }
    }
    for file in client.collection_files() {
        let scope = format!("file:{}", file.display());
        if !wanted.insert(scope.clone()) {
            continue;
        }
        match read(file).await {
            Ok(bytes) => {
                let digest = file_fingerprint(&bytes);
                if !cx.options.full && fingerprint_of(&scope).as_deref() == Some(digest.as_str()) {
                    cx.counts.unchanged += 1;
                    continue;
                }
                match parse_collection(&bytes, &file.display().to_string()) {
                    Ok(collection) => {
                        let entries = entries(&collection.flatten(), utc_now());
                        write_listing(cx, &scope, Kind::Documents, entries, Some(digest)).await?;
                    }
                    Err(err) => {
                        first_error.get_or_insert(err);
                    }
                }
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    // Scopes that are gone: a collection no longer listed (only known when the listing
    // worked), a file no longer configured.
    for scope in stored.iter().map(|s| s.scope.clone()) {
        let gone = !wanted.contains(&scope)
            && (scope.starts_with("file:") || (api_listed && scope.starts_with("api:")));
        if gone {
            drop_scope(cx, &scope, Kind::Documents).await?;
        }
    }
    first_error.map_or(Ok(()), Err)
}

async fn read(path: &Path) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta = tokio::fs::metadata(path).await.map_err(|e| {
        Error::invalid_input(format!("cannot read the collection file {shown}: {e}"))
    })?;
    if meta.is_dir() {
        return Err(Error::invalid_input(format!(
            "{shown} is a directory; export the collection from Postman as Collection v2.1 (one JSON file)"
        )));
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| Error::invalid_input(format!("cannot read the collection file {shown}: {e}")))
}

fn entries(requests: &[CatalogRequest], updated_at: DateTime<Utc>) -> Vec<Entry> {
    requests
        .iter()
        .map(|r| {
            let doc = document(r, updated_at);
            let print = fingerprint([
                doc.title.as_str(),
                doc.body.as_str(),
                r.method.as_str(),
                r.url.raw.as_str(),
                r.collection.as_str(),
                &r.folder_path.join("\u{1f}"),
            ]);
            Entry::document(r.id.to_string(), print, doc)
        })
        .collect()
}

/// One request as a search document: name as title; description and scripts as body;
/// method, URL, collection and folder as named fields.
fn document(r: &CatalogRequest, updated_at: DateTime<Utc>) -> SearchDocument {
    let mut body = String::new();
    for part in [&r.description, &r.test_script, &r.pre_request_script]
        .into_iter()
        .flatten()
    {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(part);
    }
    let mut fields = BTreeMap::new();
    fields.insert("method".to_owned(), r.method.clone());
    fields.insert("url".to_owned(), r.url.raw.clone());
    fields.insert("collection".to_owned(), r.collection.clone());
    if !r.folder_path.is_empty() {
        fields.insert("folder".to_owned(), r.folder_path.join(" / "));
    }
    SearchDocument {
        source: "postman".to_owned(),
        source_key: r.id.to_string(),
        doc_type: TYPE_REQUEST.to_owned(),
        title: r.name.clone(),
        body,
        url: None,
        project: None,
        status: None,
        tags: Vec::new(),
        ticket_keys: Vec::new(),
        fields,
        updated_at,
    }
}
