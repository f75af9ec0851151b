//! Diagnostics: what the loader says about a file, with enough position for an editor.
//!
//! Every problem becomes one [`Diagnostic`] (file, 1-based line and column, the end of the
//! offending node, the dotted key path, a message and an optional suggestion). The loader
//! collects all of them instead of stopping at the first, and returns them together as
//! [`ConfigErrors`]; the CLI prints its `Display`, the LSP maps each one to an editor range, and
//! [`crate::Error`] gets the first error as context. Messages are built from key paths, expected
//! types and allowed values, never from a credential's value.

use std::fmt::{self, Write as _};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// One finding about the configuration, positioned in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file name as given to the loader (a path, or a name such as `qapms.yaml` for text).
    pub file: String,
    /// 1-based line of the start of the offending node.
    pub line: usize,
    /// 1-based column (in characters) of the start of the offending node.
    pub column: usize,
    /// 1-based line of the end of the offending node, for editor ranges.
    pub end_line: usize,
    /// 1-based column just past the end of the offending node.
    pub end_column: usize,
    /// Dotted path of the key, e.g. `integrations.jira.auth.method` or `users[2].role`.
    pub key_path: String,
    pub message: String,
    /// The closest valid key or value, when there is one.
    pub suggestion: Option<String>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.file, self.line, self.column, self.severity
        )?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

/// Everything wrong with a configuration: at least one error, plus any warnings, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigErrors {
    /// The errors alone, without warnings.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings alone.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigErrors> for Error {
    fn from(errors: ConfigErrors) -> Self {
        let count = errors.errors().count();
        let Some(first) = errors.errors().next().or(errors.diagnostics.first()) else {
            return Error::config("invalid configuration");
        };
        let mut message = first.message.clone();
        if count > 1 {
            let _ = write!(message, " (and {} more errors)", count - 1);
        }
        let err = Error::config(message)
            .with_context("file", first.file.clone())
            .with_context("line", first.line.to_string())
            .with_context("column", first.column.to_string())
            .with_context("key", first.key_path.clone());
        err.with_source(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: usize, severity: Severity, suggestion: Option<&str>) -> Diagnostic {
        Diagnostic {
            severity,
            file: "qapms.yaml".into(),
            line,
            column: 3,
            end_line: line,
            end_column: 10,
            key_path: "integrations.jira.base_ur".into(),
            message: "unknown key `base_ur`".into(),
            suggestion: suggestion.map(str::to_owned),
        }
    }

    #[test]
    fn display_is_one_line_per_diagnostic() {
        let errors = ConfigErrors {
            diagnostics: vec![
                diag(4, Severity::Error, Some("base_url")),
                diag(9, Severity::Warning, None),
            ],
        };
        assert_eq!(
            errors.to_string(),
            "qapms.yaml:4:3: error: integrations.jira.base_ur: unknown key `base_ur` (did you mean `base_url`?)\n\
             qapms.yaml:9:3: warning: integrations.jira.base_ur: unknown key `base_ur`"
        );
    }

    #[test]
    fn into_error_keeps_first_position() {
        let errors = ConfigErrors {
            diagnostics: vec![
                diag(4, Severity::Error, None),
                diag(5, Severity::Error, None),
            ],
        };
        let err: Error = errors.into();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert_eq!(err.context_value("line"), Some("4"));
        assert_eq!(err.context_value("column"), Some("3"));
        assert_eq!(err.context_value("key"), Some("integrations.jira.base_ur"));
        assert!(err.message().contains("and 1 more"));
    }
}
