//! Test results: `JUnit` XML import and stable test identity.
//!
//! [`import_junit`] streams one or more `JUnit` XML files into the store as **one run**:
//! - [`junit`] reads each file a test case at a time (bounded memory, hostile input rejected);
//! - [`identity`] gives each test case its keys and its linked Jira keys;
//! - the store's [`RunImport`](crate::store::RunImport) writes batches inside one transaction,
//!   resolving each test through the identity map and numbering every attempt, retries
//!   included.
//!
//! Any failure (an unreadable file, malformed XML on line 90 210 of the third file, a store
//! error) drops the transaction: the store is left exactly as it was, with no partial run.
//! Errors name the file and the line, counted from the byte offset of the failure.
//!
//! The files are read and parsed on a thread of the import's own, one batch ahead of the
//! store's writes: the parse overlaps the inserts, and no file read blocks the async runtime.
//!
//! Memory: one XML event (capped by [`Limits`]), three batches of parsed tests (being parsed,
//! waiting, being written), and a few dozen bytes per distinct test for attempt numbering and
//! the summary counts.

pub mod identity;
pub mod junit;

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::model::{
    ImportedAttempt, ImportedTest, IssueKey, RunId, TestRun, TestSource, TestStatus, WorkflowId,
    utc_now,
};
use crate::store::Store;
use crate::{Error, Result};

pub use identity::LinkRules;
pub use junit::{JunitCase, JunitReader, Limits, ParseError, ReportHeader};

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The run's name; by default the report's root `name`, else the first file's stem.
    pub run_name: Option<String>,
    pub environment: Option<String>,
    /// The build number or revision tested.
    pub revision: Option<String>,
    pub links: LinkRules,
    pub limits: Limits,
    /// Tests per store batch.
    pub batch_size: usize,
    /// Tickets whose active workflow step the run attaches to, besides the tickets the
    /// imported tests link to.
    pub workflow_tickets: Vec<IssueKey>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            run_name: None,
            environment: None,
            revision: None,
            links: LinkRules::default(),
            limits: Limits::default(),
            batch_size: 4000,
            workflow_tickets: Vec::new(),
        }
    }
}

/// Distinct linked tickets remembered for attaching the run to workflows.
const MAX_LINKED_TICKETS: usize = 1000;

/// What an import stored. Test counts are by each test's last attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub run_id: RunId,
    pub run_name: String,
    pub files: u64,
    /// Distinct tests.
    pub tests: u64,
    /// Result rows: every attempt of every test.
    pub attempts: u64,
    pub passed: u64,
    /// Failed or errored on their last attempt.
    pub failed: u64,
    pub skipped: u64,
    /// Tests with more than one attempt.
    pub retried: u64,
    /// Tests the store had never seen.
    pub new_tests: u64,
    /// `(workflow, step position)` of the active workflow steps the run was attached to.
    pub attached_steps: Vec<(WorkflowId, u32)>,
}

/// Progress of a running import, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportProgress {
    /// The file being read, from 1.
    pub file: u64,
    pub files: u64,
    /// Test cases read so far, over all files.
    pub test_cases: u64,
}

