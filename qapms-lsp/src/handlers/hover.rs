//! Hover: a ticket's details where a key is cited, a test's history on its declaration, and
//! the documentation of a `qapms.yaml` key.
//!
//! Tickets answer from the cache first; a cold key is fetched within the short fetch budget
//! (and cached for next time), so the editor waits at most that long and usually not at all.

use std::fmt::Write as _;
use std::time::Duration;

use qapms_core::model::Ticket;
use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use super::{cluster_tag, md, status_mark};
use crate::document::Document;
use crate::features::config_schema;
use crate::features::keys::key_at_offset;
use crate::features::testfiles::item_at;
use crate::session::Session;
use crate::workspace::{FETCH_TIMEOUT, TestHistory, TicketState, Workspace, is_resolved};

/// Test cases listed under a ticket.
const MAX_CASES: usize = 10;

pub(crate) async fn hover(session: &Session, params: HoverParams) -> Option<Hover> {
    let position = params.text_document_position_params;
    let doc = session.document(&position.text_document.uri).await?;
    let offset = doc.offset(position.position);
    let ws = session.workspace();
    if doc.is_config() {
        return config_hover(&doc, offset);
    }
    if let Some(key) = key_at_offset(doc.keys(), offset) {
        let range = doc.range(key.range.clone());
        let timeout = ws
            .settings
            .fetch_timeout_ms
            .map_or(FETCH_TIMEOUT, Duration::from_millis);
        let text = match ws.ticket(&key.key, timeout).await {
            TicketState::Found(ticket) => ticket_markdown(&ws, &ticket).await,
            TicketState::Missing => format!(
                "**{}**: Jira has no such issue (or it is hidden from you).",
                key.key
            ),
            TicketState::Unknown => unknown_ticket(&ws, &key.key).await,
        };
        return Some(markdown(text, Some(range)));
    }
    let tests = doc.tests();
    let item = item_at(tests, offset)?;
    let rel = ws.relative_path(&doc.path);
    let keys = item.keys(&rel, tests.package.as_deref());
    let id = ws.resolve_test(&keys).await;
    let history = match id {
        Some(id) => ws.test_history(id).await,
        None => None,
    };
    let text = match history {
        Some(h) => test_markdown(item.name(), &keys[0].key, &h),
        None => format!(
            "**{}**\n\nNo results recorded for `{}` yet.",
            md(item.name()),
            md(&keys.first().map(|k| k.key.clone()).unwrap_or_default())
        ),
    };
    Some(markdown(text, Some(doc.range(item.name_range.clone()))))
}

