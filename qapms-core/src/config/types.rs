//! The typed configuration: what `qapms.yaml` means once it has been read and validated.
//!
//! These types are the single source of truth for the file's shape. The JSON Schema that editors
//! use, and that the loader validates against, is generated from them by schemars, so a field
//! added here is immediately validated, completed in editors and documented (doc comments become
//! schema `description`s). Every struct denies unknown fields, so serde and the schema agree.
//!
//! Credentials are [`SecretValue`]s: they stay in their written form (plaintext, `${VAR}` result
//! or `enc:v1:` envelope) until an integration reveals them, and their `Debug` is redacted.
//! Checks that span several fields (auth method against deployment, a workflow action naming a
//! Splunk template) live in `semantic.rs`, not in these types.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::logging::LogFormat;
use crate::model::Role;
use crate::secrets::SecretValue;

use super::paths::Paths;

/// The whole configuration, after profile overlay and `${VAR}` interpolation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Connections to Jira, Postman, Testmo, Splunk and Grafana. Each is optional.
    pub integrations: Integrations,
    /// Where qapms keeps its data. Defaults to an `SQLite` file in the data directory.
    pub store: StoreConfig,
    /// Guided workflow templates, by name.
    pub workflows: BTreeMap<String, WorkflowTemplate>,
    /// Search ranking and optional semantic (embedding) search.
    pub search: SearchConfig,
    /// Failure clustering, flakiness and anomaly detection settings.
    pub patterns: PatternConfig,
    /// Dashboard users and their personas.
    pub users: Vec<UserConfig>,
    /// Log level, format, directory and retention.
    pub logging: LoggingConfig,
    /// YAML files with more workflow templates (a mapping of name to template each), relative
    /// to this file.
    pub workflow_files: Vec<PathBuf>,
    /// Timers and idle detection.
    pub tracking: TrackingConfig,
    /// The dashboard server's periodic sync.
    pub sync: SyncConfig,
}

/// The periodic sync `qapms-server` runs (under a lease: with several instances on one
/// PostgreSQL store, one syncs at a time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Sync every enabled integration in the background. Default `true`.
    pub enabled: bool,
    /// Time between two syncs, counted from the start of the previous one. Default `15m`.
    pub interval: HumanDuration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: HumanDuration(Duration::from_mins(15)),
        }
    }
}

/// Time tracking settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// A gap with no activity longer than this is not counted (it is shown, so it can be
    /// kept). Default `15m`.
    pub idle_gap: HumanDuration,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            idle_gap: HumanDuration(Duration::from_mins(15)),
        }
    }
}

/// The five integrations; an absent one is simply not used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Integrations {
    /// Jira Cloud or Data Center: tickets, hovers, bugs and worklogs.
    pub jira: Option<JiraConfig>,
    /// Postman collections, from the API or exported files.
    pub postman: Option<PostmanConfig>,
    /// Testmo: the case repository, runs and automation results.
    pub testmo: Option<TestmoConfig>,
    /// Splunk: SPL templates and, in `rest` mode, searches and saved searches.
    pub splunk: Option<SplunkConfig>,
    /// Grafana: dashboards, annotations and datasource queries.
    pub grafana: Option<GrafanaConfig>,
}

fn default_true() -> bool {
    true
}

/// Jira Cloud (REST v3, Agile) or Jira Data Center (REST v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// Set to `false` to keep the settings but not connect.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The site, e.g. `https://acme.atlassian.net` or `https://jira.acme.internal`.
    #[schemars(url)]
    pub base_url: String,
    /// `cloud` (REST v3, the default) or `data_center` (REST v2).
    #[serde(default)]
    pub deployment: JiraDeployment,
    /// How qapms signs in: an API token, a personal access token or OAuth.
    pub auth: JiraAuth,
    /// Project keys to sync and search, e.g. `[PAY, CORE]`.
    #[serde(default)]
    pub projects: Vec<ProjectKey>,
    /// A request budget kept on this side, e.g. `{requests: 100, per: minute}`; none by default.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// Which Jira product `base_url` points at; it decides the API version and the auth methods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JiraDeployment {
    #[default]
    Cloud,
    DataCenter,
}

