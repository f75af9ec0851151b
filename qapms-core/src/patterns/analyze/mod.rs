//! The recompute entry point: clusters, flakiness, classification and alerts from the store.
//!
//! # Design
//!
//! [`analyze`] recomputes everything from every stored result, so its answer never depends on
//! what was analysed before, and re-running it is idempotent (alerts dedup by fingerprint, the
//! same failures give the same cluster ids). It reads the store in three narrow streams:
//! - the runs (a few thousand rows): their order in time and their conditions (environment
//!   and revision), which is what makes two attempts comparable for flakiness;
//! - one [`TestHistory`] per test, aggregated in the database (each attempt's run, number,
//!   outcome and duration), so a million results cross the driver as ten thousand rows; each
//!   test is scored for flakiness and its duration series checked as soon as its row arrives,
//!   and the row is dropped;
//! - only the failed attempts with their messages ([`FailedAttempt`]), through a partial
//!   index, into the [`Clusterer`].
//!
//! Then each cluster is classified in the focus run (the latest run unless one is given; a
//! cluster absent from it is classified in its own last run), linked to Jira, and alerts are
//! drafted for new clusters in the focus run, systemic failures, flaky tests, pass-rate
//! anomalies per run name and duration anomalies per test. With `persist`, everything is
//! written in one transaction ([`Store::save_analysis`]); only attempts whose cluster changed
//! are rewritten. When the focus run is the latest one and `auto_resolve` is on, open alerts
//! whose condition has cleared are resolved in the same transaction, with the reason noted in
//! their evidence (see [`ClearedAlert`]).

mod records;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

pub use records::{
    AnalysisWrite, Assignment, ClearedAlert, ClusterRecord, FailedAttempt, HistoryAttempt,
    OutcomeKind, StoredLink, StoredPattern, TestHistory,
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
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches of the analysis, each set from its own config key"
)]
pub struct AnalyzeOptions {
    pub miner: MinerConfig,
    pub trace: TraceOptions,
    pub flaky: FlakyConfig,
    pub classify: ClassifyConfig,
    /// Known-issue rules (from `patterns.known_issues`).
    pub known_issues: Vec<KnownIssueRule>,
    /// Least summary similarity for a ticket link, in `(0, 1]`.
    pub link_threshold: f64,
    /// Splunk and Grafana signals for the systemic rule, besides the stored ones.
    pub signals: Vec<ExternalSignal>,
    /// Also use the signals the sync stored (Grafana annotations of trouble) around the runs.
    pub stored_signals: bool,
    /// The run whose clusters are classified and flagged; the latest run when `None`.
    pub focus_run: Option<RunId>,
    /// The window of the windowed failure rate, back from the latest run.
    pub window: Duration,
    /// The pass-rate (one series per run name) and duration (one per test) detectors.
    pub anomaly: DetectorConfig,
    /// Detect pass-rate and duration anomalies at all (`patterns.anomaly.enabled`).
    pub detect_anomalies: bool,
    /// Write clusters, assignments, links and alerts to the store.
    pub persist: bool,
    /// When persisting an analysis of the latest run, resolve open alerts whose condition has
    /// cleared (see [`Analysis::cleared`]).
    pub auto_resolve: bool,
    /// Runs without the cluster after which a new-cluster or systemic alert clears.
    pub resolve_after_runs: u32,
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
            stored_signals: true,
            focus_run: None,
            window: Duration::days(30),
            // Runs, not clock time: a short warm-up and cool-down, no daily profile.
            anomaly: DetectorConfig {
                warmup: 10,
                cooldown: 5,
                seasonality: Seasonality::Off,
                ..DetectorConfig::default()
            },
            detect_anomalies: true,
            persist: true,
            auto_resolve: true,
            resolve_after_runs: 5,
        }
    }
}

