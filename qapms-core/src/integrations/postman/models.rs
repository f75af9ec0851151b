//! Typed Postman API payloads (`/me`, `/workspaces`, `/collections`, `/environments`).
//!
//! Each struct models only what qapms reads; serde ignores every other field, so a new field
//! in Postman's output is never fatal. Postman writes instants as RFC 3339 (`…T14:16:40.000Z`),
//! which chrono reads directly. A whole collection (format v2.1) is modelled in
//! [`super::collection`], not here, because local files share that model.
//!
//! Environment values can be secrets (`type: secret` or `secret: true`); those are kept in a
//! [`SecretString`] so a `Debug` print or a log line never shows them.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

string_id!(
    /// A collection's id or uid (`12345678-12ec…`); the API accepts either.
    CollectionId
);
string_id!(
    /// A workspace id.
    WorkspaceId
);
string_id!(
    /// An environment's id or uid.
    EnvironmentId
);

/// `GET /me`: the user the API key belongs to.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user: User,
    /// Usage against the plan's limits (API calls, monitor runs, …).
    #[serde(default)]
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: u64,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub team_id: Option<u64>,
    #[serde(default)]
    pub team_name: Option<String>,
}

/// One plan limit and how much of it is used.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub limit: Option<f64>,
    #[serde(default)]
    pub usage: Option<f64>,
    #[serde(default)]
    pub overage: Option<f64>,
}

/// A workspace as `GET /workspaces` lists it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceSummary {
    pub id: WorkspaceId,
    pub name: String,
    /// `personal` or `team`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `personal`, `private`, `team`, `public` or `partner`.
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// One element a workspace holds (a collection, an environment, …).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceElement {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
}

/// `GET /workspaces/{id}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub collections: Vec<WorkspaceElement>,
    #[serde(default)]
    pub environments: Vec<WorkspaceElement>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A collection as `GET /collections` lists it (without its requests).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionSummary {
    pub id: String,
    pub name: String,
    /// `owner-id`: what other Postman endpoints and links use.
    #[serde(default)]
    pub uid: Option<CollectionId>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_public: Option<bool>,
}

impl CollectionSummary {
    /// The uid when listed, else the id: both fetch the collection.
    pub fn collection_id(&self) -> CollectionId {
        self.uid
            .clone()
            .unwrap_or_else(|| CollectionId::new(self.id.clone()))
    }
}

/// An environment as `GET /environments` lists it (without its values).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentSummary {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub uid: Option<EnvironmentId>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_public: Option<bool>,
}

/// `GET /environments/{id}`: an environment with its variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub values: Vec<EnvironmentValue>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// One environment variable. A secret's value sits in [`Self::secret`], never in `value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawEnvironmentValue")]
pub struct EnvironmentValue {
    pub key: String,
    /// The value of a plain variable.
    pub value: Option<String>,
    /// The value of a secret variable.
    pub secret: Option<SecretString>,
    pub enabled: bool,
    /// `default` or `secret`.
    pub kind: Option<String>,
    pub description: Option<String>,
}

impl EnvironmentValue {
    pub fn is_secret(&self) -> bool {
        self.secret.is_some() || self.kind.as_deref() == Some("secret")
    }
}

#[derive(Deserialize)]
struct RawEnvironmentValue {
    key: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    secret: Option<bool>,
    #[serde(default)]
    description: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

impl From<RawEnvironmentValue> for EnvironmentValue {
    fn from(raw: RawEnvironmentValue) -> Self {
        // Postman stores values as strings, but older exports carry numbers and booleans.
        let text = raw.value.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        let is_secret = raw.secret == Some(true) || raw.kind.as_deref() == Some("secret");
        let (value, secret) = if is_secret {
            // A vault-backed secret arrives without a value; it is still a secret, so it must
            // not read back as a plain variable with no value.
            (None, Some(SecretString::from(text.unwrap_or_default())))
        } else {
            (text, None)
        };
        Self {
            key: raw.key,
            value,
            secret,
            enabled: raw.enabled,
            kind: raw.kind,
            description: raw.description,
        }
    }
}

/// `GET /collections`.
#[derive(Debug, Deserialize)]
pub(crate) struct CollectionList {
    #[serde(default)]
    pub collections: Vec<CollectionSummary>,
    #[serde(default)]
    pub meta: Option<OffsetMeta>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OffsetMeta {
    #[serde(default)]
    pub total: Option<u64>,
}

/// `GET /workspaces`.
#[derive(Debug, Deserialize)]
pub(crate) struct WorkspaceList {
    #[serde(default)]
    pub workspaces: Vec<WorkspaceSummary>,
    #[serde(default)]
    pub meta: Option<CursorMeta>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CursorMeta {
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WorkspaceEnvelope {
    pub workspace: Workspace,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EnvironmentList {
    #[serde(default)]
    pub environments: Vec<EnvironmentSummary>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EnvironmentEnvelope {
    pub environment: Environment,
}
