//! Splunk fixtures and the requests the client builds, checked against the derived contract
//! (`../shared/contracts/splunk/splunk-search-rest.derived.yaml`). Request bodies are forms
//! there, so a form is read into an object (numbers where the schema says integer) before it
//! is validated. Without the contracts the tests say so and pass.

#![cfg(feature = "splunk")]

#[path = "support/mod.rs"]
mod support;

use std::sync::OnceLock;

use futures::TryStreamExt as _;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::splunk::Splunk;
use secrecy::SecretString;
use serde_json::{Map, Value};
use support::{check, find_operation, fixture, fixture_json, response_schema};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| support::load_spec("splunk/splunk-search-rest.derived.yaml"))
        .as_ref()
}

#[expect(clippy::print_stderr, reason = "a skipped contract check must say so")]
fn spec_or_skip(test: &str) -> Option<&'static Value> {
    let spec = spec();
    if spec.is_none() {
        eprintln!("{test}: skipped, ../shared/contracts/splunk is not present");
    }
    spec
}

const SID: &str = "1701388800.42";

#[test]
fn every_fixture_matches_its_response_schema() {
    let Some(spec) = spec_or_skip("every_fixture_matches_its_response_schema") else {
        return;
    };
    let jobs = format!("/services/search/jobs/{SID}");
    let results = format!("/services/search/v2/jobs/{SID}/results");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "splunk/create-job.response.json",
            "post",
            "/services/search/jobs",
            "201",
        ),
        ("splunk/job-queued.response.json", "get", &jobs, "200"),
        ("splunk/job-running.response.json", "get", &jobs, "200"),
        ("splunk/job-done.response.json", "get", &jobs, "200"),
        ("splunk/job-failed.response.json", "get", &jobs, "200"),
        (
            "splunk/server-info.response.json",
            "get",
            "/services/server/info",
            "200",
        ),
        ("splunk/results-stats.splunk5.json", "get", &results, "200"),
        (
            "splunk/results-events-multivalue.splunk5.json",
            "get",
            &results,
            "200",
        ),
        (
            "splunk/oneshot-results.splunk5.json",
            "get",
            &results,
            "200",
        ),
        (
            "splunk/error-400.response.json",
            "post",
            "/services/search/jobs",
            "400",
        ),
        (
            "splunk/error-401.response.json",
            "post",
            "/services/search/jobs",
            "401",
        ),
    ];
    for (file, m, p, status) in cases {
        let (_, op) = find_operation(spec, m, p).unwrap_or_else(|| panic!("{m} {p}"));
        let mut schema = response_schema(op, status, "application/json").clone();
        if schema.is_null() {
            // Error responses are a shared `$ref` to components.responses.
            let name = op["responses"][status]["$ref"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            schema = spec["components"]["responses"][name]["content"]["application/json"]["schema"]
                .clone();
        }
        check(spec, &schema, true, &fixture_json(file), file);
    }
}

#[test]
fn every_export_line_matches_export_row() {
    let Some(spec) = spec_or_skip("every_export_line_matches_export_row") else {
        return;
    };
    let schema = serde_json::json!({"$ref": "#/components/schemas/ExportRow"});
    for (i, line) in fixture("splunk/export-stream.ndjson").lines().enumerate() {
        let row: Value = serde_json::from_str(line).unwrap();
        check(spec, &schema, true, &row, &format!("export line {}", i + 1));
    }
}

/// A form body as an object, with integers where the schema says so.
fn form_object(body: &[u8], schema: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let integer = schema["properties"][k.as_ref()]["type"] == "integer";
        let value = match v.parse::<i64>() {
            Ok(n) if integer => Value::from(n),
            _ => Value::String(v.into_owned()),
        };
        out.insert(k.into_owned(), value);
    }
    Value::Object(out)
}

#[tokio::test]
async fn every_request_the_client_builds_is_in_the_contract() {
    let Some(spec) = spec_or_skip("every_request_the_client_builds_is_in_the_contract") else {
        return;
    };
    let server = MockServer::start().await;
    let json =
        |file: &str, status: u16| ResponseTemplate::new(status).set_body_json(fixture_json(file));
    Mock::given(method("POST"))
        .and(path("/services/search/jobs"))
        .respond_with(json("splunk/create-job.response.json", 201))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/services/search/jobs/{SID}")))
        .respond_with(json("splunk/job-done.response.json", 200))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/services/search/jobs/{SID}")))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/services/search/v2/jobs/{SID}/results")))
        .respond_with(json("splunk/results-stats.splunk5.json", 200))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/server/info"))
        .respond_with(json("splunk/server-info.response.json", 200))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("splunk/export-stream.ndjson"), "application/json"),
        )
        .mount(&server)
        .await;
    let splunk = Splunk::builder(server.uri())
        .token(SecretString::from("t"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    splunk.server_info().await.unwrap();
    let sid = splunk
        .jobs()
        .create("index=app error")
        .earliest("-24h@h")
        .latest("now")
        .max_count(1000)
        .send()
        .await
        .unwrap();
    splunk.jobs().wait(&sid).await.unwrap();
    let _: Vec<_> = splunk.jobs().results(&sid).try_collect().await.unwrap();
    splunk.jobs().cancel(&sid).await.unwrap();
    let _: Vec<_> = splunk
        .export("index=app | stats count by host")
        .earliest("-1h")
        .stream()
        .try_collect()
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() >= 6);
    for request in &requests {
        let m = request.method.as_str();
        let (template, op) = find_operation(spec, m, request.url.path())
            .unwrap_or_else(|| panic!("{m} {} is not in the contract", request.url.path()));
        let mut params: Vec<String> = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let p = match p["$ref"].as_str() {
                Some(r) => &spec["components"]["parameters"][r.rsplit('/').next().unwrap()],
                None => p,
            };
            params.push(p["name"].as_str().unwrap().to_owned());
        }
        for (key, _) in request.url.query_pairs() {
            assert!(
                params.iter().any(|p| p == key.as_ref()),
                "{m} {template}: query `{key}` is not in the contract"
            );
        }
        let form = &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
        if form.is_object() {
            let ct = request
                .headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(ct, "application/x-www-form-urlencoded", "{m} {template}");
            let body = form_object(&request.body, form);
            check(spec, form, false, &body, &format!("{m} {template} form"));
        }
    }
}
