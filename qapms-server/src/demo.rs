//! A generated workspace: `serve --demo` shows it, `seed --qas N --days D` loads one for the
//! load benchmark.
//!
//! Everything comes from one seeded RNG, ids included (time-ordered `UUIDv7` built from the
//! generated time and the RNG), so the same seed gives the same workspace. What it holds:
//! teams of QAs with their leads, a PM, a PO and a QA manager; three or more projects with
//! epics, stories and bugs (severities, creation dates, fix versions); test cases linked to
//! stories; nightly runs with retries, flaky tests, a systemic outage and a product defect;
//! a verification workflow per QA per working day with time on each step (completed ones
//! through to the end, recent ones open, some blocked), plus other tracked time; integration
//! checks; and finally the pattern analysis, which turns the failures into clusters, flaky
//! scores and alerts. Writes are batched: one transaction per workflow, and time entries and
//! runs in large transactions, so 100 QAs × 90 days loads in well under a minute in release.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use qapms_core::dashboard::facts::{day_of, day_start};
use qapms_core::model::{
    IssueKey, Role, RunId, StatusCategory, StepState, TestCase, TestId, TestResult, TestRun,
    TestSource, TestStatus, Ticket, TimeEntry, TimeEntryId, TimeSource, TrackingWrite, UserId,
    WorkflowEvent, WorkflowId, WorkflowState, WorkflowWrite,
};
use qapms_core::patterns::{AnalyzeOptions, analyze};
use qapms_core::store::{IntegrationCheck, Store};
use qapms_core::workflow::{Catalog, instantiate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::admin::{self, NewUser};

/// The password every demo user signs in with (printed at start-up; demo data only).
pub const DEMO_PASSWORD: &str = "demo-password";
/// The demo's admin login.
pub const DEMO_LOGIN: &str = "demo";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub qas: usize,
    pub days: u32,
    pub seed: u64,
    /// Named demo users with the demo password (otherwise users have no password).
    pub demo_users: bool,
    /// Run the pattern analysis at the end (clusters, flaky scores, alerts).
    pub analyze: bool,
    pub now: DateTime<Utc>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            qas: 6,
            days: 90,
            seed: 42,
            demo_users: true,
            analyze: true,
            now: Utc::now(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub users: usize,
    pub tickets: usize,
    pub tests: usize,
    pub runs: usize,
    pub results: usize,
    pub workflows: usize,
    pub time_entries: usize,
    pub alerts: usize,
}

struct Gen {
    rng: StdRng,
}

impl Gen {
    fn id_at(&mut self, at: DateTime<Utc>) -> uuid::Uuid {
        let mut bytes = [0_u8; 10];
        self.rng.fill(&mut bytes);
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }
}

struct Project {
    key: &'static str,
    component: &'static str,
    team: &'static str,
}

const PROJECTS: [Project; 3] = [
    Project {
        key: "PAY",
        component: "payments",
        team: "payments",
    },
    Project {
        key: "WEB",
        component: "web",
        team: "web",
    },
    Project {
        key: "MOB",
        component: "mobile",
        team: "mobile",
    },
];

const FEATURES: [&str; 10] = [
    "refund", "checkout", "login", "search", "profile", "invoice", "cart", "notify", "export",
    "settings",
];

fn key(project: &str, n: usize) -> qapms_core::Result<IssueKey> {
    IssueKey::parse(&format!("{project}-{n}"))
}

/// A generated user (the admin API's checks and hashing, as `users add` does).
async fn add(
    store: &dyn Store,
    name: String,
    role: Role,
    team: Option<&str>,
    password: Option<String>,
) -> qapms_core::Result<qapms_core::model::User> {
    admin::add_user(
        store,
        NewUser {
            name,
            role,
            email: None,
            team: team.map(str::to_owned),
            password,
        },
    )
    .await
    .map_err(|e| qapms_core::Error::invalid_input(e.to_string()))
}

/// Generates the workspace into `store` (which should be empty).
#[expect(
    clippy::too_many_lines,
    reason = "one generator, read top to bottom in the order the data depends on itself"
)]
pub async fn seed(store: &dyn Store, options: &SeedOptions) -> qapms_core::Result<SeedSummary> {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(options.seed),
    };
    let mut summary = SeedSummary::default();
    let now = options.now;
    let days = i64::from(options.days.max(1));
    let first_day = day_of(now) - days + 1;

    // ---- People ---------------------------------------------------------------------------
    let mut qas: Vec<(UserId, usize)> = Vec::new();
    let demo_names = ["ana", "ben", "chen", "dara", "eli", "fay", "gus", "hana"];
    let password = options.demo_users.then(|| DEMO_PASSWORD.to_owned());
    for i in 0..options.qas {
        let project = i % PROJECTS.len();
        let name = if options.demo_users && i < demo_names.len() {
            demo_names[i].to_owned()
        } else {
            format!("qa{:03}", i + 1)
        };
        let pw = if i < demo_names.len() {
            password.clone()
        } else {
            None
        };
        let user = add(store, name, Role::Qa, Some(PROJECTS[project].team), pw).await?;
        qas.push((user.id, project));
    }
    for p in &PROJECTS {
        add(
            store,
            format!("lead-{}", p.team),
            Role::TechLead,
            Some(p.team),
            password.clone(),
        )
        .await?;
    }
    add(
        store,
        "pm".into(),
        Role::Pm,
        Some("payments"),
        password.clone(),
    )
    .await?;
    add(
        store,
        "po".into(),
        Role::Po,
        Some("payments"),
        password.clone(),
    )
    .await?;
    add(
        store,
        "manager".into(),
        Role::QaManager,
        Some("payments"),
        password.clone(),
    )
    .await?;
    if options.demo_users {
        add(
            store,
            DEMO_LOGIN.into(),
            Role::Admin,
            None,
            password.clone(),
        )
        .await?;
    }
    summary.users = store.list_users().await?.len();

    // ---- Tickets and test cases -----------------------------------------------------------
    let per_project = (options.qas / PROJECTS.len()).max(1) * 12 + 20;
    let mut tickets = Vec::new();
    let mut stories: Vec<Vec<IssueKey>> = vec![Vec::new(); PROJECTS.len()];
    let mut cases: Vec<Vec<TestCase>> = vec![Vec::new(); PROJECTS.len()];
    let versions = ["1.4", "1.5", "2.0"];
    for (pi, p) in PROJECTS.iter().enumerate() {
        let epics = 4;
        for n in 1..=per_project {
            let k = key(p.key, n)?;
            let created = day_start(first_day + g.rng.random_range(0..days))
                + Duration::minutes(g.rng.random_range(0..600) + 480);
            let (issue_type, priority) = if n <= epics {
                ("Epic", None)
            } else if n % 3 == 0 {
                (
                    "Bug",
                    Some(*g.pick(&["Highest", "High", "Medium", "Medium", "Low"])),
                )
            } else {
                ("Story", Some("Medium"))
            };
            let age = (now - created).num_days();
            let (status, category) = if age > 20 || g.chance(0.2) {
                ("Done", StatusCategory::Done)
            } else if g.chance(0.6) {
                ("In QA", StatusCategory::InProgress)
            } else {
                ("To Do", StatusCategory::ToDo)
            };
            let feature = FEATURES[n % FEATURES.len()];
            let epic = (issue_type != "Epic").then(|| format!("{}-{}", p.key, 1 + n % epics));
            let mut raw = json!({ "fields": { "created": created.to_rfc3339() } });
            if let Some(e) = &epic {
                raw["fields"]["parent"] = json!({ "key": e });
            }
            tickets.push(Ticket {
                key: k.clone(),
                summary: format!(
                    "{} {feature}: {}",
                    match issue_type {
                        "Epic" => "Epic",
                        "Bug" => "Fix",
                        _ => "Support",
                    },
                    g.pick(&[
                        "edge cases",
                        "new flow",
                        "error handling",
                        "performance",
                        "copy"
                    ])
                ),
                status: status.into(),
                status_category: category,
                issue_type: issue_type.into(),
                priority: priority.map(str::to_owned),
                assignee: None,
                labels: Vec::new(),
                components: vec![p.component.into()],
                fix_versions: vec![versions[n % versions.len()].to_owned()],
                updated: created + Duration::days(age.min(3)),
                url: None,
                raw: raw.into(),
            });
            if issue_type == "Story" {
                stories[pi].push(k);
            }
        }
        for t in 0..40 {
            let feature = FEATURES[t % FEATURES.len()];
            let linked = stories[pi]
                .get(t % stories[pi].len().max(1))
                .cloned()
                .into_iter()
                .collect();
            cases[pi].push(TestCase {
                id: TestId::from_uuid(g.id_at(day_start(first_day))),
                source: TestSource::Junit,
                external_id: format!("{}.api.test_{feature}::test_case_{t}", p.component),
                title: format!("{feature} case {t}"),
                folder_path: Some(format!("{}/api", p.component)),
                tags: Vec::new(),
                ticket_keys: linked,
            });
        }
    }
    store.upsert_tickets(&tickets).await?;
    summary.tickets = tickets.len();
    let all_cases: Vec<TestCase> = cases.iter().flatten().cloned().collect();
    store.upsert_test_cases(&all_cases).await?;
    summary.tests = all_cases.len();

    // ---- Runs -----------------------------------------------------------------------------
    let outage_days: Vec<i64> = (0..4)
        .map(|_| first_day + g.rng.random_range(0..days))
        .collect();
    let runs_per_day = 1 + options.qas / 30;
    let mut latest_run: BTreeMap<usize, RunId> = BTreeMap::new();
    for day in first_day..=day_of(now) {
        for (pi, p) in PROJECTS.iter().enumerate() {
            for r in 0..runs_per_day {
                let started = day_start(day)
                    + Duration::hours(2 + i64::try_from(r).unwrap_or(0) * 6)
                    + Duration::minutes(g.rng.random_range(0..30));
                if started > now {
                    continue;
                }
                let run = TestRun {
                    id: RunId::from_uuid(g.id_at(started)),
                    source: TestSource::Junit,
                    name: format!("{}-nightly", p.component),
                    started_at: started,
                    finished_at: Some(started + Duration::minutes(20)),
                    environment: Some("staging".into()),
                    revision: Some(format!("r{}", day - first_day + 1)),
                    url: None,
                };
                let outage = pi == 1 && outage_days.contains(&day);
                let mut results = Vec::new();
                for (ti, case) in cases[pi].iter().enumerate() {
                    let mut attempt = 1;
                    let flaky = ti % 13 == 5;
                    let defect = pi == 0 && ti == 7 && day > day_of(now) - 10;
                    let fail = outage && g.chance(0.7) || defect || flaky && g.chance(0.3);
                    let duration = g.rng.random_range(80..1500);
                    if fail {
                        let message = if outage {
                            format!(
                                "ConnectionError: could not connect to db-staging:5432 (timeout after 30s)\n  File \"{0}/api/conftest.py\", line 21, in db\n  File \"{0}/db/pool.py\", line 88, in connect",
                                p.component
                            )
                        } else if defect {
                            "AssertionError: expected refund status 'settled' but got 'pending'\n  File \"payments/api/test_refund.py\", line 42, in test_case_7".to_owned()
                        } else {
                            format!(
                                "TimeoutError: element #submit not clickable after 5000 ms\n  File \"{}/api/helpers.py\", line 12, in click",
                                p.component
                            )
                        };
                        results.push(TestResult {
                            run_id: run.id,
                            test_id: case.id,
                            attempt,
                            status: TestStatus::Failed,
                            duration_ms: Some(duration),
                            message: Some(message),
                            trace_fingerprint: None,
                            cluster_id: None,
                        });
                        attempt += 1;
                        if !flaky || outage {
                            continue;
                        }
                    }
                    results.push(TestResult {
                        run_id: run.id,
                        test_id: case.id,
                        attempt,
                        status: TestStatus::Passed,
                        duration_ms: Some(duration),
                        message: None,
                        trace_fingerprint: None,
                        cluster_id: None,
                    });
                }
                summary.results += results.len();
                store.insert_run(&run, &results).await?;
                summary.runs += 1;
                latest_run.insert(pi, run.id);
            }
        }
    }

    // ---- Workflows and time ---------------------------------------------------------------
    let catalog = Catalog::default();
    let template = catalog.resolve("verify_ticket")?;
    let mut pending: Vec<TimeEntry> = Vec::new();
    let mut open_tickets: BTreeMap<usize, Vec<IssueKey>> = BTreeMap::new();
    let extra_per_day = if options.qas > 20 { 16 } else { 3 };
    for day in first_day..=day_of(now) {
        let date = day_start(day);
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            continue;
        }
        for &(qa, pi) in &qas {
            let ticket = g.pick(&stories[pi]).clone();
            let mut at = date + Duration::hours(9) + Duration::minutes(g.rng.random_range(0..60));
            if at > now {
                continue;
            }
            let mut w = instantiate(&template, Some(ticket.clone()), qa, at);
            w.id = WorkflowId::from_uuid(g.id_at(at));
            w.started_at = Some(at);
            let recent = day >= day_of(now) - 1;
            let blocked = recent && g.chance(0.25);
            let mut entries = Vec::new();
            let steps = w.steps.len();
            for i in 0..steps {
                let estimate =
                    i64::try_from(w.steps[i].estimate_secs.unwrap_or(900)).unwrap_or(900);
                let spent = estimate * g.rng.random_range(60..170) / 100;
                let last = i + 1 == steps;
                let step = &mut w.steps[i];
                step.started_at = Some(at);
                if recent && last {
                    step.state = if blocked {
                        StepState::Blocked
                    } else {
                        StepState::Active
                    };
                    if blocked {
                        step.reason = Some("waiting for a build with the fix".into());
                    }
                    break;
                }
                let end = (at + Duration::seconds(spent)).min(now);
                step.state = StepState::Done;
                step.completed_at = Some(end);
                for item in &mut step.checklist {
                    item.done = true;
                    item.done_at = Some(end);
                    item.done_by = Some(qa);
                }
                entries.push(TimeEntry {
                    id: TimeEntryId::from_uuid(g.id_at(at)),
                    user_id: qa,
                    ticket: Some(ticket.clone()),
                    workflow_id: Some(w.id),
                    step: Some(step.name.clone()),
                    started_at: at,
                    ended_at: end,
                    source: TimeSource::Timer,
                    note: None,
                    corrects: None,
                    exported_worklog_id: None,
                    recorded_at: end,
                });
                at = end + Duration::minutes(g.rng.random_range(1..20));
            }
            if recent {
                w.state = WorkflowState::InProgress;
                open_tickets.entry(pi).or_default().push(ticket.clone());
            } else {
                w.state = WorkflowState::Completed;
                w.completed_at = Some(at.min(now));
            }
            w.updated_at = at.min(now);
            summary.time_entries += entries.len();
            store
                .write_workflow(&WorkflowWrite {
                    events: vec![WorkflowEvent {
                        version: 1,
                        actor: qa,
                        at: w.created_at,
                        kind: "created".into(),
                        step: None,
                        from_state: None,
                        to_state: Some(w.state.as_str().into()),
                        detail: json!({ "template": "verify_ticket", "generated": true }),
                    }],
                    workflow: w,
                    expected_version: None,
                    changed_steps: Vec::new(),
                    tracking: TrackingWrite {
                        entries,
                        ..TrackingWrite::default()
                    },
                })
                .await?;
            summary.workflows += 1;
            // Other tracked work: triage, exploratory testing, meetings.
            let mut t = date + Duration::hours(13);
            for _ in 0..extra_per_day {
                let len = Duration::minutes(g.rng.random_range(8..25));
                if t + len > now {
                    break;
                }
                let on_ticket = g.chance(0.7);
                pending.push(TimeEntry {
                    id: TimeEntryId::from_uuid(g.id_at(t)),
                    user_id: qa,
                    ticket: on_ticket.then(|| g.pick(&stories[pi]).clone()),
                    workflow_id: None,
                    step: Some(
                        (*g.pick(&["triage", "exploratory", "meeting", "review"])).to_owned(),
                    ),
                    started_at: t,
                    ended_at: t + len,
                    source: if g.chance(0.8) {
                        TimeSource::Timer
                    } else {
                        TimeSource::Manual
                    },
                    note: None,
                    corrects: None,
                    exported_worklog_id: None,
                    recorded_at: t + len,
                });
                t = t + len + Duration::minutes(g.rng.random_range(0..10));
            }
            if pending.len() >= 5000 {
                summary.time_entries += pending.len();
                store
                    .write_tracking(&TrackingWrite {
                        entries: std::mem::take(&mut pending),
                        ..TrackingWrite::default()
                    })
                    .await?;
            }
        }
    }
    if !pending.is_empty() {
        summary.time_entries += pending.len();
        store
            .write_tracking(&TrackingWrite {
                entries: pending,
                ..TrackingWrite::default()
            })
            .await?;
    }
    for (pi, run) in &latest_run {
        if let Some(keys) = open_tickets.get(pi) {
            store.attach_run_to_active_steps(run, keys).await?;
        }
    }

    // ---- Health checks and patterns -------------------------------------------------------
    for i in 0..60_u64 {
        for (name, healthy, latency) in [
            ("jira", true, 180 + i % 7 * 20),
            ("testmo", i % 20 != 0, 320),
        ] {
            store
                .record_integration_check(&IntegrationCheck {
                    integration: name.to_owned(),
                    checked_at: now - Duration::minutes(60 - i.cast_signed()),
                    healthy,
                    latency_ms: Some(latency),
                    message: (!healthy).then(|| "HTTP 503 from the Testmo API".to_owned()),
                })
                .await?;
        }
    }
    if options.analyze {
        let analysis = analyze(store, &AnalyzeOptions::default()).await?;
        summary.alerts = analysis.raised.len();
    }
    tracing::info!(?summary, seed = options.seed, "generated workspace written");
    Ok(summary)
}

/// The integrations the demo records health checks for.
pub const DEMO_INTEGRATIONS: [&str; 2] = ["jira", "testmo"];
