//! Postman collections (format v2.0 and v2.1), from the API or from exported files, and their
//! flattening into searchable [`CatalogRequest`]s.
//!
//! The format is loose: a URL is a string or an object, a host or a path is a string or an
//! array, a path segment is a string or `{type, value}`, a description is a string, an object
//! or null, a script's `exec` is a string or an array of lines. The model accepts every form
//! the v2.1 schema allows and keeps nothing it does not need. v2.0 differs from v2.1 only in
//! auth, which qapms does not read, so both are accepted.
//!
//! What is refused, with a message saying what to do: Collection Format v1 (`requests` and
//! `order` at the top), an unknown `info.schema`, and v3 collections, which are directories of
//! YAML files rather than one JSON document; all three are re-exported as v2.1 from Postman.
//!
//! A request's id is Postman's item id when the item has one (exports and the API both carry
//! it). Otherwise it is a content hash of the collection, the folder path and the name, so it
//! stays the same across re-exports; a second request with the same path and name in one
//! folder gets its position appended before hashing.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::integrations::{CatalogRequest, CatalogUrl, RequestId};
use crate::{Error, Result};

/// A whole collection, as parsed.
#[derive(Debug, Clone, Deserialize)]
pub struct Collection {
    pub info: Info,
    #[serde(default)]
    pub item: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Info {
    pub name: String,
    #[serde(default, rename = "_postman_id")]
    pub postman_id: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub description: Option<Description>,
}

/// A request or a folder: a folder has `item`, a request has `request`.
#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<Description>,
    #[serde(default)]
    pub request: Option<Request>,
    #[serde(default)]
    pub item: Option<Vec<Item>>,
    #[serde(default)]
    pub event: Vec<Event>,
}

/// A request object, or a bare URL string (a GET).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Request {
    Url(String),
    Full(Box<RequestObject>),
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestObject {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub url: Option<Url>,
    #[serde(default)]
    pub description: Option<Description>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Url {
    Raw(String),
    Parts(Box<UrlParts>),
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UrlParts {
    #[serde(default)]
    pub raw: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub host: Option<StringOrList>,
    #[serde(default)]
    pub port: Option<String>,
    #[serde(default)]
    pub path: Option<PathParts>,
    #[serde(default)]
    pub query: Vec<QueryParam>,
    #[serde(default)]
    pub hash: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PathParts {
    One(String),
    Many(Vec<PathSegment>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PathSegment {
    Text(String),
    Typed {
        #[serde(default)]
        value: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueryParam {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub disabled: bool,
}

/// Plain text, or `{content, type}` where `type` is e.g. `text/markdown`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Description {
    Text(String),
    Object {
        #[serde(default)]
        content: Option<String>,
    },
}

impl Description {
    fn text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t.as_str()),
            Self::Object { content } => content.as_deref(),
        }
        .filter(|t| !t.trim().is_empty())
    }
}

/// A script hook: `listen` is `prerequest` or `test`.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default)]
    pub script: Option<Script>,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Script {
    #[serde(default)]
    pub exec: Option<StringOrList>,
}

/// Parses a collection document: a v2.0/v2.1 collection, or the Postman API's
/// `{"collection": …}` envelope around one. `what` names the source in errors.
///
/// ```no_run
/// # fn run(bytes: &[u8]) -> qapms_core::Result<()> {
/// use qapms_core::integrations::postman::parse_collection;
/// let collection = parse_collection(bytes, "payments.postman_collection.json")?;
/// tracing::info!("{}: {} requests", collection.info.name, collection.flatten().len());
/// # Ok(()) }
/// ```
pub fn parse_collection(bytes: &[u8], what: &str) -> Result<Collection> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid_input(format!(
            "{what} is not a JSON collection (line {}, column {}): {e}; export it from Postman \
             as Collection v2.1",
            e.line(),
            e.column()
        ))
    })?;
    let value = match value {
        Value::Object(mut map) if map.contains_key("collection") && !map.contains_key("info") => {
            map.remove("collection").unwrap_or(Value::Null)
        }
        other => other,
    };
    check_version(&value, what)?;
    serde_path_to_error::deserialize::<_, Collection>(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        Error::invalid_input(format!(
            "{what} does not follow Collection Format v2.1 at field `{path}`: {inner}"
        ))
        .with_context("field", path)
    })
}

