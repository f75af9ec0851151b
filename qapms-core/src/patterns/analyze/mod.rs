//! The recompute entry point: clusters, flakiness, classification and alerts from the store.
//!
//! # Design
//!
//! [`analyze`] recomputes everything from every stored result, so its answer never depends on
//! what was analysed before, and re-running it is idempotent (alerts dedup by fingerprint, the
//! same failures give the same cluster ids). It reads the store in three narrow streams:
//! - the runs (a few thousand rows): their order in time and their conditions (environment
//!   and revision), which is what makes two attempts comparable for flakiness;
//! - every attempt's outcome as ids plus one byte ([`OutcomeRow`]), packed into eight bytes per
//!   attempt and grouped per test, then fed in run order to the flakiness scorer;
//! - only the failed attempts with their messages ([`FailedAttempt`]), through a partial
//!   index, into the [`Clusterer`].
//!
//! A million stored results with a few percent of failures are thus held as about 8 MB of
//! packed outcomes and the failures' metadata; messages are mined as they stream and dropped.
//!
//! Then each cluster is classified in the focus run (the latest run unless one is given; a
//! cluster absent from it is classified in its own last run), linked to Jira, and alerts are
//! drafted for new clusters in the focus run, systemic failures, flaky tests and pass-rate
//! anomalies. With `persist`, everything is written in one transaction
//! ([`Store::save_analysis`]); only attempts whose cluster changed are rewritten.

mod records;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

pub use records::{
    AnalysisWrite, Assignment, ClusterRecord, FailedAttempt, OutcomeKind, OutcomeRow, StoredLink,
    StoredPattern,
};

use crate::config::{FlakyPreset, PatternConfig};
use crate::model::{IssueKey, PageRequest, PatternId, RunId, TestId, TicketFilter, utc_now};
use crate::patterns::alerts::{AlertDraft, AlertId, AlertKind, AlertSeverity, RaiseOutcome};
use crate::patterns::anomaly::{AnomalyDetector, DetectorConfig, Seasonality, Severity};
use crate::patterns::classify::{
    Classification, ClassifyConfig, ClusterLabel, ClusterObservation, EVIDENCE_IDS, ExternalSignal,
    classify,
};
use crate::patterns::cluster::{
    ClusterKey, ClusterShape, Clusterer, KnownIssueRule, TicketLink, TicketLinker, TicketSummary,
    TraceOptions,
};
use crate::patterns::flaky::{Attempt, FlakinessStats, FlakyConfig, Outcome, Preset, Verdict};
use crate::patterns::templates::{MinerConfig, TemplateId};
use crate::store::Store;
use crate::{Error, Result};

/// Settings of one analysis.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub miner: MinerConfig,
    pub trace: TraceOptions,
    pub flaky: FlakyConfig,
    pub classify: ClassifyConfig,
    /// Known-issue rules (from `patterns.known_issues`).
    pub known_issues: Vec<KnownIssueRule>,
    /// Least summary similarity for a ticket link, in `(0, 1]`.
    pub link_threshold: f64,
    /// Splunk and Grafana signals for the systemic rule.
    pub signals: Vec<ExternalSignal>,
    /// The run whose clusters are classified and flagged; the latest run when `None`.
    pub focus_run: Option<RunId>,
    /// The window of the windowed failure rate, back from the latest run.
    pub window: Duration,
    /// The pass-rate anomaly detector (one series per run name).
    pub anomaly: DetectorConfig,
    /// Write clusters, assignments, links and alerts to the store.
    pub persist: bool,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            miner: MinerConfig::default(),
            trace: TraceOptions::default(),
            flaky: FlakyConfig::default(),
            classify: ClassifyConfig::default(),
            known_issues: Vec::new(),
            link_threshold: 0.5,
            signals: Vec::new(),
            focus_run: None,
            window: Duration::days(30),
            // Runs, not clock time: a short warm-up and cool-down, no daily profile.
            anomaly: DetectorConfig {
                warmup: 10,
                cooldown: 5,
                seasonality: Seasonality::Off,
                ..DetectorConfig::default()
            },
            persist: true,
        }
    }
}