/// How to authenticate to Jira, chosen by `method`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum JiraAuth {
    /// Jira Cloud: account email plus an API token.
    Basic {
        email: String,
        api_token: SecretValue,
    },
    /// Jira Data Center: a personal access token (Bearer).
    Pat { token: SecretValue },
    /// OAuth 2.0 client credentials (Jira Cloud service accounts).
    OauthClientCredentials {
        client_id: String,
        client_secret: SecretValue,
        #[serde(default)]
        scopes: Vec<String>,
        /// Overrides the provider's token endpoint (default
        /// `https://auth.atlassian.com/oauth/token`).
        #[serde(default)]
        #[schemars(url)]
        token_url: Option<String>,
        /// Where the API is called with OAuth tokens (default `https://api.atlassian.com`).
        #[serde(default)]
        #[schemars(url)]
        api_url: Option<String>,
        /// The site's cloud id; `qapms auth login jira` looks it up when absent.
        #[serde(default)]
        cloud_id: Option<String>,
    },
    /// OAuth 2.0 authorization code with PKCE: a browser sign-in through a loopback redirect.
    /// PKCE is always sent; Jira Cloud (3LO apps) also needs `client_secret`, Jira Data Center
    /// (8.22+) takes public clients without one.
    OauthPkce {
        client_id: String,
        /// The app's client secret: required on Jira Cloud, absent for a public client.
        #[serde(default)]
        client_secret: Option<SecretValue>,
        /// e.g. `[read:jira-work, write:jira-work, read:jira-user, offline_access]` on Cloud
        /// (`offline_access` gives the refresh token), `[WRITE]` on Data Center.
        #[serde(default)]
        scopes: Vec<String>,
        /// Local port for the redirect listener; a free port is picked when absent. Set it when
        /// the app's registered callback URL names a port (Jira Cloud matches it exactly).
        #[serde(default)]
        redirect_port: Option<u16>,
        /// Overrides the authorization endpoint (default `https://auth.atlassian.com/authorize`
        /// on Cloud, `<base_url>/rest/oauth2/latest/authorize` on Data Center).
        #[serde(default)]
        #[schemars(url)]
        authorize_url: Option<String>,
        /// Overrides the token endpoint (default `https://auth.atlassian.com/oauth/token` on
        /// Cloud, `<base_url>/rest/oauth2/latest/token` on Data Center).
        #[serde(default)]
        #[schemars(url)]
        token_url: Option<String>,
        /// Cloud only: where the API is called with OAuth tokens (default
        /// `https://api.atlassian.com`).
        #[serde(default)]
        #[schemars(url)]
        api_url: Option<String>,
        /// Cloud only: the site's cloud id; looked up at sign-in when absent.
        #[serde(default)]
        cloud_id: Option<String>,
    },
}

impl JiraAuth {
    /// The `method` value as written in the file.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "basic",
            Self::Pat { .. } => "pat",
            Self::OauthClientCredentials { .. } => "oauth_client_credentials",
            Self::OauthPkce { .. } => "oauth_pkce",
        }
    }
}

/// A Jira project key such as `PAY`: an upper-case letter, then upper-case letters, digits or `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectKey(pub String);

impl ProjectKey {
    pub(crate) fn is_valid(s: &str) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
            && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && s.len() <= 255
    }
}

impl JsonSchema for ProjectKey {
    fn schema_name() -> Cow<'static, str> {
        "ProjectKey".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "jira-project-key",
            "pattern": "^[A-Z][A-Z0-9_]*$",
            "description": "A Jira project key, e.g. `PAY`."
        })
    }
}

/// A client-side request budget, e.g. `{requests: 100, per: minute}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per period.
    #[schemars(range(min = 1))]
    pub requests: u32,
    /// The period: `second`, `minute` or `hour`.
    pub per: RatePeriod,
    /// Requests allowed at once above the steady rate; defaults to `requests`.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub burst: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatePeriod {
    Second,
    Minute,
    Hour,
}

impl RatePeriod {
    pub fn as_duration(self) -> Duration {
        match self {
            Self::Second => Duration::from_secs(1),
            Self::Minute => Duration::from_mins(1),
            Self::Hour => Duration::from_hours(1),
        }
    }
}

fn default_postman_url() -> String {
    "https://api.getpostman.com".to_owned()
}

