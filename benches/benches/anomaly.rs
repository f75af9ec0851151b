//! Criterion: the cost of pattern scoring per item.
//!
//! - `anomaly/update`: one [`AnomalyDetector::update`] per element, over a 10,000-point daily
//!   series with noise and spikes (the detector's steady state: both models, scoring, learning).
//! - `flaky/record_assess`: 1,000 tests x 100 attempts recorded, then each assessed (the
//!   Jeffreys interval inverts a Beta CDF twice per test).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qapms_core::patterns::anomaly::{AnomalyDetector, DetectorConfig};
use qapms_core::patterns::flaky::{Attempt, FlakinessStats, FlakyConfig, Outcome};

const POINTS: usize = 10_000;

/// A daily sine sampled every 5 minutes, with deterministic noise and a spike every 997 points.
fn series() -> Vec<(i64, f64)> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..POINTS)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 1_000) as f64 / 500.0 - 1.0;
            let phase = (i % 288) as f64 / 288.0 * std::f64::consts::TAU;
            let spike = if i % 997 == 996 { 40.0 } else { 0.0 };
            (
                1_700_000_000 + 300 * i as i64,
                50.0 + 20.0 * phase.sin() + noise + spike,
            )
        })
        .collect()
}

fn anomaly(c: &mut Criterion) {
    let points = series();
    let mut group = c.benchmark_group("anomaly");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("update", |b| {
        b.iter(|| {
            let mut d = AnomalyDetector::new(DetectorConfig::default());
            let mut alerts = 0_u32;
            for &(t, v) in &points {
                alerts += u32::from(d.update(black_box(t), black_box(v)).is_anomaly);
            }
            alerts
        });
    });
    group.finish();
}

fn flaky(c: &mut Criterion) {
    const TESTS: u64 = 1_000;
    const ATTEMPTS: u64 = 100;
    let config = FlakyConfig::default();
    let mut group = c.benchmark_group("flaky");
    group.throughput(Throughput::Elements(TESTS * ATTEMPTS));
    group.bench_function("record_assess", |b| {
        b.iter(|| {
            let mut flaky = 0_u32;
            for t in 0..TESTS {
                let mut s = FlakinessStats::new();
                for a in 0..ATTEMPTS {
                    // One test in three fails now and then, the others never: a mix of flaky
                    // and stable histories.
                    let fails = t % 3 == 0 && (a * 7 + t) % (t % 17 + 2) == 0;
                    let outcome = if fails { Outcome::Fail } else { Outcome::Pass };
                    s.record(black_box(Attempt::new(outcome)));
                }
                flaky += u32::from(s.assess(&config).failures > 0);
            }
            flaky
        });
    });
    group.finish();
}

criterion_group!(benches, anomaly, flaky);
criterion_main!(benches);
