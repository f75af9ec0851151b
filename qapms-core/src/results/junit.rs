//! A streaming `JUnit` XML reader: one `<testcase>` at a time, never a document tree.
//!
//! `JUnit` XML has no single standard, so the reader accepts the union of the common dialects:
//! Maven surefire (a `<testsuite>` root, `<flakyFailure>`/`<rerunFailure>` retries inside a
//! test case), pytest (`<testsuites>`, `file` and `line` attributes, skips with a message),
//! jest-junit, newman/Postman CLI and Playwright (a retry is the same test case reported
//! again, which the store numbers as the next attempt). Suites may nest.
//!
//! Hostile input is handled by construction:
//! - memory is bounded by [`Limits::max_event_bytes`]: quick-xml holds one event (a tag with its
//!   attributes, or one text run) at a time, and a budget on the underlying reader stops an
//!   event that grows past the limit, so a 2 GiB attribute is an error, not an allocation;
//! - a `<!DOCTYPE>` is rejected outright, so no entity can be declared; only the five predefined
//!   entities and character references are decoded, and any other `&name;` is an error. A
//!   billion-laughs file therefore fails on its first line;
//! - the input must be UTF-8: a declared other encoding, or a UTF-16 byte-order mark, is an
//!   error that says so (convert the file with `iconv`), and invalid UTF-8 is an error;
//! - kept text (messages, traces) is truncated past [`Limits::max_message_bytes`] with a marker,
//!   and names past [`Limits::max_name_bytes`] are an error, since a truncated name would
//!   silently merge two tests.
//!
//! Errors carry the byte offset where they were found; [`super::line_of`] turns it into a line.

use std::io::{self, BufRead};

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::model::TestStatus;

/// Size limits for one report. The defaults suit real reports with a wide margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest single tag or text run (a whole `<system-out>`), in bytes.
    pub max_event_bytes: usize,
    /// Test, class and suite names longer than this are an error.
    pub max_name_bytes: usize,
    /// Messages and traces are cut to this many bytes, with a marker saying how much was cut.
    pub max_message_bytes: usize,
    /// Properties kept per test case; more are ignored.
    pub max_properties: usize,
    /// How deeply elements may nest.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_event_bytes: 64 << 20,
            max_name_bytes: 8 << 10,
            max_message_bytes: 16 << 10,
            max_properties: 256,
            max_depth: 64,
        }
    }
}

/// A parse failure at a byte offset of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: u64,
    pub message: String,
}

type Parsed<T> = std::result::Result<T, ParseError>;

/// One attempt of a test case as the report states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseAttempt {
    pub status: TestStatus,
    pub duration_ms: Option<u64>,
    pub message: Option<String>,
}

/// One `<testcase>` with everything needed to identify it and all its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JunitCase {
    pub name: String,
    pub classname: Option<String>,
    /// pytest's `file` attribute (and some others'), relative to the rootdir.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The innermost enclosing `<testsuite name>`.
    pub suite: Option<String>,
    /// The `<testsuite id>` (newman writes the Postman request id there).
    pub suite_id: Option<String>,
    /// Whether the report came from pytest (its suites are named `pytest`).
    pub pytest: bool,
    /// `<property name value>` pairs of the test case itself, in order.
    pub properties: Vec<(String, String)>,
    /// In the order they ran.
    pub attempts: Vec<CaseAttempt>,
}

/// Run-level facts from the root element, known before the first test case.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportHeader {
    /// The root's (or first suite's) `name`.
    pub name: Option<String>,
    /// Its `timestamp`, as written (ISO 8601 without a zone in surefire and pytest).
    pub timestamp: Option<String>,
    /// Its `time`, in seconds.
    pub time_secs: Option<f64>,
}

/// Counts bytes handed to quick-xml since the last event, and refuses to hand out more once an
/// event passes the budget. This is what bounds memory: quick-xml buffers a whole event.
#[derive(Debug)]
struct Budget<R> {
    inner: R,
    since_event: usize,
    limit: usize,
    exceeded: bool,
}

