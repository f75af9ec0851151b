//! Streaming anomaly detection over one time series (test durations, suite pass rates,
//! error-template rates, Grafana metrics).
//!
//! # Design
//!
//! One [`AnomalyDetector`] per series, fed point by point. Its state is a fixed-size struct
//! (about 4 KiB, no allocation after construction), so a detector costs the same whether it has
//! seen ten points or ten million, and an update is a few dozen floating-point operations.
//!
//! Each point goes through three stages:
//!
//! 1. **Prediction.** Two forecasters run side by side and the one with the lower recent error
//!    is used, which is how seasonality is detected without knowing the period in advance:
//!    - a *flat* model, an exponentially weighted level (good for random walks and noise);
//!    - a *seasonal* model in the Holt-Winters style: a slow level, plus a daily profile with
//!      one slot per 5 minutes of the clock (288 slots), plus a weekly correction with one slot
//!      per hour of the week (168 slots). The slots are addressed by the timestamp itself, so
//!      irregular, unsorted or duplicate timestamps need no special case: each point simply
//!      lands in its slot of the day and of the week.
//!
//!    Updates use the residual clipped to a few scales, so one spike does not drag the baseline
//!    with it, while a lasting level shift is still absorbed within tens of points.
//! 2. **Normalisation.** The residual is divided by the model's mean absolute error (an EWMA).
//!    Mean absolute error is used rather than a standard deviation because it is robust to the
//!    occasional huge outlier and because for Laplace-distributed noise `P(|r| > z·MAE) =
//!    exp(-z)`, a conservative (heavy-tailed) tail for noise of unknown shape.
//! 3. **Scoring.** Two tail probabilities are combined:
//!    - *spike*: `exp(-z)` for the point itself, but never below the long-run rate of
//!      deviations beyond 6 scales: spikes that recur (a nightly job, a load balancer) are part
//!      of the series' normal behaviour, and one that happens every 300 points is a 1-in-300
//!      event however large it is;
//!    - *shift*: a short EWMA of `z` compared with the long-run mean and variance of that same
//!      short EWMA (the idea of Numenta's "anomaly likelihood"): a change in level, noise or
//!      shape raises many moderate residuals at once even when no single point is extreme.
//!      The spread is measured on the average itself rather than derived from single
//!      residuals, because residuals are correlated in time and the textbook `σ²·α/(2−α)`
//!      would make every slow drift look significant. Its tail is approximated by a Gaussian.
//!
//!    The smaller probability (times 2, a Bonferroni correction for taking the minimum) becomes
//!    a score in `[0, 1]` on a log scale: `score = −log10(p) / 12`, so 0.5 means `p = 10⁻⁶`
//!    and the default threshold 0.45 means `p ≈ 4·10⁻⁶`.
//!
//! A point is an anomaly when its score reaches the threshold, after the warm-up
//! ("probationary") period and outside the cool-down after the previous alert: one incident
//! should page once, not once per point.
//!
//! Values that are NaN or infinite are reported as skipped and leave the state untouched.

mod tail;

use chrono::{DateTime, Utc};

use self::tail::gaussian_upper_tail;

/// Slots of the daily profile: one per 5 minutes of the clock.
const DAY_SLOTS: usize = 288;
/// Slots of the weekly correction: one per hour of the week.
const WEEK_SLOTS: usize = 168;
const SECONDS_PER_DAY: i64 = 86_400;
const SECONDS_PER_WEEK: i64 = 7 * SECONDS_PER_DAY;

/// Weight of a new point in the flat model's level.
const FLAT_ALPHA: f64 = 0.1;
/// Weight of a new point in the seasonal model's level: slow, so the daily swing stays in the
/// profile and does not leak into the level.
const SEASONAL_LEVEL_ALPHA: f64 = 0.02;
/// Weight of a new point in its daily slot. Each slot sees one point per day, so it must learn
/// from a handful of days.
const DAY_GAMMA: f64 = 0.3;
/// Weight of a new point in its weekly slot (one visit per hour-slot per week).
const WEEK_GAMMA: f64 = 0.1;
/// Weight of a new absolute residual in the error scales (a span of about 100 points).
const ERR_BETA: f64 = 0.01;
/// Weight of a new squared residual in the errors that choose between the models.
const SELECT_BETA: f64 = 0.003;
/// Residuals are clipped to this many scales before they update a model.
const CLIP: f64 = 4.0;
/// The seasonal model is used once its error is this fraction of the flat model's or less;
/// the margin keeps noise from flipping the choice back and forth.
const SEASONAL_ADVANTAGE: f64 = 0.8;
/// Weight of a new normalised residual in the short average used for shift detection.
const SHORT_ALPHA: f64 = 0.1;
/// Weight of a new normalised residual in its long-run mean and variance.
const LONG_ALPHA: f64 = 0.005;
/// Normalised residuals are capped here before entering the averages.
const Z_CAP: f64 = 20.0;
/// A deviation beyond this many scales counts as a spike for the spike rate.
const SPIKE_Z: f64 = 6.0;
/// Weight of a new point in the spike rate (a memory of a few thousand points).
const SPIKE_RATE_ALPHA: f64 = 0.0005;
/// Points before the scales are trusted enough to clip updates and compute scores.
const MIN_POINTS: u64 = 20;
/// `score = -log10(p) / SCORE_DECADES`.
const SCORE_DECADES: f64 = 12.0;