/// Imports `JUnit` XML files as one run; see the module notes.
pub async fn import_junit(
    store: &dyn Store,
    paths: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportSummary> {
    import_junit_with_progress(store, paths, options, &mut |_| {}).await
}

/// [`import_junit`], calling `progress` after every batch.
pub async fn import_junit_with_progress(
    store: &dyn Store,
    paths: &[PathBuf],
    options: &ImportOptions,
    progress: &mut (dyn FnMut(&ImportProgress) + Send),
) -> Result<ImportSummary> {
    if paths.is_empty() {
        return Err(Error::invalid_input("no JUnit XML file to import"));
    }
    // Open every file before touching the store, so a typo in the last path costs nothing.
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let file = File::open(path)
            .map_err(|e| Error::from(e).with_context("file", path.display().to_string()))?;
        files.push((path.clone(), file));
    }
    let file_count = paths.len() as u64;
    let mut read = read_in_background(
        files,
        options.limits,
        options.links.clone(),
        options.batch_size,
    )?;
    let Some(Read::Header { header }) = next_read(&mut read).await? else {
        return Err(Error::invalid_input("no JUnit XML file to import"));
    };
    let first_path = &paths[0];
    let started_at = header
        .timestamp
        .as_deref()
        .and_then(parse_timestamp)
        .unwrap_or_else(utc_now);
    let run_name = options
        .run_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| header.name.clone().filter(|n| !n.trim().is_empty()))
        .unwrap_or_else(|| {
            first_path
                .file_stem()
                .map_or_else(|| "junit".to_owned(), |s| s.to_string_lossy().into_owned())
        });
    let run = TestRun {
        id: RunId::new(),
        source: TestSource::Junit,
        name: run_name.clone(),
        started_at,
        finished_at: None,
        environment: options.environment.clone(),
        revision: options.revision.clone(),
        url: None,
    };
    let mut import = store.begin_run_import(&run).await?;
    let mut finished_at = end_of(&header);

    let mut tally = Tally::default();
    let mut linked_tickets: std::collections::BTreeSet<IssueKey> =
        options.workflow_tickets.iter().cloned().collect();
    // The reader parses the next batch while this one is written: on two cores the parse is
    // hidden behind the inserts.
    loop {
        match next_read(&mut read).await? {
            Some(Read::Header { header }) => finished_at = finished_at.max(end_of(&header)),
            Some(Read::Batch { file, tests }) => {
                for test in &tests {
                    // Bounded, so a report linking every test to its own ticket stays small.
                    for key in &test.ticket_keys {
                        if linked_tickets.len() < MAX_LINKED_TICKETS {
                            linked_tickets.insert(key.clone());
                        }
                    }
                    tally.add(test);
                }
                tally.new_tests += import.add(&tests).await?.new_tests;
                progress(&ImportProgress {
                    file,
                    files: file_count,
                    test_cases: tally.cases,
                });
            }
            Some(Read::End) => break,
            None => {
                return Err(Error::invalid_input(
                    "the JUnit reader stopped before the end of the reports",
                ));
            }
        }
    }
    import
        .finish(finished_at.filter(|f| *f >= started_at))
        .await?;
    let mut summary = tally.summary(run.id, run_name, file_count);
    summary.attached_steps = attach_to_workflows(store, run.id, linked_tickets).await;
    tracing::info!(
        run = %summary.run_id,
        tests = summary.tests,
        attempts = summary.attempts,
        "JUnit import stored"
    );
    Ok(summary)
}

/// Attaches a stored run to the active workflow steps of `tickets`. The run is committed
/// already; a failure here is logged, not returned, so a stored import never looks failed.
async fn attach_to_workflows(
    store: &dyn Store,
    run: RunId,
    tickets: std::collections::BTreeSet<IssueKey>,
) -> Vec<(WorkflowId, u32)> {
    let tickets: Vec<IssueKey> = tickets.into_iter().collect();
    match store.attach_run_to_active_steps(&run, &tickets).await {
        Ok(attached) => attached,
        Err(e) => {
            tracing::warn!(run = %run, error = %e, "the run could not be attached to the active workflow steps");
            Vec::new()
        }
    }
}

/// What the import's reader thread sends, in order: each file's header as it opens the file,
/// batches of its tests, and `End` once every file is read. A channel that closes without
/// `End` means the reader died, and the import must not commit.
enum Read {
    Header { header: ReportHeader },
    Batch { file: u64, tests: Vec<ImportedTest> },
    End,
}