impl AnalyzeOptions {
    /// Options from the `patterns` section of the config; known-issue rules are compiled here
    /// (the config loader has already checked them and reported any error with its position).
    pub fn from_config(config: &PatternConfig) -> Result<Self> {
        let flaky = FlakyConfig {
            preset: match config.flaky.preset {
                FlakyPreset::Bayesian => Preset::Probabilistic,
                FlakyPreset::Allure => Preset::Allure,
                FlakyPreset::Testops => Preset::TestOps,
            },
            min_runs: u64::from(config.flaky.min_runs),
            confidence: config.flaky.confidence,
        };
        let known_issues = config
            .known_issues
            .iter()
            .map(|k| {
                KnownIssueRule::from_config(&k.issue, k.pattern.as_deref(), k.template.as_deref())
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            flaky,
            known_issues,
            window: Duration::days(i64::from(config.flaky.window_days.max(1))),
            ..Self::default()
        })
    }
}

/// One test's flakiness, from every stored attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestFlakiness {
    pub test_id: TestId,
    pub external_id: String,
    /// `flaky`, `stable` or `not enough runs`.
    pub verdict: &'static str,
    pub runs: u64,
    pub failures: u64,
    pub flips: u64,
    pub passes_on_retry: u64,
    pub failure_rate: f64,
    pub failure_interval: (f64, f64),
    pub score: f64,
    pub score_interval: (f64, f64),
    /// Failure rate of the attempts inside the window (`None` with none there).
    pub window_failure_rate: Option<f64>,
    pub window_runs: u64,
}

/// One failure cluster with where it occurred, its label in the focus run and its Jira link.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    pub id: PatternId,
    #[serde(flatten)]
    pub shape: ClusterShape,
    /// Failed attempts in the cluster.
    pub failures: u64,
    pub tests: u64,
    pub runs: u64,
    pub environments: Vec<String>,
    pub revisions: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub first_run: RunId,
    pub last_run: RunId,
    /// Seen for the first time in the focus run.
    pub new_in_run: bool,
    /// Seen in the focus run.
    pub in_run: bool,
    /// The Jira key of the known-issue rule that matched: the failures are expected.
    pub known_issue: Option<IssueKey>,
    pub link: Option<TicketLink>,
    pub classification: Classification,
    /// Some affected tests (at most 20).
    pub sample_tests: Vec<TestId>,
}

/// A pass-rate anomaly of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunAnomaly {
    pub run_id: RunId,
    /// The run name the series is kept for.
    pub series: String,
    pub started_at: DateTime<Utc>,
    pub pass_rate: f64,
    pub expected: f64,
    pub score: f64,
    pub severity: AlertSeverity,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub runs: u64,
    /// Attempts that ran (skipped and blocked ones are not counted).
    pub attempts: u64,
    pub failures: u64,
    /// Failure messages cut by a size limit.
    pub truncated_messages: u64,
    pub focus_run: Option<RunId>,
    /// Clusters, those in the focus run first, then by failures.
    pub clusters: Vec<ClusterReport>,
    /// Tests with at least one failure or a flaky verdict, most flaky first.
    pub tests: Vec<TestFlakiness>,
    pub anomalies: Vec<RunAnomaly>,
    pub alerts: Vec<AlertDraft>,
    /// What persisting did with each alert (empty without `persist`).
    pub raised: Vec<(AlertId, RaiseOutcome)>,
    /// Attempts whose cluster assignment changed and was written.
    pub reassigned: u64,
}

struct RunMeta {
    id: RunId,
    name: String,
    started_at: DateTime<Utc>,
    environment: Option<String>,
    revision: Option<String>,
    condition: u64,
}

struct FailureMeta {
    run: u32,
    test: u32,
    attempt: u32,
    passed_later: bool,
    old_cluster: Option<PatternId>,
    old_fingerprint: Option<String>,
}

/// The group a test belongs to for "unrelated tests": its class or module.
fn test_group(external_id: &str) -> &str {
    if let Some((group, _)) = external_id.rsplit_once("::") {
        return group;
    }
    external_id
        .rsplit_once(['.', '/', '#'])
        .map_or(external_id, |(g, _)| g)
}

/// Interns tests as small indexes.
#[derive(Default)]
struct Tests {
    index: HashMap<TestId, u32>,
    ids: Vec<TestId>,
    external: Vec<String>,
    groups: Vec<u32>,
    group_index: HashMap<String, u32>,
}

