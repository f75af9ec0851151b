//! Step actions: what a template's `actions` do once their step is done.
//!
//! The [`Engine`] says which actions are due ([`Outcome::actions`](super::Outcome)); the
//! [`ActionRunner`] carries them out against the integrations and keeps each outcome as an
//! [`ActionRecord`] in the step's evidence, in a write of its own after the transition's. The
//! step is done whatever its actions do: an integration that is down must not stop a QA's
//! work, so a failure is recorded (with Jira's or Testmo's answer) and can be retried.
//!
//! - A record is keyed `{position}.{index}`. [`ActionRunner::run`] skips an action whose
//!   record says it succeeded, so a retry repeats nothing that worked; what failed, was
//!   skipped, or never ran (the process stopped between the transition and its actions) is
//!   what [`ActionRunner::retry`] runs.
//! - An action whose integration is not configured is `skipped`, with the setting to add; a
//!   configured integration whose client cannot be built (a missing secret) is `failed` with
//!   that reason.
//! - Two runners retrying the same workflow at once may both call the integration; the
//!   records stay consistent (attempts are counted by the state machine from what is stored).
//!
//! What each kind does:
//! - `jira_transition`: moves the ticket through the transition whose name or target status is
//!   `to` (an issue already in that status counts as done);
//! - `jira_comment`: comments on the ticket;
//! - `jira_worklog`: exports the step's tracked time as worklogs, idempotently
//!   ([`tracking::export_worklogs_described`](crate::tracking::export_worklogs_described)),
//!   the action's `comment` leading each worklog's;
//! - `jira_create_issue`: files an issue in the ticket's project, its description made of the
//!   workflow's steps, the environment of the attached test runs, and the evidence;
//! - `postman_search`, `testmo_search`: searches the local index (what sync brought in);
//! - `splunk_search`: renders the SPL template and, in `rest` mode, runs it and counts results;
//! - `grafana_annotation`: posts an annotation now;
//! - `testmo_run`: submits the test runs attached to the step as one automation run;
//! - `open_url`: keeps the link for the front-end to open.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};

use super::engine::{DueAction, Engine};
use super::machine::Command;
use crate::config::{Config, EvidenceKind, StepAction};
use crate::logging::Redactor;
use crate::model::{
    ActionRecord, ActionStatus, IssueKey, TestStatus, TimeHistoryFilter, UserId, Workflow,
    WorkflowId, WorkflowState,
};
use crate::search::{SearchIndex, SearchRequest};
use crate::secrets::{KeyLookup, Unlocked};
use crate::{ErrorKind, Result};

/// An integration client, or why there is none.
#[derive(Debug, Clone)]
enum Slot<T> {
    /// Not configured (or disabled): its actions are skipped.
    Missing,
    /// Configured, but the client could not be built: its actions fail with this.
    Broken(String),
    Ready(T),
}

impl<T> Slot<T> {
    fn from_result(built: Result<T>) -> Self {
        match built {
            Ok(client) => Self::Ready(client),
            Err(e) => Self::Broken(e.to_string()),
        }
    }

    /// The client, or the outcome of an action that needs it.
    fn get(&self, setting: &str) -> std::result::Result<&T, Done> {
        match self {
            Self::Ready(client) => Ok(client),
            Self::Missing => Err(Done::skipped(format!(
                "{setting} is not configured (or not enabled)"
            ))),
            Self::Broken(why) => Err(Done::failed(format!("{setting}: {why}"))),
        }
    }
}

/// The clients step actions call, and the search index their searches read. Any may be
/// missing; its actions are then skipped.
#[derive(Debug, Clone)]
pub struct ActionClients {
    #[cfg(feature = "jira")]
    jira: Slot<crate::integrations::jira::Jira>,
    #[cfg(feature = "testmo")]
    testmo: Slot<crate::integrations::testmo::Testmo>,
    #[cfg(feature = "splunk")]
    splunk: Slot<crate::integrations::splunk::Splunk>,
    #[cfg(feature = "splunk")]
    splunk_templates: Option<crate::integrations::splunk::SplTemplates>,
    #[cfg(feature = "grafana")]
    grafana: Slot<crate::integrations::grafana::Grafana>,
    index: Option<Arc<SearchIndex>>,
}

impl Default for ActionClients {
    fn default() -> Self {
        Self::none()
    }
}