/// Parses `files` on a thread of its own, a batch at a time, one batch ahead of the store.
/// The thread stops at the first error (sent, naming the file and line) or when the import
/// drops the receiver; the file reads never block the async runtime.
fn read_in_background(
    files: Vec<(PathBuf, File)>,
    limits: Limits,
    links: LinkRules,
    batch_size: usize,
) -> Result<tokio::sync::mpsc::Receiver<Result<Read>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let batch_size = batch_size.max(1);
    std::thread::Builder::new()
        .name("qapms-junit-reader".to_owned())
        .spawn(move || {
            // A send fails only when the import gave up (a store error); stop quietly then.
            let send = |item: Result<Read>| tx.blocking_send(item).is_ok();
            let mut batch: Vec<ImportedTest> = Vec::with_capacity(batch_size);
            let mut file_no = 0u64;
            for (path, file) in files {
                file_no += 1;
                let mut reader =
                    JunitReader::new(BufReader::with_capacity(256 << 10, file), limits);
                match reader.header() {
                    Ok(header) => {
                        if !send(Ok(Read::Header { header })) {
                            return;
                        }
                    }
                    Err(e) => {
                        send(Err(located(&path, &e)));
                        return;
                    }
                }
                loop {
                    match reader.next_case() {
                        Ok(Some(case)) => batch.push(to_imported(case, &links)),
                        Ok(None) => break,
                        Err(e) => {
                            send(Err(located(&path, &e)));
                            return;
                        }
                    }
                    if batch.len() >= batch_size {
                        let tests = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                        if !send(Ok(Read::Batch {
                            file: file_no,
                            tests,
                        })) {
                            return;
                        }
                    }
                }
            }
            if !batch.is_empty()
                && !send(Ok(Read::Batch {
                    file: file_no,
                    tests: batch,
                }))
            {
                return;
            }
            send(Ok(Read::End));
        })
        .map_err(|e| Error::from(e).with_context("thread", "junit reader"))?;
    Ok(rx)
}

/// The reader's next message; its errors are the import's.
async fn next_read(read: &mut tokio::sync::mpsc::Receiver<Result<Read>>) -> Result<Option<Read>> {
    read.recv().await.transpose()
}

/// Every test case of `JUnit` XML files, in order, read by the import's own streaming reader,
/// without storing anything: for sending a report on (to Testmo) from any front-end. Errors
/// name the file and the line.
pub fn read_junit_files(paths: &[PathBuf], limits: Limits) -> Result<Vec<JunitCase>> {
    if paths.is_empty() {
        return Err(Error::invalid_input("no JUnit XML file to read"));
    }
    let mut cases = Vec::new();
    for path in paths {
        let file = File::open(path)
            .map_err(|e| Error::from(e).with_context("file", path.display().to_string()))?;
        let mut reader = JunitReader::new(BufReader::with_capacity(256 << 10, file), limits);
        reader.header().map_err(|e| located(path, &e))?;
        while let Some(case) = reader.next_case().map_err(|e| located(path, &e))? {
            cases.push(case);
        }
    }
    Ok(cases)
}

/// Parses a whole report held in memory: for tests, fuzzing and small inputs. Errors name
/// `line N`.
pub fn parse_junit(bytes: &[u8], limits: Limits) -> Result<Vec<JunitCase>> {
    let at_line = |e: &ParseError| {
        let line = line_at(bytes, e.offset);
        Error::invalid_input(format!("line {line}: {}", e.message))
    };
    let mut reader = JunitReader::new(bytes, limits);
    reader.header().map_err(|e| at_line(&e))?;
    let mut out = Vec::new();
    while let Some(case) = reader.next_case().map_err(|e| at_line(&e))? {
        out.push(case);
    }
    Ok(out)
}

/// Turns a parsed test case into what the store imports.
pub fn to_imported(case: JunitCase, links: &LinkRules) -> ImportedTest {
    let keys = identity::keys_for(&case);
    let ticket_keys = identity::ticket_keys(&case, links);
    let folder_path = case.file.clone().or_else(|| case.classname.clone());
    ImportedTest {
        keys,
        title: case.name,
        folder_path,
        ticket_keys,
        attempts: case
            .attempts
            .into_iter()
            .map(|a| ImportedAttempt {
                status: a.status,
                duration_ms: a.duration_ms,
                message: a.message,
            })
            .collect(),
    }
}

/// The error for a parse failure in a file, as `path:line: message`.
fn located(path: &Path, err: &ParseError) -> Error {
    let line = File::open(path)
        .ok()
        .and_then(|f| line_in(BufReader::new(f), err.offset).ok())
        .unwrap_or(0);
    // The message is already `file:line: …`; context pairs would repeat it.
    Error::invalid_input(format!("{}:{line}: {}", path.display(), err.message))
}

/// The 1-based line of a byte offset in a buffer.
#[expect(
    clippy::naive_bytecount,
    reason = "runs once, on an error; not worth a dependency"
)]
fn line_at(bytes: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u64
}

