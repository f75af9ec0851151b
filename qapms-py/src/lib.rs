//! `qapms._qapms`: the native module behind the `qapms` Python package.
//!
//! A thin translation layer: domain logic lives in qapms-core. Errors cross into Python in one
//! place ([`errors`]); the `qapms` command line is Rust too ([`cli`]) so that the console script
//! and every other front-end run the same code.

pub mod cli;
mod config;
mod convert;
mod discover;
mod errors;
mod grafana;
mod jira;
mod postman;
mod qa;
mod records;
mod runtime;
mod splunk;
mod syncing;
mod testmo;
mod workspace;

use pyo3::prelude::*;

/// Runs the `qapms` command line with `argv` (program name first) and returns its exit code.
///
/// The GIL is released while the command runs: it may do network and disk I/O for a while.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| cli::run(argv))
}

#[pymodule]
fn _qapms(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(config::check_config, m)?)?;
    m.add_function(wrap_pyfunction!(config::config_schema, m)?)?;
    m.add_class::<config::Diagnostic>()?;
    m.add_class::<workspace::Workspace>()?;
    m.add_class::<workspace::StoreInfo>()?;
    jira::register(m)?;
    postman::register(m)?;
    testmo::register(m)?;
    qa::register(m)?;
    discover::register(m)?;
    splunk::register(m)?;
    grafana::register(m)?;
    syncing::register(m)?;
    m.add_class::<records::ResultIterator>()?;
    m.add_class::<records::AsyncResultIterator>()?;
    m.add_class::<records::PyHealth>()?;
    errors::register(m)?;
    Ok(())
}