/// Whether the detector may use a daily/weekly profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Seasonality {
    /// Use the seasonal model when it predicts better than the flat one (the default).
    #[default]
    Auto,
    /// Never use the seasonal model (for series without a clock, e.g. indexed by run number).
    Off,
}

/// Settings of an [`AnomalyDetector`]. One configuration serves every series; nothing here is
/// meant to be tuned per series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Points at the start during which no anomaly is reported (the probationary period).
    pub warmup: u64,
    /// Score at or above which a point is an anomaly, in `(0, 1]`.
    pub threshold: f64,
    /// Points after an anomaly during which no new one is reported.
    pub cooldown: u64,
    /// Whether a daily/weekly profile may be used.
    pub seasonality: Seasonality,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            warmup: 150,
            // p ≤ 4·10⁻⁶. Chosen once on NAB's development series and used for every series.
            threshold: 0.45,
            cooldown: 100,
            seasonality: Seasonality::Auto,
        }
    }
}

/// How serious an anomaly is, from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Just over the threshold.
    Low,
    /// Score ≥ 0.6 (`p ≤ 10⁻⁷·²`).
    Medium,
    /// Score ≥ 0.8 (`p ≤ 10⁻⁹·⁶`).
    High,
    /// Score ≥ 0.95 (`p ≤ 10⁻¹¹·⁴`).
    Critical,
}

impl Severity {
    fn from_score(score: f64) -> Self {
        if score >= 0.95 {
            Self::Critical
        } else if score >= 0.8 {
            Self::High
        } else if score >= 0.6 {
            Self::Medium
        } else {
            Self::Low
        }
    }
}

/// The verdict on one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Anomaly score in `[0, 1]`; 0 for skipped points.
    pub score: f64,
    /// Whether this point is reported as an anomaly (threshold, warm-up and cool-down applied).
    pub is_anomaly: bool,
    /// Set when `is_anomaly` is.
    pub severity: Option<Severity>,
    /// The value the detector predicted for this point.
    pub expected: f64,
    /// `|value − expected|` in units of the model's mean absolute error.
    pub deviation: f64,
    /// Whether the seasonal model made the prediction.
    pub seasonal: bool,
    /// The value was NaN or infinite and was ignored.
    pub skipped: bool,
}

/// A streaming detector for one series. See the module documentation for the method.
#[derive(Debug, Clone)]
pub struct AnomalyDetector {
    config: DetectorConfig,
    /// Valid points seen.
    seen: u64,
    /// Points since the last reported anomaly (`u64::MAX` when there was none).
    since_alert: u64,
    flat_level: f64,
    flat_err: f64,
    flat_sq: f64,
    seasonal_level: f64,
    seasonal_err: f64,
    seasonal_sq: f64,
    day: [f64; DAY_SLOTS],
    day_seen: [bool; DAY_SLOTS],
    week: [f64; WEEK_SLOTS],
    /// EWMA of `|value|`, for a floor on the scale of noiseless series.
    magnitude: f64,
    short_z: f64,
    long_z_mean: f64,
    long_z_var: f64,
    /// Long-run fraction of points deviating by more than `SPIKE_Z`.
    spike_rate: f64,
}

