//! A non-blocking log sink that writes in batches.
//!
//! Log lines are formatted (and redacted) on the application's threads and handed to one
//! writer thread per sink. A writer thread that woke for every line, as a plain channel worker
//! does, cost a server answering 25,000 requests a second (one access-log line each) nearly a
//! third of its CPU in wake-ups, spinning and one `write` per line. This one takes every line
//! queued when it wakes, writes them with one call, and then lets lines gather for
//! [`GATHER`] before it looks again, so a busy sink is written about fifty times a second and an
//! idle one still gets its line at once.

use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a busy writer lets lines gather between writes: also how late a line can reach
/// the file while the application keeps logging.
const GATHER: Duration = Duration::from_millis(20);

/// Lines queued at most. Beyond it a lossy sink drops lines and a lossless one makes the logging
/// thread wait, which only a sink that stopped taking writes (a full disk) ever causes.
const CAPACITY: usize = 64 * 1024;

enum Message {
    Line(Vec<u8>),
    /// Write what is queued and stop (the guard is dropped).
    Stop,
}

/// The application side: a [`MakeWriter`] whose writers queue each write as one line.
#[derive(Clone, Debug)]
pub(super) struct BatchWriter {
    tx: SyncSender<Message>,
    lossy: bool,
}

/// Keeps the writer thread running; dropping it writes what is queued and stops the thread.
#[derive(Debug)]
pub(super) struct BatchGuard {
    tx: SyncSender<Message>,
    worker: Option<JoinHandle<()>>,
}

/// Starts a writer thread named `name` for `sink`. A `lossy` writer drops lines when the queue
/// is full rather than make the application wait (for a console nobody reads).
pub(super) fn spawn<W: Write + Send + 'static>(
    name: &str,
    sink: W,
    lossy: bool,
) -> io::Result<(BatchWriter, BatchGuard)> {
    let (tx, rx) = mpsc::sync_channel(CAPACITY);
    let worker = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || run(&rx, sink))?;
    Ok((
        BatchWriter {
            tx: tx.clone(),
            lossy,
        },
        BatchGuard {
            tx,
            worker: Some(worker),
        },
    ))
}

fn run<W: Write>(rx: &Receiver<Message>, mut sink: W) {
    let mut batch = Vec::with_capacity(64 * 1024);
    // `recv` fails once every sender is gone: nothing more can arrive.
    while let Ok(first) = rx.recv() {
        let mut stop = take(&mut batch, first);
        while !stop {
            match rx.try_recv() {
                Ok(message) => stop = take(&mut batch, message),
                Err(_) => break,
            }
        }
        // A failing sink cannot be reported through the log it is; the lines are dropped.
        let _ = sink.write_all(&batch);
        let _ = sink.flush();
        batch.clear();
        if stop {
            return;
        }
        // Woken early by the guard when it stops.
        std::thread::park_timeout(GATHER);
    }
}

/// Adds a message to the batch; true when it says to stop.
fn take(batch: &mut Vec<u8>, message: Message) -> bool {
    match message {
        Message::Line(line) => {
            batch.extend_from_slice(&line);
            false
        }
        Message::Stop => true,
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        // The queue may be full, so this can wait for the writer: which is the point, the
        // lines before it get written.
        let _ = self.tx.send(Message::Stop);
        if let Some(worker) = self.worker.take() {
            worker.thread().unpark();
            let _ = worker.join();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

/// Queues each write as one line; the redacting writer in front writes an event in one call.
#[derive(Debug)]
pub(super) struct LineWriter<'a>(&'a BatchWriter);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let message = Message::Line(buf.to_vec());
        if self.0.lossy {
            match self.0.tx.try_send(message) {
                // A full queue drops the line; a stopped writer too (after the guard).
                Ok(()) | Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
            }
        } else {
            // Only fails once the writer has stopped, at exit: the line is dropped.
            let _ = self.0.tx.send(message);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, PoisonError, RwLock};

    use super::*;

    /// A sink the test can read, which counts its writes.
    #[derive(Clone, Default)]
    struct Shared(Arc<RwLock<(Vec<u8>, usize)>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut inner = self.0.write().unwrap_or_else(PoisonError::into_inner);
            inner.0.extend_from_slice(buf);
            inner.1 += 1;
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Shared::default();
        let (writer, guard) = spawn("test-log", sink.clone(), false).unwrap();
        let lines: Vec<String> = (0..5_000).map(|i| format!("line {i}\n")).collect();
        for line in &lines {
            writer.make_writer().write_all(line.as_bytes()).unwrap();
        }
        drop(guard);
        let (text, write_calls) = sink.0.read().unwrap().clone();
        assert_eq!(String::from_utf8(text).unwrap(), lines.concat());
        assert!(
            write_calls < lines.len(),
            "{write_calls} writes for {} lines",
            lines.len()
        );
    }

    #[test]
    fn lines_after_the_guard_are_dropped_without_blocking_or_failing() {
        let sink = Shared::default();
        for lossy in [true, false] {
            let (writer, guard) = spawn("test-log", sink.clone(), lossy).unwrap();
            drop(guard);
            writer.make_writer().write_all(b"late\n").unwrap();
        }
        assert!(sink.0.read().unwrap().0.is_empty());
    }
}