impl Tests {
    fn intern(&mut self, id: TestId, external: &str) -> u32 {
        if let Some(i) = self.index.get(&id) {
            return *i;
        }
        let i = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        let group = test_group(external).to_owned();
        let next = u32::try_from(self.group_index.len()).unwrap_or(u32::MAX);
        let g = *self.group_index.entry(group).or_insert(next);
        self.index.insert(id, i);
        self.ids.push(id);
        self.external.push(external.to_owned());
        self.groups.push(g);
        i
    }

    fn get_or_add(&mut self, id: TestId) -> u32 {
        match self.index.get(&id) {
            Some(i) => *i,
            None => self.intern(id, &id.to_string()),
        }
    }
}

/// Outcome codes in the packed form.
const PASS: u64 = 0;
const FAIL: u64 = 1;
const ERROR: u64 = 2;

/// `run << 24 | attempt << 8 | outcome`: sorting the packed values sorts by run order, then
/// attempt.
fn pack(run: u32, attempt: u32, outcome: u64) -> u64 {
    (u64::from(run) << 24) | (u64::from(attempt.min(0xFFFF)) << 8) | outcome
}

fn unpack(v: u64) -> (u32, u32, u64) {
    let run = u32::try_from(v >> 24).unwrap_or(u32::MAX);
    let attempt = u32::try_from((v >> 8) & 0xFFFF).unwrap_or(0);
    (run, attempt, v & 0xFF)
}

/// The condition key of a run (its environment and revision): attempts with equal keys in a row
/// are comparable for flakiness. Public so a front-end that scores one test from its own
/// results (the language server's hover) gets the same verdict as the full analysis.
pub fn condition_of(environment: Option<&str>, revision: Option<&str>) -> u64 {
    let text = format!(
        "{}\u{1f}{}",
        environment.unwrap_or_default(),
        revision.unwrap_or_default()
    );
    TemplateId::of(&text).as_u64()
}

