//! `qapms._qapms`: the native module behind the `qapms` Python package.
//!
//! A thin translation layer: domain logic lives in qapms-core.
use pyo3::prelude::*;

/// The version of the native extension.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _qapms(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
