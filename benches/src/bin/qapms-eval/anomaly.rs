//! `qapms-eval anomaly`: the NAB score of [`AnomalyDetector`] over a directory in NAB layout.
//!
//! The scorer follows the rules published with the Numenta Anomaly Benchmark (Lavin & Ahmad
//! 2015; Ahmad et al. 2017):
//! - the first 15% of each file (at most 750 rows) is probationary and not scored;
//! - every row at or above the threshold is a detection;
//! - inside a labelled window only the best detection counts, and it earns
//!   `A_TP · σ(y) / σ(−1)` where `y = −(right − i + 1) / width` is its relative position
//!   (−1 at the left edge, ≈0 at the right edge) and `σ(y) = 2/(1 + e^{5y}) − 1` is the scaled
//!   sigmoid, so an early detection is worth about `A_TP` and a late one almost nothing;
//! - a window with no detection costs `A_FN`;
//! - a detection outside every window costs `A_FP · σ(y)` (σ is negative there), with
//!   `y = |i − right_prev| / (width_prev − 1)` measured from the preceding window, or the full
//!   penalty (`σ(3)` = −1) when no window precedes it, so detections just after a window are
//!   forgiven in part;
//! - the corpus score is normalised per profile: `100 · (raw − null) / (perfect − null)`,
//!   where the null detector never fires and the perfect one fires at each window's start.
//!
//! Detections come from one fixed configuration and the detector's own threshold: unlike NAB's
//! optimiser, nothing is swept per corpus or per profile. The only thing taken from each file is
//! its length, to align the detector's warm-up with NAB's probationary period as NAB does for
//! every detector it runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use chrono::NaiveDateTime;
use qapms_core::patterns::anomaly::{AnomalyDetector, DetectorConfig};
use serde_json::Value;

/// NAB's probationary fraction and the row count its cap is computed from.
const PROBATION_FRACTION: f64 = 0.15;
const PROBATION_CAP_ROWS: f64 = 5000.0;

/// The weights of one NAB profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Weights {
    pub(crate) tp: f64,
    pub(crate) fp: f64,
    pub(crate) fn_: f64,
}

/// The score of one series under one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SeriesScore {
    pub(crate) raw: f64,
    pub(crate) null: f64,
    pub(crate) perfect: f64,
    pub(crate) tp: usize,
    pub(crate) fp: usize,
    pub(crate) fn_: usize,
}

/// NAB's scaled sigmoid: +0.987 at the left edge of a window (−1), 0 at the right edge, and
/// −1 from three window-widths past it.
fn scaled_sigmoid(y: f64) -> f64 {
    if y >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// Rows in the probationary period of a file with `rows` rows.
pub(crate) fn probation_rows(rows: usize) -> usize {
    let pct = (PROBATION_FRACTION * rows as f64).floor();
    pct.min(PROBATION_FRACTION * PROBATION_CAP_ROWS) as usize
}

/// Scores one series. `windows` are inclusive row-index ranges, sorted and disjoint;
/// `detections[i]` says whether row `i` is a detection.
pub(crate) fn score_series(
    windows: &[(usize, usize)],
    detections: &[bool],
    weights: Weights,
) -> SeriesScore {
    let rows = detections.len();
    let probation = probation_rows(rows);
    let max_tp = scaled_sigmoid(-1.0);
    let mut out = SeriesScore::default();
    // Best credit of each window; `None` for windows with no scorable row.
    let mut window_best: Vec<Option<f64>> = vec![None; windows.len()];
    let mut window_perfect: Vec<Option<f64>> = vec![None; windows.len()];
    let mut next = 0;
    let mut current: Option<usize> = None;
    let mut previous: Option<usize> = None;
    for (i, &detected) in detections.iter().enumerate() {
        if current.is_none() && next < windows.len() && windows[next].0 == i {
            current = Some(next);
            next += 1;
        }
        let scorable = i >= probation;
        if let Some(w) = current {
            let (left, right) = windows[w];
            let width = (right - left + 1) as f64;
            let y = -((right as f64) - (i as f64) + 1.0) / width;
            let credit = scaled_sigmoid(y) * weights.tp / max_tp;
            if scorable {
                let missed = -weights.fn_;
                let best = window_best[w].get_or_insert(missed);
                if detected && credit > *best {
                    *best = credit;
                }
                // The perfect detector fires on the first scorable row of the window.
                window_perfect[w].get_or_insert(credit);
            }
            if i == right {
                previous = Some(w);
                current = None;
            }
        } else if scorable && detected {
            let y = match previous {
                None => 3.0,
                Some(w) => {
                    let (left, right) = windows[w];
                    let width = (right - left + 1) as f64;
                    // A one-row window has no width to scale by; treat it as width 2.
                    (i - right) as f64 / (width - 1.0).max(1.0)
                }
            };
            out.raw += scaled_sigmoid(y) * weights.fp;
            out.fp += 1;
        }
    }
    for (best, perfect) in window_best.iter().zip(&window_perfect) {
        if let (Some(best), Some(perfect)) = (best, perfect) {
            out.raw += best;
            out.null -= weights.fn_;
            out.perfect += perfect;
            if *best > -weights.fn_ {
                out.tp += 1;
            } else {
                out.fn_ += 1;
            }
        }
    }
    out
}

/// `100 · (raw − null) / (perfect − null)` over a corpus; 0 when it has no scorable window.
pub(crate) fn normalised(scores: &[SeriesScore]) -> f64 {
    let raw: f64 = scores.iter().map(|s| s.raw).sum();
    let null: f64 = scores.iter().map(|s| s.null).sum();
    let perfect: f64 = scores.iter().map(|s| s.perfect).sum();
    if perfect - null <= 0.0 {
        return 0.0;
    }
    100.0 * (raw - null) / (perfect - null)
}

/// One series read from a NAB data file.
struct Series {
    /// `category/name.csv`, the key used by the label files.
    key: String,
    /// The original timestamp and value text of each row, echoed into the results file.
    rows: Vec<(String, String)>,
    timestamps: Vec<i64>,
    values: Vec<f64>,
}

fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .map(|t| t.and_utc().timestamp())
        .map_err(|e| format!("bad timestamp {text:?}: {e}"))
}