/// Recomputes clusters, flakiness, labels and alerts over every stored result; see the module
/// documentation. With `options.persist`, writes them in one transaction.
///
/// ```no_run
/// # async fn demo() -> qapms_core::Result<()> {
/// use qapms_core::patterns::analyze::{AnalyzeOptions, analyze};
///
/// let store = qapms_core::store::open("sqlite:///tmp/qapms.db").await?;
/// let analysis = analyze(store.as_ref(), &AnalyzeOptions::default()).await?;
/// for cluster in &analysis.clusters {
///     tracing::info!(
///         id = %cluster.shape.key,
///         label = cluster.classification.label.as_str(),
///         failures = cluster.failures,
///         "{}", cluster.shape.template
///     );
/// }
/// # Ok(())
/// # }
/// ```
#[expect(
    clippy::too_many_lines,
    reason = "the steps of one recompute in order; each step is a call or a short loop"
)]
pub async fn analyze(store: &dyn Store, options: &AnalyzeOptions) -> Result<Analysis> {
    // Runs in time order, with their comparability key.
    let mut runs: Vec<RunMeta> = store
        .list_runs(u32::MAX)
        .await?
        .into_iter()
        .map(|r| RunMeta {
            condition: condition_of(r.environment.as_deref(), r.revision.as_deref()),
            id: r.id,
            name: r.name,
            started_at: r.started_at,
            environment: r.environment,
            revision: r.revision,
        })
        .collect();
    runs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    let run_index: HashMap<RunId, u32> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let focus: Option<u32> = match options.focus_run {
        Some(id) => Some(*run_index.get(&id).ok_or_else(|| {
            Error::not_found("no such run to analyse").with_context("run", id.to_string())
        })?),
        None => runs
            .len()
            .checked_sub(1)
            .and_then(|i| u32::try_from(i).ok()),
    };

    let mut tests = Tests::default();
    for (id, external) in store.test_external_ids().await? {
        tests.intern(id, &external);
    }

    // Outcomes, packed per test, and per-run pass counts.
    let mut outcomes: Vec<Vec<u64>> = vec![Vec::new(); tests.ids.len()];
    let mut run_totals: Vec<(u64, u64)> = vec![(0, 0); runs.len()];
    let attempts = {
        let mut visit = |row: OutcomeRow| {
            let Some(&run) = run_index.get(&row.run_id) else {
                return;
            };
            let test = tests.get_or_add(row.test_id) as usize;
            if test >= outcomes.len() {
                outcomes.resize(test + 1, Vec::new());
            }
            let code = match row.outcome {
                OutcomeKind::Pass => PASS,
                OutcomeKind::Fail => FAIL,
                OutcomeKind::Error => ERROR,
            };
            outcomes[test].push(pack(run, row.attempt, code));
            if let Some(t) = run_totals.get_mut(run as usize) {
                t.0 += 1;
                t.1 += u64::from(code == PASS);
            }
        };
        store.scan_outcomes(&mut visit).await?
    };

    // Flakiness per test.
    let window_start = runs
        .last()
        .map_or_else(utc_now, |r| r.started_at - options.window);
    let mut flakiness: Vec<Option<TestFlakiness>> = Vec::with_capacity(outcomes.len());
    for (test, packed) in outcomes.iter_mut().enumerate() {
        if packed.is_empty() {
            flakiness.push(None);
            continue;
        }
        packed.sort_unstable();
        let mut stats = FlakinessStats::new();
        let (mut window_runs, mut window_failures) = (0u64, 0u64);
        for &v in packed.iter() {
            let (run, attempt, code) = unpack(v);
            let Some(meta) = runs.get(run as usize) else {
                continue;
            };
            let outcome = match code {
                PASS => Outcome::Pass,
                FAIL => Outcome::Fail,
                _ => Outcome::Error,
            };
            stats.record(Attempt {
                outcome,
                retry: attempt.saturating_sub(1),
                condition: meta.condition,
            });
            if meta.started_at >= window_start {
                window_runs += 1;
                window_failures += u64::from(code != PASS);
            }
        }
        let a = stats.assess(&options.flaky);
        flakiness.push(Some(TestFlakiness {
            test_id: tests.ids[test],
            external_id: tests.external[test].clone(),
            verdict: a.verdict.as_str(),
            runs: a.runs,
            failures: a.failures,
            flips: a.flips,
            passes_on_retry: a.passes_on_retry,
            failure_rate: a.failure_rate,
            failure_interval: a.failure_interval,
            score: a.score,
            score_interval: a.score_interval,
            window_failure_rate: (window_runs > 0)
                .then(|| window_failures as f64 / window_runs as f64),
            window_runs,
        }));
    }
    drop(outcomes);
    let is_flaky = |test: u32| {
        flakiness
            .get(test as usize)
            .and_then(Option::as_ref)
            .is_some_and(|f| f.verdict == Verdict::Flaky.as_str())
    };

    // Failures into clusters.
    let mut clusterer = Clusterer::new(options.miner.clone(), options.trace.clone());
    let mut failures: Vec<FailureMeta> = Vec::new();
    {
        let mut visit = |f: FailedAttempt| {
            let Some(&run) = run_index.get(&f.run_id) else {
                return Ok(());
            };
            let test = tests.get_or_add(f.test_id);
            clusterer.add(&f.message);
            failures.push(FailureMeta {
                run,
                test,
                attempt: f.attempt,
                passed_later: f.passed_later,
                old_cluster: f.cluster_id,
                old_fingerprint: f.trace_fingerprint,
            });
            Ok(())
        };
        store.scan_failed_attempts(&mut visit).await?;
    }
    let truncated_messages = clusterer.truncated();
    let (keys, shapes) = clusterer.finish();

    // Occurrences per cluster: (run, test, passed later).
    let mut occurrences: HashMap<ClusterKey, Vec<(u32, u32, bool)>> = HashMap::new();
    let mut assignments = Vec::new();
    for (failure, key) in failures.iter().zip(&keys) {
        occurrences.entry(*key).or_default().push((
            failure.run,
            failure.test,
            failure.passed_later,
        ));
        let id = key.pattern_id();
        let fingerprint = shapes
            .get(key)
            .and_then(|s| s.stack_fingerprint)
            .map(|f| f.to_string());
        if failure.old_cluster != Some(id) || failure.old_fingerprint != fingerprint {
            assignments.push(Assignment {
                run_id: runs[failure.run as usize].id,
                test_id: tests.ids[failure.test as usize],
                attempt: failure.attempt,
                cluster_id: Some(id),
                trace_fingerprint: fingerprint,
            });
        }
    }

    let linker = TicketLinker::new(
        options.known_issues.clone(),
        &cached_tickets(store).await?,
        options.link_threshold,
    );

    let mut clusters: Vec<ClusterReport> = Vec::with_capacity(shapes.len());
    for (key, shape) in shapes {
        let Some(occ) = occurrences.get_mut(&key) else {
            continue;
        };
        occ.sort_unstable();
        let (first, last) = (occ[0].0, occ[occ.len() - 1].0);
        let label_run = match focus {
            Some(f) if occ.iter().any(|o| o.0 == f) => f,
            _ => last,
        };
        let observation = observe(occ, label_run, &runs, &tests, &is_flaky, options);
        let classification = classify(observation, &options.signals, &options.classify);
        let distinct_tests: HashSet<u32> = occ.iter().map(|o| o.1).collect();
        let distinct_runs: HashSet<u32> = occ.iter().map(|o| o.0).collect();
        let mut environments: Vec<String> = distinct_runs
            .iter()
            .filter_map(|r| runs[*r as usize].environment.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        environments.sort();
        let revisions = distinct_runs
            .iter()
            .filter_map(|r| runs[*r as usize].revision.as_deref())
            .collect::<HashSet<_>>()
            .len() as u64;
        let mut sample: Vec<u32> = distinct_tests.iter().copied().collect();
        sample.sort_unstable();
        let known_issue = linker.known_issue(&shape).cloned();
        let link = linker.link(&shape);
        clusters.push(ClusterReport {
            id: key.pattern_id(),
            failures: occ.len() as u64,
            tests: distinct_tests.len() as u64,
            runs: distinct_runs.len() as u64,
            environments,
            revisions,
            first_seen: runs[first as usize].started_at,
            last_seen: runs[last as usize].started_at,
            first_run: runs[first as usize].id,
            last_run: runs[last as usize].id,
            new_in_run: focus == Some(first),
            in_run: focus.is_some_and(|f| distinct_runs.contains(&f)),
            known_issue,
            link,
            classification,
            sample_tests: sample
                .into_iter()
                .take(EVIDENCE_IDS)
                .map(|t| tests.ids[t as usize])
                .collect(),
            shape,
        });
    }
    clusters.sort_by(|a, b| {
        b.in_run
            .cmp(&a.in_run)
            .then(b.failures.cmp(&a.failures))
            .then(a.shape.key.cmp(&b.shape.key))
    });

    let anomalies = pass_rate_anomalies(&runs, &run_totals, &options.anomaly);

    let mut report_tests: Vec<TestFlakiness> = flakiness
        .into_iter()
        .flatten()
        .filter(|t| t.failures > 0 || t.verdict == Verdict::Flaky.as_str())
        .collect();
    report_tests.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.external_id.cmp(&b.external_id))
    });

    let focus_meta = focus.and_then(|f| runs.get(f as usize));
    let alerts = draft_alerts(&clusters, &report_tests, &anomalies, focus_meta);

    let mut analysis = Analysis {
        runs: runs.len() as u64,
        attempts,
        failures: failures.len() as u64,
        truncated_messages,
        focus_run: focus_meta.map(|r| r.id),
        clusters,
        tests: report_tests,
        anomalies,
        alerts,
        raised: Vec::new(),
        reassigned: 0,
    };
    if options.persist {
        let write = AnalysisWrite {
            clusters: analysis.clusters.iter().map(cluster_record).collect(),
            links: analysis
                .clusters
                .iter()
                .filter_map(|c| c.link.clone().map(|l| (c.id, l)))
                .collect(),
            alerts: analysis.alerts.clone(),
            assignments,
        };
        analysis.reassigned = write.assignments.len() as u64;
        analysis.raised = store.save_analysis(&write).await?;
    }
    tracing::info!(
        runs = analysis.runs,
        attempts = analysis.attempts,
        failures = analysis.failures,
        clusters = analysis.clusters.len(),
        reassigned = analysis.reassigned,
        "patterns analysed"
    );
    Ok(analysis)
}

