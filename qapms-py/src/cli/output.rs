//! Where command output goes: data to stdout, messages to stderr.
//!
//! Commands write through [`Output`] rather than `println!` so a broken pipe (`qapms ... | head`)
//! is not a panic, and so the one place that prints is easy to find.

use std::io::Write;

#[derive(Debug)]
pub(crate) struct Output {
    _private: (),
}

impl Output {
    pub(crate) fn stdio() -> Self {
        Self { _private: () }
    }

    /// One line of data on stdout. Write errors (a closed pipe) are ignored on purpose.
    pub(crate) fn line(&mut self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// A message for the person at the terminal, on stderr.
    pub(crate) fn note(&mut self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    /// An error message on stderr, prefixed so it stands out in script logs.
    pub(crate) fn error(&mut self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "qapms: error: {text}");
    }
}