impl<R: io::Read> io::Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Budget<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.since_event > self.limit {
            self.exceeded = true;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "event larger than the limit",
            ));
        }
        // Never hand out more than the rest of the budget (plus one byte, to notice the
        // overrun), so even an in-memory reader cannot make quick-xml copy a huge event.
        let room = self.limit - self.since_event + 1;
        let buf = self.inner.fill_buf()?;
        Ok(&buf[..buf.len().min(room)])
    }

    fn consume(&mut self, amt: usize) {
        self.since_event = self.since_event.saturating_add(amt);
        self.inner.consume(amt);
    }
}

/// What the element being read is, for the text that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Capture {
    /// Text we do not keep (system-out, unknown elements).
    None,
    /// The body of the outcome element (`<failure>` trace text).
    Outcome,
    /// The body of a retry element, or of its `<stackTrace>`.
    Retry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryKind {
    /// Surefire `<flakyFailure>`/`<flakyError>`: failed runs before the one that passed.
    Flaky,
    /// Surefire `<rerunFailure>`/`<rerunError>`: failed runs after the first failure.
    Rerun,
}

/// A test case being read.
#[derive(Debug, Default)]
struct Open {
    case: JunitCase,
    time_ms: Option<u64>,
    outcome: Option<(TestStatus, Option<String>)>,
    outcome_text: String,
    flaky: Vec<CaseAttempt>,
    reruns: Vec<CaseAttempt>,
    retry_text: String,
}

/// The streaming reader. Call [`JunitReader::header`] once, then [`JunitReader::next_case`]
/// until it returns `None`.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent flags of the reader's position in the document, not a state enum"
)]
pub struct JunitReader<R: BufRead> {
    reader: Reader<Budget<R>>,
    buf: Vec<u8>,
    limits: Limits,
    /// Names (and ids) of the open `<testsuite>` elements, innermost last.
    suites: Vec<(Option<String>, Option<String>)>,
    depth: usize,
    pytest: bool,
    seen_root: bool,
    header: Option<ReportHeader>,
    open: Option<Open>,
    capture: Capture,
    retry: Option<(RetryKind, TestStatus, Option<String>, Option<u64>)>,
    in_properties: bool,
    event_start: u64,
    finished: bool,
}