impl ActionClients {
    /// No integrations: every action that needs one is skipped.
    pub fn none() -> Self {
        Self {
            #[cfg(feature = "jira")]
            jira: Slot::Missing,
            #[cfg(feature = "testmo")]
            testmo: Slot::Missing,
            #[cfg(feature = "splunk")]
            splunk: Slot::Missing,
            #[cfg(feature = "splunk")]
            splunk_templates: None,
            #[cfg(feature = "grafana")]
            grafana: Slot::Missing,
            index: None,
        }
    }

    /// The enabled integrations of `config`. Jira's OAuth tokens (from `qapms auth login
    /// jira`) are found through `tokens` (the data directory and the master key), as
    /// [`Syncer::from_config_in`](crate::sync::Syncer::from_config_in) does.
    pub fn from_config(
        config: &Config,
        unlocked: &Unlocked,
        redactor: Option<&Redactor>,
        tokens: Option<(&std::path::Path, &KeyLookup<'_>)>,
    ) -> Self {
        let mut clients = Self::none();
        let integrations = &config.integrations;
        #[cfg(feature = "jira")]
        if let Some(jira) = integrations.jira.as_ref().filter(|c| c.enabled) {
            use crate::integrations::jira::Jira;
            clients.jira = Slot::from_result(match tokens {
                Some((dir, lookup)) => {
                    Jira::from_config_in(jira, unlocked, redactor.cloned(), dir, lookup)
                }
                None => Jira::from_config(jira, unlocked, redactor.cloned()),
            });
        }
        #[cfg(feature = "testmo")]
        if let Some(testmo) = integrations.testmo.as_ref().filter(|c| c.enabled) {
            clients.testmo = Slot::from_result(crate::integrations::testmo::Testmo::from_config(
                testmo,
                unlocked,
                redactor.cloned(),
            ));
        }
        #[cfg(feature = "splunk")]
        if let Some(splunk) = integrations.splunk.as_ref().filter(|c| c.enabled) {
            use crate::integrations::splunk::{SplTemplates, Splunk};
            clients.splunk_templates = Some(SplTemplates::from_config(splunk));
            if splunk.mode == crate::config::SplunkMode::Rest {
                clients.splunk =
                    Slot::from_result(Splunk::from_config(splunk, unlocked, redactor.cloned()));
            }
        }
        #[cfg(feature = "grafana")]
        if let Some(grafana) = integrations.grafana.as_ref().filter(|c| c.enabled) {
            clients.grafana =
                Slot::from_result(crate::integrations::grafana::Grafana::from_config(
                    grafana,
                    unlocked,
                    redactor.cloned(),
                ));
        }
        #[cfg(not(feature = "jira"))]
        let _ = tokens;
        let _ = (integrations, unlocked, redactor);
        clients
    }

    #[cfg(feature = "jira")]
    #[must_use]
    pub fn with_jira(mut self, jira: crate::integrations::jira::Jira) -> Self {
        self.jira = Slot::Ready(jira);
        self
    }

    #[cfg(feature = "testmo")]
    #[must_use]
    pub fn with_testmo(mut self, testmo: crate::integrations::testmo::Testmo) -> Self {
        self.testmo = Slot::Ready(testmo);
        self
    }

    /// The SPL templates, and the client that runs them (`None`: manual mode, render only).
    #[cfg(feature = "splunk")]
    #[must_use]
    pub fn with_splunk(
        mut self,
        templates: crate::integrations::splunk::SplTemplates,
        client: Option<crate::integrations::splunk::Splunk>,
    ) -> Self {
        self.splunk_templates = Some(templates);
        self.splunk = client.map_or(Slot::Missing, Slot::Ready);
        self
    }

    #[cfg(feature = "grafana")]
    #[must_use]
    pub fn with_grafana(mut self, grafana: crate::integrations::grafana::Grafana) -> Self {
        self.grafana = Slot::Ready(grafana);
        self
    }

    /// The search index `postman_search` and `testmo_search` read.
    #[must_use]
    pub fn with_index(mut self, index: Arc<SearchIndex>) -> Self {
        self.index = Some(index);
        self
    }
}

/// What an action did, before it is kept.
#[derive(Debug, Clone, PartialEq)]
struct Done {
    status: ActionStatus,
    summary: String,
    output: Value,
    /// The evidence line it leaves on the step.
    evidence: (EvidenceKind, String),
}

impl Done {
    fn succeeded(summary: String, output: Value) -> Self {
        Self {
            status: ActionStatus::Succeeded,
            evidence: (EvidenceKind::Notes, summary.clone()),
            summary,
            output,
        }
    }

