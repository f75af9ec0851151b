//! Shared by the Testmo and Splunk tests: loading a derived YAML spec from
//! `../shared/contracts`, turning its OpenAPI 3.0 schemas into JSON Schema validators, finding
//! the operation a request hit, starting Prism and judging its answers, and capturing logs.
//!
//! Response schemas are checked open (`additionalProperties: false` dropped, as issue 3 asks);
//! request schemas as published. `nullable` becomes a `null` type. Formats are not checked.

#![expect(dead_code, reason = "each test file uses part of the helpers")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use qapms_core::config::Env;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// The spec at `shared/contracts/<rel>` above the crate, parsed, or `None` when absent.
pub(crate) fn load_spec(rel: &str) -> Option<Value> {
    let path = spec_path(rel)?;
    let text = std::fs::read_to_string(&path).ok()?;
    Some(serde_saphyr::from_str::<Value>(&text).expect("the spec is YAML"))
}

pub(crate) fn spec_path(rel: &str) -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/contracts").join(rel))
        .find(|p| p.is_file())
}

pub(crate) fn fixture(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn adapt(value: &mut Value, open_objects: bool) {
    match value {
        Value::Object(map) => {
            if open_objects && map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".to_owned(), json!([t, "null"]));
                } else if map.contains_key("allOf") || map.contains_key("$ref") {
                    // `allOf: [...]` plus `nullable` means "that, or null".
                    let inner = Value::Object(std::mem::take(map));
                    map.insert("anyOf".to_owned(), json!([inner, {"type": "null"}]));
                }
                if let Some(Value::Array(list)) = map.get_mut("enum") {
                    list.push(Value::Null);
                }
            }
            for v in map.values_mut() {
                adapt(v, open_objects);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| adapt(v, open_objects)),
        _ => {}
    }
}

pub(crate) fn validator(spec: &Value, schema: &Value, response: bool) -> jsonschema::Validator {
    let mut root = json!({ "components": spec["components"].clone() });
    if let (Value::Object(root), Value::Object(schema)) = (&mut root, schema) {
        for (k, v) in schema {
            root.insert(k.clone(), v.clone());
        }
    }
    adapt(&mut root, response);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(false)
        .build(&root)
        .expect("the spec's schema compiles")
}

#[track_caller]
pub(crate) fn check(spec: &Value, schema: &Value, response: bool, instance: &Value, what: &str) {
    assert!(schema.is_object(), "{what}: no schema in the spec");
    let v = validator(spec, schema, response);
    let errors: Vec<String> = v
        .iter_errors(instance)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what} breaks its schema: {errors:#?}");
}

/// The operation object for a method and a concrete path, matching `{param}` segments.
pub(crate) fn find_operation<'s>(
    spec: &'s Value,
    method: &str,
    path: &str,
) -> Option<(&'s str, &'s Value)> {
    let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = spec["paths"].as_object()?;
    // Prefer templates with more literal segments (`/runs/threads/{id}` over `/runs/{id}`).
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, item) in paths {
        let segments: Vec<&str> = template.trim_matches('/').split('/').collect();
        if segments.len() != actual.len() {
            continue;
        }
        let fits = segments
            .iter()
            .zip(&actual)
            .all(|(t, a)| (t.starts_with('{') && t.ends_with('}')) || t == a);
        let literal = segments.iter().filter(|t| !t.starts_with('{')).count();
        let op = &item[method.to_ascii_lowercase()];
        if fits && op.is_object() && best.is_none_or(|(l, _, _)| literal > l) {
            best = Some((literal, template.as_str(), op));
        }
    }
    best.map(|(_, t, op)| (t, op))
}

/// The schema of the response `status` of an operation, for `content_type`.
pub(crate) fn response_schema<'s>(op: &'s Value, status: &str, content_type: &str) -> &'s Value {
    &op["responses"][status]["content"][content_type]["schema"]
}

pub(crate) fn find_prism() -> Option<PathBuf> {
    let env = Env::from_process();
    if let Some(path) = env.get_non_empty("QAPMS_PRISM") {
        return Some(PathBuf::from(path));
    }
    let on_path = env.get("PATH").and_then(|paths| {
        std::env::split_paths(paths)
            .map(|dir| dir.join("prism"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("node_modules/.bin/prism"))
            .find(|p| p.is_file())
    })
}

/// A Prism process, killed when dropped.
pub(crate) struct Prism {
    _child: tokio::process::Child,
    pub(crate) url: String,
}

pub(crate) async fn start_prism(prism: &Path, spec: &Path) -> Prism {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = tokio::process::Command::new(prism)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prism starts");
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Prism {
                _child: child,
                url: format!("http://127.0.0.1:{port}"),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prism did not listen on {port} within a minute");
}

/// Prism answered 2xx: an error without an HTTP status means the answer came but its invented
/// content made no sense, which is not a rejected request.
#[track_caller]
pub(crate) fn accepted<T: std::fmt::Debug>(call: &str, result: qapms_core::Result<T>) {
    if let Err(err) = result {
        assert!(
            err.context_value("status").is_none(),
            "{call}: Prism rejected the request: {err}"
        );
    }
}

/// Everything a `tracing` subscriber writes, for scanning after the fact.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<RwLock<Vec<u8>>>);

impl Capture {
    pub(crate) fn text(&self) -> String {
        let bytes = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A TRACE-level subscriber writing here; keep the guard for the test's length.
    pub(crate) fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(self.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