impl AnomalyDetector {
    /// A detector with the given settings. A threshold outside `(0, 1]` (or NaN) is replaced by
    /// the default so that a bad setting cannot silence or flood the detector.
    pub fn new(mut config: DetectorConfig) -> Self {
        if !(config.threshold > 0.0 && config.threshold <= 1.0) {
            config.threshold = DetectorConfig::default().threshold;
        }
        Self {
            config,
            seen: 0,
            since_alert: u64::MAX,
            flat_level: 0.0,
            flat_err: 0.0,
            flat_sq: 0.0,
            seasonal_level: 0.0,
            seasonal_err: 0.0,
            seasonal_sq: 0.0,
            day: [0.0; DAY_SLOTS],
            day_seen: [false; DAY_SLOTS],
            week: [0.0; WEEK_SLOTS],
            magnitude: 0.0,
            short_z: 0.0,
            long_z_mean: 0.0,
            long_z_var: 0.0,
            spike_rate: 0.0,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Valid points seen so far.
    pub fn points(&self) -> u64 {
        self.seen
    }

    /// Scores a point given as a UTC time.
    pub fn update_at(&mut self, timestamp: DateTime<Utc>, value: f64) -> Score {
        self.update(timestamp.timestamp(), value)
    }

    /// Scores a point at `timestamp` (seconds since the Unix epoch, UTC) and learns from it.
    pub fn update(&mut self, timestamp: i64, value: f64) -> Score {
        if !value.is_finite() {
            return Score {
                score: 0.0,
                is_anomaly: false,
                severity: None,
                expected: self.prediction(timestamp).0,
                deviation: 0.0,
                seasonal: false,
                skipped: true,
            };
        }
        if self.seen == 0 {
            self.flat_level = value;
            self.seasonal_level = value;
            self.magnitude = value.abs();
        }
        self.seen += 1;
        self.since_alert = self.since_alert.saturating_add(1);

        let (day_slot, week_slot) = slots(timestamp);
        let seasonal_pred = if self.day_seen[day_slot] {
            self.seasonal_level + self.day[day_slot] + self.week[week_slot]
        } else {
            self.seasonal_level + self.week[week_slot]
        };
        let flat_pred = self.flat_level;
        let use_seasonal = self.seasonal_preferred();
        let (expected, err) = if use_seasonal {
            (seasonal_pred, self.seasonal_err)
        } else {
            (flat_pred, self.flat_err)
        };

        // Noiseless series have an error scale of (almost) zero; the floor keeps rounding error
        // from looking like an infinite deviation.
        let floor = 1e-4 * self.magnitude + 1e-9;
        let scale = err.max(floor);
        let deviation = (value - expected).abs() / scale;

        let score = if self.seen > MIN_POINTS {
            self.score(deviation.min(Z_CAP))
        } else {
            0.0
        };
        self.learn(
            value,
            deviation,
            flat_pred,
            seasonal_pred,
            day_slot,
            week_slot,
        );

        let is_anomaly = score >= self.config.threshold
            && self.seen > self.config.warmup
            && self.since_alert > self.config.cooldown;
        if is_anomaly {
            self.since_alert = 0;
        }
        Score {
            score,
            is_anomaly,
            severity: is_anomaly.then(|| Severity::from_score(score)),
            expected,
            deviation,
            seasonal: use_seasonal,
            skipped: false,
        }
    }

    fn seasonal_preferred(&self) -> bool {
        self.config.seasonality == Seasonality::Auto
            && self.seen > MIN_POINTS
            && self.seasonal_sq <= SEASONAL_ADVANTAGE * self.flat_sq
    }

    /// The expected value at `timestamp` without learning, and whether it is seasonal.
    fn prediction(&self, timestamp: i64) -> (f64, bool) {
        if self.seasonal_preferred() {
            let (d, w) = slots(timestamp);
            let day = if self.day_seen[d] { self.day[d] } else { 0.0 };
            (self.seasonal_level + day + self.week[w], true)
        } else {
            (self.flat_level, false)
        }
    }

    /// Combines the spike and shift tail probabilities of a capped deviation into a score.
    fn score(&self, z: f64) -> f64 {
        // A deviation this large is only as surprising as such deviations have been lately:
        // spikes that recur (a nightly job, a load balancer) stop being news.
        let p_spike = (-z).exp().max(self.spike_rate);
        // The short average as it will be after this point, against the long-run statistics
        // learned before it.
        let short = self.short_z + SHORT_ALPHA * (z - self.short_z);
        let p_shift = if self.long_z_var > 0.0 {
            gaussian_upper_tail((short - self.long_z_mean) / self.long_z_var.sqrt())
        } else {
            1.0
        };
        let p = (2.0 * p_spike.min(p_shift)).min(1.0);
        if p.is_nan() {
            return 0.0;
        }
        if p <= 0.0 {
            return 1.0;
        }
        (-p.log10() / SCORE_DECADES).clamp(0.0, 1.0)
    }

    fn learn(
        &mut self,
        value: f64,
        deviation: f64,
        flat_pred: f64,
        seasonal_pred: f64,
        day_slot: usize,
        week_slot: usize,
    ) {
        let warm = self.seen > MIN_POINTS;
        // An EWMA started at zero is biased low for its first 1/α points (an error scale that
        // starts near zero makes every early residual look huge). Using weight max(α, 1/n)
        // makes it the plain running mean until it has seen 1/α points.
        let n = self.seen as f64;
        let warm_n = self.seen.saturating_sub(MIN_POINTS) as f64;
        let err_beta = ERR_BETA.max(1.0 / n);
        let select_beta = SELECT_BETA.max(1.0 / n);
        let long_alpha = LONG_ALPHA.max(1.0 / warm_n.max(1.0));
        let spike_alpha = SPIKE_RATE_ALPHA.max(1.0 / warm_n.max(1.0));
        let clip = |r: f64, err: f64| {
            if warm && err > 0.0 {
                r.clamp(-CLIP * err, CLIP * err)
            } else {
                r
            }
        };

        let raw_flat = value - flat_pred;
        let raw_seasonal = value - seasonal_pred;
        let flat_r = clip(raw_flat, self.flat_err);
        self.flat_err += err_beta * (flat_r.abs() - self.flat_err);
        self.flat_level += FLAT_ALPHA * flat_r;

        let seasonal_r = clip(raw_seasonal, self.seasonal_err);
        // Model choice compares unclipped squared errors over a long span: a model that misses
        // a sharp daily edge every day pays for it here even if its typical error is small.
        self.flat_sq += select_beta * (raw_flat * raw_flat - self.flat_sq);
        if self.day_seen[day_slot] {
            self.seasonal_sq += select_beta * (raw_seasonal * raw_seasonal - self.seasonal_sq);
            // Holt-Winters split of the residual: most goes to this slot of the day, a little to
            // the level, a little to the hour of the week.
            self.seasonal_err += err_beta * (seasonal_r.abs() - self.seasonal_err);
            self.day[day_slot] += DAY_GAMMA * seasonal_r;
            self.seasonal_level += SEASONAL_LEVEL_ALPHA * seasonal_r;
            self.week[week_slot] += WEEK_GAMMA * seasonal_r;
        } else {
            // First visit to this slot: it starts at the current offset from the level. The
            // error is charged with the flat residual, since a profile that has not seen a full
            // day has not earned a lower error yet.
            self.day[day_slot] = value - self.seasonal_level - self.week[week_slot];
            self.day_seen[day_slot] = true;
            self.seasonal_err += err_beta * (flat_r.abs() - self.seasonal_err);
            self.seasonal_sq += select_beta * (raw_flat * raw_flat - self.seasonal_sq);
        }

        self.magnitude += err_beta * (value.abs() - self.magnitude);

        let z = deviation.min(Z_CAP);
        if warm {
            let spike = if z > SPIKE_Z { 1.0 } else { 0.0 };
            self.spike_rate += spike_alpha * (spike - self.spike_rate);
            self.short_z += SHORT_ALPHA * (z - self.short_z);
            // Long-run mean and variance of the short average itself, by the incremental
            // EWMA recurrence (West 1979). Measuring the average's own spread, rather than
            // deriving it from the spread of single residuals, accounts for residuals that are
            // correlated in time, which would otherwise make every slow drift look significant.
            let diff = self.short_z - self.long_z_mean;
            let incr = long_alpha * diff;
            self.long_z_mean += incr;
            self.long_z_var = (1.0 - long_alpha) * (self.long_z_var + diff * incr);
        } else {
            self.short_z = z;
            self.long_z_mean = z;
        }
    }
}

/// The daily (5-minute) and weekly (hourly) slot of a timestamp. `rem_euclid` keeps negative
/// timestamps (before 1970) in range.
fn slots(timestamp: i64) -> (usize, usize) {
    let day_slot = (timestamp.rem_euclid(SECONDS_PER_DAY) / 300) as usize;
    let week_slot = (timestamp.rem_euclid(SECONDS_PER_WEEK) / 3600) as usize;
    (day_slot.min(DAY_SLOTS - 1), week_slot.min(WEEK_SLOTS - 1))
}