    fn linked(summary: String, link: String, output: Value) -> Self {
        Self {
            status: ActionStatus::Succeeded,
            evidence: (EvidenceKind::Links, link),
            summary,
            output,
        }
    }

    fn skipped(summary: String) -> Self {
        Self {
            status: ActionStatus::Skipped,
            evidence: (EvidenceKind::Notes, summary.clone()),
            summary,
            output: Value::Null,
        }
    }

    fn failed(summary: String) -> Self {
        Self {
            status: ActionStatus::Failed,
            evidence: (EvidenceKind::Notes, summary.clone()),
            summary,
            output: Value::Null,
        }
    }
}

/// An action's integration call failed: its error says what the service answered.
fn call_failed(what: &str, e: &crate::Error) -> Done {
    Done::failed(format!("{what}: {e}"))
}

/// Carries out step actions and records their outcomes; see the module notes.
#[derive(Debug, Clone)]
pub struct ActionRunner {
    engine: Engine,
    clients: ActionClients,
}

impl ActionRunner {
    pub fn new(engine: Engine, clients: ActionClients) -> Self {
        Self { engine, clients }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs `due` (from a transition's [`Outcome`](super::Outcome)) in order for `actor` and
    /// returns the records kept. An action that already succeeded is not run again; a failed
    /// one does not stop the next. Only the store failing is an error.
    pub async fn run(
        &self,
        workflow: &WorkflowId,
        actor: UserId,
        due: &[DueAction],
    ) -> Result<Vec<ActionRecord>> {
        let mut records = Vec::with_capacity(due.len());
        for action in due {
            let current = self.engine.workflow(workflow).await?;
            if current.state == WorkflowState::Abandoned {
                return Err(crate::Error::invalid_input(
                    "the workflow was abandoned: its step actions are not run",
                )
                .with_context("workflow", workflow.to_string()));
            }
            if action.succeeded_in(&current) {
                continue;
            }
            let done = self.execute(&current, action).await;
            tracing::info!(
                workflow = %workflow,
                key = %action.key,
                action = action.action.kind(),
                status = done.status.as_str(),
                "step action"
            );
            records.push(self.keep(workflow, actor, action, done).await?);
        }
        Ok(records)
    }

    /// Runs every action of a done step that has not succeeded yet (see
    /// [`Engine::pending_actions`]).
    pub async fn retry(&self, workflow: &WorkflowId, actor: UserId) -> Result<Vec<ActionRecord>> {
        let current = self.engine.workflow(workflow).await?;
        let due = self.engine.pending_actions(&current).await;
        self.run(workflow, actor, &due).await
    }

    /// Records `done` on the action's step. The record commutes with any other change, so a
    /// write that lost a race to another front-end is simply applied again to the new version.
    async fn keep(
        &self,
        workflow: &WorkflowId,
        actor: UserId,
        action: &DueAction,
        done: Done,
    ) -> Result<ActionRecord> {
        let command = Command::RecordAction {
            position: action.position,
            kind: done.evidence.0,
            value: done.evidence.1,
            record: ActionRecord {
                key: action.key.clone(),
                kind: action.action.kind().to_owned(),
                status: done.status,
                summary: done.summary,
                output: done.output,
                attempts: 1,
            },
        };
        let mut tries = 0;
        loop {
            match self.engine.apply(workflow, None, actor, &command).await {
                Ok(outcome) => {
                    let kept = outcome
                        .workflow
                        .steps
                        .get(action.position as usize)
                        .and_then(|s| {
                            s.evidence
                                .iter()
                                .filter_map(|e| e.action.as_ref())
                                .find(|a| a.key == action.key)
                        })
                        .cloned();
                    return kept.ok_or_else(|| {
                        crate::Error::store("a recorded step action is missing from its step")
                    });
                }
                Err(e) if e.kind() == ErrorKind::Conflict && tries < 5 => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    async fn execute(&self, workflow: &Workflow, due: &DueAction) -> Done {
        let outcome = match &due.action {
            StepAction::JiraTransition { to } => self.jira_transition(workflow, to).await,
            StepAction::JiraComment { body } => self.jira_comment(workflow, body).await,
            StepAction::JiraWorklog { comment } => {
                self.jira_worklog(workflow, due, comment.as_deref()).await
            }
            StepAction::JiraCreateIssue {
                issue_type,
                summary,
            } => self.jira_create_issue(workflow, issue_type, summary).await,
            StepAction::PostmanSearch { query } => {
                self.search(query, "postman", "Postman requests")
            }
            StepAction::TestmoSearch { query } => self.search(query, "testmo", "Testmo cases"),
            StepAction::SplunkSearch { template } => {
                self.splunk_search(workflow, due, template).await
            }
            StepAction::GrafanaAnnotation { text, tags } => {
                self.grafana_annotation(workflow, text, tags).await
            }
            StepAction::TestmoRun {
                project,
                name,
                source,
            } => {
                self.testmo_run(workflow, due, *project, name, source.as_deref())
                    .await
            }
            StepAction::OpenUrl { url } => Ok(Done::linked(
                format!("open {url}"),
                url.clone(),
                json!({ "url": url }),
            )),
        };
        outcome.unwrap_or_else(|done| done)
    }

    #[cfg(feature = "jira")]
    fn jira(&self) -> std::result::Result<&crate::integrations::jira::Jira, Done> {
        self.clients.jira.get("integrations.jira")
    }

    #[cfg(feature = "jira")]
    async fn jira_transition(&self, workflow: &Workflow, to: &str) -> Outcome {
        let key = ticket(workflow)?;
        let jira = self.jira()?;
        let issues = jira.issues();
        let transitions = issues
            .transitions(key)
            .await
            .map_err(|e| call_failed("cannot list the ticket's transitions", &e))?;
        let wanted = transitions.iter().find(|t| {
            t.name.eq_ignore_ascii_case(to)
                || t.to
                    .as_ref()
                    .is_some_and(|s| s.name.eq_ignore_ascii_case(to))
        });
        if let Some(t) = wanted {
            issues
                .transition(key, &t.id)
                .await
                .map_err(|e| call_failed("the transition failed", &e))?;
            let status = t.to.as_ref().map_or(t.name.as_str(), |s| s.name.as_str());
            return Ok(Done::succeeded(
                format!("moved {key} to {status}"),
                json!({ "transition": t.id, "status": status }),
            ));
        }
        // Jira does not offer a transition to the status an issue is in: an earlier attempt
        // (or a person) may have moved it already.
        let issue = issues
            .get(key)
            .fields(["status"])
            .send()
            .await
            .map_err(|e| call_failed("cannot read the ticket's status", &e))?;
        let status = issue.fields.status.map(|s| s.name).unwrap_or_default();
        if status.eq_ignore_ascii_case(to) {
            return Ok(Done::succeeded(
                format!("{key} is already {status}"),
                json!({ "status": status }),
            ));
        }
        let offered: Vec<&str> = transitions.iter().map(|t| t.name.as_str()).collect();
        Err(Done::failed(format!(
            "{key} is {status}, and Jira offers no transition to `{to}` from there (offered: {})",
            if offered.is_empty() {
                "none".to_owned()
            } else {
                offered.join(", ")
            }
        )))
    }

    #[cfg(feature = "jira")]
    async fn jira_comment(&self, workflow: &Workflow, body: &str) -> Outcome {
        let key = ticket(workflow)?;
        let jira = self.jira()?;
        let comment = jira
            .issues()
            .add_comment(key, body)
            .await
            .map_err(|e| call_failed("the comment was not added", &e))?;
        let link = format!(
            "{}?focusedCommentId={}",
            crate::integrations::jira::browse_url(jira.site(), key),
            comment.id
        );
        Ok(Done::linked(
            format!("commented on {key}"),
            link,
            json!({ "commentId": comment.id }),
        ))
    }

    #[cfg(feature = "jira")]
    async fn jira_worklog(
        &self,
        workflow: &Workflow,
        due: &DueAction,
        comment: Option<&str>,
    ) -> Outcome {
        let key = ticket(workflow)?;
        let jira = self.jira()?;
        let filter = TimeHistoryFilter {
            ticket: Some(key.clone()),
            ..TimeHistoryFilter::default()
        };
        let keep = |h: &crate::model::HistoryEntry| {
            h.entry.workflow_id == Some(workflow.id)
                && h.entry.step.as_deref() == Some(due.step.as_str())
        };
        let outcome = crate::tracking::export_worklogs_described(
            self.engine.store().as_ref(),
            jira,
            &filter,
            &keep,
            comment,
        )
        .await
        .map_err(|e| call_failed("the worklogs were not exported", &e))?;
        let logged = outcome.exported.len() + outcome.adopted.len();
        let summary = if logged == 0 {
            format!(
                "nothing to log on {key} for step `{}` ({} exported before, {} under a minute)",
                due.step, outcome.already_exported, outcome.too_short
            )
        } else {
            format!(
                "logged {logged} worklog(s) on {key} for step `{}`",
                due.step
            )
        };
        Ok(Done::succeeded(
            summary,
            serde_json::to_value(&outcome).unwrap_or(Value::Null),
        ))
    }

    #[cfg(feature = "jira")]
    async fn jira_create_issue(
        &self,
        workflow: &Workflow,
        issue_type: &str,
        summary: &str,
    ) -> Outcome {
        let key = ticket(workflow)?;
        let jira = self.jira()?;
        let summary = summary.trim();
        if summary.is_empty() {
            return Err(Done::failed(
                "the issue's summary is empty once its placeholders are filled".to_owned(),
            ));
        }
        let description = self.bug_description(workflow).await;
        let created = jira
            .issues()
            .create(key.project(), issue_type, summary)
            .description(description)
            .send()
            .await
            .map_err(|e| call_failed(&format!("the {issue_type} was not filed"), &e))?;
        let link = crate::integrations::jira::browse_url(jira.site(), &created.key);
        Ok(Done::linked(
            format!("filed {} ({issue_type}): {summary}", created.key),
            link,
            json!({ "key": created.key, "id": created.id, "relatesTo": key }),
        ))
    }

    /// A filed issue's description: where it was found, the workflow's steps with their
    /// checklists, the environment of the attached runs, and the evidence.
    async fn bug_description(&self, workflow: &Workflow) -> String {
        let mut text = format!(
            "Found while following `{}` for {} (qapms workflow {}).\n\n**Steps**\n\n",
            workflow.template,
            workflow
                .ticket
                .as_ref()
                .map_or("no ticket", IssueKey::as_str),
            workflow.id
        );
        let mut runs = Vec::new();
        for step in &workflow.steps {
            let _ = writeln!(
                text,
                "{}. {}{}",
                step.position + 1,
                step.name,
                step.description
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            );
            for item in &step.checklist {
                let _ = writeln!(
                    text,
                    "   - [{}] {}",
                    if item.done { "x" } else { " " },
                    item.text
                );
            }
            runs.extend(step.runs.iter().copied());
        }
        let mut environment = Vec::new();
        for id in runs {
            if let Ok(run) = self.engine.store().run(&id).await {
                let mut line = format!("- run `{}`", run.name);
                if let Some(env) = &run.environment {
                    let _ = write!(line, ", environment {env}");
                }
                if let Some(rev) = &run.revision {
                    let _ = write!(line, ", revision {rev}");
                }
                environment.push(line);
            }
        }
        if !environment.is_empty() {
            text.push_str("\n**Environment**\n\n");
            text.push_str(&environment.join("\n"));
            text.push('\n');
        }
        let evidence: Vec<String> = workflow
            .steps
            .iter()
            .flat_map(|s| s.evidence.iter().map(move |e| (s, e)))
            .filter(|(_, e)| e.action.is_none())
            .map(|(s, e)| {
                let kind = crate::report::model::evidence_kind_name(e.kind);
                format!("- {} ({kind}): {}", s.name, e.value)
            })
            .collect();
        if !evidence.is_empty() {
            text.push_str("\n**Evidence**\n\n");
            text.push_str(&evidence.join("\n"));
            text.push('\n');
        }
        text
    }

    fn search(&self, query: &str, source: &str, what: &str) -> Outcome {
        let Some(index) = &self.clients.index else {
            return Err(Done::skipped(format!(
                "no search index to find {what} in; run `qapms sync` first"
            )));
        };
        let request = SearchRequest {
            query: query.to_owned(),
            sources: vec![source.to_owned()],
            limit: 10,
            snippets: false,
            ..SearchRequest::default()
        };
        let found = index
            .search(&request)
            .map_err(|e| call_failed(&format!("the search for {what} failed"), &e))?;
        let items: Vec<Value> = found
            .hits
            .iter()
            .map(|h| json!({ "key": h.key, "title": h.title, "url": h.url }))
            .collect();
        let titles: Vec<&str> = found.hits.iter().map(|h| h.title.as_str()).collect();
        let summary = if titles.is_empty() {
            format!("no {what} match `{query}`")
        } else {
            format!(
                "{} {what} match `{query}`: {}",
                found.total,
                titles.join(", ")
            )
        };
        Ok(Done::succeeded(
            summary,
            json!({ "query": query, "total": found.total, "items": items }),
        ))
    }

    #[cfg(feature = "splunk")]
    async fn splunk_search(&self, workflow: &Workflow, due: &DueAction, name: &str) -> Outcome {
        let Some(templates) = &self.clients.splunk_templates else {
            return Err(Done::skipped(
                "integrations.splunk is not configured (or not enabled)".to_owned(),
            ));
        };
        let known = placeholders(workflow, &due.step);
        let mut params = BTreeMap::new();
        for p in templates
            .parameters(name)
            .map_err(|e| Done::failed(e.to_string()))?
        {
            let Some(value) = known.get(p.as_str()) else {
                return Err(Done::failed(format!(
                    "Splunk template `{name}` needs `{p}`, which a step action cannot fill (it fills {})",
                    known.keys().copied().collect::<Vec<_>>().join(", ")
                )));
            };
            params.insert(p, value.clone());
        }
        let rendered = templates
            .render(name, &params, &crate::integrations::TimeRange::default())
            .map_err(|e| Done::failed(e.to_string()))?;
        let client = match &self.clients.splunk {
            Slot::Missing => {
                return Ok(Done::succeeded(
                    format!("rendered Splunk search `{name}`: {}", rendered.pasteable),
                    json!({ "rendered": rendered }),
                ));
            }
            other => other.get("integrations.splunk")?,
        };
        let mut job = client.jobs().create(rendered.spl.clone());
        if let Some(earliest) = &rendered.earliest {
            job = job.earliest(earliest.clone());
        }
        if let Some(latest) = &rendered.latest {
            job = job.latest(latest.clone());
        }
        let sid = job
            .send()
            .await
            .map_err(|e| call_failed("the Splunk search was not started", &e))?;
        let status = client
            .jobs()
            .wait(&sid)
            .await
            .map_err(|e| call_failed("the Splunk search did not finish", &e))?;
        let count = status.result_count.unwrap_or(0);
        Ok(Done::succeeded(
            format!("Splunk search `{name}` found {count} result(s)"),
            json!({ "sid": sid, "resultCount": count, "rendered": rendered }),
        ))
    }

    #[cfg(feature = "grafana")]
    async fn grafana_annotation(
        &self,
        workflow: &Workflow,
        text: &str,
        tags: &[String],
    ) -> Outcome {
        let grafana = self.clients.grafana.get("integrations.grafana")?;
        let mut tags = tags.to_vec();
        if let Some(key) = &workflow.ticket {
            tags.push(key.to_string());
        }
        let id = grafana
            .annotations()
            .create(text, crate::model::utc_now())
            .tags(tags.clone())
            .send()
            .await
            .map_err(|e| call_failed("the annotation was not posted", &e))?;
        Ok(Done::succeeded(
            format!("annotated Grafana: {text}"),
            json!({ "id": id, "tags": tags }),
        ))
    }

    #[cfg(feature = "testmo")]
    async fn testmo_run(
        &self,
        workflow: &Workflow,
        due: &DueAction,
        project: u64,
        name: &str,
        source: Option<&str>,
    ) -> Outcome {
        use crate::integrations::{ReportedTest, RunReport, TestRunSink};
        let testmo = self.clients.testmo.get("integrations.testmo")?;
        let runs = workflow
            .steps
            .get(due.position as usize)
            .map(|s| s.runs.clone())
            .unwrap_or_default();
        if runs.is_empty() {
            return Err(Done::skipped(format!(
                "no test results are attached to step `{}`; import them with `qapms import junit` while the step is active",
                due.step
            )));
        }
        let store = self.engine.store();
        let mut report = RunReport {
            name: name.to_owned(),
            source: source.unwrap_or(&workflow.template).to_owned(),
            tags: workflow.ticket.iter().map(ToString::to_string).collect(),
            ..RunReport::default()
        };
        for run in &runs {
            let results = store
                .results_for_run(run)
                .await
                .map_err(|e| call_failed("cannot read the attached results", &e))?;
            // The last attempt of each test is its outcome; earlier ones were retries.
            let mut last: BTreeMap<crate::model::TestId, &crate::model::TestResult> =
                BTreeMap::new();
            for r in &results {
                let slot = last.entry(r.test_id).or_insert(r);
                if r.attempt > slot.attempt {
                    *slot = r;
                }
            }
            let ids: Vec<crate::model::TestId> = last.keys().copied().collect();
            let cases = store
                .test_cases_by_id(&ids)
                .await
                .map_err(|e| call_failed("cannot read the attached tests", &e))?;
            for (case, _) in cases {
                let Some(result) = last.get(&case.id) else {
                    continue;
                };
                report.tests.push(ReportedTest {
                    name: case.title.clone(),
                    folder: case.folder_path.clone().unwrap_or_default(),
                    status: result.status,
                    duration_ms: result.duration_ms,
                    message: result.message.clone(),
                    file: None,
                    line: None,
                });
            }
        }
        let tests = report.tests.len();
        let failed = report
            .tests
            .iter()
            .filter(|t| matches!(t.status, TestStatus::Failed | TestStatus::Error))
            .count();
        let submitted = testmo
            .submit_run(&project.to_string(), &report)
            .await
            .map_err(|e| call_failed("the run was not submitted to Testmo", &e))?;
        Ok(Done::succeeded(
            format!(
                "submitted {tests} test(s) ({failed} failed) to Testmo automation run {}",
                submitted.id
            ),
            serde_json::to_value(&submitted).unwrap_or(Value::Null),
        ))
    }
}

// Builds without an integration record its actions as skipped.
#[cfg(not(feature = "jira"))]
impl ActionRunner {
    async fn jira_transition(&self, _: &Workflow, _: &str) -> Outcome {
        not_built("jira")
    }
    async fn jira_comment(&self, _: &Workflow, _: &str) -> Outcome {
        not_built("jira")
    }
    async fn jira_worklog(&self, _: &Workflow, _: &DueAction, _: Option<&str>) -> Outcome {
        not_built("jira")
    }
    async fn jira_create_issue(&self, _: &Workflow, _: &str, _: &str) -> Outcome {
        not_built("jira")
    }
}

#[cfg(not(feature = "splunk"))]
impl ActionRunner {
    async fn splunk_search(&self, _: &Workflow, _: &DueAction, _: &str) -> Outcome {
        not_built("splunk")
    }
}

#[cfg(not(feature = "grafana"))]
impl ActionRunner {
    async fn grafana_annotation(&self, _: &Workflow, _: &str, _: &[String]) -> Outcome {
        not_built("grafana")
    }
}

#[cfg(not(feature = "testmo"))]
impl ActionRunner {
    async fn testmo_run(
        &self,
        _: &Workflow,
        _: &DueAction,
        _: u64,
        _: &str,
        _: Option<&str>,
    ) -> Outcome {
        not_built("testmo")
    }
}

#[cfg(not(all(
    feature = "jira",
    feature = "splunk",
    feature = "grafana",
    feature = "testmo"
)))]
fn not_built(feature: &str) -> Outcome {
    Err(Done::skipped(format!(
        "this build of qapms has no {feature} integration"
    )))
}

/// An action either finishes with a [`Done`], or stops early with one.
type Outcome = std::result::Result<Done, Done>;

fn ticket(workflow: &Workflow) -> std::result::Result<&IssueKey, Done> {
    workflow
        .ticket
        .as_ref()
        .ok_or_else(|| Done::skipped("the workflow has no ticket to act on".to_owned()))
}

/// The values a Splunk template's parameters can take from the workflow: those of
/// [`SPLUNK_PARAMETERS`](super::placeholders::SPLUNK_PARAMETERS) that it has.
#[cfg(feature = "splunk")]
fn placeholders(workflow: &Workflow, step: &str) -> BTreeMap<&'static str, String> {
    super::placeholders::SPLUNK_PARAMETERS
        .into_iter()
        .filter_map(|name| {
            super::placeholders::workflow_value(workflow, step, name).map(|v| (name, v))
        })
        .collect()
}
