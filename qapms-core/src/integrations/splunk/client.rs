//! The Splunk REST client: search jobs, their results, and the export stream.
//!
//! A job goes: create (`POST search/jobs`, answered with a `sid` at once) → poll
//! `GET search/jobs/{sid}` until `dispatchState` is `DONE`, backing off from
//! [`PollPolicy::initial`] to [`PollPolicy::max`] so a long search costs few calls → read
//! `search/v2/jobs/{sid}/results` by offset, with the job's `resultCount` as the total so pages
//! are fetched in parallel and none is missed. `FAILED` is an error carrying Splunk's own
//! messages. Polling sleeps on tokio's clock, so tests run it on a paused clock.
//!
//! The export (`POST search/v2/jobs/export`, `output_mode=json`) runs a search and streams its
//! rows as one JSON object per line. Transforming searches first send preview batches
//! (`preview: true`, each ending with `lastrow`), then the final rows; only final rows are
//! yielded unless [`Export::preview`] asks for the batches too. The body is read chunk by
//! chunk and split by [`super::ndjson::LineSplitter`], so memory holds one chunk and one line,
//! never the result set. An `ERROR`/`FATAL` message in the stream ends it with an error.
//!
//! Saved searches (`GET saved/searches`) are read whole, page by page, for the search index.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use reqwest::StatusCode;

use super::config::SplunkBuilder;
use super::error::{explain, job_failed, stream_error};
use super::models::{
    Created, DispatchState, ExportRow, JobStatus, SavedSearch, SearchId, ServerInfo,
    parse_export_line, parse_job_status, parse_results, parse_saved_searches, parse_server_info,
};
use super::ndjson::LineSplitter;
use crate::http::{HttpClient, MetricsSnapshot, OffsetPage, offset_stream};
use crate::integrations::{HealthReport, Integration, LogRecord, LogSearch, TimeRange};
use crate::{Error, ErrorKind, Result};

/// How a job is polled until it finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// The first wait after creating the job.
    pub initial: Duration,
    /// Waits double up to this.
    pub max: Duration,
    /// Give up (and cancel the job) after this long.
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(5),
            timeout: Duration::from_mins(10),
        }
    }
}

/// A Splunk Enterprise REST client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Splunk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    app: Option<String>,
    poll: PollPolicy,
    max_line: usize,
    page_size: u32,
}

/// SPL as the REST API takes it: a search that does not start with a command gets `search`.
fn normalise_spl(spl: &str) -> Result<String> {
    let trimmed = spl.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input("the Splunk search is empty"));
    }
    let lower = trimmed.to_ascii_lowercase();
    if trimmed.starts_with('|') || lower.starts_with("search ") || lower == "search" {
        Ok(trimmed.to_owned())
    } else {
        Ok(format!("search {trimmed}"))
    }
}

fn time_fields(range: &TimeRange) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(e) = &range.earliest {
        out.push(("earliest_time", e.clone()));
    }
    if let Some(l) = &range.latest {
        out.push(("latest_time", l.clone()));
    }
    out
}

