//! Splunk's JSON payloads (`output_mode=json`), with only the fields qapms reads.
//!
//! Splunk's JSON is loosely typed across versions: job flags are booleans on current servers
//! and `"0"`/`"1"` strings on old ones, counts are numbers or strings, and job `messages` are a
//! list of `{type, text}` or an object of level to texts. The readers here accept each form and
//! name the field when a value fits none. Result rows keep multivalue fields as arrays.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::integrations::{FieldValue, LogRecord};
use crate::{Error, ErrorKind, Result};

/// A search job's id (`sid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchId(pub String);

impl std::fmt::Display for SearchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message Splunk attaches to an answer (`ERROR`, `WARN`, `INFO`, `DEBUG`, `FATAL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub level: String,
    pub text: String,
}

impl Message {
    /// Whether the message reports a failure.
    pub fn is_error(&self) -> bool {
        matches!(self.level.to_ascii_uppercase().as_str(), "ERROR" | "FATAL")
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DispatchState {
    Queued,
    Parsing,
    Running,
    Paused,
    Finalizing,
    Failed,
    Done,
    /// A state this client does not know; treated as still running.
    Other(String),
}

impl DispatchState {
    fn parse(text: &str) -> Self {
        match text.to_ascii_uppercase().as_str() {
            "QUEUED" => Self::Queued,
            "PARSING" => Self::Parsing,
            "RUNNING" => Self::Running,
            "PAUSED" => Self::Paused,
            "FINALIZING" => Self::Finalizing,
            "FAILED" => Self::Failed,
            "DONE" => Self::Done,
            _ => Self::Other(text.to_owned()),
        }
    }
}

/// The status of a search job, from `GET search/jobs/{sid}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    pub sid: SearchId,
    pub state: DispatchState,
    pub is_done: bool,
    pub is_failed: bool,
    /// 0.0 to 1.0.
    pub progress: Option<f64>,
    pub result_count: Option<u64>,
    pub event_count: Option<u64>,
    pub messages: Vec<Message>,
}

/// The answer to creating a job: `{"sid": "..."}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Created {
    pub(crate) sid: String,
}

/// Splunk server facts, from `server/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    pub version: Option<String>,
    pub server_name: Option<String>,
    pub build: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Feed {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    content: Map<String, Value>,
}

fn upstream(what: &str, field: &str, why: &str) -> Error {
    Error::new(
        ErrorKind::Upstream,
        format!("{what} returned malformed JSON at field `{field}`: {why}"),
    )
    .with_context("field", field.to_owned())
}

fn first_content(body: &[u8], what: &str) -> Result<Map<String, Value>> {
    let feed: Feed = crate::http::decode_json(body, what)?;
    feed.entry
        .into_iter()
        .next()
        .map(|e| e.content)
        .ok_or_else(|| upstream(what, "entry", "the feed has no entry"))
}

fn flag(content: &Map<String, Value>, key: &str, what: &str) -> Result<bool> {
    flag_at(content, key, 0, what)
}

/// A flag of the `entry`-th entry's content.
fn flag_at(content: &Map<String, Value>, key: &str, entry: usize, what: &str) -> Result<bool> {
    let bad = || {
        upstream(
            what,
            &format!("entry[{entry}].content.{key}"),
            "expected a flag",
        )
    };
    match content.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_f64().is_some_and(|n| n != 0.0)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

fn number(content: &Map<String, Value>, key: &str, what: &str) -> Result<Option<f64>> {
    match content.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| {
                upstream(
                    what,
                    &format!("entry[0].content.{key}"),
                    "expected a number",
                )
            }),
        Some(_) => Err(upstream(
            what,
            &format!("entry[0].content.{key}"),
            "expected a number",
        )),
    }
}

fn count(content: &Map<String, Value>, key: &str, what: &str) -> Result<Option<u64>> {
    Ok(number(content, key, what)?.filter(|n| *n >= 0.0).map(|n| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative finite count; saturating is the right reading of a huge one"
        )]
        let n = n as u64;
        n
    }))
}