impl AnalyzeOptions {
    /// Options from the `patterns` section of the config; known-issue rules are compiled here
    /// (the config loader has already checked them and reported any error with its position).
    pub fn from_config(config: &PatternConfig) -> Result<Self> {
        let defaults = Self::default();
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
        let templates = &config.templates;
        let miner = MinerConfig {
            // The config counts the tree as Drain does (root and length level included).
            depth: (templates.max_depth as usize).saturating_sub(2),
            similarity: templates.similarity.clamp(0.0, 1.0),
            max_clusters: (templates.max_clusters as usize).max(1),
            ..defaults.miner.clone()
        };
        let anomaly = DetectorConfig {
            threshold: config.anomaly.threshold,
            warmup: u64::from(config.anomaly.min_points),
            ..defaults.anomaly
        };
        Ok(Self {
            miner,
            flaky,
            known_issues,
            anomaly,
            detect_anomalies: config.anomaly.enabled,
            auto_resolve: config.alerts.auto_resolve,
            resolve_after_runs: config.alerts.resolve_after_runs.max(1),
            window: Duration::days(i64::from(config.flaky.window_days.max(1))),
            ..defaults
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
    /// Pass-rate anomalies of runs, in run order.
    pub anomalies: Vec<RunAnomaly>,
    /// Tests whose duration in the focus run is anomalous for their own history.
    pub duration_anomalies: Vec<DurationAnomaly>,
    pub alerts: Vec<AlertDraft>,
    /// Open alerts resolved because their condition cleared (only when persisting with
    /// `auto_resolve` an analysis of the latest run).
    pub cleared: Vec<ClearedAlert>,
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

/// Signals stored at most this many per analysis; more would not change a label.
const STORED_SIGNALS: u32 = 10_000;

/// The given signals plus the stored ones within the classify window of any run.
async fn signals_for(
    store: &dyn Store,
    runs: &[RunMeta],
    options: &AnalyzeOptions,
) -> Result<Vec<ExternalSignal>> {
    let mut signals = options.signals.clone();
    if !options.stored_signals {
        return Ok(signals);
    }
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return Ok(signals);
    };
    let window = options.classify.window;
    signals.extend(
        store
            .external_signals(
                first.started_at - window,
                last.started_at + window,
                STORED_SIGNALS,
            )
            .await?,
    );
    Ok(signals)
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

    let signals = signals_for(store, &runs, options).await?;

    let mut tests = Tests::default();
    for (id, external) in store.test_external_ids().await? {
        tests.intern(id, &external);
    }

    // Per test (one aggregated row each): flakiness, the duration series and per-run pass
    // counts. Only one test's attempts are held at a time.
    let window_start = runs
        .last()
        .map_or_else(utc_now, |r| r.started_at - options.window);
    let mut flakiness: Vec<Option<TestFlakiness>> = vec![None; tests.ids.len()];
    let mut run_totals: Vec<(u64, u64)> = vec![(0, 0); runs.len()];
    // Without anomaly detection the duration series has no run to judge.
    let mut durations =
        DurationSeries::new(options.anomaly, focus.filter(|_| options.detect_anomalies));
    let attempts = {
        let mut packed: Vec<(u64, Option<u64>)> = Vec::new();
        let mut visit = |history: TestHistory| {
            packed.clear();
            for a in &history.attempts {
                let Some(&run) = run_index.get(&a.run_id) else {
                    continue;
                };
                let code = match a.outcome {
                    OutcomeKind::Pass => PASS,
                    OutcomeKind::Fail => FAIL,
                    OutcomeKind::Error => ERROR,
                };
                packed.push((pack(run, a.attempt, code), a.duration_ms));
                if let Some(t) = run_totals.get_mut(run as usize) {
                    t.0 += 1;
                    t.1 += u64::from(code == PASS);
                }
            }
            if packed.is_empty() {
                return Ok(());
            }
            packed.sort_unstable_by_key(|p| p.0);
            let test = tests.get_or_add(history.test_id);
            if test as usize >= flakiness.len() {
                flakiness.resize(test as usize + 1, None);
            }
            flakiness[test as usize] = Some(score_test(
                &packed,
                &runs,
                window_start,
                &options.flaky,
                tests.ids[test as usize],
                &tests.external[test as usize],
            ));
            durations.add_test(test, tests.ids[test as usize], &packed, &runs);
            Ok(())
        };
        store.scan_test_histories(&mut visit).await?
    };
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
        let classification = classify(observation, &signals, &options.classify);
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

    let (anomalies, anomalous_series) = if options.detect_anomalies {
        pass_rate_anomalies(&runs, &run_totals, &options.anomaly)
    } else {
        (Vec::new(), HashSet::new())
    };
    let still_slow: HashSet<TestId> = durations
        .still_anomalous
        .iter()
        .map(|t| tests.ids[*t as usize])
        .collect();
    let duration_anomalies: Vec<DurationAnomaly> =
        durations.anomalies.into_iter().map(|(_, a)| a).collect();

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
    let mut alerts = draft_alerts(&clusters, &report_tests, &anomalies, focus_meta);
    alerts.extend(duration_alerts(&duration_anomalies, &tests, focus_meta));

    // Clearing only makes sense for the current picture, not for a look at an older run.
    let latest = runs
        .len()
        .checked_sub(1)
        .and_then(|i| u32::try_from(i).ok());
    let cleared = if options.persist && options.auto_resolve && focus.is_some() && focus == latest {
        let active = ActiveConditions {
            alerts: &alerts,
            clusters: &clusters,
            run_index: &run_index,
            latest: latest.unwrap_or(0),
            resolve_after_runs: options.resolve_after_runs.max(1),
            anomalous_series: &anomalous_series,
            still_slow: &still_slow,
        };
        let open = store.open_alert_keys(ANALYSIS_KINDS).await?;
        open.into_iter()
            .filter_map(|(id, kind, fingerprint)| {
                active
                    .clear_reason(kind, &fingerprint)
                    .map(|reason| ClearedAlert {
                        id,
                        kind,
                        fingerprint,
                        reason,
                    })
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut analysis = Analysis {
        runs: runs.len() as u64,
        attempts,
        failures: failures.len() as u64,
        truncated_messages,
        focus_run: focus_meta.map(|r| r.id),
        clusters,
        tests: report_tests,
        anomalies,
        duration_anomalies,
        alerts,
        cleared,
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
            cleared: analysis.cleared.clone(),
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

/// One test's flakiness from its packed attempts, sorted in run order.
fn score_test(
    packed: &[(u64, Option<u64>)],
    runs: &[RunMeta],
    window_start: DateTime<Utc>,
    config: &FlakyConfig,
    test_id: TestId,
    external_id: &str,
) -> TestFlakiness {
    let mut stats = FlakinessStats::new();
    let (mut window_runs, mut window_failures) = (0u64, 0u64);
    for &(v, _) in packed {
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
    let a = stats.assess(config);
    TestFlakiness {
        test_id,
        external_id: external_id.to_owned(),
        verdict: a.verdict.as_str(),
        runs: a.runs,
        failures: a.failures,
        flips: a.flips,
        passes_on_retry: a.passes_on_retry,
        failure_rate: a.failure_rate,
        failure_interval: a.failure_interval,
        score: a.score,
        score_interval: a.score_interval,
        window_failure_rate: (window_runs > 0).then(|| window_failures as f64 / window_runs as f64),
        window_runs,
    }
}

/// A duration anomaly of one test in the focus run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DurationAnomaly {
    pub test_id: TestId,
    pub run_id: RunId,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub expected_ms: f64,
    pub score: f64,
    pub severity: AlertSeverity,
}

/// Test duration series: one detector per test, fed the first attempt of each run in run
/// order (retries are often cut short or slowed by the failure, which is not what "this test
/// got slower" means). Only the focus run's point can raise an anomaly; the series before it
/// is its history. Tests are visited one at a time, so one detector's state is alive at once.
struct DurationSeries {
    config: DetectorConfig,
    focus: Option<u32>,
    anomalies: Vec<(u32, DurationAnomaly)>,
    /// Tests whose focus-run duration still scores at or above the threshold.
    still_anomalous: HashSet<u32>,
}

impl DurationSeries {
    fn new(config: DetectorConfig, focus: Option<u32>) -> Self {
        Self {
            config,
            focus,
            anomalies: Vec::new(),
            still_anomalous: HashSet::new(),
        }
    }

    fn add_test(
        &mut self,
        test: u32,
        test_id: TestId,
        packed: &[(u64, Option<u64>)],
        runs: &[RunMeta],
    ) {
        let Some(focus) = self.focus else {
            return;
        };
        let mut detector: Option<AnomalyDetector> = None;
        for &(v, duration) in packed {
            let (run, attempt, _) = unpack(v);
            if run > focus {
                break;
            }
            let (Some(ms), 1) = (duration, attempt) else {
                continue;
            };
            let Some(meta) = runs.get(run as usize) else {
                continue;
            };
            let detector = detector.get_or_insert_with(|| AnomalyDetector::new(self.config));
            let score = detector.update_at(meta.started_at, ms as f64);
            if run != focus {
                continue;
            }
            if score.score >= self.config.threshold && detector.points() > self.config.warmup {
                self.still_anomalous.insert(test);
            }
            if score.is_anomaly
                && let Some(severity) = score.severity
            {
                self.anomalies.push((
                    test,
                    DurationAnomaly {
                        test_id,
                        run_id: meta.id,
                        started_at: meta.started_at,
                        duration_ms: ms,
                        expected_ms: score.expected,
                        score: score.score,
                        severity: alert_severity(severity),
                    },
                ));
            }
        }
    }
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

/// One detector per run name over the runs' pass rates, in run order. Also returns the
/// series whose latest point still scores at or above the threshold (cool-down aside).
fn pass_rate_anomalies(
    runs: &[RunMeta],
    totals: &[(u64, u64)],
    config: &DetectorConfig,
) -> (Vec<RunAnomaly>, HashSet<String>) {
    let mut detectors: HashMap<&str, (AnomalyDetector, bool)> = HashMap::new();
    let mut out = Vec::new();
    for (run, &(total, passed)) in runs.iter().zip(totals) {
        if total == 0 {
            continue;
        }
        let rate = passed as f64 / total as f64;
        let (detector, latest_high) = detectors
            .entry(run.name.as_str())
            .or_insert_with(|| (AnomalyDetector::new(*config), false));
        let score = detector.update_at(run.started_at, rate);
        *latest_high = score.score >= config.threshold && detector.points() > config.warmup;
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
    let high = detectors
        .into_iter()
        .filter(|(_, (_, high))| *high)
        .map(|(name, _)| name.to_owned())
        .collect();
    (out, high)
}

/// Alert kinds the analysis raises and may clear (the server's `integration_down` is not one).
const ANALYSIS_KINDS: &[AlertKind] = &[
    AlertKind::NewCluster,
    AlertKind::SystemicFailure,
    AlertKind::FlakyTest,
    AlertKind::Anomaly,
];

/// What is still true in the latest run, to decide which open alerts have cleared.
struct ActiveConditions<'a> {
    alerts: &'a [AlertDraft],
    clusters: &'a [ClusterReport],
    run_index: &'a HashMap<RunId, u32>,
    latest: u32,
    resolve_after_runs: u32,
    anomalous_series: &'a HashSet<String>,
    still_slow: &'a HashSet<TestId>,
}

impl ActiveConditions<'_> {
    /// `None` while the alert's condition holds, else why it cleared:
    /// - a new-cluster or systemic alert, once its cluster has not failed for
    ///   `resolve_after_runs` runs (or no longer exists);
    /// - a flaky-test alert, once the test's verdict is no longer flaky;
    /// - an anomaly, once the series' latest point scores below the threshold.
    fn clear_reason(&self, kind: AlertKind, fingerprint: &str) -> Option<String> {
        if self
            .alerts
            .iter()
            .any(|a| a.kind == kind && a.fingerprint == fingerprint)
        {
            return None;
        }
        match kind {
            AlertKind::NewCluster | AlertKind::SystemicFailure => {
                let Some(cluster) = self
                    .clusters
                    .iter()
                    .find(|c| c.shape.key.to_string() == fingerprint)
                else {
                    return Some("the cluster has no failures any more".to_owned());
                };
                let last = self.run_index.get(&cluster.last_run).copied().unwrap_or(0);
                let quiet = self.latest.saturating_sub(last);
                if kind == AlertKind::SystemicFailure && quiet >= 1 {
                    return Some(format!(
                        "not systemic in the latest run; last failed in run {}",
                        cluster.last_run
                    ));
                }
                (quiet >= self.resolve_after_runs).then(|| {
                    format!(
                        "no failure in the last {quiet} runs (last in run {})",
                        cluster.last_run
                    )
                })
            }
            AlertKind::FlakyTest => Some("the test is no longer flaky by its history".to_owned()),
            AlertKind::Anomaly => {
                let still = if let Some(series) = fingerprint.strip_prefix("pass_rate:") {
                    self.anomalous_series.contains(series)
                } else if let Some(test) = fingerprint.strip_prefix("duration:") {
                    test.parse::<TestId>()
                        .is_ok_and(|t| self.still_slow.contains(&t))
                } else {
                    // Raised by someone else (a log or metric series); not ours to judge.
                    true
                };
                (!still).then(|| "the latest point is back within the expected range".to_owned())
            }
            AlertKind::IntegrationDown => None,
        }
    }
}

/// Duration alerts for the focus run.
fn duration_alerts(
    anomalies: &[DurationAnomaly],
    tests: &Tests,
    focus: Option<&RunMeta>,
) -> Vec<AlertDraft> {
    let Some(focus) = focus else {
        return Vec::new();
    };
    anomalies
        .iter()
        .filter(|a| a.run_id == focus.id)
        .map(|a| {
            let name = tests.index.get(&a.test_id).map_or_else(
                || a.test_id.to_string(),
                |i| tests.external[*i as usize].clone(),
            );
            AlertDraft {
                kind: AlertKind::Anomaly,
                fingerprint: format!("duration:{}", a.test_id),
                pattern_id: None,
                title: title_of(&format!(
                    "Duration of {name} is {} ms (expected about {:.0} ms)",
                    a.duration_ms, a.expected_ms
                )),
                severity: a.severity,
                seen_at: focus.started_at,
                evidence: serde_json::to_value(a).unwrap_or_default(),
            }
        })
        .collect()
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

    #[test]
    fn config_defaults_are_the_analysis_defaults() {
        let from = AnalyzeOptions::from_config(&PatternConfig::default()).unwrap();
        let default = AnalyzeOptions::default();
        assert_eq!(from.miner, default.miner);
        assert_eq!(from.anomaly, default.anomaly);
        assert!(from.detect_anomalies);
    }

    #[test]
    fn templates_and_anomaly_sections_are_applied() {
        let mut config = PatternConfig::default();
        config.templates.max_clusters = 500;
        config.templates.similarity = 0.7;
        config.templates.max_depth = 6;
        config.anomaly.threshold = 0.6;
        config.anomaly.min_points = 30;
        config.anomaly.enabled = false;
        let options = AnalyzeOptions::from_config(&config).unwrap();
        assert_eq!(options.miner.max_clusters, 500);
        assert!((options.miner.similarity - 0.7).abs() < f64::EPSILON);
        assert_eq!(options.miner.depth, 4);
        assert!((options.anomaly.threshold - 0.6).abs() < f64::EPSILON);
        assert_eq!(options.anomaly.warmup, 30);
        assert!(!options.detect_anomalies);
    }
}
