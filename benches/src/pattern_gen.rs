//! A deterministic store of test history for the pattern-analysis benchmark.
//!
//! `tests` tests in classes of 20 run `runs` times (one run an hour, two environments, a new
//! revision every 5 runs). Most tests pass; 2% are flaky (fail 30% of the time and usually pass
//! on the retry), 0.5% are broken (always fail the same way), 0.2% of other attempts fail with a
//! random one-off cause, and in 3 runs a systemic outage fails 5% of all tests with one
//! connection error. Failure messages are traces in the four supported formats, with varying
//! numbers, ids and paths, so the miner and the fingerprinting do real work.

use chrono::{DateTime, Duration, Utc};
use qapms_core::model::{RunId, TestCase, TestId, TestResult, TestRun, TestSource, TestStatus};
use qapms_core::store::Store;

/// A small xorshift generator: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub tests: u64,
    pub runs: u64,
    pub results: u64,
    pub failures: u64,
}

fn java_trace(rng: &mut Rng, exception: &str, message: &str, class: &str, method: &str) -> String {
    format!(
        "{exception}: {message}\n\
         \tat org.junit.jupiter.api.AssertionFailureBuilder.build(AssertionFailureBuilder.java:151)\n\
         \tat com.acme.{class}.{method}({class}.java:{})\n\
         \tat com.acme.support.Fixtures.run(Fixtures.java:{})\n\
         \tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\
         \tat java.base/java.lang.reflect.Method.invoke(Method.java:580)\n\
         \tat org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)\n\
         \tat org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)",
        20 + rng.below(200),
        10 + rng.below(90),
    )
}

fn python_trace(rng: &mut Rng, exception: &str, message: &str, module: &str, func: &str) -> String {
    format!(
        "Traceback (most recent call last):\n  \
         File \"/builds/{}/shop/tests/test_{module}.py\", line {}, in test_{func}\n    \
         result = {module}.{func}(payload)\n  \
         File \"/builds/{}/shop/shop/{module}.py\", line {}, in {func}\n    \
         return client.send(req)\n  \
         File \"/usr/lib/python3.12/site-packages/httpx/_client.py\", line 901, in send\n    \
         raise exc\n{exception}: {message}",
        rng.below(9000),
        10 + rng.below(300),
        rng.below(9000),
        10 + rng.below(300),
    )
}

fn node_trace(rng: &mut Rng, exception: &str, message: &str, file: &str, func: &str) -> String {
    format!(
        "{exception}: {message}\n    \
         at {func} (/home/runner/work/web/web/src/{file}.ts:{}:{})\n    \
         at Array.map (<anonymous>)\n    \
         at Object.<anonymous> (/home/runner/work/web/web/test/{file}.spec.ts:{}:5)\n    \
         at processTicksAndRejections (node:internal/process/task_queues:95:5)\n    \
         at Layer.handle (/home/runner/work/web/web/node_modules/express/lib/router/layer.js:95:5)",
        1 + rng.below(200),
        1 + rng.below(40),
        1 + rng.below(200),
    )
}

fn dotnet_trace(
    rng: &mut Rng,
    exception: &str,
    message: &str,
    class: &str,
    method: &str,
) -> String {
    format!(
        "{exception}: {message}\n   \
         at System.Linq.ThrowHelper.ThrowNoElementsException()\n   \
         at Acme.Billing.{class}.{method}(Int32 id) in /src/Acme.Billing/{class}.cs:line {}\n   \
         at Acme.Billing.Tests.{class}Tests.{method}() in /src/Acme.Billing.Tests/{class}Tests.cs:line {}\n   \
         at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)",
        1 + rng.below(400),
        1 + rng.below(400),
    )
}

