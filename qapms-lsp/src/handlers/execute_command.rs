//! `workspace/executeCommand`: the commands behind the code actions and code lenses.
//!
//! Anything that writes (a Jira issue, a workflow) is confirmed first with
//! `window/showMessageRequest`; a client that cannot ask, or a user who cancels, means nothing
//! is written. Results are shown with `window/showMessage` and, for a new issue, opened with
//! `window/showDocument`.

use std::fmt::Write as _;

use qapms_core::ErrorKind;
use qapms_core::model::{IssueKey, Role, TestId, User};
use qapms_core::workflow::{Catalog, Engine};
use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{MessageActionItem, MessageType, ShowDocumentParams, Uri};

use super::code_action::{CREATE_BUG, CREATE_FROM_TODO, OPEN, SHOW_TEST, START_WORKFLOW};
use crate::session::Session;
use crate::workspace::Workspace;

pub(crate) async fn execute(
    client: &Client,
    session: &Session,
    command: &str,
    arguments: Vec<Value>,
) -> Option<Value> {
    let arg = arguments.into_iter().next().unwrap_or(Value::Null);
    let text = |k: &str| arg.get(k).and_then(Value::as_str).map(str::to_owned);
    let ws = session.workspace();
    match command {
        OPEN => {
            let uri: Uri = text("url")?.parse().ok()?;
            open_external(client, uri).await;
            Some(Value::Bool(true))
        }
        START_WORKFLOW => start_workflow(client, &ws, &text("ticket")?, text("template")).await,
        CREATE_BUG => {
            let id: TestId = text("testId")?.parse().ok()?;
            create_bug(client, &ws, id, &text("name").unwrap_or_default()).await
        }
        CREATE_FROM_TODO => create_from_todo(client, &ws, &text("summary")?).await,
        SHOW_TEST => {
            let id: TestId = text("testId")?.parse().ok()?;
            let history = ws.test_history(id).await?;
            let title = super::code_lens::lens_title(&ws, &history);
            client.show_message(MessageType::INFO, title).await;
            Some(Value::Bool(true))
        }
        other => {
            tracing::warn!(command = other, "unknown command");
            None
        }
    }
}

async fn open_external(client: &Client, uri: Uri) {
    let params = ShowDocumentParams {
        uri,
        external: Some(true),
        take_focus: Some(true),
        selection: None,
    };
    if let Err(e) = client.show_document(params).await {
        tracing::info!(error = %e, "client cannot open documents");
    }
}

/// Asks the user; `true` only when they chose `yes`.
async fn confirm(client: &Client, message: String, yes: &str) -> bool {
    let actions = vec![
        MessageActionItem {
            title: yes.to_owned(),
            properties: std::collections::HashMap::new(),
        },
        MessageActionItem {
            title: "Cancel".to_owned(),
            properties: std::collections::HashMap::new(),
        },
    ];
    match client
        .show_message_request(MessageType::INFO, message, Some(actions))
        .await
    {
        Ok(Some(choice)) => choice.title == yes,
        Ok(None) => false,
        Err(e) => {
            tracing::info!(error = %e, "client cannot confirm; nothing written");
            false
        }
    }
}

/// The Jira project new issues go to: the first linked ticket's, else the first configured.
fn project_for(ws: &Workspace, linked: &[IssueKey]) -> Option<String> {
    linked.first().map(|k| k.project().to_owned()).or_else(|| {
        ws.config
            .as_ref()?
            .integrations
            .jira
            .as_ref()?
            .projects
            .first()
            .map(|p| p.0.clone())
    })
}

/// What to create: the issue types to try in order (createmeta decides which the project
/// has), and fields beyond summary and description.
struct NewIssue<'a> {
    project: &'a str,
    issue_types: &'a [&'a str],
    summary: &'a str,
    description: &'a str,
    fields: Vec<(String, Value)>,
}

