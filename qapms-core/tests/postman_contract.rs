//! Postman fixtures checked against Postman's own contracts: the API examples against the
//! response schemas of the Postman API definition 1.45.0 (OpenAPI 3.0.3, YAML), and every
//! collection (files and the one inside the API's `GET /collections/{id}` example) against the
//! official Collection Format v2.1.0 JSON Schema. The client sends no request bodies (every
//! Postman call qapms makes is a GET), so the request side is covered by Prism, which checks
//! paths, query parameters and the `X-API-Key` header (`postman_prism.rs`).
//!
//! The specs live in `../shared/contracts/postman/`; without them these tests say so and pass.

#![cfg(feature = "postman")]

mod contract;

use std::sync::OnceLock;

use contract::{check, fixture_json, load_spec, openapi_response_schema};
use qapms_core::integrations::postman::parse_collection;
use serde_json::Value;

fn api_spec(test: &str) -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| load_spec("postman/postman-api-1.45.0.yaml", test))
        .as_ref()
}

const RESPONSES: &[(&str, &str)] = &[
    ("get-me.response.json", "/me"),
    ("get-workspaces.response.json", "/workspaces"),
    ("get-workspaces.response.include-scim.json", "/workspaces"),
    (
        "get-workspaces-workspaceId.response.json",
        "/workspaces/{workspaceId}",
    ),
    (
        "get-workspaces-workspaceId.response.include-scim.json",
        "/workspaces/{workspaceId}",
    ),
    ("get-collections.response.json", "/collections"),
    (
        "get-collections.response.invalid-workspace.json",
        "/collections",
    ),
    (
        "get-collections-collectionId.response.json",
        "/collections/{collectionId}",
    ),
    (
        "get-collections-collectionId.response.model-minimal.json",
        "/collections/{collectionId}",
    ),
    ("get-environments.response.json", "/environments"),
    (
        "get-environments.response.invalid-workspace.json",
        "/environments",
    ),
    (
        "get-environments-environmentId.response.json",
        "/environments/{environmentId}",
    ),
];

#[test]
fn every_api_fixture_matches_its_response_schema() {
    let Some(spec) = api_spec("every_api_fixture_matches_its_response_schema") else {
        return;
    };
    for (file, path) in RESPONSES {
        let schema = openapi_response_schema(spec, path, "get", "200");
        check(spec, schema, true, &fixture_json("postman", file), file);
    }
}

const COLLECTIONS: &[&str] = &[
    "collection-v2.1-example-collection.json",
    "collection-v2.1-example-httpbin.json",
    "collection-v2.1-nested-constructed.json",
];

#[test]
fn every_collection_fixture_matches_the_v2_1_schema() {
    let Some(schema) = load_spec(
        "postman/collection-v2.1.0.schema.json",
        "every_collection_fixture_matches_the_v2_1_schema",
    ) else {
        return;
    };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(false)
        .build(&schema)
        .expect("the collection schema compiles");
    let mut documents: Vec<(String, Value)> = COLLECTIONS
        .iter()
        .map(|f| ((*f).to_owned(), fixture_json("postman", f)))
        .collect();
    // The API's whole-collection example is a v2.1 collection inside `{"collection": …}`.
    let api = fixture_json("postman", "get-collections-collectionId.response.json");
    documents.push((
        "GET /collections/{id} example".to_owned(),
        api["collection"].clone(),
    ));
    for (what, document) in &documents {
        let errors: Vec<String> = validator
            .iter_errors(document)
            .take(5)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} breaks the v2.1 schema: {errors:#?}"
        );
        // And the client reads what the schema accepts.
        let bytes = serde_json::to_vec(document).unwrap();
        let collection = parse_collection(&bytes, what).unwrap();
        assert!(!collection.flatten().is_empty(), "{what} has requests");
    }
}

#[test]
fn the_schema_check_rejects_a_fixture_that_drifted() {
    let Some(spec) = api_spec("the_schema_check_rejects_a_fixture_that_drifted") else {
        return;
    };
    let mut drifted = fixture_json("postman", "get-workspaces.response.json");
    drifted["workspaces"][0]["id"] = Value::from(7);
    let schema = openapi_response_schema(spec, "/workspaces", "get", "200");
    let caught = std::panic::catch_unwind(|| check(spec, schema, true, &drifted, "drifted"));
    assert!(
        caught.is_err(),
        "a numeric workspace id must break the schema"
    );
}