/// The 1-based line of a byte offset in a stream, reading only up to it.
#[expect(
    clippy::naive_bytecount,
    reason = "runs once, on an error; not worth a dependency"
)]
fn line_in(mut input: impl BufRead, offset: u64) -> std::io::Result<u64> {
    let mut left = offset;
    let mut line = 1u64;
    let mut chunk = vec![0u8; 64 << 10];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
        let got = input.read(&mut chunk[..want])?;
        if got == 0 {
            break;
        }
        line += chunk[..got].iter().filter(|b| **b == b'\n').count() as u64;
        left -= got as u64;
    }
    Ok(line)
}

/// Report timestamps: RFC 3339, or ISO 8601 without a zone (surefire, pytest), read as UTC.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .map(|t| t.and_utc())
}

fn end_of(header: &ReportHeader) -> Option<DateTime<Utc>> {
    let start = parse_timestamp(header.timestamp.as_deref()?)?;
    let micros = (header.time_secs? * 1e6).round();
    (micros < 1e15).then(|| start + chrono::Duration::microseconds(micros as i64))
}

/// Summary counts, kept per test as a 64-bit hash of its canonical key: a test reported again
/// (a Playwright retry, another file) is counted once.
#[derive(Debug, Default)]
struct Tally {
    hasher: RandomState,
    tests: HashMap<u64, (u32, TestStatus)>,
    cases: u64,
    attempts: u64,
    new_tests: u64,
}

impl Tally {
    fn add(&mut self, test: &ImportedTest) {
        self.cases += 1;
        self.attempts += test.attempts.len() as u64;
        let Some(last) = test.attempts.last() else {
            return;
        };
        let key = test
            .keys
            .first()
            .map(|k| self.hasher.hash_one(k))
            .unwrap_or_default();
        let entry = self.tests.entry(key).or_insert((0, last.status));
        entry.0 = entry.0.saturating_add(test.attempts.len() as u32);
        entry.1 = last.status;
    }

    fn summary(&self, run_id: RunId, run_name: String, files: u64) -> ImportSummary {
        let mut summary = ImportSummary {
            run_id,
            run_name,
            files,
            tests: self.tests.len() as u64,
            attempts: self.attempts,
            passed: 0,
            failed: 0,
            skipped: 0,
            retried: 0,
            new_tests: self.new_tests,
            attached_steps: Vec::new(),
        };
        for (attempts, status) in self.tests.values() {
            match status {
                TestStatus::Passed | TestStatus::ExpectedFailure => summary.passed += 1,
                TestStatus::Skipped | TestStatus::Blocked => summary.skipped += 1,
                TestStatus::Failed | TestStatus::Error | TestStatus::UnexpectedPass => {
                    summary.failed += 1;
                }
            }
            if *attempts > 1 {
                summary.retried += 1;
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_byte_offsets() {
        let text = b"a\nb\nc";
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 2), 2);
        assert_eq!(line_at(text, 99), 3);
        assert_eq!(line_in(&text[..], 4).unwrap(), 3);
    }

    #[test]
    fn junit_files_are_read_in_order_and_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("qapms-read-junit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("a.xml");
        std::fs::write(
            &good,
            r#"<testsuite name="s"><testcase classname="c" name="one"/><testcase classname="c" name="two"><failure message="boom"/></testcase></testsuite>"#,
        )
        .unwrap();
        let bad = dir.join("b.xml");
        std::fs::write(&bad, "<testsuite>\n<testcase name=\"x\">\n</testsuite>").unwrap();
        let cases = read_junit_files(std::slice::from_ref(&good), Limits::default()).unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["one", "two"]);
        assert_eq!(cases[1].attempts[0].status, TestStatus::Failed);
        let err = read_junit_files(&[good, bad.clone()], Limits::default()).unwrap_err();
        assert!(err.to_string().contains("b.xml"), "{err}");
        assert!(read_junit_files(&[], Limits::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn timestamps_with_and_without_a_zone() {
        assert!(parse_timestamp("2024-05-01T10:00:00.123").is_some());
        assert!(parse_timestamp("2024-05-01T10:00:00+02:00").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