impl Splunk {
    /// Starts a client for the management endpoint at `base_url`.
    ///
    /// ```no_run
    /// # fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::splunk::Splunk;
    /// use secrecy::SecretString;
    ///
    /// let splunk = Splunk::builder("https://splunk.acme.internal:8089")
    ///     .token(SecretString::from("splunk-token"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(base_url: impl Into<String>) -> SplunkBuilder {
        SplunkBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        http: HttpClient,
        app: Option<String>,
        poll: PollPolicy,
        max_line: usize,
        page_size: u32,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                app,
                poll,
                max_line,
                page_size,
            }),
        }
    }

    /// Call counters for the dashboard.
    ///
    /// ```no_run
    /// # fn run(splunk: qapms_core::integrations::splunk::Splunk) {
    /// let calls = splunk.metrics().calls;
    /// # }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.http.metrics()
    }

    fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// `/services/<rest>`, or `/servicesNS/-/<app>/<rest>` with an app namespace.
    fn path(&self, rest: &str) -> String {
        match &self.inner.app {
            Some(app) => format!("/servicesNS/-/{app}/{rest}"),
            None => format!("/services/{rest}"),
        }
    }

    /// Version and name of the server; the cheap call [`Integration::health`] makes.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// let info = splunk.server_info().await?;
    /// tracing::info!("{:?}", info.version);
    /// # Ok(()) }
    /// ```
    pub async fn server_info(&self) -> Result<ServerInfo> {
        let response = self
            .http()
            .get("/services/server/info")
            .query("output_mode", "json")
            .operation("server_info")
            .send()
            .await
            .map_err(explain)?;
        parse_server_info(&response.body, "splunk GET /services/server/info")
    }

    /// Every saved search visible to the caller (in the configured app's namespace when
    /// there is one), read `count` at a time by `offset`.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// for saved in splunk.saved_searches().await? {
    ///     tracing::info!(name = %saved.name, spl = %saved.search);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn saved_searches(&self) -> Result<Vec<SavedSearch>> {
        let path = self.path("saved/searches");
        let what = format!("splunk GET {path}");
        let count = self.inner.page_size.max(1);
        let mut all: Vec<SavedSearch> = Vec::new();
        loop {
            let response = self
                .http()
                .get(&path)
                .query("output_mode", "json")
                .query("count", count.to_string())
                .query("offset", all.len().to_string())
                .operation("saved_searches")
                .send()
                .await
                .map_err(explain)?;
            let page = parse_saved_searches(&response.body, &what)?;
            let got = page.searches.len();
            // A server that ignores `offset` would send the first page forever.
            if got > 0
                && !all.is_empty()
                && all.first().map(SavedSearch::key) == page.searches.first().map(SavedSearch::key)
            {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "{what} sent the first page again for offset {}; it ignores `offset`",
                        all.len()
                    ),
                ));
            }
            all.extend(page.searches);
            let total = page.total.unwrap_or(u64::MAX);
            if got < count as usize || all.len() as u64 >= total {
                return Ok(all);
            }
        }
    }

    /// Search jobs: create, poll, read, cancel.
    pub fn jobs(&self) -> JobHandler<'_> {
        JobHandler { splunk: self }
    }

    /// Streams a search through `search/v2/jobs/export`; see [`Export`].
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let mut rows = splunk.export("index=app error | stats count by host").earliest("-24h").stream();
    /// while let Some(row) = rows.try_next().await? {
    ///     tracing::info!("{:?}", row.fields);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn export(&self, spl: impl Into<String>) -> Export<'_> {
        Export {
            splunk: self,
            spl: spl.into(),
            range: TimeRange::default(),
            preview: false,
        }
    }
}

/// Search jobs; see [`Splunk::jobs`].
#[derive(Debug, Clone, Copy)]
pub struct JobHandler<'s> {
    splunk: &'s Splunk,
}

impl<'s> JobHandler<'s> {
    /// A job to create; see [`CreateJob`].
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// let sid = splunk.jobs().create("index=app error").earliest("-1h").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create(self, spl: impl Into<String>) -> CreateJob<'s> {
        CreateJob {
            splunk: self.splunk,
            spl: spl.into(),
            range: TimeRange::default(),
            max_count: None,
        }
    }

    /// The job's current status.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk, sid: qapms_core::integrations::splunk::models::SearchId) -> qapms_core::Result<()> {
    /// let status = splunk.jobs().status(&sid).await?;
    /// tracing::info!("{:?}", status.state);
    /// # Ok(()) }
    /// ```
    pub async fn status(self, sid: &SearchId) -> Result<JobStatus> {
        let path = self.splunk.path(&format!("search/jobs/{sid}"));
        let response = self
            .splunk
            .http()
            .get(&path)
            .query("output_mode", "json")
            .operation("jobs.status")
            .send()
            .await
            .map_err(explain)?;
        parse_job_status(&response.body, sid, &format!("splunk GET {path}"))
    }

    /// Polls until the job is done. `FAILED` is an error with Splunk's messages; a job still
    /// running after [`PollPolicy::timeout`] is cancelled and reported.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk, sid: qapms_core::integrations::splunk::models::SearchId) -> qapms_core::Result<()> {
    /// let done = splunk.jobs().wait(&sid).await?;
    /// tracing::info!("{:?} rows", done.result_count);
    /// # Ok(()) }
    /// ```
    pub async fn wait(self, sid: &SearchId) -> Result<JobStatus> {
        let policy = self.splunk.inner.poll;
        let started = tokio::time::Instant::now();
        let mut delay = policy.initial;
        loop {
            let status = self.status(sid).await?;
            if status.is_failed || status.state == DispatchState::Failed {
                return Err(job_failed(sid, &status.messages));
            }
            if status.is_done || status.state == DispatchState::Done {
                return Ok(status);
            }
            tracing::debug!(sid = %sid, state = ?status.state, progress = ?status.progress, "splunk job not done yet");
            if started.elapsed() + delay > policy.timeout {
                if let Err(err) = self.cancel(sid).await {
                    tracing::warn!(sid = %sid, error = %err, "could not cancel the timed-out job");
                }
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "Splunk search job {sid} was still {:?} after {} s and was cancelled; narrow the time range or the search, or raise the poll timeout",
                        status.state,
                        policy.timeout.as_secs()
                    ),
                )
                .set_temporary()
                .with_context("sid", sid.0.clone()));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(policy.max);
        }
    }

    /// Every result row of a finished job, read page by page.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk, sid: qapms_core::integrations::splunk::models::SearchId) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let rows: Vec<_> = splunk.jobs().results(&sid).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn results(self, sid: &SearchId) -> BoxStream<'static, Result<LogRecord>> {
        let splunk = self.splunk.clone();
        let sid = sid.clone();
        stream::once(async move {
            let status = splunk.jobs().status(&sid).await?;
            if !status.is_done {
                return Err(Error::invalid_input(format!(
                    "Splunk search job {sid} is {:?}, not done; wait for it first",
                    status.state
                )));
            }
            Ok(result_pages(&splunk, &sid, status.result_count))
        })
        .try_flatten()
        .boxed()
    }

    /// Cancels and deletes a job.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk, sid: qapms_core::integrations::splunk::models::SearchId) -> qapms_core::Result<()> {
    /// splunk.jobs().cancel(&sid).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cancel(self, sid: &SearchId) -> Result<()> {
        self.splunk
            .http()
            .delete(&self.splunk.path(&format!("search/jobs/{sid}")))
            .operation("jobs.cancel")
            .send()
            .await
            .map_err(explain)
            .map(drop)
    }
}

