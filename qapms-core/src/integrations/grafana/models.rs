//! Typed Grafana payloads, and the decoding of data frames into metric series.
//!
//! Each struct models only what qapms reads; serde ignores every other field. Grafana's
//! swagger describes `/api/ds/query` results with Go field names (`Frames`, `Fields`), but the
//! wire format is the data-frame JSON of grafana-plugin-sdk-go: per query `refId`, a `status`,
//! an optional `error`, and `frames`, each a `schema` (name, fields with type, labels and
//! config) plus `data.values`, one column per field. Times are epoch milliseconds; numbers may
//! be `null`; `NaN` and infinities cannot be JSON, so they travel as `null` with their row
//! indexes listed in `data.entities`. [`frames_to_series`] undoes all of that.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::integrations::{Annotation, MetricSeries};
use crate::{Error, ErrorKind, Result};

string_id!(
    /// A dashboard's uid, stable across renames (unlike its numeric id).
    DashboardUid
);

/// `GET /api/health`: unauthenticated, it says whether Grafana reaches its database.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthInfo {
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
}

/// One search hit: a dashboard (`dash-db`) or a folder (`dash-folder`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    #[serde(default)]
    pub id: Option<u64>,
    pub uid: DashboardUid,
    pub title: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub is_starred: bool,
    #[serde(default)]
    pub folder_uid: Option<String>,
    #[serde(default)]
    pub folder_title: Option<String>,
}

/// `GET /api/dashboards/uid/{uid}`: the dashboard JSON model and its metadata.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DashboardWithMeta {
    pub dashboard: Dashboard,
    #[serde(default)]
    pub meta: DashboardMeta,
}

/// The parts of a dashboard model qapms reads; the whole model stays in `raw`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dashboard {
    pub uid: DashboardUid,
    pub title: String,
    pub tags: Vec<String>,
    pub version: Option<u64>,
    /// Panel ids and titles, nested rows included.
    pub panels: Vec<PanelRef>,
    /// The dashboard JSON as Grafana sent it.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanelRef {
    pub id: u64,
    pub title: String,
}

impl<'de> Deserialize<'de> for Dashboard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Head {
            uid: DashboardUid,
            #[serde(default)]
            title: String,
            #[serde(default)]
            tags: Vec<String>,
            #[serde(default)]
            version: Option<u64>,
        }
        let raw = Value::deserialize(d)?;
        let head = Head::deserialize(&raw).map_err(serde::de::Error::custom)?;
        let mut panels = Vec::new();
        collect_panels(raw.get("panels"), &mut panels);
        Ok(Self {
            uid: head.uid,
            title: head.title,
            tags: head.tags,
            version: head.version,
            panels,
            raw,
        })
    }
}

/// Panels, and the panels inside collapsed rows; a panel without a numeric id is skipped.
fn collect_panels(list: Option<&Value>, out: &mut Vec<PanelRef>) {
    let Some(list) = list.and_then(Value::as_array) else {
        return;
    };
    for panel in list {
        if let Some(id) = panel.get("id").and_then(Value::as_u64) {
            let title = panel
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            out.push(PanelRef { id, title });
        }
        collect_panels(panel.get("panels"), out);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardMeta {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub folder_uid: Option<String>,
    #[serde(default)]
    pub folder_title: Option<String>,
    #[serde(default)]
    pub is_starred: bool,
    #[serde(default)]
    pub can_edit: Option<bool>,
}

/// An annotation as `GET /api/annotations` returns it (times in epoch milliseconds).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationRecord {
    pub id: u64,
    #[serde(default)]
    pub dashboard_uid: Option<String>,
    #[serde(default)]
    pub dashboard_id: Option<u64>,
    #[serde(default)]
    pub panel_id: Option<u64>,
    pub time: i64,
    #[serde(default)]
    pub time_end: Option<i64>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub login: Option<String>,
}

impl AnnotationRecord {
    /// The capability-level [`Annotation`]; a point annotation has `timeEnd == time`.
    pub fn to_annotation(&self) -> Result<Annotation> {
        let time = from_millis(self.time, "time")?;
        let time_end = match self.time_end {
            Some(end) if end != self.time && end != 0 => Some(from_millis(end, "timeEnd")?),
            _ => None,
        };
        Ok(Annotation {
            id: Some(self.id),
            time,
            time_end,
            text: self.text.clone(),
            tags: self.tags.clone(),
            dashboard_uid: self.dashboard_uid.clone().filter(|u| !u.is_empty()),
            panel_id: self.panel_id.filter(|p| *p != 0),
        })
    }
}

fn from_millis(ms: i64, field: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        Error::new(
            ErrorKind::Upstream,
            format!("grafana sent `{field}` {ms}, which is not a valid epoch-millisecond time"),
        )
        .with_context("field", field.to_owned())
    })
}

