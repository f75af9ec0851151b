//! `workspace/symbol`: qapms search across tickets, test cases and Postman requests, with
//! fuzzy matching on ids and keys (the same index and ranking as `qapms search`).
//!
//! A hit goes where it lives: a ticket to its Jira page, a pytest or `JUnit` case to its file
//! in the workspace when that exists, anything else to its own URL. Hits with nowhere to go
//! are left out. The index is opened on the first query, rebuilt from the store if needed,
//! with `$/progress` while that runs.

use qapms_core::search::{SearchHit, SearchRequest, TYPE_CASE, TYPE_REQUEST, TYPE_TICKET};
use tower_lsp_server::ls_types::{
    Location, OneOf, Position, Range, SymbolKind, WorkspaceLocation, WorkspaceSymbol,
    WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use super::definition::file_uri;
use crate::session::Session;
use crate::workspace::Workspace;

const LIMIT: usize = 100;

pub(crate) async fn symbols(
    session: &Session,
    params: WorkspaceSymbolParams,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Option<WorkspaceSymbolResponse> {
    let query = params.query.trim();
    if query.is_empty() {
        return Some(WorkspaceSymbolResponse::Nested(Vec::new()));
    }
    let ws = session.workspace();
    let index = ws.index(progress).await?;
    let request = SearchRequest {
        limit: LIMIT,
        snippets: false,
        count_total: false,
        ..SearchRequest::new(query_text(query))
    };
    let results = match index.search(&request) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "workspace symbol search failed");
            return None;
        }
    };
    let symbols = results
        .hits
        .iter()
        .chain(results.fuzzy.iter())
        .filter(|h| [TYPE_TICKET, TYPE_CASE, TYPE_REQUEST].contains(&h.doc_type.as_str()))
        .filter_map(|h| symbol(&ws, h))
        .take(LIMIT)
        .collect();
    Some(WorkspaceSymbolResponse::Nested(symbols))
}

/// The user types plain text; characters that mean something in the query language are
/// quoted away so a half-typed `PAY-` or `"` is a search, not a syntax error.
fn query_text(query: &str) -> String {
    if qapms_core::search::query::check(query).is_ok() {
        query.to_owned()
    } else {
        query
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' {
                    c
                } else {
                    ' '
                }
            })
            .collect()
    }
}

fn symbol(ws: &Workspace, hit: &SearchHit) -> Option<WorkspaceSymbol> {
    let kind = match hit.doc_type.as_str() {
        t if t == TYPE_TICKET => SymbolKind::KEY,
        t if t == TYPE_CASE => SymbolKind::METHOD,
        _ => SymbolKind::INTERFACE,
    };
    let local = (hit.doc_type == TYPE_CASE)
        .then(|| local_case_location(ws, hit))
        .flatten();
    let location = match local {
        Some(l) => OneOf::Left(l),
        None => OneOf::Right(WorkspaceLocation {
            uri: hit.url.as_deref()?.parse().ok()?,
        }),
    };
    Some(WorkspaceSymbol {
        name: format!("{} {}", hit.key, hit.title),
        kind,
        tags: None,
        container_name: Some(hit.source.clone()),
        location,
        data: None,
    })
}

/// A pytest case's file (`tests/x.py::test_y` → `<root>/tests/x.py`), when it exists.
fn local_case_location(ws: &Workspace, hit: &SearchHit) -> Option<Location> {
    let root = ws.root.as_ref()?;
    let (file, _) = hit.key.split_once("::")?;
    let path = root.join(file);
    if !path.is_file() {
        return None;
    }
    Some(Location {
        uri: file_uri(&path)?,
        range: Range::new(Position::new(0, 0), Position::new(0, 0)),
    })
}