/// What the classifier needs about one cluster in run `at`.
fn observe(
    occ: &[(u32, u32, bool)],
    at: u32,
    runs: &[RunMeta],
    tests: &Tests,
    is_flaky: &dyn Fn(u32) -> bool,
    options: &AnalyzeOptions,
) -> ClusterObservation {
    let run = &runs[at as usize];
    let window = options.classify.window;
    let mut in_run: HashSet<u32> = HashSet::new();
    let mut in_window: HashSet<u32> = HashSet::new();
    let mut runs_seen: HashSet<u32> = HashSet::new();
    let mut passed_on_retry = 0;
    for &(r, t, passed_later) in occ {
        let meta = &runs[r as usize];
        if r == at {
            in_run.insert(t);
            passed_on_retry += u64::from(passed_later);
        }
        if (meta.started_at - run.started_at).abs() <= window {
            in_window.insert(t);
        }
        if r <= at {
            runs_seen.insert(r);
        }
    }
    let groups = |set: &HashSet<u32>| {
        set.iter()
            .map(|t| tests.groups[*t as usize])
            .collect::<HashSet<_>>()
            .len()
    };
    let revisions_seen = runs_seen
        .iter()
        .filter_map(|r| runs[*r as usize].revision.as_deref())
        .collect::<HashSet<_>>()
        .len() as u64;
    let mut test_ids: Vec<u32> = in_run.iter().copied().collect();
    test_ids.sort_unstable();
    let mut run_ids: Vec<u32> = runs_seen.iter().copied().collect();
    run_ids.sort_unstable_by(|a, b| b.cmp(a));
    ClusterObservation {
        run: Some(run.id),
        run_started: Some(run.started_at),
        tests_in_run: in_run.len(),
        groups_in_run: groups(&in_run),
        tests_in_window: in_window.len(),
        groups_in_window: groups(&in_window),
        runs_seen: runs_seen.len() as u64,
        revisions_seen,
        passed_on_retry,
        flaky_tests: in_run.iter().filter(|t| is_flaky(**t)).count(),
        test_ids: test_ids
            .into_iter()
            .take(EVIDENCE_IDS)
            .map(|t| tests.ids[t as usize])
            .collect(),
        run_ids: run_ids
            .into_iter()
            .take(EVIDENCE_IDS)
            .map(|r| runs[r as usize].id)
            .collect(),
    }
}