/// The Postman API and/or local collection files (format v2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmanConfig {
    /// Set to `false` to keep the settings but not connect.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The base URL of the service's API.
    #[serde(default = "default_postman_url")]
    #[schemars(url)]
    pub base_url: String,
    /// A Postman API key (`PMAK-...`); not needed for collection files alone.
    #[serde(default)]
    pub api_key: Option<SecretValue>,
    /// The workspace id to read collections from.
    #[serde(default)]
    pub workspace: Option<String>,
    /// Exported collections (v2.1 JSON), relative to the config file.
    #[serde(default)]
    pub collection_files: Vec<PathBuf>,
    /// A request budget kept on this side, e.g. `{requests: 100, per: minute}`; none by default.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// Testmo (REST v1), including automation runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestmoConfig {
    /// Set to `false` to keep the settings but not connect.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The instance, e.g. `https://acme.testmo.net`.
    #[schemars(url)]
    pub base_url: String,
    /// An API token from the Testmo user profile.
    pub token: SecretValue,
    /// Numeric Testmo project ids.
    #[serde(default)]
    pub projects: Vec<u64>,
    /// A request budget kept on this side, e.g. `{requests: 100, per: minute}`; none by default.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
}

/// Splunk: SPL rendered from templates (manual), or searches run over REST.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SplunkConfig {
    /// Set to `false` to keep the settings but not connect.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `manual` (render SPL to paste, the default) or `rest` (run searches over the REST API).
    pub mode: SplunkMode,
    /// The management endpoint, e.g. `https://splunk.acme.internal:8089`; required in `rest` mode.
    #[schemars(url)]
    pub base_url: Option<String>,
    /// Required in `rest` mode.
    pub auth: Option<SplunkAuth>,
    /// The Splunk app namespace searches run in.
    pub app: Option<String>,
    /// `true`, `false`, or the path of a CA bundle (PEM) to trust.
    pub verify_tls: TlsVerify,
    /// Named SPL templates; `{placeholders}` are filled in when rendered.
    pub templates: BTreeMap<String, SplunkTemplate>,
    /// A request budget kept on this side, e.g. `{requests: 100, per: minute}`; none by default.
    pub rate_limit: Option<RateLimit>,
    /// Per-request timeout, e.g. `10s`.
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplunkMode {
    /// Render SPL for the user to paste; no connection.
    #[default]
    Manual,
    /// Run search jobs and the export stream over the REST API.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplunkAuth {
    /// A Splunk authentication token (Bearer).
    Token { token: SecretValue },
    /// Username and password sent with every request (HTTP Basic).
    Basic {
        username: String,
        password: SecretValue,
    },
    /// Username and password exchanged once for a session key through `auth/login`; qapms
    /// logs in again when the session expires.
    Login {
        username: String,
        password: SecretValue,
    },
}

/// TLS verification: on, off, or against a specific CA bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TlsVerify {
    Enabled(bool),
    CaBundle(PathBuf),
}

impl Default for TlsVerify {
    fn default() -> Self {
        Self::Enabled(true)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplunkTemplate {
    /// The search, e.g. `index=app sourcetype=api {ticket} | stats count by status`.
    #[schemars(length(min = 1))]
    pub spl: String,
    /// What it is for, shown in hovers and search results.
    #[serde(default)]
    pub description: Option<String>,
    /// Default time range start, in Splunk syntax (`-24h`).
    #[serde(default)]
    pub earliest: Option<String>,
    /// Default time range end, in Splunk syntax (`now`).
    #[serde(default)]
    pub latest: Option<String>,
}

/// Grafana's HTTP API: dashboards, annotations, datasource queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrafanaConfig {
    /// Set to `false` to keep the settings but not connect.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The base URL of the service's API.
    #[schemars(url)]
    pub base_url: String,
    /// A service account token.
    pub token: SecretValue,
    /// The Grafana organisation to act in; the token's own by default.
    #[serde(default)]
    pub org_id: Option<u64>,
    /// Datasources qapms may query, by the name used in workflows and dashboards.
    #[serde(default)]
    pub datasources: BTreeMap<String, GrafanaDatasource>,
    /// A request budget kept on this side, e.g. `{requests: 100, per: minute}`; none by default.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Per-request timeout, e.g. `10s`.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Annotations carrying any of these tags are synced as external signals: signs of
    /// trouble that let failure classification call a failure cluster systemic.
    #[serde(default = "default_signal_tags")]
    pub signal_tags: Vec<String>,
}

/// The tags teams commonly put on annotations of infrastructure trouble.
pub fn default_signal_tags() -> Vec<String> {
    ["incident", "outage", "alert"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrafanaDatasource {
    /// The datasource uid in Grafana.
    #[schemars(length(min = 1))]
    pub uid: String,
    /// The datasource type, which decides the query shape.
    #[serde(rename = "type")]
    pub kind: DatasourceKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatasourceKind {
    Prometheus,
    Loki,
    Elasticsearch,
    Influxdb,
    Tempo,
    Postgres,
}

/// The store. `url` picks the backend by scheme: `sqlite://` or `postgres://`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// e.g. `postgres://qapms:${PGPASSWORD}@db:5432/qapms`; unset means
    /// `sqlite://<data_dir>/qapms.db`.
    pub url: Option<String>,
    /// Connection pool size.
    #[schemars(range(min = 1))]
    pub max_connections: Option<u32>,
}

impl StoreConfig {
    /// The URL to connect to: the configured one, else the embedded `SQLite` file in the data dir.
    pub fn resolved_url(&self, paths: &Paths) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", paths.data_dir.join("qapms.db").display()),
        }
    }
}

impl fmt::Debug for StoreConfig {
    // A database URL may carry a password in its user-info part; never print that part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_deref().map(redact_url_userinfo))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

fn redact_url_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}[REDACTED]{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_owned(),
    }
}