fn read_series(path: &Path, key: String) -> Result<Series, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut series = Series {
        key,
        rows: Vec::new(),
        timestamps: Vec::new(),
        values: Vec::new(),
    };
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let (ts, value) = line
            .split_once(',')
            .ok_or_else(|| format!("{}:{}: expected timestamp,value", path.display(), n + 1))?;
        let at = parse_timestamp(ts).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        // An unparsable value becomes NaN, which the detector skips.
        let v = value.trim().parse::<f64>().unwrap_or(f64::NAN);
        series.rows.push((ts.to_owned(), value.trim().to_owned()));
        series.timestamps.push(at);
        series.values.push(v);
    }
    Ok(series)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_profiles(path: &Path) -> Result<Vec<(String, Weights)>, String> {
    let json = read_json(path)?;
    let mut out = Vec::new();
    for name in ["standard", "reward_low_FP_rate", "reward_low_FN_rate"] {
        let matrix = &json[name]["CostMatrix"];
        let get = |field: &str| {
            matrix[field]
                .as_f64()
                .ok_or_else(|| format!("{}: {name}.CostMatrix.{field} missing", path.display()))
        };
        out.push((
            name.to_owned(),
            Weights {
                tp: get("tpWeight")?,
                fp: get("fpWeight")?,
                fn_: get("fnWeight")?,
            },
        ));
    }
    Ok(out)
}

