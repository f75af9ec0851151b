//! The shared shapes of the bindings: typed record classes over core values, Python-style
//! reprs, and iterators that hand results over a batch at a time.
//!
//! A record class keeps the core value inside and converts a field only when Python reads it,
//! so building ten thousand of them costs one allocation each and no dict. [`record!`] writes
//! the class, its getters and its repr from one list, so every integration reads the same way.
//!
//! Large results (Testmo cases, Postman collections, Splunk rows) are core streams. A task on
//! the shared runtime drains the stream, converts each item into its record (plain Rust, no
//! GIL) and sends whole batches down a bounded channel; Python takes the GIL once per batch,
//! not once per item, and the bound keeps an abandoned iterator from fetching everything.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use pyo3::IntoPyObjectExt as _;
use pyo3::exceptions::{PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use tokio::sync::{Mutex, mpsc};

use crate::errors::PyQapmsError;
use crate::runtime;

/// Batches kept fetched ahead of the consumer.
const BATCHES_AHEAD: usize = 2;

/// A value as it appears inside a record's repr, written the way Python would print it.
pub(crate) trait ReprArg {
    fn repr_arg(&self) -> String;
}

impl ReprArg for str {
    fn repr_arg(&self) -> String {
        format!("{self:?}")
    }
}

impl ReprArg for String {
    fn repr_arg(&self) -> String {
        self.as_str().repr_arg()
    }
}

impl<T: ReprArg + ?Sized> ReprArg for &T {
    fn repr_arg(&self) -> String {
        (**self).repr_arg()
    }
}

impl<T: ReprArg> ReprArg for Option<T> {
    fn repr_arg(&self) -> String {
        self.as_ref()
            .map_or_else(|| "None".to_owned(), ReprArg::repr_arg)
    }
}

impl<T: ReprArg> ReprArg for Vec<T> {
    fn repr_arg(&self) -> String {
        let items: Vec<String> = self.iter().map(ReprArg::repr_arg).collect();
        format!("[{}]", items.join(", "))
    }
}

impl ReprArg for bool {
    fn repr_arg(&self) -> String {
        if *self { "True" } else { "False" }.to_owned()
    }
}

impl ReprArg for DateTime<Utc> {
    fn repr_arg(&self) -> String {
        format!("{:?}", self.to_rfc3339())
    }
}

macro_rules! repr_display {
    ($($t:ty),*) => {$(
        impl ReprArg for $t {
            fn repr_arg(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
repr_display!(u8, u32, u64, i64, usize, f64);

/// Writes a frozen `#[pyclass]` wrapping a core value, with a getter per listed field, a
/// `__repr__` naming the `repr(...)` fields, `From<core>`, and any extra methods given in
/// `extra { ... }`.
macro_rules! record {
    (
        $(#[doc = $doc:literal])*
        $py:ident as $name:literal wraps $core:ty;
        repr($($rf:ident),* $(,)?);
        $( $(#[doc = $fdoc:literal])* fn $field:ident(&$s:ident) -> $ty:ty $body:block )*
        $( extra { $($extra:tt)* } )?
    ) => {
        $(#[doc = $doc])*
        #[pyclass(module = "qapms", name = $name, frozen)]
        pub(crate) struct $py(pub(crate) $core);

        #[pymethods]
        impl $py {
            $(
                $(#[doc = $fdoc])*
                #[getter]
                fn $field(&$s) -> $ty $body
            )*

            $( $($extra)* )?

            fn __repr__(&self) -> String {
                let parts: Vec<String> = vec![$(
                    format!(
                        "{}={}",
                        stringify!($rf),
                        $crate::records::ReprArg::repr_arg(&self.$rf())
                    )
                ),*];
                format!("{}({})", $name, parts.join(", "))
            }
        }

        impl From<$core> for $py {
            fn from(value: $core) -> Self {
                Self(value)
            }
        }
    };
}
pub(crate) use record;

/// One batch of records on its way to Python.
pub(crate) trait PyBatch: Send {
    fn into_objects(self: Box<Self>, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>>;
}

impl<T> PyBatch for Vec<T>
where
    T: Send + 'static + for<'py> IntoPyObject<'py>,
{
    fn into_objects(self: Box<Self>, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        self.into_iter().map(|item| item.into_py_any(py)).collect()
    }
}

type Feed = mpsc::Receiver<qapms_core::Result<Box<dyn PyBatch>>>;

/// Drains `stream` on the shared runtime, `batch` items at a time, each converted by `convert`.
pub(crate) fn spawn_stream<T, U>(
    stream: BoxStream<'static, qapms_core::Result<T>>,
    batch: usize,
    convert: fn(T) -> U,
) -> PyResult<Feed>
where
    T: Send + 'static,
    U: Send + 'static + for<'py> IntoPyObject<'py>,
{
    let (tx, rx) = mpsc::channel::<qapms_core::Result<Box<dyn PyBatch>>>(BATCHES_AHEAD);
    let batch = batch.max(1);
    runtime::get()?.spawn(async move {
        let mut chunks = stream.ready_chunks(batch);
        while let Some(chunk) = chunks.next().await {
            let mut items: Vec<U> = Vec::with_capacity(chunk.len());
            let mut failure = None;
            for item in chunk {
                match item {
                    Ok(value) => items.push(convert(value)),
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
            }
            // A closed channel means the iterator was dropped: stop fetching.
            if !items.is_empty() && tx.send(Ok(Box::new(items))).await.is_err() {
                return;
            }
            if let Some(err) = failure {
                let _ = tx.send(Err(err)).await;
                return;
            }
        }
    });
    Ok(rx)
}

/// A feed of items that are already in memory (a list the core returned whole).
pub(crate) fn ready<U>(items: Vec<U>) -> Feed
where
    U: Send + 'static + for<'py> IntoPyObject<'py>,
{
    let (tx, rx) = mpsc::channel::<qapms_core::Result<Box<dyn PyBatch>>>(1);
    if !items.is_empty() {
        // The channel has room for this one message, and the receiver is alive.
        let _ = tx.try_send(Ok(Box::new(items)));
    }
    rx
}

/// The records of a large result, in order. Items arrive from the core in batches; iterating
/// may raise any qapms error the underlying calls meet.
#[pyclass(module = "qapms", name = "ResultIterator")]
pub(crate) struct ResultIterator {
    rx: Feed,
    buffer: VecDeque<Py<PyAny>>,
    done: bool,
}

impl ResultIterator {
    pub(crate) fn new(rx: Feed) -> Self {
        Self {
            rx,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    /// Waits for the next batch; false once the result is exhausted.
    fn fill(&mut self, py: Python<'_>) -> PyResult<bool> {
        if self.done {
            return Ok(false);
        }
        let rx = &mut self.rx;
        let next = runtime::block_on(py, async move { Ok(rx.recv().await) })?;
        match next {
            Some(Ok(batch)) => {
                self.buffer.extend(batch.into_objects(py)?);
                Ok(true)
            }
            Some(Err(err)) => {
                self.done = true;
                Err(PyQapmsError::from(err).into())
            }
            None => {
                self.done = true;
                Ok(false)
            }
        }
    }
}

#[pymethods]
impl ResultIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Ok(Some(item));
            }
            if !self.fill(py)? {
                return Ok(None);
            }
        }
    }

    /// The next batch as a list (what has arrived, at least one item); an empty list at the end.
    fn next_batch(&mut self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        if self.buffer.is_empty() {
            self.fill(py)?;
        }
        Ok(self.buffer.drain(..).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "ResultIterator(buffered={}, done={})",
            self.buffer.len(),
            self.done.repr_arg()
        )
    }
}

struct AsyncState {
    rx: Feed,
    buffer: VecDeque<Py<PyAny>>,
    done: bool,
}

/// The records of a large result, for `async for`.
#[pyclass(module = "qapms", name = "AsyncResultIterator", frozen)]
pub(crate) struct AsyncResultIterator {
    state: Arc<Mutex<AsyncState>>,
}

impl AsyncResultIterator {
    pub(crate) fn new(rx: Feed) -> Self {
        Self {
            state: Arc::new(Mutex::new(AsyncState {
                rx,
                buffer: VecDeque::new(),
                done: false,
            })),
        }
    }
}

#[pymethods]
impl AsyncResultIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.clone();
        runtime::awaitable(py, async move {
            let mut state = state.lock().await;
            loop {
                if let Some(item) = state.buffer.pop_front() {
                    return Ok(item);
                }
                if state.done {
                    return Err(PyStopAsyncIteration::new_err(()));
                }
                match state.rx.recv().await {
                    Some(Ok(batch)) => {
                        let objects = Python::attach(|py| batch.into_objects(py))?;
                        state.buffer.extend(objects);
                    }
                    Some(Err(err)) => {
                        state.done = true;
                        return Err(PyQapmsError::from(err).into());
                    }
                    None => state.done = true,
                }
            }
        })
    }

    #[expect(clippy::unused_self, reason = "Python calls it on the instance")]
    fn __repr__(&self) -> &'static str {
        "AsyncResultIterator()"
    }
}

/// A JSON value handed back from an awaitable, converted once it is back in Python.
pub(crate) struct Json(pub(crate) serde_json::Value);

impl Json {
    pub(crate) fn of<T: serde::Serialize>(value: &T) -> PyResult<Self> {
        serde_json::to_value(value)
            .map(Self)
            .map_err(|e| PyValueError::new_err(format!("cannot convert a value to Python: {e}")))
    }
}

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        crate::convert::json_to_py(py, &self.0)
    }
}

/// A positive timeout in seconds, or a `ValueError` naming the argument.
pub(crate) fn timeout(seconds: Option<f64>) -> PyResult<Option<std::time::Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some(std::time::Duration::from_secs_f64(s))),
        Some(_) => Err(PyValueError::new_err(
            "timeout must be a positive number of seconds",
        )),
    }
}

/// A core error for an argument Python got wrong, as `InvalidInputError`.
pub(crate) fn invalid(message: impl Into<String>) -> PyErr {
    PyQapmsError::from(qapms_core::Error::invalid_input(message.into())).into()
}

/// Rejects a string that holds a NUL byte, naming the argument (C APIs and databases would cut
/// or refuse it later, far from the cause).
pub(crate) fn no_nul(what: &str, value: &str) -> PyResult<()> {
    if value.contains('\0') {
        return Err(invalid(format!("{what} contains a NUL byte")));
    }
    Ok(())
}

/// A `TypeError` for an argument of the wrong kind.
pub(crate) fn wrong_type(what: &str, expected: &str) -> PyErr {
    PyTypeError::new_err(format!("{what} must be {expected}"))
}

record! {
    /// The outcome of an integration's health check: a cheap authenticated call.
    PyHealth as "HealthReport" wraps qapms_core::integrations::HealthReport;
    repr(health, latency_ms, detail);
    /// `ok`, `unauthorized`, `unreachable` or `degraded`.
    fn health(&self) -> &'static str {
        use qapms_core::integrations::Health;
        match self.0.health {
            Health::Ok => "ok",
            Health::Unauthorized => "unauthorized",
            Health::Unreachable => "unreachable",
            Health::Degraded => "degraded",
        }
    }
    /// How long the check took, in milliseconds.
    fn latency_ms(&self) -> f64 {
        self.0.latency.as_secs_f64() * 1000.0
    }
    /// Why it is not `ok`, in words a user can act on.
    fn detail(&self) -> Option<String> {
        self.0.detail.clone()
    }
    extra {
        /// True when the integration answered and accepted the credentials.
        fn __bool__(&self) -> bool {
            self.0.health == qapms_core::integrations::Health::Ok
        }
    }
}
