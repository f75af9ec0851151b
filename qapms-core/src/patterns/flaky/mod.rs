//! Flakiness: a calibrated, explainable score per test from every attempt.
//!
//! # Design
//!
//! A test is *flaky* when the same code in the same environment sometimes passes and sometimes
//! fails. [`FlakinessStats`] keeps a fixed-size summary of a test's attempts (counts, flips,
//! passes on retry, the last 32 outcomes as a bit mask), fed one attempt at a time in the
//! order they ran, so a million stored results are scored in one pass with no allocation.
//!
//! The model treats each run as a Bernoulli trial with an unknown failure rate `p`:
//! - `p` is estimated by `k/n` (failures over runs) with the **Jeffreys 95% interval**, the
//!   2.5% and 97.5% quantiles of the posterior `Beta(k + ½, n − k + ½)` under the Jeffreys
//!   prior. Brown, Cai and Das Gupta (2001) recommend it for small `n`: its coverage stays
//!   close to 95% where the Wald interval collapses. Following them, the lower bound is 0 when
//!   `k = 0` and the upper bound 1 when `k = n`, so a test that never failed is never claimed to
//!   fail a little.
//! - The **flakiness score** is the probability that two independent runs disagree,
//!   `2p(1 − p)`: 0 for a test that always passes *or* always fails (both are deterministic),
//!   0.5 at most. Its interval is the image of the `p` interval under that map.
//!
//! The verdict needs both evidence and confidence:
//! - **flaky**: the test both passed and failed under comparable conditions (same revision and
//!   environment key in a row, or a pass on retry within a run), and it has at least
//!   `min_runs` runs. With at least one pass and one failure the Jeffreys interval excludes
//!   0 and 1; `min_runs` keeps two or three runs, whose interval spans nearly everything,
//!   from being called flaky.
//! - **stable**: every outcome is the same and there are at least `min_runs` runs;
//! - **not enough runs** otherwise.
//!
//! Retries count as runs: each attempt is evidence of the same test's behaviour. Errors count
//! as failures.
//!
//! The [`Preset::Allure`] and [`Preset::TestOps`] rules are also available, so a verdict can
//! be explained in the terms those tools use: Allure's history marks a test flaky when its
//! recent launches (the last 5) hold both a pass and a failure, and TestOps when the status
//! flipped at least 3 times in the last 10 runs.

mod beta;

use self::beta::beta_quantile;

/// How many recent outcomes the presets can look at.
const RECENT: u32 = 32;

/// The outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The test passed.
    Pass,
    /// An assertion failed.
    Fail,
    /// The test could not run to completion (setup error, crash); counted as a failure.
    Error,
}

impl Outcome {
    /// Parses `pass`, `passed`, `fail`, `failed`, `error`, `broken` (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "pass" | "passed" | "ok" | "success" => Some(Self::Pass),
            "fail" | "failed" | "failure" => Some(Self::Fail),
            "error" | "errored" | "broken" => Some(Self::Error),
            _ => None,
        }
    }

    fn failed(self) -> bool {
        !matches!(self, Self::Pass)
    }
}

/// One attempt of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// What happened.
    pub outcome: Outcome,
    /// 0 for the first attempt in a run, 1 for the first retry, and so on.
    pub retry: u32,
    /// An opaque key for the conditions (for example a hash of revision and environment).
    /// Attempts with equal keys in a row are comparable. Use one key for all when unknown.
    pub condition: u64,
}

impl Attempt {
    /// A first attempt under unknown (hence all-equal) conditions.
    pub fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            retry: 0,
            condition: 0,
        }
    }
}

/// Which rule decides the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preset {
    /// The probabilistic rule described in the module documentation (the default).
    #[default]
    Probabilistic,
    /// Flaky when the last 5 runs hold both a pass and a failure.
    Allure,
    /// Flaky when the status flipped at least 3 times in the last 10 runs.
    TestOps,
}

/// Settings of the flakiness verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlakyConfig {
    /// The rule.
    pub preset: Preset,
    /// Fewest runs before a verdict other than "not enough runs".
    pub min_runs: u64,
    /// Confidence of the interval, in `(0, 1)`.
    pub confidence: f64,
}

impl Default for FlakyConfig {
    fn default() -> Self {
        Self {
            preset: Preset::Probabilistic,
            min_runs: 5,
            confidence: 0.95,
        }
    }
}

/// The verdict on one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Passes and fails under the same conditions.
    Flaky,
    /// Always the same outcome (always passing, or always failing: broken, not flaky).
    Stable,
    /// Too few runs to say either.
    NotEnoughRuns,
}

impl Verdict {
    /// `flaky`, `stable` or `not enough runs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flaky => "flaky",
            Self::Stable => "stable",
            Self::NotEnoughRuns => "not enough runs",
        }
    }
}