/// A guided QA procedure: ordered steps with checklists, estimates and evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowTemplate {
    /// What it is for, shown in hovers and search results.
    #[serde(default)]
    pub description: Option<String>,
    /// Another template (configured or built in) whose steps come before this one's.
    #[serde(default)]
    pub extends: Option<String>,
    /// A time box for the whole workflow, e.g. `90m` for an exploratory session.
    #[serde(default)]
    pub time_box: Option<HumanDuration>,
    /// The steps, in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<WorkflowStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStep {
    /// Unique within the template.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What it is for, shown in hovers and search results.
    #[serde(default)]
    pub description: Option<String>,
    /// Items to tick before the step is done.
    #[serde(default)]
    pub checklist: Vec<String>,
    /// Expected time, e.g. `30m`, `1h30m`; reports compare tracked time against it.
    #[serde(default)]
    pub estimate: Option<HumanDuration>,
    /// Evidence the step asks for.
    #[serde(default)]
    pub evidence: Vec<EvidenceKind>,
    /// Things qapms does when the step completes.
    #[serde(default)]
    pub actions: Vec<StepAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Notes,
    Links,
    Attachments,
    TestResults,
}

/// An action run when a step completes, chosen by `kind`. Its texts (a comment, a summary, a
/// query, a run name, an annotation and its tags, a link) may hold `{ticket}`, `{title}`,
/// `{user}`, `{outcome}`, `{duration}`, `{template}`, `{step}` and `{workflow}`; see
/// [`placeholders`](crate::workflow::placeholders).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepAction {
    /// Move the ticket to a status, e.g. `In QA`.
    JiraTransition { to: String },
    /// Comment on the ticket; `{placeholders}` are filled from the workflow.
    JiraComment { body: String },
    /// Log the tracked time as a Jira worklog.
    JiraWorklog {
        #[serde(default)]
        comment: Option<String>,
    },
    /// Start a Testmo automation run.
    TestmoRun {
        project: u64,
        name: String,
        #[serde(default)]
        source: Option<String>,
    },
    /// Render or run a Splunk template from `integrations.splunk.templates`.
    SplunkSearch { template: String },
    /// Post a Grafana annotation.
    GrafanaAnnotation {
        text: String,
        #[serde(default)]
        tags: Vec<String>,
    },
    /// File a Jira issue (a bug, by default) on the ticket's project, with the workflow's steps,
    /// environment and evidence in its description; `{placeholders}` are filled from the
    /// workflow.
    JiraCreateIssue {
        #[serde(default = "default_issue_type")]
        issue_type: String,
        summary: String,
    },
    /// Search Postman requests related to the ticket; `{placeholders}` are filled.
    PostmanSearch { query: String },
    /// Search Testmo cases related to the ticket; `{placeholders}` are filled.
    TestmoSearch { query: String },
    /// Open a link for the user.
    OpenUrl {
        #[schemars(url)]
        url: String,
    },
}

