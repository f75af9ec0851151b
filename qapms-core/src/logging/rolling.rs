//! Daily log files, gzip-compressed once rotated and kept for at least 30 days.
//!
//! Why not an existing roller: `tracing-appender` rotates but does not compress, and `logroller`
//! (0.1) compresses but prunes by file count, reads the wall clock directly (so rotation cannot
//! be tested without waiting a day) and prints its own failures to stderr. The requirement is
//! about age ("kept at least 30 days"), so pruning here is by age, with an injectable clock.
//!
//! Layout in the log directory, dates in UTC:
//! - `{prefix}.{YYYY-MM-DD}.log`: the active file for that day, appended to (a restart on the
//!   same day continues it);
//! - `{prefix}.{YYYY-MM-DD}.log.gz`: a finished day. If one already exists (the clock went
//!   back, or a crash left a day half-compressed) the new data is appended as a second gzip
//!   member, which every gzip reader concatenates, so nothing is ever overwritten.
//!
//! A day's file is removed only when its date is more than `retention_days` (at least
//! [`MIN_RETENTION_DAYS`]) before today, so every entry is kept for at least that many days.
//! Files that do not match the layout are never touched.
//!
//! Rotation happens on the first write of a new day, and also when the writer opens (so a CLI
//! that runs once a day still compresses and prunes). It runs on the thread that owns the
//! writer, which in [`super::init`] is the non-blocking worker, never an application thread.
//! Compression is crash-safe: the `.gz` is written under a temporary name and the `.log` is
//! removed only after the compressed copy is complete; the worst a crash can do is duplicate a
//! day's lines.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Days, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::MIN_RETENTION_DAYS;
use crate::{Error, ErrorKind, Result};

const DATE_FORMAT: &str = "%Y-%m-%d";
const LOG_SUFFIX: &str = ".log";
const GZ_SUFFIX: &str = ".log.gz";
const PARTIAL_SUFFIX: &str = ".log.gz.partial";

type Clock = Box<dyn Fn() -> DateTime<Utc> + Send>;

/// A writer to daily log files that compresses finished days and prunes them by age.
pub struct RollingFile {
    dir: PathBuf,
    prefix: String,
    retention_days: u32,
    clock: Clock,
    day: NaiveDate,
    file: File,
}

impl RollingFile {
    /// Opens (creating if needed) today's file in `dir`, then compresses finished days and
    /// prunes expired ones. `retention_days` below [`MIN_RETENTION_DAYS`] is raised to it.
    ///
    /// Fails with [`ErrorKind::Io`] naming `dir` when the directory cannot be created or
    /// written, and with [`ErrorKind::Config`] when `prefix` is not a plain file-name stem.
    pub fn open(dir: impl Into<PathBuf>, prefix: &str, retention_days: u32) -> Result<Self> {
        Self::open_with_clock(dir, prefix, retention_days, Utc::now)
    }

    /// Like [`RollingFile::open`], reading the time from `clock`, so tests can cross midnight
    /// (or a month) without waiting.
    pub fn open_with_clock(
        dir: impl Into<PathBuf>,
        prefix: &str,
        retention_days: u32,
        clock: impl Fn() -> DateTime<Utc> + Send + 'static,
    ) -> Result<Self> {
        let dir = dir.into();
        validate_prefix(prefix)?;
        fs::create_dir_all(&dir).map_err(|err| dir_error(&dir, err))?;
        let day = clock().date_naive();
        let path = day_path(&dir, prefix, day, LOG_SUFFIX);
        let file = open_append(&path).map_err(|err| dir_error(&dir, err))?;
        let mut rolling = Self {
            dir,
            prefix: prefix.to_owned(),
            retention_days: retention_days.max(MIN_RETENTION_DAYS),
            clock: Box::new(clock),
            day,
            file,
        };
        // Best effort: a failure here must not stop the application from logging, and the
        // next rotation retries.
        let _ = rolling.maintain();
        Ok(rolling)
    }

    /// The file being written now.
    pub fn active_path(&self) -> PathBuf {
        day_path(&self.dir, &self.prefix, self.day, LOG_SUFFIX)
    }

