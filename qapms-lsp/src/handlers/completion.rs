//! Completion: ticket keys after a project prefix (`PAY-`) or inside a
//! `@pytest.mark.ticket("…")` string, and `qapms.yaml` keys and values from the schema.
//!
//! Keys are labelled with their summaries and ranked by assignment to the user first, then by
//! how recently Jira changed them; the sort text carries that order so every client keeps it.
//!
//! The ranking is precomputed per project when the ticket cache is filled
//! ([`RankedKeys`](crate::workspace::RankedKeys)): a request walks the typed project's list in
//! order, keeps the keys with the typed prefix and stops at [`MAX_ITEMS`]. The list is marked
//! incomplete when it was cut, so the client asks again as the user types more digits.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionItemLabelDetails, CompletionList,
    CompletionParams, CompletionResponse, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, TextEdit,
};

use crate::document::Document;
use crate::features::config_schema;
use crate::features::keys::partial_key_before;
use crate::session::Session;
use crate::workspace::{RankedTicket, Workspace};

/// Most items returned; the client asks again (the list is incomplete) as the user types.
const MAX_ITEMS: usize = 50;

pub(crate) async fn completion(
    session: &Session,
    params: CompletionParams,
) -> Option<CompletionResponse> {
    let position = params.text_document_position;
    let doc = session.document(&position.text_document.uri).await?;
    let offset = doc.offset(position.position);
    if doc.is_config() {
        return config_completion(&doc, offset);
    }
    let ws = session.workspace();
    let in_ticket_marker = in_ticket_string(&doc.text, offset);
    let in_text = in_ticket_marker
        || doc
            .regions()
            .iter()
            .any(|r| r.range.start <= offset && offset <= r.range.end);
    if !in_text {
        return None;
    }
    let (start, typed) = partial_key_before(&doc.text, offset, doc.projects(), in_ticket_marker)?;
    let (items, cut) = key_items(&ws, &doc, start..offset, &typed);
    (!items.is_empty()).then_some(CompletionResponse::List(CompletionList {
        is_incomplete: cut,
        items,
    }))
}

/// Whether `offset` is inside the string of `ticket("` / `mark.ticket('` / `@ticket("`.
fn in_ticket_string(text: &str, offset: usize) -> bool {
    let Some(before) = text.get(..offset) else {
        return false;
    };
    let line = before.rsplit('\n').next().unwrap_or(before);
    let Some(open) = line.rfind(['"', '\'']) else {
        return false;
    };
    let call = line[..open].trim_end();
    call.ends_with("ticket(")
        || call.ends_with("tickets(")
        || call.ends_with("ticket(,")
        || line[..open].trim_end().ends_with(',') && line.contains("ticket(")
}

/// The best [`MAX_ITEMS`] keys starting with `typed`, and whether more matched.
fn key_items(
    ws: &Workspace,
    doc: &Document,
    range: std::ops::Range<usize>,
    typed: &str,
) -> (Vec<CompletionItem>, bool) {
    let typed_upper = typed.to_ascii_uppercase();
    let ranked = ws.ranked_keys();
    // `PAY-1` names its project; a bare prefix (`PA`, in a ticket string) may match several,
    // whose best keys are merged by rank.
    let lists: Vec<&Arc<[RankedTicket]>> = match typed_upper.split_once('-') {
        Some((project, _)) => doc
            .projects()
            .contains(project)
            .then(|| ranked.project(project))
            .flatten()
            .into_iter()
            .collect(),
        None => doc
            .projects()
            .iter()
            .filter(|p| p.starts_with(&typed_upper))
            .filter_map(|p| ranked.project(p))
            .collect(),
    };
    let mut picked: Vec<&RankedTicket> = Vec::with_capacity(MAX_ITEMS + 1);
    for list in lists {
        picked.extend(
            list.iter()
                .filter(|t| t.ticket.key.as_str().starts_with(&typed_upper))
                .take(MAX_ITEMS + 1),
        );
    }
    picked.sort_by(|a, b| a.order(b));
    let cut = picked.len() > MAX_ITEMS;
    picked.truncate(MAX_ITEMS);
    let edit_range = doc.range(range);
    let items = picked
        .into_iter()
        .enumerate()
        .map(|(rank, t)| item(&t.ticket, rank, edit_range))
        .collect();
    (items, cut)
}

fn item(
    t: &qapms_core::model::Ticket,
    rank: usize,
    edit_range: tower_lsp_server::ls_types::Range,
) -> CompletionItem {
    let key = t.key.as_str();
    CompletionItem {
        label: key.to_owned(),
        label_details: Some(CompletionItemLabelDetails {
            detail: Some(format!(" {}", t.summary)),
            description: Some(t.status.clone()),
        }),
        kind: Some(CompletionItemKind::REFERENCE),
        detail: Some(t.summary.clone()),
        documentation: Some(Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value: format!(
                "{} · {} · {}",
                t.status,
                t.issue_type,
                t.assignee.as_deref().unwrap_or("unassigned")
            ),
        })),
        sort_text: Some(format!("{rank:05}")),
        filter_text: Some(format!("{key} {}", t.summary)),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range: edit_range,
            new_text: key.to_owned(),
        })),
        ..CompletionItem::default()
    }
}

fn config_completion(doc: &Document, offset: usize) -> Option<CompletionResponse> {
    let schema = config_schema::schema();
    let position = config_schema::position_at(&doc.text, offset);
    let start = offset.saturating_sub(position.prefix.len());
    let range = doc.range(start..offset);
    let items: Vec<CompletionItem> = if position.in_value {
        let mut path = position.parents.clone();
        path.extend(position.key.clone());
        config_schema::values_at(schema, &path)
            .into_iter()
            .filter(|v| v.starts_with(&position.prefix))
            .map(|v| CompletionItem {
                label: v.clone(),
                kind: Some(CompletionItemKind::ENUM_MEMBER),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit { range, new_text: v })),
                ..CompletionItem::default()
            })
            .collect()
    } else {
        config_schema::keys_at(schema, &position.parents)
            .into_iter()
            .filter(|k| k.name.starts_with(&position.prefix))
            .map(|k| CompletionItem {
                label: k.name.clone(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: k.required.then(|| "required".to_owned()),
                documentation: k.description.map(|d| {
                    Documentation::MarkupContent(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: d,
                    })
                }),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                    range,
                    new_text: format!("{}: ", k.name),
                })),
                ..CompletionItem::default()
            })
            .collect()
    };
    (!items.is_empty()).then_some(CompletionResponse::Array(items))
}