impl StepAction {
    /// The `kind` it is configured with, such as `jira_comment`: what its records are named.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::JiraTransition { .. } => "jira_transition",
            Self::JiraComment { .. } => "jira_comment",
            Self::JiraWorklog { .. } => "jira_worklog",
            Self::TestmoRun { .. } => "testmo_run",
            Self::SplunkSearch { .. } => "splunk_search",
            Self::GrafanaAnnotation { .. } => "grafana_annotation",
            Self::JiraCreateIssue { .. } => "jira_create_issue",
            Self::PostmanSearch { .. } => "postman_search",
            Self::TestmoSearch { .. } => "testmo_search",
            Self::OpenUrl { .. } => "open_url",
        }
    }

    /// Whether it reads the search index: a front-end opens the index only for these.
    pub fn reads_search_index(&self) -> bool {
        matches!(self, Self::PostmanSearch { .. } | Self::TestmoSearch { .. })
    }

    /// The same action with each text that takes `{placeholders}` passed through `fill`,
    /// which is told where the text is: its key, and its index in a list (`tags`). Numbers,
    /// the issue type and the Splunk template name are names, not texts, and are kept.
    pub fn map_texts(
        &self,
        fill: &mut dyn FnMut(&'static str, Option<usize>, &str) -> String,
    ) -> Self {
        match self {
            Self::JiraTransition { to } => Self::JiraTransition {
                to: fill("to", None, to),
            },
            Self::JiraComment { body } => Self::JiraComment {
                body: fill("body", None, body),
            },
            Self::JiraWorklog { comment } => Self::JiraWorklog {
                comment: comment.as_deref().map(|c| fill("comment", None, c)),
            },
            Self::TestmoRun {
                project,
                name,
                source,
            } => Self::TestmoRun {
                project: *project,
                name: fill("name", None, name),
                source: source.as_deref().map(|s| fill("source", None, s)),
            },
            Self::SplunkSearch { template } => Self::SplunkSearch {
                template: template.clone(),
            },
            Self::GrafanaAnnotation { text, tags } => Self::GrafanaAnnotation {
                text: fill("text", None, text),
                tags: tags
                    .iter()
                    .enumerate()
                    .map(|(i, t)| fill("tags", Some(i), t))
                    .collect(),
            },
            Self::JiraCreateIssue {
                issue_type,
                summary,
            } => Self::JiraCreateIssue {
                issue_type: issue_type.clone(),
                summary: fill("summary", None, summary),
            },
            Self::PostmanSearch { query } => Self::PostmanSearch {
                query: fill("query", None, query),
            },
            Self::TestmoSearch { query } => Self::TestmoSearch {
                query: fill("query", None, query),
            },
            Self::OpenUrl { url } => Self::OpenUrl {
                url: fill("url", None, url),
            },
        }
    }

    /// Each text that takes `{placeholders}`, with its key and index (see
    /// [`StepAction::map_texts`]).
    pub fn texts(&self) -> Vec<(&'static str, Option<usize>, String)> {
        let mut texts = Vec::new();
        self.map_texts(&mut |key, index, text| {
            texts.push((key, index, text.to_owned()));
            String::new()
        });
        texts
    }
}

fn default_issue_type() -> String {
    "Bug".to_owned()
}

/// Search ranking settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Results returned when the caller does not say.
    #[schemars(range(min = 1, max = 1000))]
    pub default_limit: u32,
    /// Largest edit distance accepted by fuzzy id and key matching.
    #[schemars(range(max = 3))]
    pub fuzzy_max_distance: u8,
    /// Where the (rebuildable) full-text index lives; defaults to `<data_dir>/index`.
    pub index_dir: Option<PathBuf>,
    /// Optional semantic ranking through the user's own OpenAI-compatible embeddings endpoint.
    pub embeddings: Option<EmbeddingsConfig>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            default_limit: 20,
            fuzzy_max_distance: 2,
            index_dir: None,
            embeddings: None,
        }
    }
}

fn default_hybrid_weight() -> f64 {
    0.3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// e.g. `https://api.openai.com/v1/embeddings`.
    #[schemars(url)]
    pub endpoint: String,
    /// The embeddings model, e.g. `text-embedding-3-small`.
    pub model: String,
    /// Sent only to `endpoint`, never logged.
    #[serde(default)]
    pub api_key: Option<SecretValue>,
    /// Share of the semantic score in the final rank: 0 is keyword-only, 1 semantic-only.
    #[serde(default = "default_hybrid_weight")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub hybrid_weight: f64,
    /// Vector length to ask for, for models that can shorten them.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub dimensions: Option<u32>,
}