impl<R: BufRead> JunitReader<R> {
    pub fn new(input: R, limits: Limits) -> Self {
        let mut reader = Reader::from_reader(Budget {
            inner: input,
            since_event: 0,
            limit: limits.max_event_bytes,
            exceeded: false,
        });
        let config = reader.config_mut();
        // Mismatched end tags are malformed XML; say so instead of guessing.
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            reader,
            buf: Vec::with_capacity(8 << 10),
            limits,
            suites: Vec::new(),
            depth: 0,
            pytest: false,
            seen_root: false,
            header: None,
            open: None,
            capture: Capture::None,
            retry: None,
            in_properties: false,
            event_start: 0,
            finished: false,
        }
    }

    /// Reads up to the root element and returns what it says about the run.
    pub fn header(&mut self) -> Parsed<ReportHeader> {
        while self.header.is_none() {
            if self.step()?.is_some() || self.finished {
                break;
            }
        }
        Ok(self.header.clone().unwrap_or_default())
    }

    /// The next test case, or `None` at the end of the report.
    pub fn next_case(&mut self) -> Parsed<Option<JunitCase>> {
        loop {
            if let Some(case) = self.step()? {
                return Ok(Some(case));
            }
            if self.finished {
                return Ok(None);
            }
        }
    }

    /// Reads one event; returns a test case when one closes.
    fn step(&mut self) -> Parsed<Option<JunitCase>> {
        // The event borrows the buffer; keeping it outside `self` lets the handlers borrow
        // `self` mutably without copying the event.
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let result = self.step_with(&mut buf);
        self.buf = buf;
        result
    }

    fn step_with(&mut self, buf: &mut Vec<u8>) -> Parsed<Option<JunitCase>> {
        self.reader.get_mut().since_event = 0;
        self.event_start = self.reader.buffer_position();
        let event = match self.reader.read_event_into(buf) {
            Ok(event) => event,
            Err(e) => {
                let budget = self.reader.get_ref();
                let message = if budget.exceeded {
                    format!(
                        "an element or text run is larger than {} bytes; the file is not a \
                         plausible JUnit report",
                        self.limits.max_event_bytes
                    )
                } else {
                    format!("malformed XML: {e}")
                };
                let offset = if budget.exceeded {
                    self.event_start
                } else {
                    self.reader.error_position()
                };
                return Err(error(offset, message));
            }
        };
        let at = self.event_start;
        match event {
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if encoding != "utf-8" && encoding != "utf8" {
                        return Err(error(
                            at,
                            format!(
                                "the file declares encoding `{encoding}`; only UTF-8 is \
                                 accepted (convert it, e.g. `iconv -f {encoding} -t UTF-8`)"
                            ),
                        ));
                    }
                }
                Ok(None)
            }
            Event::DocType(_) => Err(error(
                at,
                "a DOCTYPE is not accepted in a JUnit report: entity declarations could expand \
                 without bound (a billion-laughs attack)",
            )),
            Event::Start(start) => {
                self.depth += 1;
                if self.depth > self.limits.max_depth {
                    return Err(error(at, "elements nest too deeply"));
                }
                self.start(&start, at, false)
            }
            Event::Empty(start) => self.start(&start, at, true),
            Event::End(end) => {
                self.depth = self.depth.saturating_sub(1);
                Ok(self.end(end.local_name().as_ref()))
            }
            Event::Text(text) => {
                if self.capture == Capture::None {
                    return Ok(None);
                }
                let text = text
                    .xml10_content()
                    .map_err(|e| error(at, format!("invalid text: {e}")))?;
                self.push_text(&text);
                Ok(None)
            }
            Event::CData(data) => {
                if self.capture == Capture::None {
                    return Ok(None);
                }
                let text = data
                    .decode()
                    .map_err(|e| error(at, format!("invalid CDATA: {e}")))?;
                self.push_text(&text);
                Ok(None)
            }
            Event::GeneralRef(reference) => {
                let text = resolve_reference(&reference).map_err(|m| error(at, m))?;
                if self.capture != Capture::None {
                    self.push_text(&text);
                }
                Ok(None)
            }
            Event::Comment(_) | Event::PI(_) => Ok(None),
            Event::Eof => {
                if self.depth > 0 || self.open.is_some() {
                    return Err(error(
                        at,
                        "the file ends inside an element: it is truncated or malformed",
                    ));
                }
                if !self.seen_root {
                    return Err(error(at, "the file has no JUnit elements (empty?)"));
                }
                self.finished = true;
                Ok(None)
            }
        }
    }

    fn push_text(&mut self, text: &str) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let limit = self.limits.max_message_bytes;
        let target = match self.capture {
            Capture::Outcome => &mut open.outcome_text,
            Capture::Retry => &mut open.retry_text,
            Capture::None => return,
        };
        // Keep one byte past the limit so `cap` can tell that something was cut.
        if target.len() <= limit {
            let room = limit + 1 - target.len();
            target.push_str(&text[..floor_char_boundary(text, room)]);
        }
    }

    fn attrs(&self, start: &BytesStart<'_>, at: u64) -> Parsed<Attrs> {
        let mut out = Attrs::default();
        let decoder = self.reader.decoder();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| error(at, format!("malformed attribute: {e}")))?;
            let key = attr.key.local_name();
            let slot = match key.as_ref() {
                b"name" => &mut out.name,
                b"classname" => &mut out.classname,
                b"file" | b"filepath" => &mut out.file,
                b"line" | b"lineno" => &mut out.line,
                b"time" => &mut out.time,
                b"message" => &mut out.message,
                b"type" => &mut out.kind,
                b"timestamp" => &mut out.timestamp,
                b"id" => &mut out.id,
                b"value" => &mut out.value,
                _ => continue,
            };
            let value = attr
                .decode_and_unescape_value(decoder)
                .map_err(|e| error(at, format!("invalid attribute value: {e}")))?;
            *slot = Some(value.into_owned());
        }
        Ok(out)
    }

    fn name_attr(&self, value: Option<String>, what: &str, at: u64) -> Parsed<Option<String>> {
        match value {
            Some(v) if v.len() > self.limits.max_name_bytes => Err(error(
                at,
                format!(
                    "a {what} is {} bytes long, over the limit of {}",
                    v.len(),
                    self.limits.max_name_bytes
                ),
            )),
            other => Ok(other),
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one match over the element names reads best as a whole"
    )]
    fn start(&mut self, start: &BytesStart<'_>, at: u64, empty: bool) -> Parsed<Option<JunitCase>> {
        let local = start.local_name();
        let tag = local.as_ref();
        if !self.seen_root {
            if tag != b"testsuites" && tag != b"testsuite" {
                return Err(error(
                    at,
                    format!(
                        "the root element is <{}>, not <testsuites> or <testsuite>: this is \
                         not a JUnit report",
                        String::from_utf8_lossy(tag)
                    ),
                ));
            }
            self.seen_root = true;
        }
        match tag {
            b"testsuites" | b"testsuite" => {
                let a = self.attrs(start, at)?;
                let name = self.name_attr(a.name, "suite name", at)?;
                if name.as_deref() == Some("pytest") {
                    self.pytest = true;
                }
                if self.header.is_none() {
                    self.header = Some(ReportHeader {
                        name: name.clone(),
                        timestamp: a.timestamp,
                        time_secs: a.time.as_deref().and_then(parse_seconds),
                    });
                }
                if tag == b"testsuite" && !empty {
                    self.suites.push((name, a.id));
                }
                Ok(None)
            }
            b"testcase" => {
                if self.open.is_some() {
                    return Err(error(at, "a <testcase> inside another <testcase>"));
                }
                let a = self.attrs(start, at)?;
                let Some(name) = self.name_attr(a.name, "test name", at)? else {
                    return Err(error(at, "a <testcase> without a name attribute"));
                };
                let (suite, suite_id) = self.suites.last().cloned().unwrap_or_default();
                let open = Open {
                    case: JunitCase {
                        name,
                        classname: self.name_attr(a.classname, "class name", at)?,
                        file: self.name_attr(a.file, "file name", at)?,
                        line: a.line.as_deref().and_then(|l| l.trim().parse().ok()),
                        suite,
                        suite_id,
                        pytest: self.pytest,
                        ..JunitCase::default()
                    },
                    time_ms: a.time.as_deref().and_then(parse_seconds).map(secs_to_ms),
                    ..Open::default()
                };
                self.open = Some(open);
                if empty {
                    return Ok(self.close_case());
                }
                Ok(None)
            }
            _ if self.open.is_none() => Ok(None),
            b"properties" => {
                self.in_properties = !empty;
                Ok(None)
            }
            b"property" if self.in_properties => {
                let a = self.attrs(start, at)?;
                let max = self.limits.max_properties;
                let limit = self.limits.max_message_bytes;
                if let (Some(open), Some(name), Some(value)) = (self.open.as_mut(), a.name, a.value)
                    && open.case.properties.len() < max
                {
                    open.case.properties.push((name, cap(value, limit)));
                }
                Ok(None)
            }
            b"failure" | b"error" | b"skipped" => {
                let a = self.attrs(start, at)?;
                let status = match tag {
                    b"failure" => TestStatus::Failed,
                    b"error" => TestStatus::Error,
                    _ => TestStatus::Skipped,
                };
                let message = join_message(a.kind.as_deref(), a.message.as_deref());
                if let Some(open) = self.open.as_mut() {
                    // A second outcome element keeps the worse of the two.
                    let keep = match &open.outcome {
                        None => true,
                        Some((old, _)) => rank(status) > rank(*old),
                    };
                    if keep {
                        open.outcome = Some((status, message));
                        open.outcome_text.clear();
                    }
                }
                if !empty {
                    self.capture = Capture::Outcome;
                }
                Ok(None)
            }
            b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError" => {
                let a = self.attrs(start, at)?;
                let kind = if tag.starts_with(b"flaky") {
                    RetryKind::Flaky
                } else {
                    RetryKind::Rerun
                };
                let status = if tag.ends_with(b"Error") {
                    TestStatus::Error
                } else {
                    TestStatus::Failed
                };
                let message = join_message(a.kind.as_deref(), a.message.as_deref());
                let time = a.time.as_deref().and_then(parse_seconds).map(secs_to_ms);
                if let Some(open) = self.open.as_mut() {
                    open.retry_text.clear();
                }
                self.retry = Some((kind, status, message, time));
                if empty {
                    self.close_retry();
                } else {
                    self.capture = Capture::Retry;
                }
                Ok(None)
            }
            b"stackTrace" if self.retry.is_some() => {
                self.capture = Capture::Retry;
                Ok(None)
            }
            // system-out, system-err and anything else inside a test case: not kept.
            _ => {
                if !empty && self.retry.is_none() {
                    self.capture = Capture::None;
                }
                Ok(None)
            }
        }
    }

    fn end(&mut self, tag: &[u8]) -> Option<JunitCase> {
        match tag {
            b"testsuite" => {
                self.suites.pop();
                None
            }
            b"testcase" => self.close_case(),
            b"properties" => {
                self.in_properties = false;
                None
            }
            b"failure" | b"error" | b"skipped" => {
                self.capture = Capture::None;
                None
            }
            b"flakyFailure" | b"flakyError" | b"rerunFailure" | b"rerunError" => {
                self.close_retry();
                None
            }
            b"system-out" | b"system-err" if self.retry.is_some() => None,
            _ => {
                if self.retry.is_some() {
                    self.capture = Capture::Retry;
                } else {
                    self.capture = Capture::None;
                }
                None
            }
        }
    }

    fn close_retry(&mut self) {
        self.capture = Capture::None;
        let Some((kind, status, message, time)) = self.retry.take() else {
            return;
        };
        let limit = self.limits.max_message_bytes;
        if let Some(open) = self.open.as_mut() {
            let text = std::mem::take(&mut open.retry_text);
            let attempt = CaseAttempt {
                status,
                duration_ms: time,
                message: full_message(message, &text, limit),
            };
            match kind {
                RetryKind::Flaky => open.flaky.push(attempt),
                RetryKind::Rerun => open.reruns.push(attempt),
            }
        }
    }

    /// Turns the open test case into its attempts, in the order they ran: surefire's flaky
    /// failures come before the final (passing) run; its reruns come after the first failure.
    fn close_case(&mut self) -> Option<JunitCase> {
        self.capture = Capture::None;
        self.retry = None;
        self.in_properties = false;
        let open = self.open.take()?;
        let limit = self.limits.max_message_bytes;
        let (status, message) = open.outcome.unwrap_or((TestStatus::Passed, None));
        let main = CaseAttempt {
            status,
            // Surefire's `time` on a flaky test covers the last run only; on other tools it is
            // the only run. Either way it belongs to the main attempt.
            duration_ms: open.time_ms,
            message: full_message(message, &open.outcome_text, limit),
        };
        let mut case = open.case;
        case.attempts
            .reserve(open.flaky.len() + 1 + open.reruns.len());
        case.attempts.extend(open.flaky);
        case.attempts.push(main);
        case.attempts.extend(open.reruns);
        Some(case)
    }
}