/// One of 48 causes, with its variable parts filled in.
fn cause_message(rng: &mut Rng, cause: u64) -> String {
    let n = rng.below(100_000);
    let id = format!("{:08x}", rng.next() as u32);
    let which = cause % 12;
    let lang = cause / 12 % 4;
    let (exception, message) = match which {
        0 => (
            "AssertionError",
            format!("expected status 200 but was {}", 400 + rng.below(104)),
        ),
        1 => (
            "TimeoutError",
            format!(
                "request to /api/orders/{n} timed out after {} ms",
                1000 + rng.below(9000)
            ),
        ),
        2 => (
            "ValueError",
            format!("invalid price {n}.{} for sku {id}", rng.below(100)),
        ),
        3 => ("KeyError", format!("'customer_{id}' not found in cache")),
        4 => (
            "IllegalStateException",
            format!("order {id} is already closed"),
        ),
        5 => (
            "NullReferenceException",
            "Object reference not set to an instance of an object".to_owned(),
        ),
        6 => (
            "AssertionFailedError",
            format!("expected: <{n}> but was: <{}>", n + 1 + rng.below(10)),
        ),
        7 => (
            "TypeError",
            format!(
                "Cannot read properties of undefined (reading 'item{}')",
                rng.below(5)
            ),
        ),
        8 => (
            "InvalidOperationException",
            format!("Sequence contains no elements for invoice {id}"),
        ),
        9 => (
            "PermissionError",
            format!("user u{n} may not access /tenants/{id}/reports"),
        ),
        10 => (
            "ConcurrentModificationException",
            format!("list modified during iteration at index {}", rng.below(64)),
        ),
        _ => (
            "RangeError",
            format!("Maximum call stack size exceeded in render cycle {n}"),
        ),
    };
    let names = ["Orders", "Billing", "Cart", "Search"];
    let name = names[(cause % 4) as usize];
    let func = ["place", "charge", "total", "query"][(cause / 4 % 4) as usize];
    match lang {
        0 => java_trace(
            rng,
            &format!("com.acme.{exception}"),
            &message,
            &format!("{name}Service"),
            func,
        ),
        1 => python_trace(rng, exception, &message, &name.to_lowercase(), func),
        2 => node_trace(rng, exception, &message, &name.to_lowercase(), func),
        _ => dotnet_trace(
            rng,
            &format!("System.{exception}"),
            &message,
            &format!("{name}Service"),
            func,
        ),
    }
}

fn outage_message(rng: &mut Rng) -> String {
    format!(
        "java.net.ConnectException: Connection refused: db-{}.internal/10.0.{}.{}:5432\n\
         \tat java.base/sun.nio.ch.Net.connect0(Native Method)\n\
         \tat com.acme.db.Pool.open(Pool.java:{})\n\
         \tat com.acme.support.Fixtures.database(Fixtures.java:40)",
        rng.below(3),
        rng.below(255),
        rng.below(255),
        30 + rng.below(5),
    )
}

/// Fills `store` with about `results` results; see the module documentation.
pub async fn generate(store: &dyn Store, results: u64, tests: u64) -> qapms_core::Result<Shape> {
    let tests = tests.max(1);
    let runs = results.div_ceil(tests).max(1);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let ids: Vec<TestId> = (0..tests).map(|_| TestId::new()).collect();
    let cases: Vec<TestCase> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| TestCase {
            id: *id,
            source: TestSource::Junit,
            external_id: format!("com.acme.mod{}.Class{}::test{i}", i / 200, i / 20),
            title: format!("test{i}"),
            folder_path: None,
            tags: Vec::new(),
            ticket_keys: Vec::new(),
        })
        .collect();
    store.upsert_test_cases(&cases).await?;
    let start = DateTime::<Utc>::from_timestamp(1_760_000_000, 0).unwrap_or_default();
    let outage_runs = [runs / 4, runs / 2, runs * 3 / 4];
    let mut shape = Shape {
        tests,
        runs,
        ..Shape::default()
    };
    let mut batch: Vec<TestResult> = Vec::with_capacity(usize::try_from(tests * 2).unwrap_or(0));
    for r in 0..runs {
        let run = TestRun {
            id: RunId::new(),
            source: TestSource::Junit,
            name: "nightly".to_owned(),
            started_at: start + Duration::hours(i64::try_from(r).unwrap_or(0)),
            finished_at: None,
            environment: Some(if r % 2 == 0 { "staging" } else { "ci" }.to_owned()),
            revision: Some(format!("rev{}", r / 5)),
            url: None,
        };
        batch.clear();
        let outage = outage_runs.contains(&r);
        for (i, id) in ids.iter().enumerate() {
            let i = i as u64;
            let flaky = i % 50 == 7;
            let broken = i % 200 == 13;
            let fail_message = if outage && rng.chance(0.05) {
                Some(outage_message(&mut rng))
            } else if broken {
                Some(cause_message(&mut rng, i % 48))
            } else if flaky && rng.chance(0.3) {
                Some(cause_message(&mut rng, (i / 50) % 48))
            } else if rng.chance(0.002) {
                let cause = rng.below(48);
                Some(cause_message(&mut rng, cause))
            } else {
                None
            };
            let mut push = |attempt: u32, status: TestStatus, message: Option<String>| {
                batch.push(TestResult {
                    run_id: run.id,
                    test_id: *id,
                    attempt,
                    status,
                    duration_ms: Some(5 + rng.below(500)),
                    message,
                    trace_fingerprint: None,
                    cluster_id: None,
                });
            };
            match fail_message {
                None => push(1, TestStatus::Passed, None),
                Some(m) => {
                    let retry_passes = flaky && !outage;
                    push(1, TestStatus::Failed, Some(m.clone()));
                    shape.failures += 1;
                    if retry_passes {
                        push(2, TestStatus::Passed, None);
                    } else if broken {
                        push(2, TestStatus::Failed, Some(m));
                        shape.failures += 1;
                    }
                }
            }
        }
        shape.results += batch.len() as u64;
        store.insert_run(&run, &batch).await?;
    }
    Ok(shape)
}