/// Everything the verdict was based on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessment {
    /// The verdict.
    pub verdict: Verdict,
    /// Runs (attempts) seen.
    pub runs: u64,
    /// Failed or errored attempts.
    pub failures: u64,
    /// Changes of outcome between consecutive attempts.
    pub flips: u64,
    /// Passes that followed a failure within the same run.
    pub passes_on_retry: u64,
    /// `failures / runs` (0 with no runs).
    pub failure_rate: f64,
    /// Jeffreys interval for the failure rate.
    pub failure_interval: (f64, f64),
    /// Probability that two runs disagree, `2p(1 − p)`.
    pub score: f64,
    /// Interval for the score.
    pub score_interval: (f64, f64),
}

/// A fixed-size summary of one test's attempts.
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent evidence flags of one streaming summary, not a state machine"
)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlakinessStats {
    runs: u64,
    failures: u64,
    flips: u64,
    passes_on_retry: u64,
    /// Last outcomes, newest in bit 0 (1 = failed).
    recent: u32,
    recent_len: u32,
    last: Option<(bool, u64)>,
    /// Pass and failure seen in the current stretch of equal conditions.
    stretch_pass: bool,
    stretch_fail: bool,
    /// Both outcomes were seen under comparable conditions at some point.
    mixed: bool,
    /// The current run had a failed attempt.
    run_failed: bool,
    blocks: BlockCounts,
}

impl FlakinessStats {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one attempt (in the order the attempts ran).
    pub fn record(&mut self, attempt: Attempt) {
        let failed = attempt.outcome.failed();
        self.runs = self.runs.saturating_add(1);
        self.failures = self.failures.saturating_add(u64::from(failed));
        if let Some((last_failed, last_condition)) = self.last {
            if last_failed != failed {
                self.flips = self.flips.saturating_add(1);
            }
            if last_condition != attempt.condition {
                self.stretch_pass = false;
                self.stretch_fail = false;
            }
        }
        if attempt.retry == 0 {
            self.run_failed = false;
        } else if !failed && self.run_failed {
            self.passes_on_retry = self.passes_on_retry.saturating_add(1);
            self.mixed = true;
        }
        self.run_failed |= failed;
        self.stretch_pass |= !failed;
        self.stretch_fail |= failed;
        self.mixed |= self.stretch_pass && self.stretch_fail;
        self.blocks.record(failed);
        self.recent = (self.recent << 1) | u32::from(failed);
        self.recent_len = (self.recent_len + 1).min(RECENT);
        self.last = Some((failed, attempt.condition));
    }

    /// Runs seen.
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The verdict and its evidence under `config`.
    pub fn assess(&self, config: &FlakyConfig) -> Assessment {
        let n = self.runs;
        let k = self.failures;
        let confidence = if config.confidence > 0.0 && config.confidence < 1.0 {
            config.confidence
        } else {
            0.95
        };
        let failure_interval =
            inflated_interval(k, n, inflation(k, n, self.flips, &self.blocks), confidence);
        let failure_rate = if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let disagreement = |p: f64| 2.0 * p * (1.0 - p);
        let (lo, hi) = failure_interval;
        // 2p(1 − p) rises on [0, ½] and falls on [½, 1], so the image of [lo, hi] tops out at
        // ½ when the interval straddles ½.
        let score_interval = if hi <= 0.5 {
            (disagreement(lo), disagreement(hi))
        } else if lo >= 0.5 {
            (disagreement(hi), disagreement(lo))
        } else {
            (disagreement(lo).min(disagreement(hi)), 0.5)
        };
        let enough = n >= config.min_runs.max(1);
        let verdict = match config.preset {
            Preset::Probabilistic => {
                if !enough {
                    Verdict::NotEnoughRuns
                } else if self.mixed && lo > 0.0 && hi < 1.0 {
                    Verdict::Flaky
                } else {
                    // One outcome throughout, or both but never under comparable conditions
                    // (a change of code or environment, not flakiness, as far as the evidence
                    // goes).
                    Verdict::Stable
                }
            }
            Preset::Allure => self.window_verdict(5, |mask, len| {
                let fails = (mask & low_bits(len)).count_ones();
                fails > 0 && fails < len
            }),
            Preset::TestOps => self.window_verdict(10, |mask, len| {
                // A flip is a change between consecutive outcomes inside the window.
                let changes = (mask ^ (mask >> 1)) & low_bits(len - 1);
                changes.count_ones() >= 3
            }),
        };
        Assessment {
            verdict,
            runs: n,
            failures: k,
            flips: self.flips,
            passes_on_retry: self.passes_on_retry,
            failure_rate,
            failure_interval,
            score: disagreement(failure_rate),
            score_interval,
        }
    }

    /// A rule over the last `window` outcomes; "not enough runs" until there are that many.
    fn window_verdict(&self, window: u32, flaky: impl Fn(u32, u32) -> bool) -> Verdict {
        if self.recent_len < window {
            Verdict::NotEnoughRuns
        } else if flaky(self.recent, window) {
            Verdict::Flaky
        } else {
            Verdict::Stable
        }
    }
}

