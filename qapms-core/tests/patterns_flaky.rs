//! Flakiness verdicts: the presets, "not enough runs", and the calibration of the 95%
//! interval on simulated histories (thousands of runs per test, judged from the first 20).

use qapms_core::patterns::flaky::{
    Attempt, FlakinessStats, FlakyConfig, Outcome, Preset, Verdict, jeffreys_interval,
};

fn stats_of(outcomes: &[Outcome]) -> FlakinessStats {
    let mut s = FlakinessStats::new();
    for &o in outcomes {
        s.record(Attempt::new(o));
    }
    s
}

use Outcome::{Error as E, Fail as F, Pass as P};

#[test]
fn mixed_outcomes_with_enough_runs_are_flaky() {
    let a = stats_of(&[P, P, F, P, P, P]).assess(&FlakyConfig::default());
    assert_eq!(a.verdict, Verdict::Flaky);
    assert_eq!((a.runs, a.failures, a.flips), (6, 1, 2));
    assert!(a.failure_interval.0 > 0.0 && a.failure_interval.1 < 1.0);
    assert!((a.score - 2.0 * (1.0 / 6.0) * (5.0 / 6.0)).abs() < 1e-12);
    assert!(a.score_interval.0 <= a.score && a.score <= a.score_interval.1);
}

#[test]
fn few_runs_are_not_enough_whatever_they_show() {
    let config = FlakyConfig::default();
    assert_eq!(
        stats_of(&[P, F]).assess(&config).verdict,
        Verdict::NotEnoughRuns
    );
    assert_eq!(
        stats_of(&[]).assess(&config).verdict,
        Verdict::NotEnoughRuns
    );
    assert_eq!(
        stats_of(&[P, P, P]).assess(&config).verdict,
        Verdict::NotEnoughRuns
    );
}

#[test]
fn constant_outcomes_are_stable_with_one_sided_intervals() {
    let config = FlakyConfig::default();
    let pass = stats_of(&[P; 20]).assess(&config);
    assert_eq!(pass.verdict, Verdict::Stable);
    assert!(pass.failure_interval.0.abs() < f64::EPSILON && pass.failure_interval.1 < 0.15);
    let broken = stats_of(&[E; 20]).assess(&config);
    assert_eq!(broken.verdict, Verdict::Stable);
    assert!((broken.failure_interval.1 - 1.0).abs() < f64::EPSILON);
    assert!(broken.score.abs() < f64::EPSILON);
}

#[test]
fn a_change_of_conditions_is_not_flakiness_but_a_pass_on_retry_is() {
    let config = FlakyConfig::default();
    let mut s = FlakinessStats::new();
    for i in 0..10 {
        let outcome = if i < 5 { F } else { P };
        s.record(Attempt {
            outcome,
            retry: 0,
            condition: u64::from(i >= 5),
        });
    }
    assert_eq!(s.assess(&config).verdict, Verdict::Stable);

    let mut s = FlakinessStats::new();
    for _ in 0..5 {
        s.record(Attempt::new(P));
    }
    s.record(Attempt::new(F));
    s.record(Attempt {
        outcome: P,
        retry: 1,
        condition: 0,
    });
    let a = s.assess(&config);
    assert_eq!(a.verdict, Verdict::Flaky);
    assert_eq!(a.passes_on_retry, 1);
}

#[test]
fn allure_and_testops_presets() {
    let allure = FlakyConfig {
        preset: Preset::Allure,
        ..FlakyConfig::default()
    };
    let testops = FlakyConfig {
        preset: Preset::TestOps,
        ..FlakyConfig::default()
    };
    // A failure 6 runs ago is outside Allure's last 5.
    let old_failure = stats_of(&[F, P, P, P, P, P]);
    assert_eq!(old_failure.assess(&allure).verdict, Verdict::Stable);
    let recent_failure = stats_of(&[P, P, P, F, P]);
    assert_eq!(recent_failure.assess(&allure).verdict, Verdict::Flaky);
    assert_eq!(
        stats_of(&[P, F]).assess(&allure).verdict,
        Verdict::NotEnoughRuns
    );
    // Two flips in the last 10: not flaky for TestOps; three: flaky.
    let two = stats_of(&[P, P, P, F, F, P, P, P, P, P]);
    assert_eq!(two.assess(&testops).verdict, Verdict::Stable);
    let three = stats_of(&[P, P, F, P, P, P, F, F, F, F]);
    assert_eq!(three.assess(&testops).verdict, Verdict::Flaky);
    // Flips older than the last 10 runs do not count.
    let old = stats_of(&[F, P, F, P, P, P, P, P, P, P, P, P, P]);
    assert_eq!(old.assess(&testops).verdict, Verdict::Stable);
}

#[test]
fn jeffreys_interval_matches_reference_values() {
    // Jeffreys 95% for 5/20: the Beta(5.5, 15.5) quantiles, about (0.1023, 0.4642) (checked by
    // sampling 400,000 Beta variates).
    let (lo, hi) = jeffreys_interval(5, 20, 0.95);
    assert!((lo - 0.1023).abs() < 1e-3, "{lo}");
    assert!((hi - 0.4642).abs() < 1e-3, "{hi}");
    let (lo, hi) = jeffreys_interval(0, 0, 0.95);
    assert!(lo.abs() < f64::EPSILON && (hi - 1.0).abs() < f64::EPSILON);
    assert!((jeffreys_interval(9, 3, 0.95).1 - 1.0).abs() < f64::EPSILON);
}