async fn create_issue(client: &Client, ws: &Workspace, new: NewIssue<'_>) -> Option<Value> {
    let jira = ws.jira.as_ref()?;
    let first = new.issue_types.first()?;
    let question = format!("Create a {first} in {}: “{}”?", new.project, new.summary);
    if !confirm(client, question, "Create").await {
        return Some(Value::Null);
    }
    let mut result = None;
    for issue_type in new.issue_types {
        let mut request = jira
            .issues()
            .create(new.project, *issue_type, new.summary)
            .description(new.description);
        for (key, value) in &new.fields {
            request = request.field(key.clone(), value.clone());
        }
        let sent = request.send().await;
        // A project without this issue type: try the next one.
        let next = matches!(&sent, Err(e) if e.kind() == ErrorKind::InvalidInput
            && e.to_string().contains("has no issue type"));
        result = Some(sent);
        if !next {
            break;
        }
    }
    match result? {
        Ok(created) => {
            client
                .show_message(MessageType::INFO, format!("Created {}", created.key))
                .await;
            let site = ws
                .config
                .as_ref()
                .and_then(|c| c.integrations.jira.as_ref())
                .map(|j| j.base_url.trim_end_matches('/').to_owned());
            if let Some(uri) = site.and_then(|s| format!("{s}/browse/{}", created.key).parse().ok())
            {
                open_external(client, uri).await;
            }
            Some(serde_json::json!({ "key": created.key.to_string() }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot create the issue");
            client
                .show_message(MessageType::ERROR, format!("Jira refused the issue: {e}"))
                .await;
            None
        }
    }
}

async fn create_bug(client: &Client, ws: &Workspace, id: TestId, name: &str) -> Option<Value> {
    let history = ws.test_history(id).await?;
    let project = project_for(ws, &history.tickets)?;
    let title = history.title.clone().unwrap_or_else(|| name.to_owned());
    let summary: String = format!("Failing test: {title}").chars().take(250).collect();
    let mut description = format!("Test `{name}` is failing.\n\n");
    if let Some((r, run)) = history.results.iter().find(|(r, _)| r.status.is_failure()) {
        if let Some(run) = run {
            let _ = writeln!(
                description,
                "- Last failure: run **{}** at {}",
                run.name,
                run.started_at.format("%Y-%m-%d %H:%M UTC")
            );
            if let Some(env) = &run.environment {
                let _ = writeln!(description, "- Environment: {env}");
            }
            if let Some(rev) = &run.revision {
                let _ = writeln!(description, "- Revision: {rev}");
            }
        }
        if let Some(message) = &r.message {
            let first: String = message.lines().take(20).collect::<Vec<_>>().join("\n");
            let _ = write!(description, "\n```\n{first}\n```\n");
        }
    }
    if let Some(c) = &history.cluster {
        let _ = writeln!(
            description,
            "\nFailure cluster {}: {} ({} failures, first seen {})",
            super::cluster_tag(&c.fingerprint),
            c.title,
            c.occurrences,
            c.first_seen.format("%Y-%m-%d")
        );
    }
    let f = &history.flakiness;
    let _ = writeln!(
        description,
        "\nFlakiness {:.2} ({}, {} runs, {} failures).",
        f.score,
        f.verdict.as_str(),
        f.runs,
        f.failures
    );
    // Components the linked tickets have: projects often require one on bugs.
    let components: Vec<Value> = history
        .tickets
        .iter()
        .filter_map(|k| match ws.cached_ticket(k.as_str()) {
            Some(crate::workspace::TicketState::Found(t)) => Some(t.components.clone()),
            _ => None,
        })
        .flatten()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|name| serde_json::json!({ "name": name }))
        .collect();
    let fields = if components.is_empty() {
        Vec::new()
    } else {
        vec![("components".to_owned(), Value::Array(components))]
    };
    create_issue(
        client,
        ws,
        NewIssue {
            project: &project,
            issue_types: &["Bug"],
            summary: &summary,
            description: &description,
            fields,
        },
    )
    .await
}

async fn create_from_todo(client: &Client, ws: &Workspace, summary: &str) -> Option<Value> {
    let project = project_for(ws, &[])?;
    let summary: String = summary.chars().take(250).collect();
    create_issue(
        client,
        ws,
        NewIssue {
            project: &project,
            issue_types: &["Task", "Story"],
            summary: &summary,
            description: "Created from a TODO comment with qapms.",
            fields: Vec::new(),
        },
    )
    .await
}

async fn start_workflow(
    client: &Client,
    ws: &Workspace,
    ticket: &str,
    template: Option<String>,
) -> Option<Value> {
    let store = ws.store.clone()?;
    let ticket = IssueKey::parse(ticket).ok()?;
    let catalog = Catalog::new(
        &ws.config
            .as_ref()
            .map(|c| c.workflows.clone())
            .unwrap_or_default(),
    );
    let template = template.unwrap_or_else(|| "verify_ticket".to_owned());
    let question = format!("Start the {template} workflow for {ticket}?");
    if !confirm(client, question, "Start").await {
        return Some(Value::Null);
    }
    let name = ws.settings.user.clone().unwrap_or_else(|| "qa".to_owned());
    let user = match store.user_by_name(&name).await {
        Ok(u) => u,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let user = User::new(name, Role::Qa);
            match store.create_user(&user).await {
                Ok(()) => user,
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    store.user_by_name(&user.name).await.ok()?
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot create the workflow's user");
                    return None;
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the workflow's user");
            return None;
        }
    };
    let engine = Engine::new(store, catalog);
    match engine.start(&template, Some(ticket.clone()), user.id).await {
        Ok(outcome) => {
            let id = outcome.workflow.id.to_string();
            client
                .show_message(
                    MessageType::INFO,
                    format!("Started {template} for {ticket} ({id})"),
                )
                .await;
            Some(serde_json::json!({ "workflow": id }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the workflow");
            client
                .show_message(
                    MessageType::ERROR,
                    format!("Cannot start the workflow: {e}"),
                )
                .await;
            None
        }
    }
}