fn result_pages(
    splunk: &Splunk,
    sid: &SearchId,
    total: Option<u64>,
) -> BoxStream<'static, Result<LogRecord>> {
    if total == Some(0) {
        return stream::empty().boxed();
    }
    let splunk = splunk.clone();
    let path = splunk.path(&format!("search/v2/jobs/{sid}/results"));
    let sid = sid.clone();
    let page_size = splunk.inner.page_size;
    offset_stream(page_size, 4, move |start, max| {
        let splunk = splunk.clone();
        let path = path.clone();
        let sid = sid.clone();
        async move {
            let response = splunk
                .http()
                .get(&path)
                .query("output_mode", "json")
                .query("count", max)
                .query("offset", start)
                .operation("jobs.results")
                .send()
                .await
                .map_err(explain)?;
            if response.status == StatusCode::NO_CONTENT {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "Splunk has no results for job {sid} yet (204); the job is not finished"
                    ),
                )
                .set_temporary());
            }
            let page = parse_results(&response.body, &format!("splunk GET {path}"))?;
            Ok(OffsetPage {
                items: page.rows,
                total,
            })
        }
    })
}

/// A job to create; see [`JobHandler::create`].
#[derive(Debug)]
#[must_use = "call .send() or .rows() to run the job"]
pub struct CreateJob<'s> {
    splunk: &'s Splunk,
    spl: String,
    range: TimeRange,
    max_count: Option<u64>,
}

impl CreateJob<'_> {
    /// The start of the time range (`-24h@h`, an ISO instant, ...).
    pub fn earliest(mut self, earliest: impl Into<String>) -> Self {
        self.range.earliest = Some(earliest.into());
        self
    }

    /// The end of the time range (default now).
    pub fn latest(mut self, latest: impl Into<String>) -> Self {
        self.range.latest = Some(latest.into());
        self
    }

    pub fn range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// The most events the job keeps.
    pub fn max_count(mut self, count: u64) -> Self {
        self.max_count = Some(count);
        self
    }

    /// Creates the job and returns its id at once.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// let sid = splunk.jobs().create("index=app error").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<SearchId> {
        let mut form = vec![
            ("search", normalise_spl(&self.spl)?),
            ("exec_mode", "normal".to_owned()),
            ("output_mode", "json".to_owned()),
        ];
        form.extend(time_fields(&self.range));
        if let Some(n) = self.max_count {
            form.push(("max_count", n.to_string()));
        }
        let path = self.splunk.path("search/jobs");
        let response = self
            .splunk
            .http()
            .post(&path)
            .query("output_mode", "json")
            .form(&form)
            .operation("jobs.create")
            .send()
            .await
            .map_err(explain)?;
        let created: Created =
            crate::http::decode_json(&response.body, &format!("splunk POST {path}"))?;
        if created.sid.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!("splunk POST {path} returned an empty `sid`"),
            )
            .with_context("field", "sid"));
        }
        Ok(SearchId(created.sid))
    }

    /// Creates the job, waits for it, and streams its result rows.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let rows: Vec<_> = splunk.jobs().create("index=app | stats count by host").rows().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn rows(self) -> BoxStream<'static, Result<LogRecord>> {
        let splunk = self.splunk.clone();
        let (spl, range, max_count) = (self.spl, self.range, self.max_count);
        stream::once(async move {
            let sid = CreateJob {
                splunk: &splunk,
                spl,
                range,
                max_count,
            }
            .send()
            .await?;
            let status = splunk.jobs().wait(&sid).await?;
            Ok::<_, Error>(result_pages(&splunk, &sid, status.result_count))
        })
        .try_flatten()
        .boxed()
    }
}