/// Every cached ticket's key, summary and marker text, a page at a time.
async fn cached_tickets(store: &dyn Store) -> Result<Vec<TicketSummary>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let filter = TicketFilter {
            page: PageRequest::new(page, PageRequest::MAX_PAGE_SIZE),
            ..TicketFilter::default()
        };
        let got = store.list_tickets(&filter).await?;
        out.extend(got.items.iter().map(TicketSummary::from));
        if u64::from(page) >= got.total_pages() || got.items.is_empty() {
            return Ok(out);
        }
        page += 1;
    }
}

fn alert_severity(s: Severity) -> AlertSeverity {
    match s {
        Severity::Critical => AlertSeverity::Critical,
        Severity::High => AlertSeverity::High,
        Severity::Medium => AlertSeverity::Medium,
        _ => AlertSeverity::Low,
    }
}

/// One detector per run name over the runs' pass rates, in run order.
fn pass_rate_anomalies(
    runs: &[RunMeta],
    totals: &[(u64, u64)],
    config: &DetectorConfig,
) -> Vec<RunAnomaly> {
    let mut detectors: HashMap<&str, AnomalyDetector> = HashMap::new();
    let mut out = Vec::new();
    for (run, &(total, passed)) in runs.iter().zip(totals) {
        if total == 0 {
            continue;
        }
        let rate = passed as f64 / total as f64;
        let detector = detectors
            .entry(run.name.as_str())
            .or_insert_with(|| AnomalyDetector::new(*config));
        let score = detector.update_at(run.started_at, rate);
        if score.is_anomaly
            && let Some(severity) = score.severity
        {
            out.push(RunAnomaly {
                run_id: run.id,
                series: run.name.clone(),
                started_at: run.started_at,
                pass_rate: rate,
                expected: score.expected,
                score: score.score,
                severity: alert_severity(severity),
            });
        }
    }
    out
}

fn label_severity(label: ClusterLabel) -> AlertSeverity {
    match label {
        ClusterLabel::Systemic => AlertSeverity::High,
        ClusterLabel::RecurringDefect => AlertSeverity::Medium,
        ClusterLabel::Flaky => AlertSeverity::Low,
        ClusterLabel::OneOff => AlertSeverity::Info,
    }
}

fn title_of(text: &str) -> String {
    crate::patterns::cluster::trace::clip(text, 200).to_owned()
}

