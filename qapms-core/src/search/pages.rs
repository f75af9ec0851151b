//! Every document the index is built from, page by page: tickets, then test cases, then search
//! documents, each in key order, then failure clusters and workflows (see [`super::derived`]),
//! as [`IndexDoc`]s.
//!
//! The index rebuild and the embedding pass both walk the whole store this way; keeping the walk
//! in one place keeps them agreeing on what "every document" is and on the uids.

use super::derived;
use super::document::IndexDoc;
use crate::Result;
use crate::model::{IssueKey, SearchDocumentKey, TestId};
use crate::store::Store;

/// Where the walk is.
enum Cursor {
    Tickets(Option<IssueKey>),
    Cases(Option<TestId>),
    Documents(Option<SearchDocumentKey>),
    /// Clusters and workflows, read whole: there are hundreds to thousands, not millions.
    Derived,
    Done,
}

/// A walk over every indexable document; call [`next`](Self::next) until it returns `None`.
pub(crate) struct DocPages<'a> {
    store: &'a dyn Store,
    page: u32,
    cursor: Cursor,
}

impl<'a> DocPages<'a> {
    pub(crate) fn new(store: &'a dyn Store, page: u32) -> Self {
        Self {
            store,
            page: page.max(1),
            cursor: Cursor::Tickets(None),
        }
    }

    /// The next page (possibly empty when a table is), or `None` at the end.
    pub(crate) async fn next(&mut self) -> Result<Option<Vec<IndexDoc>>> {
        let full = |n: usize| n == self.page as usize;
        let (docs, next) = match &self.cursor {
            Cursor::Tickets(after) => {
                let page = self.store.tickets_after(after.as_ref(), self.page).await?;
                let next = match page.last() {
                    Some(last) if full(page.len()) => Cursor::Tickets(Some(last.key.clone())),
                    _ => Cursor::Cases(None),
                };
                (page.iter().map(IndexDoc::from_ticket).collect(), next)
            }
            Cursor::Cases(after) => {
                let page = self
                    .store
                    .test_cases_after(after.as_ref(), self.page)
                    .await?;
                let next = match page.last() {
                    Some((last, _)) if full(page.len()) => Cursor::Cases(Some(last.id)),
                    _ => Cursor::Documents(None),
                };
                let docs = page
                    .iter()
                    .map(|(case, updated)| IndexDoc::from_test_case(case, *updated))
                    .collect();
                (docs, next)
            }
            Cursor::Documents(after) => {
                let page = self
                    .store
                    .search_documents_after(after.as_ref(), self.page)
                    .await?;
                let next = match page.last() {
                    Some(last) if full(page.len()) => Cursor::Documents(Some(last.key())),
                    _ => Cursor::Derived,
                };
                (
                    page.iter().map(IndexDoc::from_search_document).collect(),
                    next,
                )
            }
            Cursor::Derived => {
                let clusters = self
                    .store
                    .patterns_of_kind(crate::patterns::cluster::CLUSTER_KIND)
                    .await?;
                let mut docs: Vec<IndexDoc> = clusters.iter().map(derived::from_cluster).collect();
                docs.extend(derived::workflow_docs(self.store).await?);
                (docs, Cursor::Done)
            }
            Cursor::Done => return Ok(None),
        };
        self.cursor = next;
        Ok(Some(docs))
    }
}
