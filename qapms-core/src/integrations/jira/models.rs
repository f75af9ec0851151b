//! Typed Jira payloads.
//!
//! Each struct models only what qapms reads; serde ignores every other field, so a new field
//! in Jira's output is never fatal. Fields Jira may omit (because they were not requested, or
//! the instance hides them) are `Option` or default to empty. An [`Issue`] also keeps the JSON
//! text Jira sent ([`Issue::raw`]), so anything requested but not modelled, such as a custom
//! field, stays reachable ([`Issue::field`]) without being parsed for every issue of a search.
//!
//! Jira writes instants as `2021-01-17T12:34:00.000+0000` (no colon in the offset), which is
//! not RFC 3339, so [`jira_time`] reads and writes that format (and accepts RFC 3339 too).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::error::nested_decode_error;
use crate::model::{IssueKey, RawJson};

/// Jira's timestamp format, for serde's `with`.
pub mod jira_time {
    use chrono::{DateTime, FixedOffset, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f%z";

    /// Formats an instant the way Jira's `started` field expects it.
    pub fn format(at: &DateTime<Utc>) -> String {
        at.format(FORMAT).to_string()
    }

    /// Parses Jira's format, or RFC 3339.
    pub fn parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::<FixedOffset>::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
            .or_else(|_| DateTime::parse_from_rfc3339(text))
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        match Stamp::deserialize(d)? {
            Stamp::Text(text) => parse(&text).ok_or_else(|| {
                serde::de::Error::custom(format!("`{text}` is not a Jira timestamp"))
            }),
            Stamp::Millis(ms) => DateTime::from_timestamp_millis(ms).ok_or_else(|| {
                serde::de::Error::custom(format!("{ms} is out of range for a timestamp"))
            }),
        }
    }

    /// Most endpoints send text; some (Agile, changelogs) send epoch milliseconds.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stamp {
        Text(String),
        Millis(i64),
    }

    /// The same for optional fields.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => s.serialize_str(&super::format(at)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(deserialize_with = "super::deserialize")] DateTime<Utc>);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(at)| at))
        }
    }
}

/// The signed-in user (`/myself`). Cloud identifies users by `accountId`, Data Center by `name`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub account_id: Option<String>,
    /// Data Center user name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// `/serverInfo`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub base_url: String,
    pub version: String,
    #[serde(default)]
    pub version_numbers: Vec<u32>,
    /// `Cloud` or `Server`/`Data Center`, when the server says.
    #[serde(default)]
    pub deployment_type: Option<String>,
    #[serde(default)]
    pub build_number: Option<u64>,
    #[serde(default)]
    pub server_title: Option<String>,
    #[serde(default, with = "jira_time::option")]
    pub server_time: Option<DateTime<Utc>>,
}

/// Anything Jira names: statuses, priorities, issue types, components, versions, resolutions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
}

/// The coarse category of a status: `new`, `indeterminate` or `done`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCategoryRef {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub status_category: Option<StatusCategoryRef>,
}

/// The common fields of an issue; every one is optional because only requested fields come back.
/// Other fields are skipped while parsing; [`Issue::field`] reads any of them from the raw text.
///
/// Serialising writes back only the fields that came, so a serialised `IssueFields` has the
/// shape Jira sent (scripts tell "not fetched" from "empty" by the key being absent).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuetype: Option<Named>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Named>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Named>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_versions: Option<Vec<Named>>,
    #[serde(
        default,
        with = "jira_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "jira_time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated: Option<DateTime<Utc>>,
    /// ADF (Cloud) or wiki text (Data Center), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Vec<Attachment>>,
}

/// An issue with the fields that were asked for.
///
/// `raw` is the issue's JSON exactly as Jira sent it, and it is what an `Issue` serialises to;
/// the typed fields are read from it once, when the issue is parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: String,
    pub key: IssueKey,
    pub self_url: Option<String>,
    pub fields: IssueFields,
    pub raw: RawJson,
}