/// Alerts for the focus run: new clusters (not known issues), systemic clusters, flaky tests
/// and pass-rate anomalies of the focus run. Each is stamped with the focus run's start, so a
/// re-run over the same data is not a new occurrence.
fn draft_alerts(
    clusters: &[ClusterReport],
    tests: &[TestFlakiness],
    anomalies: &[RunAnomaly],
    focus: Option<&RunMeta>,
) -> Vec<AlertDraft> {
    let Some(focus) = focus else {
        return Vec::new();
    };
    let at = focus.started_at;
    let mut out = Vec::new();
    for c in clusters.iter().filter(|c| c.in_run) {
        let evidence = json!({
            "cluster": c.shape.key,
            "template": c.shape.template,
            "exception": c.shape.exception,
            "run": focus.id,
            "label": c.classification.label,
            "reason": c.classification.reason,
            "evidence": c.classification.evidence,
            "signals": c.classification.signals,
        });
        if c.new_in_run && c.known_issue.is_none() {
            out.push(AlertDraft {
                kind: AlertKind::NewCluster,
                fingerprint: c.shape.key.to_string(),
                pattern_id: Some(c.id),
                title: title_of(&format!("New failure: {}", c.shape.template)),
                severity: label_severity(c.classification.label).max(AlertSeverity::Low),
                seen_at: at,
                evidence: evidence.clone(),
            });
        }
        if c.classification.label == ClusterLabel::Systemic {
            out.push(AlertDraft {
                kind: AlertKind::SystemicFailure,
                fingerprint: c.shape.key.to_string(),
                pattern_id: Some(c.id),
                title: title_of(&format!(
                    "Systemic failure ({} tests): {}",
                    c.classification.evidence.tests_in_run, c.shape.template
                )),
                severity: AlertSeverity::High,
                seen_at: at,
                evidence,
            });
        }
    }
    for t in tests
        .iter()
        .filter(|t| t.verdict == Verdict::Flaky.as_str())
    {
        out.push(AlertDraft {
            kind: AlertKind::FlakyTest,
            fingerprint: t.test_id.to_string(),
            pattern_id: None,
            title: title_of(&format!(
                "Flaky test {} (score {:.2})",
                t.external_id, t.score
            )),
            severity: if t.score >= 0.3 {
                AlertSeverity::Medium
            } else {
                AlertSeverity::Low
            },
            seen_at: at,
            evidence: serde_json::to_value(t).unwrap_or_default(),
        });
    }
    for a in anomalies.iter().filter(|a| a.run_id == focus.id) {
        out.push(AlertDraft {
            kind: AlertKind::Anomaly,
            fingerprint: format!("pass_rate:{}", a.series),
            pattern_id: None,
            title: title_of(&format!(
                "Pass rate of {} is {:.0}% (expected about {:.0}%)",
                a.series,
                a.pass_rate * 100.0,
                a.expected * 100.0
            )),
            severity: a.severity,
            seen_at: at,
            evidence: serde_json::to_value(a).unwrap_or_default(),
        });
    }
    out
}

fn cluster_record(c: &ClusterReport) -> ClusterRecord {
    ClusterRecord {
        id: c.id,
        fingerprint: c.shape.key.to_string(),
        title: title_of(&c.shape.template),
        severity: label_severity(c.classification.label).as_str().to_owned(),
        occurrences: c.failures,
        first_seen: c.first_seen,
        last_seen: c.last_seen,
        evidence: serde_json::to_value(c).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_orders_by_run_then_attempt() {
        let mut v = [pack(2, 1, FAIL), pack(1, 2, PASS), pack(1, 1, ERROR)];
        v.sort_unstable();
        assert_eq!(unpack(v[0]), (1, 1, ERROR));
        assert_eq!(unpack(v[1]), (1, 2, PASS));
        assert_eq!(unpack(v[2]), (2, 1, FAIL));
        assert_eq!(unpack(pack(7, 1 << 20, PASS)).1, 0xFFFF);
    }

    #[test]
    fn groups_are_classes_or_modules() {
        assert_eq!(
            test_group("tests/test_a.py::TestX::test_y"),
            "tests/test_a.py::TestX"
        );
        assert_eq!(
            test_group("com.acme.OrderTest::places"),
            "com.acme.OrderTest"
        );
        assert_eq!(
            test_group("com.acme.OrderTest.places"),
            "com.acme.OrderTest"
        );
        assert_eq!(test_group("standalone"), "standalone");
    }
}