#[derive(Debug, Default)]
struct Attrs {
    name: Option<String>,
    classname: Option<String>,
    file: Option<String>,
    line: Option<String>,
    time: Option<String>,
    message: Option<String>,
    kind: Option<String>,
    timestamp: Option<String>,
    id: Option<String>,
    value: Option<String>,
}

fn error(offset: u64, message: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        message: message.into(),
    }
}

/// Decodes `&name;` and `&#…;`: the five predefined entities and character references only.
fn resolve_reference(reference: &BytesRef<'_>) -> std::result::Result<String, String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => return Ok(c.to_string()),
        Ok(None) => {}
        Err(e) => return Err(format!("invalid character reference: {e}")),
    }
    let name = reference
        .decode()
        .map_err(|e| format!("invalid entity reference: {e}"))?;
    let text = match name.as_ref() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        other => {
            return Err(format!(
                "unknown entity `&{other};`: only the predefined XML entities are decoded"
            ));
        }
    };
    Ok(text.to_owned())
}

/// How bad an outcome is, to keep the worst when a test case reports several.
fn rank(status: TestStatus) -> u8 {
    match status {
        TestStatus::Error => 3,
        TestStatus::Failed => 2,
        TestStatus::Skipped => 1,
        _ => 0,
    }
}

fn join_message(kind: Option<&str>, message: Option<&str>) -> Option<String> {
    match (
        kind.filter(|k| !k.is_empty()),
        message.filter(|m| !m.is_empty()),
    ) {
        (Some(k), Some(m)) if !m.starts_with(k) => Some(format!("{k}: {m}")),
        (_, Some(m)) => Some(m.to_owned()),
        (Some(k), None) => Some(k.to_owned()),
        (None, None) => None,
    }
}

