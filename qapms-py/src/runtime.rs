//! The one tokio runtime behind every Python call.
//!
//! Sync methods release the GIL and `block_on` it; `async_*` methods hand futures to
//! pyo3-async-runtimes, which is given this same runtime, so a program mixing both styles
//! never starts a second pool of threads. The runtime is built on first use; a failure to
//! build it (no threads left, say) becomes a Python exception, not a panic.

use std::future::Future;
use std::sync::OnceLock;

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

/// Runs `fut` to completion with the GIL released.
pub(crate) fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    let rt = get()?;
    py.detach(|| rt.block_on(fut))
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
