//! Gathers what a report needs from the store. Kept apart from the pure builders in
//! [`model`](super::model) so the builders can be tested (and snapshot-tested) on data made up
//! by hand.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::model::{PeriodData, PeriodScope, WorkflowData};
use crate::model::{
    IssueKey, RunId, TestId, TimeHistoryFilter, UserId, WorkflowFilter, WorkflowId,
};
use crate::store::Store;
use crate::tracking::{ExportOutcome, WorklogSink, export_worklogs_where};
use crate::{ErrorKind, Result};

/// Names for user ids; users that are gone are left out (reports show their id).
async fn user_names(
    store: &dyn Store,
    ids: impl IntoIterator<Item = UserId>,
) -> Result<HashMap<UserId, String>> {
    let mut names = HashMap::new();
    for id in ids.into_iter().collect::<BTreeSet<_>>() {
        match store.user_by_id(&id).await {
            Ok(user) => {
                names.insert(id, user.name);
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(names)
}

/// The time of one workflow: its ticket's entries (or its owner's, without a ticket), which
/// include any correction of the workflow's entries.
pub(crate) fn workflow_time_filter(ticket: Option<&IssueKey>, owner: UserId) -> TimeHistoryFilter {
    TimeHistoryFilter {
        user_id: ticket.is_none().then_some(owner),
        ticket: ticket.cloned(),
        ..TimeHistoryFilter::default()
    }
}

/// Everything a report of workflow `id` needs.
pub async fn workflow_data(
    store: &dyn Store,
    id: &WorkflowId,
    generated_at: DateTime<Utc>,
) -> Result<WorkflowData> {
    let workflow = store.workflow(id).await?;
    let events = store.workflow_events(id).await?;
    let history = store
        .time_history(&workflow_time_filter(
            workflow.ticket.as_ref(),
            workflow.owner,
        ))
        .await?;
    let mut run_ids: Vec<RunId> = Vec::new();
    for step in &workflow.steps {
        for run in &step.runs {
            if !run_ids.contains(run) {
                run_ids.push(*run);
            }
        }
    }
    let mut runs = Vec::with_capacity(run_ids.len());
    let mut tests: HashSet<TestId> = HashSet::new();
    for run_id in run_ids {
        let run = store.run(&run_id).await?;
        let results = store.results_for_run(&run_id).await?;
        tests.extend(results.iter().map(|r| r.test_id));
        runs.push((run, results));
    }
    let linked = match &workflow.ticket {
        Some(key) => store.test_cases_for_ticket(key).await?,
        None => Vec::new(),
    };
    let linked_ids: HashSet<TestId> = linked.iter().map(|c| c.id).collect();
    let wanted: Vec<TestId> = tests
        .into_iter()
        .filter(|t| !linked_ids.contains(t))
        .collect();
    let cases = store
        .test_cases_by_id(&wanted)
        .await?
        .into_iter()
        .map(|(case, _)| case)
        .collect();
    let mut people: Vec<UserId> = vec![workflow.owner];
    people.extend(events.iter().map(|e| e.actor));
    people.extend(history.iter().map(|h| h.entry.user_id));
    for step in &workflow.steps {
        people.extend(step.evidence.iter().map(|e| e.by));
        people.extend(step.checklist.iter().filter_map(|i| i.done_by));
    }
    let users = user_names(store, people).await?;
    Ok(WorkflowData {
        workflow,
        events,
        history,
        runs,
        linked,
        cases,
        users,
        generated_at,
    })
}

/// Which time a period report covers. `from` is inclusive, `to` exclusive; entries count in
/// the period they start in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodQuery {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub user: Option<UserId>,
    /// Everyone in this team (see [`Store::team_members`]).
    pub team: Option<String>,
    pub ticket: Option<IssueKey>,
    pub template: Option<String>,
}

/// Everything a period report needs.
pub async fn period_data(
    store: &dyn Store,
    query: &PeriodQuery,
    generated_at: DateTime<Utc>,
) -> Result<PeriodData> {
    let members: Option<HashSet<UserId>> = match &query.team {
        Some(team) => Some(store.team_members(team).await?.into_iter().collect()),
        None => None,
    };
    let in_scope = |user: &UserId| {
        query.user.is_none_or(|u| u == *user) && members.as_ref().is_none_or(|m| m.contains(user))
    };
    let filter = TimeHistoryFilter {
        user_id: query.user,
        ticket: query.ticket.clone(),
        template: query.template.clone(),
        step: None,
        from: query.from,
        to: query.to,
    };
    let history: Vec<_> = store
        .time_history(&filter)
        .await?
        .into_iter()
        .filter(|h| in_scope(&h.entry.user_id))
        .collect();
    let estimates = store.step_estimates(query.template.as_deref()).await?;
    let workflows = store
        .list_workflows(&WorkflowFilter {
            owner: query.user,
            ticket: query.ticket.clone(),
            states: Vec::new(),
            limit: None,
        })
        .await?
        .into_iter()
        .filter(|w| {
            in_scope(&w.owner)
                && query.template.as_ref().is_none_or(|t| *t == w.template)
                && query.from.is_none_or(|from| w.updated_at >= from)
                && query.to.is_none_or(|to| w.created_at < to)
        })
        .collect();
    let users = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect::<HashMap<_, _>>();
    let scope = PeriodScope {
        from: query.from,
        to: query.to,
        user: query
            .user
            .map(|u| users.get(&u).cloned().unwrap_or_else(|| u.to_string())),
        team: query.team.clone(),
        ticket: query.ticket.clone(),
        template: query.template.clone(),
    };
    Ok(PeriodData {
        scope,
        history,
        estimates,
        workflows,
        users,
        generated_at,
    })
}

/// Exports one workflow's time to Jira worklogs (idempotent, as
/// [`export_worklogs`](crate::tracking::export_worklogs) is).
pub async fn post_worklogs(
    store: &dyn Store,
    sink: &dyn WorklogSink,
    workflow: &WorkflowId,
) -> Result<ExportOutcome> {
    let w = store.workflow(workflow).await?;
    let filter = workflow_time_filter(w.ticket.as_ref(), w.owner);
    let id = w.id;
    export_worklogs_where(store, sink, &filter, &move |h| {
        h.entry.workflow_id == Some(id)
    })
    .await
}
