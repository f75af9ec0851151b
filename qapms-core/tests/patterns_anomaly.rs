//! Behaviour of the streaming anomaly detector: spikes and shifts are found, seasonal swings
//! and noise are not, and hostile input (NaN, infinities, unsorted or duplicate timestamps,
//! empty series) never panics.

use std::path::Path;

use qapms_core::patterns::anomaly::{AnomalyDetector, DetectorConfig, Seasonality};

const FIVE_MIN: i64 = 300;
const START: i64 = 1_700_000_000;

/// A deterministic pseudo-random noise in [-1, 1] (xorshift), so tests need no RNG crate.
fn noise(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % 20_001) as f64 / 10_000.0 - 1.0
}

fn daily(i: i64) -> f64 {
    let phase = (i * FIVE_MIN % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
    50.0 + 30.0 * phase.sin()
}

#[test]
fn a_seasonal_series_raises_no_alert_and_uses_its_profile() {
    let mut d = AnomalyDetector::new(DetectorConfig::default());
    let mut rng = 7;
    let mut alerts = 0;
    let mut last = None;
    for i in 0..288 * 10 {
        let s = d.update(START + i * FIVE_MIN, daily(i) + noise(&mut rng));
        alerts += usize::from(s.is_anomaly);
        last = Some(s);
    }
    assert_eq!(alerts, 0);
    let last = last.unwrap();
    assert!(
        last.seasonal,
        "a daily sine should be explained by the daily profile"
    );
    assert!((0.0..=1.0).contains(&last.score));
}

#[test]
fn a_spike_after_warm_up_is_an_anomaly_with_severity() {
    let mut d = AnomalyDetector::new(DetectorConfig::default());
    let mut rng = 11;
    for i in 0..1_000 {
        let s = d.update(START + i * 60, 100.0 + noise(&mut rng));
        assert!(!s.is_anomaly, "false alarm at {i}");
    }
    let s = d.update(START + 1_000 * 60, 160.0);
    assert!(s.is_anomaly);
    assert!(s.severity.is_some());
    assert!(s.deviation > 10.0);
    assert!((s.expected - 100.0).abs() < 2.0);
}

#[test]
fn a_level_shift_alerts_once_then_cools_down() {
    let mut d = AnomalyDetector::new(DetectorConfig::default());
    let mut rng = 3;
    let mut alerts = Vec::new();
    for i in 0..2_000 {
        let v = if i < 1_000 { 10.0 } else { 25.0 } + noise(&mut rng);
        if d.update(START + i * 60, v).is_anomaly {
            alerts.push(i);
        }
    }
    assert_eq!(alerts.first(), Some(&1_000));
    assert!(alerts.len() <= 2, "{alerts:?}");
}

#[test]
fn nothing_is_reported_during_warm_up() {
    let config = DetectorConfig {
        warmup: 500,
        ..DetectorConfig::default()
    };
    let mut d = AnomalyDetector::new(config);
    for i in 0..500 {
        let v = if i % 50 == 49 { 1e6 } else { 1.0 };
        assert!(!d.update(START + i, v).is_anomaly);
    }
}

#[test]
fn hostile_input_never_panics_and_scores_stay_in_range() {
    let mut d = AnomalyDetector::new(DetectorConfig {
        threshold: f64::NAN,
        seasonality: Seasonality::Auto,
        ..DetectorConfig::default()
    });
    assert!(d.config().threshold > 0.0);
    let values = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1e308,
        -1e308,
        f64::MIN_POSITIVE,
        5.0,
    ];
    let times = [i64::MIN, i64::MAX, 0, -1, 10, 10, 10, 5, 3];
    for round in 0..200 {
        for (k, (&v, &t)) in values.iter().zip(&times).enumerate() {
            let s = d.update(t.wrapping_add(round), v);
            assert!(
                (0.0..=1.0).contains(&s.score),
                "score {} at {round}/{k}",
                s.score
            );
            assert_eq!(s.skipped, !v.is_finite());
        }
    }
    assert_eq!(d.points(), 200 * 6);
}

#[test]
fn the_seasonal_model_can_be_turned_off() {
    let mut d = AnomalyDetector::new(DetectorConfig {
        seasonality: Seasonality::Off,
        ..DetectorConfig::default()
    });
    for i in 0..288 * 3 {
        assert!(!d.update(START + i * FIVE_MIN, daily(i)).seasonal);
    }
}

#[test]
fn nab_development_series_run_without_panics() {
    // The data sit beside the repository (`../shared/datasets`), or beside the directory
    // holding a git worktree of it; never in the repository itself.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        root.join("../../shared/datasets/nab-dev/data"),
        root.join("../../../shared/datasets/nab-dev/data"),
    ];
    let Some(categories) = candidates
        .iter()
        .find_map(|dir| std::fs::read_dir(dir).ok())
    else {
        eprintln!(
            "skipping: NAB development data not found (looked for ../shared/datasets/nab-dev)"
        );
        return;
    };
    let mut series = 0;
    for category in categories.flatten() {
        for file in std::fs::read_dir(category.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(file.path()).unwrap();
            let mut d = AnomalyDetector::new(DetectorConfig::default());
            for (i, line) in text.lines().skip(1).enumerate() {
                let value: f64 = line.split(',').nth(1).unwrap().trim().parse().unwrap();
                let s = d.update(START + i as i64 * FIVE_MIN, value);
                assert!((0.0..=1.0).contains(&s.score));
            }
            series += 1;
        }
    }
    assert!(series > 0);
}