/// Job messages: `[{type, text}]`, or `{"error": ["..."], "info": [...]}` on some versions.
fn job_messages(value: Option<&Value>) -> Vec<Message> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|m| serde_json::from_value::<Message>(m.clone()).ok())
            .collect(),
        Some(Value::Object(levels)) => levels
            .iter()
            .flat_map(|(level, texts)| {
                let texts: Vec<String> = match texts {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect(),
                    Value::String(t) => vec![t.clone()],
                    _ => Vec::new(),
                };
                texts.into_iter().map(|text| Message {
                    level: level.to_ascii_uppercase(),
                    text,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads a job status feed.
pub fn parse_job_status(body: &[u8], sid: &SearchId, what: &str) -> Result<JobStatus> {
    let content = first_content(body, what)?;
    let state = match content.get("dispatchState") {
        Some(Value::String(s)) => DispatchState::parse(s),
        None | Some(Value::Null) => {
            return Err(upstream(
                what,
                "entry[0].content.dispatchState",
                "missing; is this a search job?",
            ));
        }
        Some(_) => {
            return Err(upstream(
                what,
                "entry[0].content.dispatchState",
                "expected a string",
            ));
        }
    };
    Ok(JobStatus {
        sid: content
            .get("sid")
            .and_then(Value::as_str)
            .map_or_else(|| sid.clone(), |s| SearchId(s.to_owned())),
        is_done: flag(&content, "isDone", what)? || state == DispatchState::Done,
        is_failed: flag(&content, "isFailed", what)? || state == DispatchState::Failed,
        state,
        progress: number(&content, "doneProgress", what)?,
        result_count: count(&content, "resultCount", what)?,
        event_count: count(&content, "eventCount", what)?,
        messages: job_messages(content.get("messages")),
    })
}

/// Reads a `server/info` feed.
pub fn parse_server_info(body: &[u8], what: &str) -> Result<ServerInfo> {
    let content = first_content(body, what)?;
    let text = |key: &str| content.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(ServerInfo {
        version: text("version"),
        server_name: text("serverName"),
        build: text("build"),
    })
}

/// A saved search (report or alert), from `saved/searches`: what a QA looks for when they
/// need "the query for checkout errors" that someone already wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedSearch {
    pub name: String,
    /// The SPL.
    pub search: String,
    pub description: Option<String>,
    /// `dispatch.earliest_time` and `dispatch.latest_time`, as Splunk writes them (`-24h`).
    pub earliest: Option<String>,
    pub latest: Option<String>,
    /// The app and owner of its namespace (`acl`).
    pub app: Option<String>,
    pub owner: Option<String>,
    pub disabled: bool,
    pub scheduled: bool,
    /// The entry's own URL (`id`), the link back to it.
    pub url: Option<String>,
    pub updated: Option<chrono::DateTime<chrono::Utc>>,
}

impl SavedSearch {
    /// Unique across apps: `app/name`, or the name alone outside any app.
    pub fn key(&self) -> String {
        match &self.app {
            Some(app) => format!("{app}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// One page of `saved/searches`, with the total Splunk reports in `paging`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSearchPage {
    pub searches: Vec<SavedSearch>,
    pub total: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct SavedFeed {
    #[serde(default)]
    entry: Vec<SavedEntry>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct SavedEntry {
    name: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    updated: Option<String>,
    #[serde(default)]
    acl: Map<String, Value>,
    #[serde(default)]
    content: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    #[serde(default)]
    total: Option<u64>,
}

/// Reads a page of `saved/searches` (`output_mode=json`).
pub fn parse_saved_searches(body: &[u8], what: &str) -> Result<SavedSearchPage> {
    let feed: SavedFeed = crate::http::decode_json(body, what)?;
    let searches = feed
        .entry
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let text = |map: &Map<String, Value>, key: &str| {
                map.get(key)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let search = text(&e.content, "search")
                .ok_or_else(|| upstream(what, &format!("entry[{i}].content.search"), "no SPL"))?;
            Ok(SavedSearch {
                search,
                description: text(&e.content, "description"),
                earliest: text(&e.content, "dispatch.earliest_time"),
                latest: text(&e.content, "dispatch.latest_time"),
                app: text(&e.acl, "app"),
                owner: text(&e.acl, "owner"),
                disabled: flag_at(&e.content, "disabled", i, what)?,
                scheduled: flag_at(&e.content, "is_scheduled", i, what)?,
                url: e.id,
                // Splunk writes `2024-03-01T10:00:00+00:00`; an unreadable time is not worth
                // failing the listing for.
                updated: e
                    .updated
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
                name: e.name,
            })
        })
        .collect::<Result<_>>()?;
    Ok(SavedSearchPage {
        searches,
        total: feed.paging.and_then(|p| p.total),
    })
}

/// One page of a finished job's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsPage {
    pub rows: Vec<LogRecord>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct RawResults {
    results: Vec<Map<String, Value>>,
    #[serde(default)]
    messages: Vec<Message>,
}

/// Reads `output_mode=json` results.
pub fn parse_results(body: &[u8], what: &str) -> Result<ResultsPage> {
    let raw: RawResults = crate::http::decode_json(body, what)?;
    let rows = raw
        .results
        .into_iter()
        .enumerate()
        .map(|(i, row)| record(row, &format!("results[{i}]"), what))
        .collect::<Result<_>>()?;
    Ok(ResultsPage {
        rows,
        messages: raw.messages,
    })
}

/// One row of the export stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRow {
    /// A row of a preview batch (a transforming search's partial answer), not a final one.
    pub preview: bool,
    pub offset: Option<u64>,
    /// The last row of its batch.
    pub last_row: bool,
    pub fields: LogRecord,
}

/// What one line of the export stream holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportLine {
    pub row: Option<ExportRow>,
    pub messages: Vec<Message>,
}

#[derive(Debug, Deserialize)]
struct RawExportLine {
    #[serde(default)]
    preview: bool,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    lastrow: bool,
    #[serde(default)]
    result: Option<Map<String, Value>>,
    #[serde(default)]
    messages: Vec<Message>,
}

/// Reads one line of an `output_mode=json` export stream.
pub fn parse_export_line(line: &[u8], what: &str) -> Result<ExportLine> {
    let raw: RawExportLine = crate::http::decode_json(line, what)?;
    let row = raw
        .result
        .map(|result| {
            Ok::<_, Error>(ExportRow {
                preview: raw.preview,
                offset: raw.offset,
                last_row: raw.lastrow,
                fields: record(result, "result", what)?,
            })
        })
        .transpose()?;
    Ok(ExportLine {
        row,
        messages: raw.messages,
    })
}

/// A result object as fields: strings stay strings, arrays are multivalue fields, numbers and
/// booleans (which some commands emit) become their text; `null` is an absent field.
fn record(row: Map<String, Value>, at: &str, what: &str) -> Result<LogRecord> {
    let mut out = BTreeMap::new();
    for (name, value) in row {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let field = match &value {
            Value::Null => continue,
            Value::Array(items) => {
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        scalar(v).ok_or_else(|| {
                            upstream(what, &format!("{at}.{name}[{i}]"), "expected a string")
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                FieldValue::Multi(values)
            }
            other => FieldValue::Single(scalar(other).ok_or_else(|| {
                upstream(
                    what,
                    &format!("{at}.{name}"),
                    "expected a string or a list of strings",
                )
            })?),
        };
        out.insert(name, field);
    }
    Ok(out)
}
