//! Core errors become Python exceptions here, and only here.
//!
//! Every exception derives from `qapms.QapmsError` and carries `.code` (the core's stable
//! `SNAKE_UPPER` kind). Subclasses follow the core's `ErrorKind`, so `except qapms.StoreError`
//! catches exactly what the store can raise.

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};
use qapms_core::{Error, ErrorKind};

create_exception!(
    qapms,
    QapmsError,
    PyException,
    "Base class of every error raised by qapms."
);
create_exception!(
    qapms,
    ConfigError,
    QapmsError,
    "The configuration is not valid."
);
create_exception!(
    qapms,
    SecretError,
    QapmsError,
    "A secret could not be decrypted, or no master key is available."
);
create_exception!(
    qapms,
    AuthError,
    QapmsError,
    "Credentials are missing, wrong or expired."
);
create_exception!(
    qapms,
    NotFoundError,
    QapmsError,
    "The requested item does not exist."
);
create_exception!(
    qapms,
    RateLimitedError,
    QapmsError,
    "An integration asked us to slow down."
);
create_exception!(
    qapms,
    UpstreamError,
    QapmsError,
    "An integration answered with an error."
);
create_exception!(qapms, StoreError, QapmsError, "The store failed.");
create_exception!(
    qapms,
    ConflictError,
    QapmsError,
    "A concurrent writer changed the item first."
);
create_exception!(
    qapms,
    InvalidInputError,
    QapmsError,
    "An argument or imported file is not valid."
);

/// A core error on its way into Python.
#[derive(Debug)]
pub(crate) struct PyQapmsError(pub(crate) Error);

impl From<Error> for PyQapmsError {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

impl From<PyQapmsError> for PyErr {
    fn from(err: PyQapmsError) -> Self {
        let err = err.0;
        let message = err.to_string();
        let py_err = match err.kind() {
            ErrorKind::Config => ConfigError::new_err(message),
            ErrorKind::Secret => SecretError::new_err(message),
            ErrorKind::Unauthorized => AuthError::new_err(message),
            ErrorKind::NotFound => NotFoundError::new_err(message),
            ErrorKind::RateLimited => RateLimitedError::new_err(message),
            ErrorKind::Upstream => UpstreamError::new_err(message),
            ErrorKind::Store => StoreError::new_err(message),
            ErrorKind::Conflict => ConflictError::new_err(message),
            ErrorKind::InvalidInput => InvalidInputError::new_err(message),
            _ => QapmsError::new_err(message),
        };
        Python::attach(|py| {
            // Attributes are best effort: failing to set one must not hide the error itself.
            let value = py_err.value(py);
            let _ = value.setattr("code", err.kind().code());
            // The HTTP status an integration answered with, when there was one.
            let status = err
                .context_value("status")
                .and_then(|s| s.parse::<u16>().ok());
            let _ = value.setattr("status", status);
            let _ = value.setattr("retry_after", err.retry_after().map(|d| d.as_secs_f64()));
            let _ = value.setattr("temporary", err.is_temporary());
        });
        py_err
    }
}

/// A `ConfigError` carrying every diagnostic, and the position of the first error as
/// `.path`, `.line` and `.column` (what an editor or a script needs to jump to it).
pub(crate) fn config_error(
    py: Python<'_>,
    errors: &qapms_core::config::ConfigErrors,
    diagnostics: Vec<crate::config::Diagnostic>,
) -> PyErr {
    let first = errors.errors().next();
    let err = ConfigError::new_err(errors.to_string());
    let value = err.value(py);
    // Attributes are best effort: failing to set one must not hide the error itself.
    let _ = value.setattr("code", qapms_core::ErrorKind::Config.code());
    let _ = value.setattr("path", first.map(|d| d.file.clone()));
    let _ = value.setattr("line", first.map(|d| d.line));
    let _ = value.setattr("column", first.map(|d| d.column));
    let _ = value.setattr("diagnostics", diagnostics);
    err
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("QapmsError", py.get_type::<QapmsError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("SecretError", py.get_type::<SecretError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("RateLimitedError", py.get_type::<RateLimitedError>())?;
    m.add("UpstreamError", py.get_type::<UpstreamError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    Ok(())
}
