//! Where command output goes: data to stdout, messages to stderr.
//!
//! Commands write through [`Output`] rather than `println!` so a broken pipe (`qapms ... | head`)
//! is not a panic, so the one place that prints is easy to find, and so a test can capture
//! both streams.

use std::io::Write;

pub(crate) struct Output {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Output")
    }
}

impl Output {
    /// The process's stdout and stderr.
    pub(crate) fn stdio() -> Self {
        Self {
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
        }
    }

    /// One line of data on stdout. Write errors (a closed pipe) are ignored on purpose.
    pub(crate) fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// Text on stdout as it is (a rendered report ends with its own newline).
    pub(crate) fn text(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// A message for the person at the terminal, on stderr.
    pub(crate) fn note(&mut self, text: &str) {
        let _ = writeln!(self.err, "{text}");
    }

    /// An error message on stderr, prefixed so it stands out in script logs.
    pub(crate) fn error(&mut self, text: &str) {
        let _ = writeln!(self.err, "qapms: error: {text}");
    }
}
