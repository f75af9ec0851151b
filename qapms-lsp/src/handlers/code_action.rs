//! Code actions. Each is a command the server carries out (`workspace/executeCommand`), so it
//! can confirm through the client before it writes anything:
//! - on a ticket key: "Open PAY-12 in Jira", "Start QA workflow for PAY-12";
//! - on a test whose latest result failed: "Create Jira bug from this failing test"
//!   (prefilled with the cluster, the last failure and the environment);
//! - on a test with a Testmo case: "Open in Testmo";
//! - on a `TODO`/`FIXME` inside a comment (only there): "Create ticket from TODO comment".

use serde_json::json;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
};

use crate::features::keys::key_at_offset;
use crate::features::regions;
use crate::features::testfiles::item_at;
use crate::session::Session;
use crate::workspace::TicketState;

pub(crate) const OPEN: &str = "qapms.open";
pub(crate) const START_WORKFLOW: &str = "qapms.startWorkflow";
pub(crate) const CREATE_BUG: &str = "qapms.createBugFromTest";
pub(crate) const CREATE_FROM_TODO: &str = "qapms.createTicketFromTodo";
pub(crate) const SHOW_TEST: &str = "qapms.showTest";

/// Every command the server executes.
pub(crate) const COMMANDS: &[&str] = &[
    OPEN,
    START_WORKFLOW,
    CREATE_BUG,
    CREATE_FROM_TODO,
    SHOW_TEST,
];

fn action(title: String, command: &str, argument: serde_json::Value) -> CodeActionOrCommand {
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::EMPTY),
        command: Some(Command {
            title,
            command: command.to_owned(),
            arguments: Some(vec![argument]),
        }),
        ..CodeAction::default()
    })
}

/// A client that did not announce `codeActionLiteralSupport` gets bare commands, as the
/// protocol asks.
fn as_commands(actions: Vec<CodeActionOrCommand>) -> Vec<CodeActionOrCommand> {
    actions
        .into_iter()
        .filter_map(|a| match a {
            CodeActionOrCommand::CodeAction(CodeAction { command, .. }) => {
                command.map(CodeActionOrCommand::Command)
            }
            command @ CodeActionOrCommand::Command(_) => Some(command),
        })
        .collect()
}

pub(crate) async fn code_action(
    session: &Session,
    params: CodeActionParams,
    literals: bool,
) -> Option<CodeActionResponse> {
    let doc = session.document(&params.text_document.uri).await?;
    let ws = session.workspace();
    let offset = doc.offset(params.range.start);
    let mut actions = Vec::new();
    if let Some(key) = key_at_offset(doc.keys(), offset) {
        let url = match ws.cached_ticket(&key.key) {
            Some(TicketState::Found(t)) => t.url.clone(),
            _ => None,
        }
        .or_else(|| {
            ws.config
                .as_ref()
                .and_then(|c| c.integrations.jira.as_ref())
                .map(|j| format!("{}/browse/{}", j.base_url.trim_end_matches('/'), key.key))
        });
        if let Some(url) = url {
            actions.push(action(
                format!("Open {} in Jira", key.key),
                OPEN,
                json!({ "url": url }),
            ));
        }
        if ws.store.is_some() {
            actions.push(action(
                format!("Start QA workflow for {}", key.key),
                START_WORKFLOW,
                json!({ "ticket": key.key }),
            ));
        }
    }
    let tests = doc.tests();
    if let Some(item) = item_at(tests, offset).filter(|t| !t.is_group) {
        let keys = item.keys(&ws.relative_path(&doc.path), tests.package.as_deref());
        if let Some(id) = ws.resolve_test(&keys).await
            && let Some(history) = ws.test_history(id).await
        {
            let failing = history
                .results
                .first()
                .is_some_and(|(r, _)| r.status.is_failure());
            if failing && ws.jira.is_some() {
                actions.push(action(
                    "Create Jira bug from this failing test".to_owned(),
                    CREATE_BUG,
                    json!({ "uri": doc.uri.as_str(), "testId": id.to_string(), "name": keys[0].key }),
                ));
            }
            if let (Some(case), Some(testmo)) = (
                &history.testmo_case,
                ws.config
                    .as_ref()
                    .and_then(|c| c.integrations.testmo.as_ref()),
            ) {
                let case = case.trim_start_matches('C');
                actions.push(action(
                    format!("Open C{case} in Testmo"),
                    OPEN,
                    json!({ "url": format!("{}/repositories/case/{case}", testmo.base_url.trim_end_matches('/')) }),
                ));
            }
        }
    }
    if ws.jira.is_some()
        && let Some(todo) = todo_at(&doc.text, doc.language, offset)
    {
        actions.push(action(
            "Create ticket from TODO comment".to_owned(),
            CREATE_FROM_TODO,
            json!({ "uri": doc.uri.as_str(), "summary": todo.summary, "start": todo.start, "end": todo.end }),
        ));
    }
    Some(if literals {
        actions
    } else {
        as_commands(actions)
    })
}

/// A TODO in a comment: its text after the marker, and where the marker is (bytes).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Todo {
    pub summary: String,
    pub start: usize,
    pub end: usize,
}

/// The `TODO`/`FIXME` on the comment line holding `offset`, only inside a comment.
pub(crate) fn todo_at(text: &str, language: regions::Language, offset: usize) -> Option<Todo> {
    let line = crate::features::testfiles::line_around(text, offset);
    for comment in regions::comments(text, language) {
        let start = comment.start.max(line.start);
        let end = comment.end.min(line.end);
        if start >= end {
            continue;
        }
        let body = text.get(start..end)?;
        for marker in ["TODO", "FIXME"] {
            if let Some(at) = body.find(marker) {
                let rest = &body[at + marker.len()..];
                // `TODO(PAY-12)` already has a ticket.
                if rest.starts_with('(') {
                    return None;
                }
                let summary = rest
                    .trim_start_matches([':', ' ', '-'])
                    .trim()
                    .trim_end_matches("*/")
                    .trim();
                if summary.is_empty() {
                    return None;
                }
                return Some(Todo {
                    summary: summary.to_owned(),
                    start: start + at,
                    end: start + at + marker.len(),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use regions::Language;

    #[test]
    fn todos_only_in_comments() {
        let text = "x = 'TODO: not this'\n# TODO: fix refunds\ny = 1\n# TODO(PAY-1) done\n";
        assert_eq!(todo_at(text, Language::Python, 3), None);
        let todo = todo_at(text, Language::Python, 25).unwrap();
        assert_eq!(todo.summary, "fix refunds");
        assert_eq!(&text[todo.start..todo.end], "TODO");
        assert_eq!(todo_at(text, Language::Python, 42), None);
        assert_eq!(todo_at(text, Language::Python, text.len() - 3), None);
    }
}