/// An export search; see [`Splunk::export`].
#[derive(Debug)]
#[must_use = "call .stream() to run the search"]
pub struct Export<'s> {
    splunk: &'s Splunk,
    spl: String,
    range: TimeRange,
    preview: bool,
}

impl Export<'_> {
    pub fn earliest(mut self, earliest: impl Into<String>) -> Self {
        self.range.earliest = Some(earliest.into());
        self
    }

    pub fn latest(mut self, latest: impl Into<String>) -> Self {
        self.range.latest = Some(latest.into());
        self
    }

    pub fn range(mut self, range: TimeRange) -> Self {
        self.range = range;
        self
    }

    /// Also yield the rows of preview batches (marked `preview`), not only the final rows.
    pub fn preview(mut self, preview: bool) -> Self {
        self.preview = preview;
        self
    }

    /// Runs the search and streams its rows as they arrive.
    ///
    /// ```no_run
    /// # async fn run(splunk: qapms_core::integrations::splunk::Splunk) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let rows: Vec<_> = splunk.export("index=app error").stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<ExportRow>> {
        let splunk = self.splunk.clone();
        let spl = self.spl;
        let range = self.range;
        let preview = self.preview;
        stream::once(async move {
            let mut form = vec![
                ("search", normalise_spl(&spl)?),
                ("output_mode", "json".to_owned()),
            ];
            form.extend(time_fields(&range));
            let path = splunk.path("search/v2/jobs/export");
            let body = splunk
                .http()
                .post(&path)
                .form(&form)
                .operation("export")
                // A read: nothing happens server-side that a resend would repeat.
                .idempotent()
                .send_stream()
                .await
                .map_err(explain)?;
            Ok::<_, Error>(export_rows(
                body.chunks,
                splunk.inner.max_line,
                preview,
                format!("splunk POST {path}"),
            ))
        })
        .try_flatten()
        .boxed()
    }
}

struct ExportState {
    chunks: BoxStream<'static, Result<Vec<u8>>>,
    splitter: LineSplitter,
    lines: VecDeque<Vec<u8>>,
    scratch: Vec<Vec<u8>>,
    ended: bool,
    preview: bool,
    what: String,
}

/// The rows of an export body given as chunks; see the module notes. Public so the splitter
/// and the row reader can be tested (and fuzzed) on any chunking without a server.
pub fn export_rows(
    chunks: BoxStream<'static, Result<Vec<u8>>>,
    max_line: usize,
    preview: bool,
    what: String,
) -> BoxStream<'static, Result<ExportRow>> {
    let state = ExportState {
        chunks,
        splitter: LineSplitter::new(max_line),
        lines: VecDeque::new(),
        scratch: Vec::new(),
        ended: false,
        preview,
        what,
    };
    stream::try_unfold(state, |mut state| async move {
        loop {
            if let Some(line) = state.lines.pop_front() {
                let parsed = parse_export_line(&line, &state.what)?;
                for message in &parsed.messages {
                    if !message.is_error() {
                        tracing::debug!(level = %message.level, text = %message.text, "splunk message");
                    }
                }
                if parsed.messages.iter().any(super::models::Message::is_error) {
                    return Err(stream_error(&parsed.messages));
                }
                match parsed.row {
                    Some(row) if !row.preview || state.preview => return Ok(Some((row, state))),
                    _ => continue,
                }
            }
            if state.ended {
                return Ok(None);
            }
            match state.chunks.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    state.splitter.push(&chunk, &mut state.scratch)?;
                    state.lines.extend(state.scratch.drain(..));
                }
                None => {
                    state.ended = true;
                    state.lines.extend(state.splitter.finish());
                }
            }
        }
    })
    .boxed()
}

#[async_trait]
impl Integration for Splunk {
    fn kind(&self) -> &'static str {
        "splunk"
    }

    fn endpoint(&self) -> String {
        crate::http::redact_url(self.http().base_url())
    }

    async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let outcome = self.server_info().await.map(drop);
        HealthReport::from_outcome(&outcome, started.elapsed())
    }
}

#[async_trait]
impl LogSearch for Splunk {
    fn search_logs(&self, query: &str, range: &TimeRange) -> BoxStream<'static, Result<LogRecord>> {
        self.export(query)
            .range(range.clone())
            .stream()
            .map_ok(|row| row.fields)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_get_the_search_command() {
        assert_eq!(normalise_spl(" index=a ").unwrap(), "search index=a");
        assert_eq!(normalise_spl("| tstats count").unwrap(), "| tstats count");
        assert_eq!(normalise_spl("Search x").unwrap(), "Search x");
        assert!(normalise_spl("  ").is_err());
    }
}
