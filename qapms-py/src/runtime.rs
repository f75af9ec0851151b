//! The one tokio runtime behind every Python call.
//!
//! Sync methods release the GIL and `block_on` it; `async_*` methods hand futures to
//! pyo3-async-runtimes, which is given this same runtime, so a program mixing both styles
//! never starts a second pool of threads. The runtime is built on first use; a failure to
//! build it (no threads left, say) becomes a Python exception, not a panic.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime, built on first use.
pub(crate) fn get() -> PyResult<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("qapms")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the qapms runtime: {e}")))?;
    // Two threads may race to build it; the loser's runtime is dropped here, outside any
    // async context, which is allowed.
    let rt = RUNTIME.get_or_init(|| built);
    // pyo3-async-runtimes keeps its own handle; hand it ours. It refuses a second time, which
    // only means another thread got there first with the same runtime.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(rt);
    Ok(rt)
}

/// How often a blocking call looks for a pending Ctrl-C.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `fut` to completion with the GIL released.
///
/// Python's signal handlers cannot run while the GIL is released, so the wait checks for a
/// pending signal every 50 ms; Ctrl-C then drops `fut` and raises `KeyboardInterrupt`. Dropping
/// a store future mid-way rolls its transaction back, so an interrupted call leaves the store as
/// it was before the call.
pub(crate) fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    let rt = get()?;
    py.detach(|| {
        rt.block_on(async {
            tokio::pin!(fut);
            let mut tick = tokio::time::interval(SIGNAL_CHECK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            // The first tick is immediate; skip it so a fast call never touches the GIL.
            tick.tick().await;
            loop {
                tokio::select! {
                    out = &mut fut => return out,
                    _ = tick.tick() => check_signals()?,
                }
            }
        })
    })
}

/// Like [`block_on`], for work that can stop cleanly: the first Ctrl-C calls `stop` and keeps
/// waiting while `fut` winds down (a sync finishing its batch), then raises the
/// `KeyboardInterrupt`; a second Ctrl-C drops `fut` at once, as [`block_on`] does.
pub(crate) fn block_on_graceful<F, T>(
    py: Python<'_>,
    fut: F,
    stop: &(dyn Fn() + Sync),
) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    let rt = get()?;
    py.detach(|| {
        rt.block_on(async {
            tokio::pin!(fut);
            let mut tick = tokio::time::interval(SIGNAL_CHECK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            tick.tick().await;
            let mut interrupted: Option<PyErr> = None;
            loop {
                tokio::select! {
                    out = &mut fut => {
                        return match interrupted {
                            Some(err) => Err(err),
                            None => out,
                        };
                    }
                    _ = tick.tick() => {
                        if let Err(err) = check_signals() {
                            if interrupted.is_some() {
                                return Err(err);
                            }
                            stop();
                            interrupted = Some(err);
                        }
                    }
                }
            }
        })
    })
}

/// Raises a pending `KeyboardInterrupt` (or another signal handler's exception).
fn check_signals() -> PyResult<()> {
    // A closure rather than the method path: the method is not general over the lifetime.
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path does not type-check over Python's lifetime"
    )]
    Python::attach(|py| py.check_signals())
}

/// Wraps `fut` in a Python awaitable that runs on the shared runtime.
pub(crate) fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    get()?;
    pyo3_async_runtimes::tokio::future_into_py(py, fut)
}