/// The variance inflation of a history whose failures come in streaks or bad periods.
///
/// Real rerun histories are not independent trials: failures cluster in bad CI periods, so
/// twenty runs hold less information than twenty coin flips and the plain interval is too
/// narrow. Two signs of that are measured, and the larger one is used:
/// - **streaks**: among `n` outcomes with `k` failures in random order, the expected number of
///   changes between neighbours is `2k(n − k)/n`. Fewer flips estimate the lag-1
///   autocorrelation `ρ = 1 − flips / expected` of a two-state Markov chain, whose mean varies
///   like that of `n (1 − ρ) / (1 + ρ)` independent trials: inflation `(1 + ρ)/(1 − ρ)`.
/// - **changing rate**: the failure counts of consecutive blocks of [`BLOCK`] attempts vary
///   more than a binomial would (a bad period raises one block, not all); the ratio of their
///   observed to binomial variance is the dispersion index.
///
/// The two are multiplied: streaks inside a block and bad periods across blocks are different
/// departures from independence, and on simulated bursty histories (bad periods entered with
/// probability 0.02 per run, left with 0.2) either one alone left coverage at 93–94%. Only
/// inflation above 1 is used: a history more regular than chance is not taken as extra
/// evidence. Both need both outcomes; a constant history is not inflated.
pub fn inflation(k: u64, n: u64, flips: u64, blocks: &BlockCounts) -> f64 {
    let k = k.min(n);
    if k == 0 || k == n || n < 3 {
        return 1.0;
    }
    let (kf, nf) = (k as f64, n as f64);
    let expected = 2.0 * kf * (nf - kf) / nf;
    // At least one flip separates the two outcomes whatever the order.
    let rho = (1.0 - (flips.max(1) as f64) / expected).clamp(0.0, 0.95);
    let streaks = (1.0 + rho) / (1.0 - rho);
    (streaks * blocks.dispersion()).clamp(1.0, 40.0)
}

/// The Jeffreys interval for `k` failures in `n` runs whose variance is `inflation` times the
/// binomial one: the same failure rate at the effective size `n / inflation`.
pub fn inflated_interval(k: u64, n: u64, inflation: f64, confidence: f64) -> (f64, f64) {
    let k = k.min(n);
    if k == 0 || k == n || inflation.is_nan() || inflation <= 1.0 {
        return jeffreys_interval(k, n, confidence);
    }
    let factor = 1.0 / inflation;
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let a = k as f64 * factor + 0.5;
    let b = (n - k) as f64 * factor + 0.5;
    (beta_quantile(tail, a, b), beta_quantile(1.0 - tail, a, b))
}

/// Attempts per block for the dispersion index.
pub const BLOCK: u32 = 5;

/// Failure counts of consecutive blocks of [`BLOCK`] attempts, summarised in O(1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockCounts {
    current: u32,
    filled: u32,
    blocks: u64,
    sum: u64,
    sum_sq: u64,
}

impl BlockCounts {
    /// Adds one attempt.
    pub fn record(&mut self, failed: bool) {
        self.current += u32::from(failed);
        self.filled += 1;
        if self.filled == BLOCK {
            let c = u64::from(self.current);
            self.blocks = self.blocks.saturating_add(1);
            self.sum = self.sum.saturating_add(c);
            self.sum_sq = self.sum_sq.saturating_add(c * c);
            self.current = 0;
            self.filled = 0;
        }
    }

    /// Observed over binomial variance of the complete blocks' failure counts (1 with fewer
    /// than three blocks or a constant history).
    pub fn dispersion(&self) -> f64 {
        if self.blocks < 3 {
            return 1.0;
        }
        let m = self.blocks as f64;
        let b = f64::from(BLOCK);
        let mean = self.sum as f64 / m;
        let p = mean / b;
        if p <= 0.0 || p >= 1.0 {
            return 1.0;
        }
        let var = (self.sum_sq as f64 - m * mean * mean) / (m - 1.0);
        (var / (b * p * (1.0 - p))).max(1.0)
    }
}

/// A mask of the `len` lowest bits.
fn low_bits(len: u32) -> u32 {
    if len >= 32 { u32::MAX } else { (1 << len) - 1 }
}

/// The Jeffreys interval for `k` successes in `n` trials, with the ends recommended by Brown, Cai and Das Gupta:
/// 0 below when `k = 0`, 1 above when `k = n`. With no trials it is `(0, 1)`.
pub fn jeffreys_interval(k: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = k.min(n);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let a = k as f64 + 0.5;
    let b = (n - k) as f64 + 0.5;
    let lo = if k == 0 {
        0.0
    } else {
        beta_quantile(tail, a, b)
    };
    let hi = if k == n {
        1.0
    } else {
        beta_quantile(1.0 - tail, a, b)
    };
    (lo, hi)
}
