//! Document links: every recognised key links to its ticket in Jira.
//!
//! The URL comes from the cached ticket when there is one, else from the configured Jira
//! site (`<base_url>/browse/KEY`), so links work before a ticket was ever fetched. Without a
//! Jira site there is nothing to link to.

use tower_lsp_server::ls_types::{DocumentLink, DocumentLinkParams, Uri};

use crate::session::Session;
use crate::workspace::TicketState;

pub(crate) async fn document_link(
    session: &Session,
    params: DocumentLinkParams,
) -> Option<Vec<DocumentLink>> {
    let doc = session.document(&params.text_document.uri).await?;
    let ws = session.workspace();
    let site = ws
        .config
        .as_ref()
        .and_then(|c| c.integrations.jira.as_ref())
        .map(|j| j.base_url.trim_end_matches('/').to_owned());
    let links: Vec<DocumentLink> = doc
        .keys()
        .iter()
        .filter_map(|k| {
            let url = match ws.cached_ticket(&k.key) {
                Some(TicketState::Found(t)) => t.url.clone(),
                Some(TicketState::Missing) => return None,
                _ => None,
            }
            .or_else(|| site.as_ref().map(|s| format!("{s}/browse/{}", k.key)))?;
            let target: Uri = url.parse().ok()?;
            Some(DocumentLink {
                range: doc.range(k.range.clone()),
                target: Some(target),
                tooltip: Some(format!("Open {} in Jira", k.key)),
                data: None,
            })
        })
        .collect();
    (!links.is_empty()).then_some(links)
}