/// Window limits as row ranges: the first row at or after the start to the last row at or
/// before the end (NAB's windows match rows exactly; this also tolerates ones that do not).
fn window_rows(windows: &Value, series: &Series) -> Result<Vec<(usize, usize)>, String> {
    let mut out = Vec::new();
    for window in windows.as_array().into_iter().flatten() {
        let bound = |k: usize| {
            window[k]
                .as_str()
                .ok_or_else(|| format!("{}: malformed window {window}", series.key))
                .and_then(parse_timestamp)
        };
        let (start, end) = (bound(0)?, bound(1)?);
        let left = series.timestamps.iter().position(|&t| t >= start);
        let right = series.timestamps.iter().rposition(|&t| t <= end);
        if let (Some(left), Some(right)) = (left, right)
            && left <= right
        {
            out.push((left, right));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The fixed configuration every series is scored with.
pub(crate) fn detector_config(rows: usize) -> DetectorConfig {
    DetectorConfig {
        warmup: probation_rows(rows) as u64,
        ..DetectorConfig::default()
    }
}

/// Runs the detector over a series: the score of each row and whether it is a detection.
pub(crate) fn detect(timestamps: &[i64], values: &[f64]) -> (Vec<f64>, Vec<bool>) {
    let mut detector = AnomalyDetector::new(detector_config(values.len()));
    timestamps
        .iter()
        .zip(values)
        .map(|(&t, &v)| {
            let s = detector.update(t, v);
            (s.score, s.is_anomaly)
        })
        .unzip()
}

fn list_series(data: &Path) -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut out = Vec::new();
    let categories = fs::read_dir(data).map_err(|e| format!("{}: {e}", data.display()))?;
    for category in categories.flatten() {
        let Ok(files) = fs::read_dir(category.path()) else {
            continue;
        };
        for file in files.flatten() {
            let path = file.path();
            if path.extension().is_some_and(|e| e == "csv") {
                let key = format!(
                    "{}/{}",
                    category.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                );
                out.push((key, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

pub(crate) fn run(dataset: &Path, predictions: Option<&Path>) -> Result<(), String> {
    let profiles = read_profiles(&dataset.join("config/profiles.json"))?;
    let labels = read_json(&dataset.join("labels/combined_windows.json"))?;
    let files = list_series(&dataset.join("data"))?;
    if files.is_empty() {
        return Err(format!(
            "no series under {}",
            dataset.join("data").display()
        ));
    }
    let mut per_profile: BTreeMap<String, Vec<SeriesScore>> = BTreeMap::new();
    for (key, path) in &files {
        let series = read_series(path, key.clone())?;
        let windows = window_rows(&labels[key.as_str()], &series)?;
        let (scores, detections) = detect(&series.timestamps, &series.values);
        for (name, weights) in &profiles {
            let s = score_series(&windows, &detections, *weights);
            if name == "standard" {
                println!(
                    "{key} raw {:.3} windows {} tp {} fn {} fp {}",
                    s.raw,
                    windows.len(),
                    s.tp,
                    s.fn_,
                    s.fp
                );
            }
            per_profile.entry(name.clone()).or_default().push(s);
        }
        if let Some(dir) = predictions {
            write_results(dir, &series, &windows, &scores, &detections)?;
        }
    }
    let score = |name: &str| per_profile.get(name).map_or(0.0, |s| normalised(s));
    println!(
        "NAB standard {:.1} reward_low_FP {:.1} reward_low_FN {:.1} over {} series",
        score("standard"),
        score("reward_low_FP_rate"),
        score("reward_low_FN_rate"),
        files.len()
    );
    Ok(())
}

/// Writes NAB's results format. Points the detector suppressed (warm-up, cool-down) have their
/// score capped just below the threshold, so NAB's own scorer at our threshold sees exactly our
/// detections.
fn write_results(
    dir: &Path,
    series: &Series,
    windows: &[(usize, usize)],
    scores: &[f64],
    detections: &[bool],
) -> Result<(), String> {
    let path = dir.join(&series.key);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let threshold = detector_config(scores.len()).threshold;
    let mut out = String::from("timestamp,value,anomaly_score,label\n");
    for (i, (ts, value)) in series.rows.iter().enumerate() {
        let score = if detections[i] {
            scores[i]
        } else {
            scores[i].min(threshold * 0.999)
        };
        let label = u8::from(windows.iter().any(|&(l, r)| (l..=r).contains(&i)));
        let _ = writeln!(out, "{ts},{value},{score:.6},{label}");
    }
    fs::write(&path, out).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{SeriesScore, Weights, normalised, probation_rows, score_series};

    const STANDARD: Weights = Weights {
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn probation_is_fifteen_percent_capped_at_750() {
        assert_eq!(probation_rows(100), 15);
        assert_eq!(probation_rows(4032), 604);
        assert_eq!(probation_rows(22695), 750);
    }

    #[test]
    fn perfect_detector_scores_100_and_null_scores_0() {
        // 100 rows, probation 15; windows at rows 40..=49 and 70..=79.
        let windows = [(40, 49), (70, 79)];
        let mut perfect = vec![false; 100];
        perfect[40] = true;
        perfect[70] = true;
        let s = score_series(&windows, &perfect, STANDARD);
        assert!(close(s.raw, 2.0), "{s:?}");
        assert_eq!((s.tp, s.fn_, s.fp), (2, 0, 0));
        assert!(close(normalised(&[s]), 100.0));

        let null = score_series(&windows, &[false; 100], STANDARD);
        assert!(close(null.raw, -2.0));
        assert_eq!((null.tp, null.fn_, null.fp), (0, 2, 0));
        assert!(close(normalised(&[null]), 0.0));
    }

    #[test]
    fn hand_computed_window_credit_and_false_positives() {
        // Window 40..=49 (width 10). A detection at row 44 has position −(49 − 44 + 1)/10 =
        // −0.6, credit (2/(1 + e^−3) − 1)/(2/(1 + e^−5) − 1).
        let windows = [(40, 49)];
        let mut d = vec![false; 100];
        d[44] = true;
        d[46] = true; // later in the same window: ignored, only the best counts
        d[20] = true; // before any window: −A_FP
        d[58] = true; // 9 rows after a width-10 window: y = 9/9 = 1
        d[5] = true; // probationary: ignored
        let s = score_series(&windows, &d, STANDARD);
        let sig = |y: f64| 2.0 / (1.0 + (5.0 * y).exp()) - 1.0;
        let credit = sig(-0.6) / sig(-1.0);
        let want = credit - 0.11 + 0.11 * sig(1.0);
        assert!(close(s.raw, want), "{} vs {want}", s.raw);
        assert_eq!((s.tp, s.fn_, s.fp), (1, 0, 2));
        // Normalised: perfect 1, null −1.
        let n = normalised(&[s]);
        assert!(close(n, 100.0 * (want + 1.0) / 2.0));
    }

    #[test]
    fn corpus_normalisation_sums_before_dividing() {
        let a = SeriesScore {
            raw: 1.0,
            null: -1.0,
            perfect: 1.0,
            ..SeriesScore::default()
        };
        let b = SeriesScore {
            raw: -2.0,
            null: -2.0,
            perfect: 2.0,
            ..SeriesScore::default()
        };
        // (−1 − (−3)) / (3 − (−3)) = 2/6.
        assert!(close(normalised(&[a, b]), 100.0 / 3.0));
        assert!(close(normalised(&[]), 0.0));
    }
}
