//! Shared by the Postman and Grafana contract tests: finding the official specs in
//! `../shared/contracts` (from each ancestor of the crate, since a git worktree may sit
//! deeper), turning OpenAPI 3.0 and Swagger 2.0 schemas into validators, and starting Prism.
//!
//! When a spec or Prism is absent the caller is told (`None`) and the test says so and passes,
//! like the Jira contract tests, so a checkout without the contracts still builds.

// `allow`, not `expect`: each test binary uses a different part of this module.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use qapms_core::config::Env;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// `../shared/contracts/<rel>`, looked up from every ancestor of the crate.
pub(crate) fn contract_path(rel: &str) -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/contracts").join(rel))
        .find(|p| p.exists())
}

/// A JSON or YAML spec as a JSON value, or `None` (with a note) when it is absent.
#[expect(clippy::print_stderr, reason = "a skipped contract check must say so")]
pub(crate) fn load_spec(rel: &str, test: &str) -> Option<Value> {
    let Some(path) = contract_path(rel) else {
        eprintln!("{test}: skipped, ../shared/contracts/{rel} is not present");
        return None;
    };
    let body = std::fs::read_to_string(&path).expect("the spec is readable");
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        Some(serde_saphyr::from_str(&body).expect("the spec is YAML"))
    } else {
        Some(serde_json::from_str(&body).expect("the spec is JSON"))
    }
}

/// Rewrites OpenAPI quirks into JSON Schema, optionally dropping closed-object rules.
///
/// Responses are checked with `additionalProperties: false` removed (unknown fields are never
/// fatal for the clients); `nullable: true` becomes a `null` type; OpenAPI's `example` is left
/// alone (validators ignore unknown keywords).
pub(crate) fn adapt(value: &mut Value, open_objects: bool) {
    match value {
        Value::Object(map) => {
            if open_objects && map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".to_owned(), json!([t, "null"]));
                }
                if let Some(Value::Array(mut list)) = map.get("enum").cloned() {
                    list.push(Value::Null);
                    map.insert("enum".to_owned(), Value::Array(list));
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

/// Checks `instance` against `schema`, whose `$ref`s point into `spec` (`#/components/…` for
/// OpenAPI 3, `#/definitions/…` for Swagger 2). Panics with the first errors.
pub(crate) fn check(spec: &Value, schema: &Value, response: bool, instance: &Value, what: &str) {
    assert!(schema.is_object(), "{what}: no schema to check against");
    let mut root = json!({});
    for key in ["components", "definitions"] {
        if let Some(part) = spec.get(key) {
            root[key] = part.clone();
        }
    }
    if let (Value::Object(root), Value::Object(schema)) = (&mut root, schema) {
        for (k, v) in schema {
            root.insert(k.clone(), v.clone());
        }
    }
    adapt(&mut root, response);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        // Specs say `date-time` and `uid`/`url` formats their own examples do not all meet.
        .should_validate_formats(false)
        .build(&root)
        .expect("the spec's schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what} breaks its schema: {errors:#?}");
}

/// An OpenAPI 3 operation's JSON response schema, following `#/components/responses` refs.
pub(crate) fn openapi_response_schema<'s>(
    spec: &'s Value,
    path: &str,
    method: &str,
    status: &str,
) -> &'s Value {
    let mut response = &spec["paths"][path][method]["responses"][status];
    assert!(
        response.is_object(),
        "{method} {path} {status} is not in the spec"
    );
    if let Some(Value::String(r)) = response.get("$ref") {
        let name = r.trim_start_matches("#/components/responses/");
        response = &spec["components"]["responses"][name];
    }
    &response["content"]["application/json"]["schema"]
}

/// A Swagger 2 operation's response schema, following `#/responses` refs.
pub(crate) fn swagger_response_schema<'s>(
    spec: &'s Value,
    path: &str,
    method: &str,
    status: &str,
) -> &'s Value {
    let mut response = &spec["paths"][path][method]["responses"][status];
    assert!(
        response.is_object(),
        "{method} {path} {status} is not in the spec"
    );
    if let Some(Value::String(r)) = response.get("$ref") {
        let name = r.trim_start_matches("#/responses/");
        response = &spec["responses"][name];
    }
    &response["schema"]
}

/// A Swagger 2 operation's `in: body` parameter schema.
pub(crate) fn swagger_body_schema<'s>(spec: &'s Value, path: &str, method: &str) -> &'s Value {
    spec["paths"][path][method]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["in"] == "body"))
        .map_or_else(
            || panic!("{method} {path} takes no body in the spec"),
            |p| &p["schema"],
        )
}

/// A fixture file under `tests/fixtures/<dir>/`.
pub(crate) fn fixture(dir: &str, name: &str) -> String {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn fixture_json(dir: &str, name: &str) -> Value {
    serde_json::from_str(&fixture(dir, name)).expect("the fixture is JSON")
}

/// Prism as `QAPMS_PRISM`, on `PATH`, or in a `node_modules/.bin` above the crate.
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

/// Starts `prism mock` on a free loopback port and waits (up to two minutes) until it listens.
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
    // The 1.7 MB Postman spec takes Prism several seconds on a loaded machine.
    for _ in 0..1200 {
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
    panic!("prism did not listen on {port} within two minutes");
}

/// Prism answered 2xx: the call succeeded, or its body was one the model cannot decode
/// (Prism generates bodies from schemas, which may not carry the fields a client needs).
#[track_caller]
pub(crate) fn accepted<T: std::fmt::Debug>(call: &str, result: qapms_core::Result<T>) {
    if let Err(err) = result {
        assert!(
            err.context_value("status").is_none() && err.context_value("field").is_some(),
            "{call}: Prism rejected the request: {err}"
        );
    }
}

/// A log writer that keeps everything written, for scanning logs for secrets.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<RwLock<Vec<u8>>>);

impl Capture {
    /// Everything logged so far.
    pub(crate) fn contents(&self) -> Vec<u8> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
