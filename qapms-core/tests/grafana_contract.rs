//! Grafana fixtures and request bodies checked against Grafana's own swagger (11.4.0,
//! Swagger 2.0, `basePath: /api`, so its paths have no `/api` prefix).
//!
//! Response schemas are checked with `additionalProperties: false` removed (unknown fields are
//! never fatal). The bodies the client builds for `POST /annotations` and `POST /ds/query` are
//! checked against `PostAnnotationsCmd` and `MetricRequest` as published.
//!
//! One caveat, written down so nobody trusts it more than it deserves: the swagger describes
//! `/ds/query` results with Go field names (`Frames`, `Fields`, `RefID`) and no required
//! properties, while Grafana sends the SDK's JSON (`frames`, `schema.fields`, `data.values`).
//! The constructed fixture therefore passes the swagger trivially; its real shape is pinned by
//! the decoding tests in `grafana_client.rs` instead.

#![cfg(feature = "grafana")]

mod contract;

use std::sync::OnceLock;

use chrono::{TimeZone as _, Utc};
use contract::{check, fixture_json, load_spec, swagger_body_schema, swagger_response_schema};
use qapms_core::integrations::grafana::Grafana;
use serde_json::{Value, json};

fn spec(test: &str) -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| load_spec("grafana/grafana-http-api-11.4.0.swagger2.json", test))
        .as_ref()
}

const RESPONSES: &[(&str, &str, &str)] = &[
    ("search.response.json", "/search", "get"),
    (
        "get-dashboard-by-uid.response.json",
        "/dashboards/uid/{uid}",
        "get",
    ),
    ("get-annotations.response.json", "/annotations", "get"),
    ("post-annotation.response.json", "/annotations", "post"),
    (
        "post-ds-query.response.constructed.json",
        "/ds/query",
        "post",
    ),
];

#[test]
fn every_fixture_matches_its_response_schema() {
    let Some(spec) = spec("every_fixture_matches_its_response_schema") else {
        return;
    };
    for (file, path, method) in RESPONSES {
        let schema = swagger_response_schema(spec, path, method, "200");
        check(spec, schema, true, &fixture_json("grafana", file), file);
    }
    // The health answer the wiremock tests serve, too.
    let health = json!({"commit": "abc", "database": "ok", "version": "11.4.0"});
    check(
        spec,
        swagger_response_schema(spec, "/health", "get", "200"),
        true,
        &health,
        "health",
    );
}

#[test]
fn the_schema_check_rejects_a_fixture_that_drifted() {
    let Some(spec) = spec("the_schema_check_rejects_a_fixture_that_drifted") else {
        return;
    };
    let mut drifted = fixture_json("grafana", "get-annotations.response.json");
    drifted[0]["time"] = json!("2017-10-06");
    let schema = swagger_response_schema(spec, "/annotations", "get", "200");
    let caught = std::panic::catch_unwind(|| check(spec, schema, true, &drifted, "drifted"));
    assert!(caught.is_err(), "a string `time` must break the schema");
}

#[test]
fn the_request_bodies_the_client_builds_match_the_request_schemas() {
    let Some(spec) = spec("the_request_bodies_the_client_builds_match_the_request_schemas") else {
        return;
    };
    let grafana = Grafana::builder("https://grafana.acme.test")
        .build()
        .unwrap();
    let at = |ms| Utc.timestamp_millis_opt(ms).unwrap();

    let annotation_schema = swagger_body_schema(spec, "/annotations", "post");
    // The docs' own example request validates, and so does what the client builds from it.
    check(
        spec,
        annotation_schema,
        false,
        &fixture_json("grafana", "post-annotation.request.json"),
        "docs example annotation",
    );
    let region = grafana
        .annotations()
        .create("Annotation Description", at(1_507_037_197_339))
        .time_end(at(1_507_180_805_056))
        .tags(["tag1", "tag2"])
        .dashboard("jcIIG-07z")
        .panel(1);
    let body = region.body().unwrap();
    check(spec, annotation_schema, false, &body, "region annotation");
    assert_eq!(
        body,
        fixture_json("grafana", "post-annotation.request.json")
    );
    let point = grafana
        .annotations()
        .create("Deploy 1.4.2", at(1_700_000_000_000));
    check(
        spec,
        annotation_schema,
        false,
        &point.body().unwrap(),
        "org annotation",
    );

    let query_schema = swagger_body_schema(spec, "/ds/query", "post");
    let query = grafana
        .datasources()
        .query(
            "P1809F7CD0C75ACF3",
            at(1_700_000_000_000),
            at(1_700_003_600_000),
        )
        .target("A", json!({"expr": "up"}))
        .target("B", json!({"rawSql": "SELECT 1", "format": "table"}))
        .interval(std::time::Duration::from_secs(30))
        .max_data_points(500);
    check(
        spec,
        query_schema,
        false,
        &query.body().unwrap(),
        "ds query",
    );
}