/// `POST /api/annotations`: `{"id": 1, "message": "Annotation added"}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CreatedAnnotation {
    pub id: u64,
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /api/ds/query`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct QueryResponse {
    #[serde(default)]
    pub results: BTreeMap<String, RefResult>,
}

/// The result of one query (`refId`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefResult {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
    /// `plugin` or `downstream`: whose fault an error is.
    #[serde(default)]
    pub error_source: Option<String>,
    #[serde(default)]
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Frame {
    #[serde(default)]
    pub schema: FrameSchema,
    #[serde(default)]
    pub data: FrameData,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameSchema {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub ref_id: Option<String>,
    #[serde(default)]
    pub fields: Vec<FieldSchema>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldSchema {
    #[serde(default)]
    pub name: String,
    /// `time`, `number`, `string`, `boolean`, `other`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub config: Option<FieldConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldConfig {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, rename = "displayNameFromDS")]
    pub display_name_from_ds: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct FrameData {
    /// One column per schema field.
    #[serde(default)]
    pub values: Vec<Vec<Value>>,
    /// Per column, the rows that hold `NaN` or an infinity (sent as `null`).
    #[serde(default)]
    pub entities: Vec<Option<Entities>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Entities {
    #[serde(default, rename = "NaN")]
    pub nan: Vec<usize>,
    #[serde(default, rename = "Inf")]
    pub inf: Vec<usize>,
    #[serde(default, rename = "NegInf")]
    pub neg_inf: Vec<usize>,
}

/// Turns the frames of one query into series: one per numeric field, on the frame's time field.
///
/// Frames without a time field (tables) yield nothing. `what` names the query in errors, which
/// give the JSON path of the value that broke (e.g. `frames[0].data.values[1][7]`).
///
/// ```no_run
/// # fn run(response: qapms_core::integrations::grafana::models::QueryResponse) -> qapms_core::Result<()> {
/// use qapms_core::integrations::grafana::frames_to_series;
/// for (ref_id, result) in &response.results {
///     let series = frames_to_series(&result.frames, ref_id)?;
/// }
/// # Ok(()) }
/// ```
pub fn frames_to_series(frames: &[Frame], what: &str) -> Result<Vec<MetricSeries>> {
    let mut out = Vec::new();
    for (f, frame) in frames.iter().enumerate() {
        let fields = &frame.schema.fields;
        let Some(time_col) = fields
            .iter()
            .position(|field| field.kind.as_deref() == Some("time"))
        else {
            tracing::debug!(
                frame = f,
                "a frame without a time field is not a series; skipped"
            );
            continue;
        };
        let at = FrameAt { frame, f, what };
        let timestamps = at.times(time_col)?;
        for (c, field) in fields.iter().enumerate() {
            if field.kind.as_deref() != Some("number") {
                continue;
            }
            let values = at.numbers(c, timestamps.len())?;
            out.push(MetricSeries {
                name: series_name(field, frame),
                labels: field.labels.clone(),
                timestamps: timestamps.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// The name Grafana would show: the datasource's display name, the field's, the frame's.
fn series_name(field: &FieldSchema, frame: &Frame) -> String {
    field
        .config
        .as_ref()
        .and_then(|c| {
            c.display_name_from_ds
                .clone()
                .or_else(|| c.display_name.clone())
        })
        .filter(|n| !n.is_empty())
        .or_else(|| (!field.name.is_empty()).then(|| field.name.clone()))
        .or_else(|| frame.schema.name.clone())
        .unwrap_or_else(|| "Value".to_owned())
}

/// One frame being decoded, with what is needed to name a broken value.
struct FrameAt<'a> {
    frame: &'a Frame,
    f: usize,
    what: &'a str,
}

impl FrameAt<'_> {
    fn bad(&self, path: String, why: &str) -> Error {
        Error::new(
            ErrorKind::Upstream,
            format!(
                "{}: malformed data frame at field `{path}`: {why}",
                self.what
            ),
        )
        .with_context("field", path)
    }

    fn column(&self, c: usize) -> Result<&[Value]> {
        self.frame
            .data
            .values
            .get(c)
            .map(Vec::as_slice)
            .ok_or_else(|| {
                self.bad(
                    format!("frames[{}].data.values[{c}]", self.f),
                    "the column is missing",
                )
            })
    }

    fn times(&self, c: usize) -> Result<Vec<DateTime<Utc>>> {
        let cells = self.column(c)?;
        let mut out = Vec::with_capacity(cells.len());
        for (row, value) in cells.iter().enumerate() {
            let at = value
                .as_i64()
                .or_else(|| value.as_f64().filter(|v| v.is_finite()).map(|v| v as i64))
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| {
                    self.bad(
                        format!("frames[{}].data.values[{c}][{row}]", self.f),
                        "expected epoch milliseconds",
                    )
                })?;
            out.push(at);
        }
        Ok(out)
    }

    /// Column `c` as numbers, `null` as `None`, and `entities` restoring `NaN` and infinities.
    fn numbers(&self, c: usize, rows: usize) -> Result<Vec<Option<f64>>> {
        let f = self.f;
        let cells = self.column(c)?;
        if cells.len() != rows {
            return Err(self.bad(
                format!("frames[{f}].data.values[{c}]"),
                &format!("{} values for {rows} timestamps", cells.len()),
            ));
        }
        let mut values = Vec::with_capacity(rows);
        for (row, cell) in cells.iter().enumerate() {
            match cell {
                Value::Null => values.push(None),
                Value::Number(n) => values.push(n.as_f64()),
                _ => {
                    return Err(self.bad(
                        format!("frames[{f}].data.values[{c}][{row}]"),
                        "expected a number or null",
                    ));
                }
            }
        }
        if let Some(Some(entities)) = self.frame.data.entities.get(c) {
            for (list, special) in [
                (&entities.nan, f64::NAN),
                (&entities.inf, f64::INFINITY),
                (&entities.neg_inf, f64::NEG_INFINITY),
            ] {
                for &row in list {
                    let slot = values.get_mut(row).ok_or_else(|| {
                        self.bad(
                            format!("frames[{f}].data.entities[{c}]"),
                            &format!("row {row} is past the end of the column"),
                        )
                    })?;
                    *slot = Some(special);
                }
            }
        }
        Ok(values)
    }
}
