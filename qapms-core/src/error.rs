//! One error type for the whole library, branched on [`ErrorKind`].
//!
//! Front-ends map errors in one place each (HTTP status, Python exception class, LSP log line),
//! so they need a small, stable set of kinds rather than one enum variant per failure site.
//! The message is written for the person who has to act on it (a QA editing `qapms.yaml`, an
//! admin whose database is down) and never contains a secret: callers build messages from key
//! paths and names, not from values.

use std::fmt;

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely enough for a front-end to choose a status code or exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The thing asked for does not exist.
    NotFound,
    /// Credentials are missing, wrong or expired.
    Unauthorized,
    /// The caller must slow down; see [`Error::retry_after`].
    RateLimited,
    /// An argument or an imported file is not valid.
    InvalidInput,
    /// The configuration (file, profile, environment) is not valid.
    Config,
    /// A secret could not be decrypted or the key is unavailable.
    Secret,
    /// An upstream service answered with an error or an unreadable payload.
    Upstream,
    /// The store failed (connection, migration, constraint).
    Store,
    /// A write lost an optimistic-concurrency race; reload and retry.
    Conflict,
    /// A local I/O failure (file system, socket).
    Io,
}

impl ErrorKind {
    /// A stable `SNAKE_UPPER` code for JSON error bodies and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "NOT_FOUND",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::RateLimited => "RATE_LIMITED",
            Self::InvalidInput => "INVALID_INPUT",
            Self::Config => "CONFIG",
            Self::Secret => "SECRET",
            Self::Upstream => "UPSTREAM",
            Self::Store => "STORE",
            Self::Conflict => "CONFLICT",
            Self::Io => "IO",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The library's error: a kind, whether retrying may help, a message, context and a source.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    temporary: bool,
    message: String,
    context: Vec<(&'static str, String)>,
    retry_after: Option<std::time::Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a message a user can act on.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            temporary: false,
            message: message.into(),
            context: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::Store`].
    pub fn store(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Store, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Secret`].
    pub fn secret(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Secret, message)
    }

    /// Marks the error as temporary: the same call may succeed later.
    #[must_use]
    pub fn set_temporary(mut self) -> Self {
        self.temporary = true;
        self
    }

    /// Adds a `key: value` pair shown after the message (a file, a key path, an operation).
    #[must_use]
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Records how long the caller should wait before retrying.
    #[must_use]
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Attaches the underlying cause. Its `Display` must not contain secrets.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether retrying the same call may succeed.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// The message alone, without context or source.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Context pairs in the order they were added.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// The value of one context key, if present.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, "I/O error").with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_context_and_source() {
        let err = Error::config("unknown key `base_ur`")
            .with_context("file", "qapms.yaml")
            .with_source(std::io::Error::other("boom"));
        assert_eq!(
            err.to_string(),
            "unknown key `base_ur` (file: qapms.yaml): boom"
        );
        assert_eq!(err.kind().code(), "CONFIG");
        assert_eq!(err.context_value("file"), Some("qapms.yaml"));
    }
}