fn markdown(value: String, range: Option<tower_lsp_server::ls_types::Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

async fn unknown_ticket(ws: &Workspace, key: &str) -> String {
    let mut text = format!("**{key}**: not in the local cache");
    if ws.jira.is_some() {
        text.push_str(", and Jira did not answer in time; it will be shown once fetched.");
    } else {
        text.push_str(" (no Jira configured in qapms.yaml).");
    }
    let data = ws.data();
    append_cases_and_clusters(ws, &data, key, &mut text).await;
    text
}

/// The sprint names in an issue's raw fields (Jira keeps them in a custom field whose values
/// carry `boardId` and `state`).
fn sprints(ticket: &Ticket) -> Vec<String> {
    let Some(serde_json::Value::Object(fields)) = ticket.raw.path(&["fields"]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for value in fields.values() {
        let Some(list) = value.as_array() else {
            continue;
        };
        for item in list {
            if item.get("boardId").is_some()
                && item.get("state").is_some()
                && let Some(name) = item.get("name").and_then(|n| n.as_str())
            {
                out.push(name.to_owned());
            }
        }
    }
    out
}

pub(crate) async fn ticket_markdown(ws: &Workspace, ticket: &Ticket) -> String {
    let mut text = format!("**{}** · {}\n\n", ticket.key, md(&ticket.summary));
    let _ = write!(
        text,
        "Status: **{}**{} · Type: {}",
        md(&ticket.status),
        if is_resolved(ticket) {
            " (resolved)"
        } else {
            ""
        },
        md(&ticket.issue_type)
    );
    if let Some(p) = &ticket.priority {
        let _ = write!(text, " · Priority: {}", md(p));
    }
    text.push_str("  \n");
    let _ = write!(
        text,
        "Assignee: {}",
        ticket
            .assignee
            .as_deref()
            .map_or_else(|| "unassigned".to_owned(), md)
    );
    if !ticket.fix_versions.is_empty() {
        let _ = write!(
            text,
            " · Fix version: {}",
            md(&ticket.fix_versions.join(", "))
        );
    }
    let sprints = sprints(ticket);
    if !sprints.is_empty() {
        let _ = write!(text, " · Sprint: {}", md(&sprints.join(", ")));
    }
    text.push('\n');
    let data = ws.data();
    append_cases_and_clusters(ws, &data, ticket.key.as_str(), &mut text).await;
    if let Some(url) = &ticket.url {
        let _ = write!(text, "\n[Open {} in Jira]({url})", ticket.key);
    }
    text
}

async fn append_cases_and_clusters(
    ws: &Workspace,
    data: &crate::workspace::Data,
    key: &str,
    text: &mut String,
) {
    if let Some(cases) = data.cases_by_ticket.get(key) {
        let _ = write!(text, "\n**Tests** ({})\n", cases.len());
        for case in cases.iter().take(MAX_CASES) {
            let results = match &ws.store {
                Some(store) => store
                    .results_for_test(&case.id, 5)
                    .await
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            let marks: String = results.iter().map(|r| status_mark(r.status)).collect();
            let last = results
                .first()
                .map_or_else(|| "no results".to_owned(), |r| r.status.to_string());
            let _ = writeln!(
                text,
                "- `{}` ({}): {last} {marks}",
                md(&case.external_id),
                case.source
            );
        }
        if cases.len() > MAX_CASES {
            let _ = writeln!(text, "- … and {} more", cases.len() - MAX_CASES);
        }
    }
    if let Some(indexes) = data.clusters_by_ticket.get(key) {
        text.push_str("\n**Failure clusters**\n");
        for &i in indexes.iter().take(MAX_CASES) {
            if let Some(c) = data.clusters.get(i) {
                let _ = writeln!(
                    text,
                    "- {} {}: {} failures, last seen {}",
                    cluster_tag(&c.fingerprint),
                    md(&c.title),
                    c.occurrences,
                    c.last_seen.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
    }
}

fn test_markdown(name: &str, key: &str, h: &TestHistory) -> String {
    let mut text = format!("**{}**  \n`{}`\n\n", md(name), md(key));
    let marks: String = h
        .results
        .iter()
        .take(20)
        .map(|(r, _)| status_mark(r.status))
        .collect();
    let _ = writeln!(text, "Last results (newest first): {marks}  ");
    if let Some((r, run)) = h.results.first() {
        let when = run
            .as_ref()
            .map(|run| run.started_at.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let _ = write!(text, "Latest: **{}** {when}", r.status);
        if let Some(env) = run.as_ref().and_then(|run| run.environment.as_deref()) {
            let _ = write!(text, " on {}", md(env));
        }
        text.push_str("  \n");
    }
    let f = &h.flakiness;
    let (lo, hi) = f.score_interval;
    let _ = writeln!(
        text,
        "Flakiness: **{:.2}** (95% interval {lo:.2}–{hi:.2}), {}: {} runs, {} failures, {} passes on retry  ",
        f.score,
        f.verdict.as_str(),
        f.runs,
        f.failures,
        f.passes_on_retry
    );
    if let Some(since) = h.failing_since {
        let _ = writeln!(text, "Failing since {}  ", since.format("%a %Y-%m-%d"));
    }
    if let Some(c) = &h.cluster {
        let _ = writeln!(
            text,
            "Failure cluster: {} {} ({} failures)  ",
            cluster_tag(&c.fingerprint),
            md(&c.title),
            c.occurrences
        );
    }
    if let Some(case) = &h.testmo_case {
        let _ = writeln!(text, "Testmo case: {}  ", md(case));
    }
    if !h.tickets.is_empty() {
        let keys: Vec<String> = h.tickets.iter().map(ToString::to_string).collect();
        let _ = writeln!(text, "Jira: {}", keys.join(", "));
    }
    text
}

fn config_hover(doc: &Document, offset: usize) -> Option<Hover> {
    let position = config_schema::position_at(&doc.text, offset);
    let key = position.key?;
    let mut path = position.parents;
    path.push(key.clone());
    let docs = config_schema::doc_at(config_schema::schema(), &path)?;
    Some(markdown(format!("**{}**\n\n{docs}", path.join(".")), None))
}
