//! Criterion: load and fully validate the generated 10,000-line `qapms.yaml`.
//!
//! `load_str/valid` is the start-up path (parse, validate, interpolate, type, cross-field
//! checks); `load_str/prod_profile` adds the profile merge; `load_str/with_errors` is
//! `qapms config validate` on a broken file, collecting every error.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use qapms_benches::config_gen::{bench_env, generate};
use qapms_core::config;

fn config_load(c: &mut Criterion) {
    let env = bench_env();
    let valid = generate(false);
    let broken = generate(true);
    let mut group = c.benchmark_group("load_str");
    group.bench_function("valid", |b| {
        b.iter(|| config::load_str(black_box(&valid), "qapms.yaml", None, &env).is_ok());
    });
    group.bench_function("prod_profile", |b| {
        b.iter(|| config::load_str(black_box(&valid), "qapms.yaml", Some("prod"), &env).is_ok());
    });
    group.bench_function("with_errors", |b| {
        b.iter(|| {
            config::load_str(black_box(&broken), "qapms.yaml", None, &env)
                .map_or_else(|e| e.diagnostics.len(), |_| 0)
        });
    });
    group.finish();
    c.bench_function("json_schema", |b| b.iter(config::json_schema));
}

criterion_group!(benches, config_load);
criterion_main!(benches);
