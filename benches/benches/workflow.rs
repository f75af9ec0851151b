//! Criterion: the cost of a workflow transition on a warm `SQLite` store.
//!
//! One iteration runs a whole `release_smoke_test` workflow through the engine: start (create
//! plus start plus the timer, one write), four `step done` and `complete`, so six transitions,
//! each one load, one state-machine step, one timer plan and one transaction. Throughput is per
//! transition.
//!
//! - `workflow/memory`: an in-memory database, so the figure is CPU (engine, SQL, `SQLite`)
//!   without disk waits;
//! - `workflow/file`: a database file in WAL mode with `synchronous=FULL`, as users run it, so
//!   the figure includes one fsync per transition.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qapms_core::model::{Role, User, UserId};
use qapms_core::store::Store;
use qapms_core::workflow::{Catalog, Command, Engine};

const TRANSITIONS: u64 = 6;

async fn setup(url: &str) -> (Arc<dyn Store>, Engine, UserId) {
    let store = qapms_core::store::open(url)
        .await
        .expect("the bench store opens");
    let user = User::new("bench", Role::Qa);
    store.create_user(&user).await.expect("a user");
    let engine = Engine::new(store.clone(), Catalog::new(&BTreeMap::new()));
    (store, engine, user.id)
}

async fn cycle(engine: &Engine, user: UserId) {
    let started = engine
        .start("release_smoke_test", None, user)
        .await
        .expect("start");
    let id = started.workflow.id;
    for _ in 0..4 {
        engine
            .apply(
                &id,
                None,
                user,
                &Command::StepDone {
                    step: None,
                    force: true,
                },
            )
            .await
            .expect("step done");
    }
    let done = engine
        .apply(&id, None, user, &Command::Complete)
        .await
        .expect("complete");
    black_box(done);
}

fn workflow(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file_url = format!("sqlite://{}/bench.db", dir.path().display());
    let mut group = c.benchmark_group("workflow");
    group.throughput(Throughput::Elements(TRANSITIONS));
    for (name, url) in [("memory", "sqlite::memory:".to_owned()), ("file", file_url)] {
        let (store, engine, user) = rt.block_on(setup(&url));
        // Warm: the pool, the prepared statements and the page cache.
        for _ in 0..20 {
            rt.block_on(cycle(&engine, user));
        }
        group.bench_function(name, |b| b.iter(|| rt.block_on(cycle(&engine, user))));
        rt.block_on(store.close());
    }
    group.finish();
}

criterion_group!(benches, workflow);
criterion_main!(benches);
