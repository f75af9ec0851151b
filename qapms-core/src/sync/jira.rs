//! Jira: tickets of each configured project, incrementally by `updated`.
//!
//! One scope per project key (or `all` when no project is configured). A pass asks for
//! `project = "PAY" AND updated >= "-Nm" ORDER BY updated ASC` (no window on the first sync or
//! with `--full`) and stores each page of 100 with the newest `updated` as the scope's cursor,
//! so a pass that stops halfway resumes after the last stored page. Issues whose `updated` is
//! what the store already has are skipped (the overlap re-reads a few).
//!
//! Moves and key changes: Jira keeps an issue's id when its key changes. An id the store knows
//! under another key is a rename: the old ticket is deleted and the new one written in the
//! same batch, and the index is told `Renamed`, so a search for the old key stops finding it.
//!
//! Deletions: an `updated` query never returns a deleted issue, so each scope is reconciled on
//! its first sync, on `--full` and after [`SyncOptions::reconcile_every`](super::SyncOptions):
//! every issue id of the project is listed (key and `updated` only, large pages) and the
//! stored ids it lacks are candidates. A listing can miss an issue that moves while it runs,
//! so candidates are confirmed before anything is deleted: a few by fetching the old key
//! (Jira answers 404 for a deleted issue, and the moved issue for an old key), many by a
//! second listing.

use std::collections::{HashMap, HashSet};

use futures::StreamExt as _;

use super::Ctx;
use super::cursor::{format_time, jql_string, parse_time, updated_clause, window_minutes};
use crate::integrations::jira::models::Issue;
use crate::integrations::jira::{Jira, TICKET_FIELDS, to_ticket};
use crate::model::{IssueKey, Ticket, utc_now};
use crate::search::{DocRef, IndexChange};
use crate::store::SyncItem;
use crate::{ErrorKind, Result};

/// The scope of a sync without configured projects.
pub(crate) const ALL: &str = "all";
/// Candidates confirmed one by one; above this, by a second listing.
const CONFIRM_ONE_BY_ONE: usize = 100;
/// Issues per page of the key-only listing (Jira returns up to 5000 when few fields are asked).
const LISTING_PAGE: u32 = 1000;

pub(crate) async fn run(cx: &mut Ctx<'_>, client: &Jira, projects: &[String]) -> Result<()> {
    let scopes: Vec<(String, Option<String>)> = if projects.is_empty() {
        vec![(ALL.to_owned(), None)]
    } else {
        projects
            .iter()
            .map(|p| (p.clone(), Some(p.clone())))
            .collect()
    };
    let stored = cx.store.sync_scopes(Some(cx.integration)).await?;
    for (scope, project) in scopes {
        let state = stored.iter().find(|s| s.scope == scope);
        let cursor = if cx.options.full {
            None
        } else {
            state.and_then(|s| s.cursor.as_deref()).and_then(parse_time)
        };
        let base = project
            .as_deref()
            .map(|p| format!("project = {}", jql_string(p)));
        let now = utc_now();
        let window = cursor.map(|c| updated_clause(window_minutes(c, now, cx.options.overlap)));
        let filter = [base.clone(), window]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" AND ");
        let jql = format!("{filter} ORDER BY updated ASC").trim().to_owned();
        let mut seen = cursor.is_none().then(HashSet::new);
        pull(cx, client, &scope, &jql, seen.as_mut()).await?;
        let due = seen.is_some()
            || state.and_then(|s| s.full_at).is_none_or(|at| {
                (now - at).to_std().unwrap_or_default() >= cx.options.reconcile_every
            });
        if due {
            reconcile(
                cx,
                client,
                &scope,
                project.as_deref(),
                base.as_deref(),
                seen,
            )
            .await?;
        }
        cx.counts.scopes += 1;
    }
    Ok(())
}

/// Reads every issue `jql` matches and stores them page by page.
async fn pull(
    cx: &mut Ctx<'_>,
    client: &Jira,
    scope: &str,
    jql: &str,
    mut seen: Option<&mut HashSet<String>>,
) -> Result<()> {
    let mut fields: Vec<&str> = TICKET_FIELDS.to_vec();
    // The search index reads the description and the comments from the ticket's raw JSON.
    fields.extend(["description", "comment"]);
    let size = cx.options.batch_size.clamp(1, 5000);
    let mut stream = client
        .issues()
        .search(jql)
        .fields(fields)
        .page_size(u32::try_from(size).unwrap_or(100))
        .stream();
    let mut page: Vec<Issue> = Vec::with_capacity(size);
    while let Some(issue) = cx.cancel.guard(async { Ok(stream.next().await) }).await? {
        let issue = issue?;
        if let Some(seen) = seen.as_deref_mut() {
            seen.insert(issue.id.clone());
        }
        page.push(issue);
        if page.len() >= size {
            store_page(cx, client, scope, std::mem::take(&mut page)).await?;
        }
    }
    if !page.is_empty() {
        store_page(cx, client, scope, page).await?;
    }
    Ok(())
}