    /// The effective retention, in days (never below [`MIN_RETENTION_DAYS`]).
    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }

    /// Compresses every finished day still uncompressed and removes days past retention.
    ///
    /// Runs automatically on open and at each rotation; public so an admin command can run it.
    /// Keeps going past a file it cannot handle and reports the first failure.
    pub fn maintain(&mut self) -> Result<()> {
        let today = self.day;
        let mut first_error: Option<Error> = None;
        let mut note = |result: Result<()>| {
            if let Err(err) = result
                && first_error.is_none()
            {
                first_error = Some(err);
            }
        };

        for (path, day, kind) in self.list()? {
            match kind {
                FileKind::Partial => note(fs::remove_file(&path).map_err(|e| file_error(&path, e))),
                FileKind::Log if day < today => note(compress(&path)),
                FileKind::Log | FileKind::Gz => {}
            }
        }

        // A day's file holds entries from that day; it is kept until `retention_days` full
        // days have passed since it ended, so no entry is kept for less than the retention.
        let cutoff = today
            .checked_sub_days(Days::new(u64::from(self.retention_days)))
            .unwrap_or(NaiveDate::MIN);
        for (path, day, kind) in self.list()? {
            if day < cutoff && matches!(kind, FileKind::Gz | FileKind::Log) {
                note(fs::remove_file(&path).map_err(|e| file_error(&path, e)));
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Switches to today's file when the date has moved forward since the last write.
    fn rotate_if_due(&mut self) {
        let today = (self.clock)().date_naive();
        // A clock that goes backwards keeps writing the current file rather than reopening an
        // older day.
        if today <= self.day {
            return;
        }
        let path = day_path(&self.dir, &self.prefix, today, LOG_SUFFIX);
        // On failure keep writing yesterday's file rather than losing lines; the next write
        // retries.
        if let Ok(file) = open_append(&path) {
            // Dropping the old handle closes it before it is compressed.
            self.file = file;
            self.day = today;
            let _ = self.maintain();
        }
    }

    /// The files in the directory that belong to this prefix, with their day and kind.
    fn list(&self) -> Result<Vec<(PathBuf, NaiveDate, FileKind)>> {
        let entries = fs::read_dir(&self.dir).map_err(|err| dir_error(&self.dir, err))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some((day, kind)) = parse_name(&self.prefix, name) {
                found.push((entry.path(), day, kind));
            }
        }
        found.sort_by_key(|(_, day, _)| *day);
        Ok(found)
    }
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.rotate_if_due();
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl fmt::Debug for RollingFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RollingFile")
            .field("dir", &self.dir)
            .field("prefix", &self.prefix)
            .field("retention_days", &self.retention_days)
            .field("day", &self.day)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Log,
    Gz,
    Partial,
}

fn parse_name(prefix: &str, name: &str) -> Option<(NaiveDate, FileKind)> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('.')?;
    let (date, suffix) = rest.split_at_checked(10)?;
    let kind = match suffix {
        LOG_SUFFIX => FileKind::Log,
        GZ_SUFFIX => FileKind::Gz,
        PARTIAL_SUFFIX => FileKind::Partial,
        _ => return None,
    };
    let day = NaiveDate::parse_from_str(date, DATE_FORMAT).ok()?;
    Some((day, kind))
}

fn day_path(dir: &Path, prefix: &str, day: NaiveDate, suffix: &str) -> PathBuf {
    dir.join(format!("{prefix}.{}{suffix}", day.format(DATE_FORMAT)))
}

fn validate_prefix(prefix: &str) -> Result<()> {
    let plain = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(())
    } else {
        Err(Error::config(
            "log file prefix must be non-empty and use only letters, digits, `-`, `_` and `.`",
        )
        .with_context("prefix", prefix))
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Compresses `{day}.log` into `{day}.log.gz` (appending a member if it exists), then removes
/// the `.log`.
fn compress(log_path: &Path) -> Result<()> {
    let gz_path = log_path.with_extension("log.gz");
    let partial_path = log_path.with_extension("log.gz.partial");
    write_gz(log_path, &partial_path, &gz_path).map_err(|err| file_error(log_path, err))?;
    fs::remove_file(log_path).map_err(|err| file_error(log_path, err))
}

fn write_gz(log_path: &Path, partial_path: &Path, gz_path: &Path) -> io::Result<()> {
    let mut input = BufReader::new(File::open(log_path)?);
    let mut encoder = GzEncoder::new(
        BufWriter::new(File::create(partial_path)?),
        Compression::default(),
    );
    io::copy(&mut input, &mut encoder)?;
    let mut output = encoder.finish()?;
    output.flush()?;
    output.get_ref().sync_all()?;
    drop(output);
    if gz_path.exists() {
        let mut existing = OpenOptions::new().append(true).open(gz_path)?;
        io::copy(&mut File::open(partial_path)?, &mut existing)?;
        existing.sync_all()?;
        fs::remove_file(partial_path)
    } else {
        fs::rename(partial_path, gz_path)
    }
}

fn dir_error(dir: &Path, err: io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot write log files to directory `{}`", dir.display()),
    )
    .with_source(err)
}

fn file_error(path: &Path, err: io::Error) -> Error {
    Error::new(ErrorKind::Io, "log file maintenance failed")
        .with_context("file", path.display().to_string())
        .with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 9).unwrap();
        let path = day_path(Path::new("/x"), "qapms-server", day, GZ_SUFFIX);
        assert_eq!(path, Path::new("/x/qapms-server.2025-03-09.log.gz"));
        assert_eq!(
            parse_name("qapms-server", "qapms-server.2025-03-09.log.gz"),
            Some((day, FileKind::Gz))
        );
        assert_eq!(
            parse_name("qapms-server", "qapms-server.2025-03-09.log"),
            Some((day, FileKind::Log))
        );
    }

    #[test]
    fn foreign_names_are_ignored() {
        for name in [
            "qapms-server.log",
            "qapms-server.2025-03-09.txt",
            "qapms-server.2025-13-09.log",
            "other.2025-03-09.log",
            "qapms-server-lsp.2025-03-09.log",
            "qapms-server.2025-03-09.log.gz.bak",
        ] {
            assert_eq!(parse_name("qapms-server", name), None, "{name}");
        }
    }

    #[test]
    fn prefix_must_be_a_plain_stem() {
        for bad in ["", "../x", "a/b", "a b"] {
            let err = validate_prefix(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config);
        }
        validate_prefix("qapms-lsp_1.x").unwrap();
    }
}