/// Pattern detection settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PatternConfig {
    /// Flakiness scoring.
    pub flaky: FlakyConfig,
    /// Log template mining for failure clustering.
    pub templates: TemplateMiningConfig,
    /// Pass-rate and duration anomaly detection.
    pub anomaly: AnomalyConfig,
    /// Failures that are expected until a Jira issue is fixed: each rule names the issue and
    /// matches a failure cluster by a regex or by a template.
    pub known_issues: Vec<KnownIssueConfig>,
    /// What the analysis does with its own open alerts.
    pub alerts: PatternAlertsConfig,
}

/// What the analysis does with its own open alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PatternAlertsConfig {
    /// Resolve open alerts when their condition clears: an anomaly back in range, a test no
    /// longer flaky, a cluster quiet for `resolve_after_runs` runs.
    pub auto_resolve: bool,
    /// Runs without a failure of the cluster before its new-cluster alert resolves.
    #[schemars(range(min = 1))]
    pub resolve_after_runs: u32,
}

impl Default for PatternAlertsConfig {
    fn default() -> Self {
        Self {
            auto_resolve: true,
            resolve_after_runs: 5,
        }
    }
}

/// A known-issue rule: failures matching it are expected and linked to `issue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KnownIssueConfig {
    /// The Jira issue, e.g. `PAY-123`.
    pub issue: String,
    /// A regular expression matched against the failure's template, message and exception type.
    #[serde(default)]
    pub pattern: Option<String>,
    /// A failure template, literal text with `<*>` for any text (as `qapms patterns report`
    /// prints it).
    #[serde(default)]
    pub template: Option<String>,
    /// Why the failure is expected.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct FlakyConfig {
    /// `bayesian` (default) or the simple rules of `allure` or `testops`.
    pub preset: FlakyPreset,
    /// Attempts needed before a test is scored.
    #[schemars(range(min = 2))]
    pub min_runs: u32,
    /// Confidence level of the interval around the flakiness score.
    #[schemars(range(min = 0.5, max = 0.999))]
    pub confidence: f64,
    /// History considered, in days.
    #[schemars(range(min = 1))]
    pub window_days: u32,
}

impl Default for FlakyConfig {
    fn default() -> Self {
        Self {
            preset: FlakyPreset::Bayesian,
            min_runs: 5,
            confidence: 0.95,
            window_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlakyPreset {
    #[default]
    Bayesian,
    Allure,
    Testops,
}

/// The template miner behind failure clusters and log templates (`patterns.templates`). The
/// defaults are the one configuration the accuracy figures in `benches/README.md` were
/// measured with; changing them changes which failures share a cluster, and so cluster ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TemplateMiningConfig {
    /// Upper bound on clusters kept; the least recently matched is evicted beyond it.
    #[schemars(range(min = 1))]
    pub max_clusters: u32,
    /// Share of a line's fixed (unmasked) tokens that must equal a template's for the line to
    /// join that cluster (0..1).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub similarity: f64,
    /// Depth of the prefix tree, counted as Drain counts it: the root and the length level
    /// plus `max_depth - 2` leading tokens that route a line to its candidate clusters.
    #[schemars(range(min = 2, max = 16))]
    pub max_depth: u32,
}

impl Default for TemplateMiningConfig {
    fn default() -> Self {
        Self {
            max_clusters: 10_000,
            similarity: 0.55,
            max_depth: 4,
        }
    }
}

/// The streaming anomaly detectors over pass rates and test durations (`patterns.anomaly`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Detect pass-rate and duration anomalies at all.
    pub enabled: bool,
    /// Anomaly score at or above which a point is anomalous, in (0, 1]: the score is
    /// `-log10(p) / 12` of the point's tail probability, so 0.45 means `p` of about 4e-6
    /// and 0.5 means 1e-6.
    #[schemars(range(min = 0.01, max = 1.0))]
    pub threshold: f64,
    /// Points of a series (runs, for pass rates and durations) before it is judged.
    #[schemars(range(min = 3))]
    pub min_points: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 0.45,
            min_points: 10,
        }
    }
}