async fn store_page(cx: &mut Ctx<'_>, client: &Jira, scope: &str, page: Vec<Issue>) -> Result<()> {
    let ids: Vec<String> = page.iter().map(|i| i.id.clone()).collect();
    let known: HashMap<String, (String, SyncItem)> = cx
        .store
        .sync_items_by_id(cx.integration, &ids)
        .await?
        .into_iter()
        .map(|(s, item)| (item.item_id.clone(), (s, item)))
        .collect();
    let mut batch = cx.batch(scope);
    let mut changes = Vec::new();
    let mut newest = None;
    cx.counts.seen += page.len() as u64;
    for issue in page {
        let id = issue.id.clone();
        let ticket: Ticket = to_ticket(issue, client.site())?;
        let updated = format_time(ticket.updated);
        newest = newest.max(Some(ticket.updated));
        if let Some((old_scope, old)) = known.get(&id) {
            let same_key = old.local_key == ticket.key.as_str();
            if same_key
                && old_scope == scope
                && !cx.options.full
                && old.fingerprint.as_deref() == Some(updated.as_str())
            {
                cx.counts.unchanged += 1;
                continue;
            }
            if old_scope != scope {
                batch.forget.push((old_scope.clone(), id.clone()));
            }
            if !same_key && let Ok(old_key) = IssueKey::parse(&old.local_key) {
                batch.delete_tickets.push(old_key.clone());
                changes.push(IndexChange::Renamed {
                    from: DocRef::Ticket { key: old_key },
                    to: DocRef::Ticket {
                        key: ticket.key.clone(),
                    },
                });
                cx.counts.renamed += 1;
            }
        }
        changes.push(IndexChange::Upserted(DocRef::Ticket {
            key: ticket.key.clone(),
        }));
        batch.items.push(SyncItem {
            item_id: id,
            local_key: ticket.key.as_str().to_owned(),
            fingerprint: Some(updated),
        });
        batch.tickets.push(ticket);
    }
    cx.counts.written += batch.tickets.len() as u64;
    // The cursor never moves back: a page of older issues (offset paging on Data Center
    // fetches pages in parallel, but yields them in order) leaves it where it is.
    let stored = cx
        .store
        .sync_scopes(Some(cx.integration))
        .await?
        .into_iter()
        .find(|s| s.scope == scope)
        .and_then(|s| s.cursor.as_deref().and_then(parse_time));
    batch.cursor = newest.max(stored).map(format_time);
    cx.commit(&batch, |_| changes).await?;
    Ok(())
}

/// Every issue id the scope has in Jira now.
async fn list_ids(cx: &Ctx<'_>, client: &Jira, base: Option<&str>) -> Result<HashSet<String>> {
    let jql = format!("{} ORDER BY key ASC", base.unwrap_or(""))
        .trim()
        .to_owned();
    let mut stream = client
        .issues()
        .search(jql)
        .fields(["updated"])
        .page_size(LISTING_PAGE)
        .stream();
    let mut ids = HashSet::new();
    while let Some(issue) = cx.cancel.guard(async { Ok(stream.next().await) }).await? {
        ids.insert(issue?.id);
    }
    Ok(ids)
}

/// Deletes the scope's tickets Jira no longer has in it; see the module note.
async fn reconcile(
    cx: &mut Ctx<'_>,
    client: &Jira,
    scope: &str,
    project: Option<&str>,
    base: Option<&str>,
    seen: Option<HashSet<String>>,
) -> Result<()> {
    let seen = match seen {
        Some(seen) => seen,
        None => list_ids(cx, client, base).await?,
    };
    let stored = cx.store.sync_items(cx.integration, scope).await?;
    let mut missing: Vec<SyncItem> = stored
        .into_iter()
        .filter(|i| !seen.contains(&i.item_id))
        .collect();
    if missing.len() > CONFIRM_ONE_BY_ONE {
        let again = list_ids(cx, client, base).await?;
        missing.retain(|i| !again.contains(&i.item_id));
    } else {
        let mut gone = Vec::with_capacity(missing.len());
        for item in missing {
            if confirmed_gone(cx, client, project, &item).await? {
                gone.push(item);
            }
        }
        missing = gone;
    }
    let size = cx.options.batch_size.max(1) * 10;
    let mut chunks: Vec<&[SyncItem]> = missing.chunks(size).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    for (n, chunk) in chunks.into_iter().enumerate() {
        let mut batch = cx.batch(scope);
        let mut changes = Vec::new();
        for item in chunk {
            batch.forget.push((scope.to_owned(), item.item_id.clone()));
            if let Ok(key) = IssueKey::parse(&item.local_key) {
                changes.push(IndexChange::Deleted(DocRef::Ticket { key: key.clone() }));
                batch.delete_tickets.push(key);
            }
        }
        batch.full = n == last;
        let outcome = cx.commit(&batch, |_| changes).await?;
        cx.counts.deleted += outcome.deleted_tickets;
    }
    Ok(())
}

/// Whether a stored issue the listing lacked is really gone from the scope: deleted (404 for
/// its key) or moved to another project.
async fn confirmed_gone(
    cx: &Ctx<'_>,
    client: &Jira,
    project: Option<&str>,
    item: &SyncItem,
) -> Result<bool> {
    let Ok(key) = IssueKey::parse(&item.local_key) else {
        return Ok(true);
    };
    match cx
        .cancel
        .guard(client.issues().get(&key).fields(["updated"]).send())
        .await
    {
        Ok(issue) => Ok(issue.id != item.item_id
            || project.is_some_and(|p| !issue.key.project().eq_ignore_ascii_case(p))),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(true),
        Err(err) => Err(err),
    }
}