impl Issue {
    /// Any fetched field by id (`"customfield_10010"`, `"summary"`), as Jira's JSON; `None` when
    /// it was not fetched.
    pub fn field(&self, id: &str) -> Option<Value> {
        self.raw.path(&["fields", id])
    }
}

/// The typed part of an issue, read from its raw text.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueParts {
    id: String,
    key: IssueKey,
    #[serde(default, rename = "self")]
    self_url: Option<String>,
    #[serde(default)]
    fields: IssueFields,
}

impl<'de> Deserialize<'de> for Issue {
    /// Captures the issue's text (a copy of its bytes, not a tree), then types what qapms reads.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawJson::deserialize(d)?;
        let parts: IssueParts = serde_json::from_str(raw.as_str()).map_err(|first| {
            // Say where inside the issue the mismatch is; this second pass runs only on failure.
            let de = &mut serde_json::Deserializer::from_str(raw.as_str());
            let message = match serde_path_to_error::deserialize::<_, IssueParts>(de) {
                Err(e) => nested_decode_error(&e.path().to_string(), e.inner()),
                Ok(_) => nested_decode_error("", &first),
            };
            serde::de::Error::custom(message)
        })?;
        Ok(Self {
            id: parts.id,
            key: parts.key,
            self_url: parts.self_url,
            fields: parts.fields,
            raw,
        })
    }
}

impl Serialize for Issue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}

/// One page of `POST /rest/api/3/search/jql`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JqlPage {
    #[serde(default)]
    pub issues: Vec<Issue>,
    #[serde(default)]
    pub next_page_token: Option<String>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

/// One page of an offset-paged list: `/rest/api/2/search`, Agile lists, `/project/search`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct OffsetList<T> {
    #[serde(
        default,
        alias = "issues",
        alias = "values",
        alias = "comments",
        alias = "worklogs"
    )]
    pub items: Vec<T>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

/// An issue transition (`/issue/{key}/transitions`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub to: Option<Status>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Transitions {
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

/// A comment. `body` is ADF on Cloud and wiki text on Data Center.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub body: Value,
    #[serde(default, with = "jira_time::option")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, with = "jira_time::option")]
    pub updated: Option<DateTime<Utc>>,
}

/// Time logged on an issue.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Worklog {
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default, with = "jira_time::option")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default)]
    pub time_spent_seconds: Option<u64>,
    #[serde(default)]
    pub comment: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub project_type_key: Option<String>,
}

/// A field definition from `/field`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub schema: Option<Value>,
}

/// Attachment metadata (the content itself is not downloaded).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// A string in issue payloads, a number in `/attachment/{id}`.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    pub filename: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default, with = "jira_time::option")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default)]
    pub author: Option<User>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

/// The result of creating an issue.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedIssue {
    pub id: String,
    pub key: IssueKey,
    #[serde(default, rename = "self")]
    pub self_url: Option<String>,
}

/// An issue type as createmeta lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateMetaIssueTypes {
    #[serde(default, alias = "values")]
    pub issue_types: Vec<CreateMetaIssueType>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CreateMetaIssueType {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateMetaFields {
    #[serde(default, alias = "values")]
    pub fields: Vec<CreateMetaField>,
}

/// One field of a create screen.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateMetaField {
    /// Cloud sends both `key` and `fieldId`; Data Center only `fieldId`.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub field_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub has_default_value: bool,
}

/// An Agile board.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: u64,
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// An Agile sprint.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sprint {
    pub id: u64,
    pub name: String,
    /// `future`, `active` or `closed`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, with = "jira_time::option")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default, with = "jira_time::option")]
    pub end_date: Option<DateTime<Utc>>,
    #[serde(default, with = "jira_time::option")]
    pub complete_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub goal: Option<String>,
    #[serde(default)]
    pub origin_board_id: Option<u64>,
}