/// The message attribute, then the body (usually the trace), cut to `limit` bytes.
fn full_message(message: Option<String>, body: &str, limit: usize) -> Option<String> {
    let body = body.trim();
    let text = match message {
        Some(m) if body.is_empty() => m,
        // Most tools repeat the message at the top of the trace; keep it once.
        Some(m) if body.starts_with(m.as_str()) => body.to_owned(),
        Some(m) => format!("{m}\n{body}"),
        None if body.is_empty() => return None,
        None => body.to_owned(),
    };
    Some(cap(text, limit))
}

/// Cuts text to at most `limit` bytes on a character boundary, marking the cut.
pub(crate) fn cap(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let cut = floor_char_boundary(&text, limit);
        text.truncate(cut);
        text.push_str(" …[truncated]");
    }
    text
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    let mut i = max;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn parse_seconds(text: &str) -> Option<f64> {
    // Some tools write thousands separators ("1,234.5"); none write a decimal comma.
    let value: f64 = text.trim().replace(',', "").parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value)
}

fn secs_to_ms(secs: f64) -> u64 {
    // Saturates for absurd values; float-to-int `as` never panics.
    (secs * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(xml: &str) -> Parsed<Vec<JunitCase>> {
        let mut reader = JunitReader::new(xml.as_bytes(), Limits::default());
        reader.header()?;
        let mut out = Vec::new();
        while let Some(case) = reader.next_case()? {
            out.push(case);
        }
        Ok(out)
    }

    #[test]
    fn flaky_failures_come_before_the_passing_run() {
        let got = cases(
            r#"<testsuite name="s"><testcase name="t" classname="C" time="0.5">
                 <flakyFailure message="boom" type="java.lang.AssertionError"><stackTrace>at X</stackTrace></flakyFailure>
                 <system-out>noise</system-out>
               </testcase></testsuite>"#,
        )
        .unwrap();
        let statuses: Vec<_> = got[0].attempts.iter().map(|a| a.status).collect();
        assert_eq!(statuses, [TestStatus::Failed, TestStatus::Passed]);
        let message = got[0].attempts[0].message.as_deref().unwrap();
        assert!(
            message.contains("boom") && message.contains("at X"),
            "{message}"
        );
        assert_eq!(got[0].attempts[1].duration_ms, Some(500));
    }

    #[test]
    fn entities_other_than_the_predefined_ones_are_errors() {
        let ok = cases(r#"<testsuite><testcase name="a &amp; b &#x41;"/></testsuite>"#).unwrap();
        assert_eq!(ok[0].name, "a & b A");
        let err = cases(
            r#"<testsuite><testcase name="x"><failure>&lol9;</failure></testcase></testsuite>"#,
        )
        .unwrap_err();
        assert!(err.message.contains("unknown entity"), "{err:?}");
    }

    #[test]
    fn long_messages_are_cut_with_a_marker() {
        let text = cap("é".repeat(100), 11);
        assert!(
            text.starts_with("ééééé") && text.ends_with("[truncated]"),
            "{text}"
        );
    }
}