/// A dashboard user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The sign-in name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The address, also used to match the Jira assignee.
    #[schemars(email)]
    pub email: String,
    /// The persona: `qa`, `pm`, `po`, `tech_lead`, `qa_manager` or `admin`.
    pub role: Role,
    /// The team, for team filters and what leads and managers see.
    #[serde(default)]
    pub team: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// `trace`, `debug`, `info` (the default), `warn` or `error`.
    pub level: LogLevel,
    /// `pretty` for people (the default) or `json` for log shippers.
    pub format: LogFormat,
    /// Log directory; defaults to `<data_dir>/logs`. Relative paths are relative to the config file.
    pub dir: Option<PathBuf>,
    /// Days rotated files are kept; at least 30.
    #[schemars(range(min = 30))]
    pub retention_days: u32,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: LogLevel::Info,
            format: LogFormat::Pretty,
            dir: None,
            retention_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The level as a tracing filter directive (`info`, `debug`, ...).
    pub fn as_filter(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// A duration written for humans: `45s`, `30m`, `1h30m`, `2d`, `1w`.
///
/// Units go from largest to smallest, each at most once; the total must be above zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses the `1h30m` syntax; the error says what is wrong without echoing the input.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        const UNITS: [(char, u64); 5] = [
            ('w', 7 * 86_400),
            ('d', 86_400),
            ('h', 3600),
            ('m', 60),
            ('s', 1),
        ];
        if text.is_empty() {
            return Err("a duration cannot be empty");
        }
        let mut total: u64 = 0;
        // Index into UNITS of the next unit allowed: units must strictly decrease.
        let mut next_unit = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err("expected a number before each unit");
            }
            let value: u64 = rest[..digits]
                .parse()
                .map_err(|_| "the number is too large")?;
            let Some(unit) = rest[digits..].chars().next() else {
                return Err("a unit must follow the number (w, d, h, m or s)");
            };
            let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
                return Err("unknown unit; use w, d, h, m or s");
            };
            if pos < next_unit {
                return Err("units must go from largest to smallest, each at most once");
            }
            next_unit = pos + 1;
            total = value
                .checked_mul(UNITS[pos].1)
                .and_then(|s| total.checked_add(s))
                .ok_or("the duration is too large")?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        if total == 0 {
            return Err("a duration must be longer than zero");
        }
        Ok(Self(Duration::from_secs(total)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ('w', 604_800),
            ('d', 86_400),
            ('h', 3600),
            ('m', 60),
            ('s', 1),
        ] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "duration-human",
            "pattern": "^([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "A duration such as `45s`, `30m`, `1h30m`, `2d`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_unit_order() {
        assert_eq!(
            HumanDuration::parse("1h30m").unwrap().0,
            Duration::from_mins(90)
        );
        assert_eq!(HumanDuration::parse("2d").unwrap().to_string(), "2d");
        assert_eq!(HumanDuration::parse("90m").unwrap().to_string(), "1h30m");
        for bad in [
            "",
            "30",
            "m",
            "30x",
            "30m1h",
            "1h1h",
            "0s",
            "1.5h",
            "-1h",
            "99999999999999999999s",
        ] {
            assert!(
                HumanDuration::parse(bad).is_err(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn step_action_kinds_are_their_configured_tags() {
        let actions: Vec<StepAction> = serde_json::from_value(serde_json::json!([
            {"kind": "jira_transition", "to": "Done"},
            {"kind": "jira_comment", "body": "b"},
            {"kind": "jira_worklog"},
            {"kind": "testmo_run", "project": 1, "name": "n"},
            {"kind": "splunk_search", "template": "t"},
            {"kind": "grafana_annotation", "text": "t"},
            {"kind": "jira_create_issue", "summary": "s"},
            {"kind": "postman_search", "query": "q"},
            {"kind": "testmo_search", "query": "q"},
            {"kind": "open_url", "url": "https://x.test"},
        ]))
        .unwrap();
        for action in &actions {
            let tagged = serde_json::to_value(action).unwrap();
            assert_eq!(tagged["kind"], action.kind());
        }
    }

    #[test]
    fn store_debug_hides_password() {
        let store = StoreConfig {
            url: Some("postgres://qapms:hunter2@db:5432/qapms".into()),
            max_connections: None,
        };
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://[REDACTED]@db:5432/qapms"),
            "{shown}"
        );
    }

    #[test]
    fn project_keys() {
        assert!(ProjectKey::is_valid("PAY"));
        assert!(ProjectKey::is_valid("A1_B"));
        assert!(!ProjectKey::is_valid("pay"));
        assert!(!ProjectKey::is_valid("1AB"));
        assert!(!ProjectKey::is_valid(""));
    }
}