/// A small deterministic generator (splitmix64), so the simulation needs no RNG crate and
/// gives the same figure every time.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Simulates Bernoulli tests with rates from 0 to 1 (many stable ones, as in real suites),
/// judges each from its first 20 runs, and checks the three acceptance targets against its
/// long-run failure rate over 5,000 runs.
#[test]
fn interval_from_first_20_runs_covers_the_long_run_rate() {
    const TESTS: usize = 4_000;
    const RUNS: usize = 5_000;
    const FIRST: usize = 20;
    let rates = [
        0.0, 0.0, 0.0, 0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0,
    ];
    let config = FlakyConfig::default();
    let mut rng = SplitMix(42);
    let (mut covered, mut wrong_flaky, mut wrong_stable) = (0, 0, 0);
    for t in 0..TESTS {
        let p = rates[t % rates.len()];
        let mut early = FlakinessStats::new();
        let mut failures = 0;
        for run in 0..RUNS {
            let failed = rng.next_f64() < p;
            failures += usize::from(failed);
            if run < FIRST {
                early.record(Attempt::new(if failed { F } else { P }));
            }
        }
        let long_run = failures as f64 / RUNS as f64;
        let a = early.assess(&config);
        let (lo, hi) = a.failure_interval;
        covered += usize::from(lo <= long_run && long_run <= hi);
        let constant = a.failures == 0 || a.failures == a.runs;
        wrong_flaky += usize::from(constant && a.verdict == Verdict::Flaky);
        wrong_stable += usize::from(!constant && a.verdict == Verdict::Stable);
    }
    let coverage = covered as f64 / TESTS as f64;
    println!("coverage of the 95% interval from the first {FIRST} runs: {coverage:.4}");
    assert_eq!(wrong_flaky, 0);
    assert_eq!(wrong_stable, 0);
    assert!(coverage >= 0.95, "coverage {coverage}");
}

/// Bursty histories, as real CI produces: on top of a base failure rate, the test enters a
/// "bad period" with probability 0.02 per run and leaves it with 0.2; while bad, it fails half
/// as often again. Failures therefore come in streaks, which makes any interval that assumes
/// independent runs over-confident. Judged from the first 20 runs against the long-run rate
/// over 2,000 runs, the streak-aware interval must still cover it for 95% of tests, with no
/// constant history called flaky and no mixed one called stable.
#[test]
fn interval_covers_the_long_run_rate_of_bursty_histories() {
    const TESTS: usize = 2_000;
    const RUNS: usize = 2_000;
    const FIRST: usize = 20;
    let base: [f64; 8] = [0.0, 0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3];
    let config = FlakyConfig::default();
    let mut rng = SplitMix(7);
    let (mut covered, mut wrong_flaky, mut wrong_stable) = (0, 0, 0);
    for t in 0..TESTS {
        let p = base[t % base.len()];
        // Start in the stationary mix of good and bad periods.
        let mut bad = rng.next_f64() < 0.02 / 0.22;
        let mut early = FlakinessStats::new();
        let mut failures = 0;
        for run in 0..RUNS {
            bad = if bad {
                rng.next_f64() >= 0.2
            } else {
                rng.next_f64() < 0.02
            };
            let rate = if bad { (p + 0.5).min(1.0) } else { p };
            let failed = rng.next_f64() < rate;
            failures += usize::from(failed);
            if run < FIRST {
                early.record(Attempt::new(if failed { F } else { P }));
            }
        }
        let long_run = failures as f64 / RUNS as f64;
        let a = early.assess(&config);
        let (lo, hi) = a.failure_interval;
        covered += usize::from(lo <= long_run && long_run <= hi);
        let constant = a.failures == 0 || a.failures == a.runs;
        wrong_flaky += usize::from(constant && a.verdict == Verdict::Flaky);
        wrong_stable += usize::from(!constant && a.verdict == Verdict::Stable);
    }
    let coverage = covered as f64 / TESTS as f64;
    println!("bursty: coverage of the 95% interval from the first {FIRST} runs: {coverage:.4}");
    assert_eq!(wrong_flaky, 0);
    assert_eq!(wrong_stable, 0);
    assert!(coverage >= 0.95, "coverage {coverage}");
}

#[test]
fn streaks_widen_the_interval_and_alternation_does_not_narrow_it() {
    use qapms_core::patterns::flaky::{BlockCounts, inflated_interval, inflation};
    let plain = jeffreys_interval(5, 20, 0.95);
    // Five failures in one streak of twenty runs (2 flips) against five spread out (10 flips).
    let mut streak_blocks = BlockCounts::default();
    let mut spread_blocks = BlockCounts::default();
    for i in 0..20 {
        streak_blocks.record((5..10).contains(&i));
        spread_blocks.record(i % 4 == 0);
    }
    let streak = inflation(5, 20, 2, &streak_blocks);
    assert!(streak > 2.0, "{streak}");
    let wide = inflated_interval(5, 20, streak, 0.95);
    assert!(
        wide.0 < plain.0 && wide.1 > plain.1,
        "{wide:?} vs {plain:?}"
    );
    let spread = inflation(5, 20, 10, &spread_blocks);
    assert!((spread - 1.0).abs() < f64::EPSILON, "{spread}");
    assert_eq!(inflated_interval(5, 20, spread, 0.95), plain);
    // Constant histories keep the one-sided plain interval.
    assert!((inflation(0, 20, 0, &BlockCounts::default()) - 1.0).abs() < f64::EPSILON);
    assert_eq!(
        inflated_interval(0, 20, 9.0, 0.95),
        jeffreys_interval(0, 20, 0.95)
    );
    assert_eq!(
        inflated_interval(20, 20, 9.0, 0.95),
        jeffreys_interval(20, 20, 0.95)
    );
}
