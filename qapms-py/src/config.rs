//! `qapms.check_config` and `qapms.config_schema`: the config validator from Python.

use std::fmt::Write as _;
use std::path::PathBuf;

use pyo3::prelude::*;
use qapms_core::config::{self, Env, LoadOptions};

use crate::errors::config_error;

/// One finding of the config validator, with its position (1-based line and column).
#[pyclass(module = "qapms", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct Diagnostic {
    severity: String,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    key_path: String,
    message: String,
    suggestion: Option<String>,
}

#[pymethods]
impl Diagnostic {
    fn __repr__(&self) -> String {
        format!(
            "Diagnostic({}:{}:{}: {}: {}: {})",
            self.file, self.line, self.column, self.severity, self.key_path, self.message
        )
    }

    fn __str__(&self) -> String {
        let mut text = format!(
            "{}:{}:{}: {}: {}: {}",
            self.file, self.line, self.column, self.severity, self.key_path, self.message
        );
        if let Some(s) = &self.suggestion {
            let _ = write!(text, " (did you mean `{s}`?)");
        }
        text
    }
}

impl From<&config::Diagnostic> for Diagnostic {
    fn from(d: &config::Diagnostic) -> Self {
        Self {
            severity: d.severity.to_string(),
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            end_line: d.end_line,
            end_column: d.end_column,
            key_path: d.key_path.clone(),
            message: d.message.clone(),
            suggestion: d.suggestion.clone(),
        }
    }
}

/// Validates qapms.yaml and returns its warnings.
///
/// The file is found as the CLI finds it: `path`, else `$QAPMS_CONFIG`, else `qapms.yaml` in
/// the working directory or a parent. With no file at all the defaults are valid and the list
/// is empty. An invalid file raises `ConfigError` whose `.diagnostics` lists every problem and
/// whose `.path`, `.line` and `.column` point at the first error.
#[pyfunction]
#[pyo3(signature = (path=None, profile=None))]
pub(crate) fn check_config(
    py: Python<'_>,
    path: Option<PathBuf>,
    profile: Option<String>,
) -> PyResult<Vec<Diagnostic>> {
    let cwd = std::env::current_dir()?;
    let result = py.detach(|| {
        let env = Env::from_process_with_dotenv(&cwd)?;
        let profile = profile.or_else(|| env.get_non_empty("QAPMS_PROFILE").map(str::to_owned));
        Ok::<_, qapms_core::Error>(config::load(&LoadOptions {
            path,
            profile,
            cwd,
            env,
        }))
    });
    match result.map_err(crate::errors::PyQapmsError::from)? {
        Ok(loaded) => Ok(loaded.warnings.iter().map(Diagnostic::from).collect()),
        Err(errors) => {
            let diagnostics: Vec<Diagnostic> =
                errors.diagnostics.iter().map(Diagnostic::from).collect();
            Err(config_error(py, &errors, diagnostics))
        }
    }
}

/// The JSON Schema of qapms.yaml, as a JSON string (draft 2020-12).
#[pyfunction]
pub(crate) fn config_schema() -> String {
    config::json_schema().to_string()
}