fn check_version(value: &Value, what: &str) -> Result<()> {
    let Some(map) = value.as_object() else {
        return Err(Error::invalid_input(format!(
            "{what} is not a Postman collection: expected a JSON object with `info` and `item`"
        )));
    };
    let reexport = "open it in Postman and export it as Collection v2.1";
    if !map.contains_key("info") {
        if map.contains_key("requests") || map.contains_key("order") {
            return Err(Error::invalid_input(format!(
                "{what} is in Collection Format v1, which qapms does not read; {reexport}"
            )));
        }
        return Err(Error::invalid_input(format!(
            "{what} is not a Postman collection: it has no `info` object"
        ))
        .with_context("field", "info"));
    }
    let schema = map
        .get("info")
        .and_then(|i| i.get("schema"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if schema.is_empty() || schema.contains("/v2.1.") || schema.contains("/v2.0.") {
        return Ok(());
    }
    let version = if schema.contains("/v1") {
        "Collection Format v1"
    } else if schema.contains("/v3") {
        "Collection Format v3"
    } else {
        "an unknown collection format"
    };
    Err(Error::invalid_input(format!(
        "{what} declares {version} (`{schema}`), which qapms does not read; {reexport}"
    ))
    .with_context("field", "info.schema"))
}

/// Reads and parses a collection file.
///
/// A directory is refused with a message: v3 collections are folders of YAML files.
///
/// ```no_run
/// # async fn run() -> qapms_core::Result<()> {
/// use qapms_core::integrations::postman::read_collection_file;
/// let path = std::path::Path::new("postman/payments.postman_collection.json");
/// let requests = read_collection_file(path).await?.flatten();
/// # Ok(()) }
/// ```
pub async fn read_collection_file(path: &Path) -> Result<Collection> {
    let shown = path.display().to_string();
    let meta = tokio::fs::metadata(path).await.map_err(|e| {
        Error::invalid_input(format!("cannot read the collection file {shown}: {e}"))
    })?;
    if meta.is_dir() {
        return Err(Error::invalid_input(format!(
            "{shown} is a directory; Collection Format v3 (a folder of YAML files) is not read \
             yet, export the collection from Postman as Collection v2.1 (one JSON file)"
        )));
    }
    let bytes = tokio::fs::read(path).await.map_err(|e| {
        Error::invalid_input(format!("cannot read the collection file {shown}: {e}"))
    })?;
    parse_collection(&bytes, &shown)
}

impl Collection {
    /// Every request, depth first in collection order, with its folder path.
    ///
    /// ```no_run
    /// # fn run(collection: qapms_core::integrations::postman::Collection) {
    /// for request in collection.flatten() {
    ///     tracing::info!("{} {} {}", request.folder_path.join("/"), request.method, request.url.raw);
    /// }
    /// # }
    /// ```
    pub fn flatten(&self) -> Vec<CatalogRequest> {
        let mut out = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut path = Vec::new();
        let collection_key = self
            .info
            .postman_id
            .clone()
            .unwrap_or_else(|| self.info.name.clone());
        self.walk(&self.item, &mut path, &collection_key, &mut seen, &mut out);
        out
    }

    fn walk(
        &self,
        items: &[Item],
        path: &mut Vec<String>,
        collection_key: &str,
        seen: &mut HashMap<String, usize>,
        out: &mut Vec<CatalogRequest>,
    ) {
        for item in items {
            let name = item.name.clone().unwrap_or_default();
            if let Some(children) = &item.item {
                path.push(name);
                self.walk(children, path, collection_key, seen, out);
                path.pop();
                continue;
            }
            let Some(request) = &item.request else {
                // Neither a folder nor a request: nothing to catalogue.
                continue;
            };
            let id = match item.id.as_deref().filter(|id| !id.is_empty()) {
                Some(id) => RequestId::new(id),
                None => hashed_id(collection_key, path, &name, seen),
            };
            let (method, url, request_description) = match request {
                Request::Url(raw) => ("GET".to_owned(), url_from_raw(raw), None),
                Request::Full(req) => (
                    req.method
                        .as_deref()
                        .filter(|m| !m.trim().is_empty())
                        .unwrap_or("GET")
                        .trim()
                        .to_ascii_uppercase(),
                    req.url.as_ref().map(to_catalog_url).unwrap_or_default(),
                    req.description.as_ref(),
                ),
            };
            let description = request_description
                .and_then(Description::text)
                .or_else(|| item.description.as_ref().and_then(Description::text))
                .map(str::to_owned);
            out.push(CatalogRequest {
                id,
                collection: self.info.name.clone(),
                collection_id: self.info.postman_id.clone(),
                folder_path: path.clone(),
                name,
                method,
                url,
                description,
                pre_request_script: script(&item.event, "prerequest"),
                test_script: script(&item.event, "test"),
            });
        }
    }
}

fn hashed_id(
    collection_key: &str,
    path: &[String],
    name: &str,
    seen: &mut HashMap<String, usize>,
) -> RequestId {
    // NUL cannot occur in JSON-decoded names without escaping, so it separates unambiguously.
    let mut key = String::from(collection_key);
    for part in path {
        key.push('\0');
        key.push_str(part);
    }
    key.push('\0');
    key.push_str(name);
    let count = seen.entry(key.clone()).or_insert(0);
    *count += 1;
    if *count > 1 {
        let _ = write!(key, "\0#{count}");
    }
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::from("sha256:");
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    RequestId::new(hex)
}

/// The script text of every enabled event of kind `listen`, joined.
fn script(events: &[Event], listen: &str) -> Option<String> {
    let parts: Vec<String> = events
        .iter()
        .filter(|e| !e.disabled && e.listen.as_deref() == Some(listen))
        .filter_map(|e| e.script.as_ref()?.exec.as_ref())
        .map(|exec| match exec {
            StringOrList::One(text) => text.clone(),
            StringOrList::Many(lines) => lines.join("\n"),
        })
        .filter(|text| !text.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("\n"))
}

fn to_catalog_url(url: &Url) -> CatalogUrl {
    match url {
        Url::Raw(raw) => url_from_raw(raw),
        Url::Parts(parts) => {
            let host = match &parts.host {
                Some(StringOrList::One(h)) => h.split('.').map(str::to_owned).collect(),
                Some(StringOrList::Many(list)) => list.clone(),
                None => Vec::new(),
            };
            let path = match &parts.path {
                Some(PathParts::One(p)) => split_path(p),
                Some(PathParts::Many(segments)) => segments
                    .iter()
                    .map(|s| match s {
                        PathSegment::Text(t) => t.clone(),
                        PathSegment::Typed { value } => value.clone().unwrap_or_default(),
                    })
                    .collect(),
                None => Vec::new(),
            };
            let query: Vec<(String, String)> = parts
                .query
                .iter()
                .filter(|q| !q.disabled)
                .map(|q| {
                    (
                        q.key.clone().unwrap_or_default(),
                        q.value.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let raw = parts.raw.clone().unwrap_or_else(|| {
                compose_raw(
                    parts.protocol.as_deref(),
                    &host,
                    parts.port.as_deref(),
                    &path,
                    &query,
                    parts.hash.as_deref(),
                )
            });
            let variables = variables_in(&raw);
            CatalogUrl {
                raw,
                protocol: parts.protocol.clone(),
                host,
                port: parts.port.clone(),
                path,
                query,
                variables,
            }
        }
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn compose_raw(
    protocol: Option<&str>,
    host: &[String],
    port: Option<&str>,
    path: &[String],
    query: &[(String, String)],
    hash: Option<&str>,
) -> String {
    let mut raw = String::new();
    if let Some(protocol) = protocol {
        let _ = write!(raw, "{protocol}://");
    }
    raw.push_str(&host.join("."));
    if let Some(port) = port {
        let _ = write!(raw, ":{port}");
    }
    if !path.is_empty() {
        raw.push('/');
        raw.push_str(&path.join("/"));
    }
    for (i, (k, v)) in query.iter().enumerate() {
        raw.push(if i == 0 { '?' } else { '&' });
        let _ = write!(raw, "{k}={v}");
    }
    if let Some(hash) = hash {
        let _ = write!(raw, "#{hash}");
    }
    raw
}

/// Splits a raw URL the way Postman's URL parser does, without resolving variables:
/// `{{baseUrl}}/users/:id?x=1` has host `{{baseUrl}}`, path `users`, `:id`.
fn url_from_raw(raw: &str) -> CatalogUrl {
    let (before_hash, _) = raw.split_once('#').unwrap_or((raw, ""));
    let (before_query, query_text) = before_hash.split_once('?').unwrap_or((before_hash, ""));
    let (protocol, rest) = match before_query.split_once("://") {
        Some((p, rest)) => (Some(p.to_owned()), rest),
        None => (None, before_query),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    // A port is a trailing `:digits` (or `:{{var}}`) on the authority.
    let (host_text, port) = match authority.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && (p.bytes().all(|b| b.is_ascii_digit()) || p.starts_with("{{")) =>
        {
            (h, Some(p.to_owned()))
        }
        _ => (authority, None),
    };
    let host = if host_text.is_empty() {
        Vec::new()
    } else if host_text.starts_with("{{") && host_text.ends_with("}}") {
        vec![host_text.to_owned()]
    } else {
        host_text.split('.').map(str::to_owned).collect()
    };
    let query = query_text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    CatalogUrl {
        raw: raw.to_owned(),
        protocol,
        host,
        port,
        path: split_path(path),
        query,
        variables: variables_in(raw),
    }
}

/// The `{{name}}` variables in `text`, each once, in order of first use.
fn variables_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_urls_keep_their_variables() {
        let url = url_from_raw("{{baseUrl}}/users/:id?expand=1&q={{term}}#top");
        assert_eq!(url.host, ["{{baseUrl}}"]);
        assert_eq!(url.path, ["users", ":id"]);
        assert_eq!(
            url.query,
            [
                ("expand".into(), "1".into()),
                ("q".into(), "{{term}}".into())
            ]
        );
        assert_eq!(url.variables, ["baseUrl", "term"]);
        let url = url_from_raw("https://api.acme.test:8443/v1/orders");
        assert_eq!(url.protocol.as_deref(), Some("https"));
        assert_eq!(url.host, ["api", "acme", "test"]);
        assert_eq!(url.port.as_deref(), Some("8443"));
        assert_eq!(url.path, ["v1", "orders"]);
    }

    #[test]
    fn an_unclosed_variable_is_not_a_variable() {
        assert!(variables_in("{{open/x").is_empty());
        assert_eq!(variables_in("{{a}}{{a}}{{ b }}"), ["a", "b"]);
    }
}
