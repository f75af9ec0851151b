//! A [`MakeWriter`] wrapper that redacts each formatted event before it reaches its sink.
//!
//! Redacting at the writer, rather than in a layer that rewrites fields, covers everything a
//! formatter produces (messages, fields, `?debug` values, span fields, error chains, JSON and
//! human formats alike) with one mechanism that no new field type can bypass.
//!
//! A secret must never be split across two redaction units, or neither half would match. The
//! fmt layer formats an event completely, asks for a fresh writer per event, calls `write_all`
//! once and drops the writer. [`RedactingWriter`] therefore buffers everything written to it
//! and redacts and forwards the buffer as one unit when it is dropped. An explicit `flush`
//! forwards only complete lines, so even a caller that flushes mid-event cannot cut a
//! single-line secret in two.

use std::fmt;
use std::io::{self, Write};

use tracing::Metadata;
use tracing_subscriber::fmt::MakeWriter;

use super::Redactor;

/// Wraps a [`MakeWriter`] so that everything written through it is redacted first.
#[derive(Clone, Debug)]
pub struct RedactingMakeWriter<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> RedactingMakeWriter<M> {
    /// Redacts with `redactor` (a shared handle: secrets added later are honoured) before
    /// writing to `inner`.
    pub fn new(inner: M, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M> MakeWriter<'a> for RedactingMakeWriter<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactingWriter<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer(), &self.redactor)
    }

    // Forwarded so that level- or target-based routing in `inner` keeps working.
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta), &self.redactor)
    }
}

/// Buffers one event and writes it, redacted, to the inner writer when dropped.
pub struct RedactingWriter<'a, W: Write> {
    inner: W,
    redactor: &'a Redactor,
    buf: Vec<u8>,
}

impl<'a, W: Write> RedactingWriter<'a, W> {
    fn new(inner: W, redactor: &'a Redactor) -> Self {
        Self {
            inner,
            redactor,
            buf: Vec::new(),
        }
    }

    /// Redacts and forwards the first `len` buffered bytes as one unit.
    fn forward(&mut self, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let chunk: Vec<u8> = self.buf.drain(..len).collect();
        // Formatters write UTF-8; a stray invalid byte becomes U+FFFD rather than skipping
        // redaction for the whole event.
        let text = String::from_utf8_lossy(&chunk);
        let redacted = self.redactor.redact(&text);
        self.inner.write_all(redacted.as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(last_newline) = self.buf.iter().rposition(|&b| b == b'\n') {
            self.forward(last_newline + 1)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<'_, W> {
    fn drop(&mut self) {
        // A log sink that fails has nowhere to report to: logging the failure would recurse
        // into this writer. The fmt layer ignores write errors for the same reason.
        let _ = self.forward(self.buf.len());
    }
}

impl<W: Write> fmt::Debug for RedactingWriter<'_, W> {
    // The buffer is unredacted output, so only its size is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactingWriter")
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}
