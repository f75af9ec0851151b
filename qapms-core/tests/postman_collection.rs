//! Collection files: the official v2.1 examples and a constructed one parse and flatten into
//! requests with folder paths, URLs (variables kept), descriptions, scripts and stable ids;
//! v1, v3 and unknown formats are refused with a message saying what to do; a malformed file
//! names the field that broke.

#![cfg(feature = "postman")]

mod contract;

use contract::fixture;
use qapms_core::ErrorKind;
use qapms_core::integrations::postman::{parse_collection, read_collection_file};

#[test]
fn nested_folders_and_every_loose_form_flatten() {
    let text = fixture("postman", "collection-v2.1-nested-constructed.json");
    let requests = parse_collection(text.as_bytes(), "nested.json")
        .unwrap()
        .flatten();
    let names: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Refund part of an order",
            "List refunds",
            "Health",
            "Health"
        ]
    );

    let refund = &requests[0];
    assert_eq!(refund.folder_path, ["Refunds", "Partial"]);
    assert_eq!(refund.method, "POST", "methods are upper-cased");
    assert_eq!(
        refund.url.raw,
        "{{baseUrl}}/orders/:orderId/refunds?dryRun={{dry}}"
    );
    assert_eq!(refund.url.host, ["{{baseUrl}}"]);
    assert_eq!(refund.url.path, ["orders", ":orderId", "refunds"]);
    assert_eq!(
        refund.url.query,
        [("dryRun".to_owned(), "{{dry}}".to_owned())],
        "the disabled `debug` parameter is left out"
    );
    assert_eq!(refund.url.variables, ["baseUrl", "dry"]);
    assert_eq!(
        refund.description.as_deref(),
        Some("Refunds 5 units of order 42.")
    );
    assert_eq!(
        refund.pre_request_script.as_deref(),
        Some("pm.variables.set(\"amount\", 5);")
    );
    assert!(
        refund
            .test_script
            .as_deref()
            .unwrap()
            .starts_with("pm.test(\"refund accepted\"")
    );
    assert_eq!(refund.test_script.as_deref().unwrap().lines().count(), 3);

    let list = &requests[1];
    assert_eq!(list.folder_path, ["Refunds"]);
    assert_eq!(
        list.url.raw,
        "https://api.acme.test:8443/v1/refunds?limit=10"
    );
    assert_eq!(list.url.host, ["api", "acme", "test"]);
    assert_eq!(list.url.path, ["v1", "refunds"]);
    assert!(list.description.is_none());

    let (bare, string_url) = (&requests[2], &requests[3]);
    assert_eq!(bare.method, "GET", "a string request is a GET");
    assert_eq!(bare.url.raw, "https://api.acme.test/health");
    assert!(bare.folder_path.is_empty());
    assert_eq!(
        string_url.url.query,
        [("deep".to_owned(), "true".to_owned())]
    );
}

#[test]
fn ids_are_the_item_id_or_a_stable_content_hash() {
    let text = fixture("postman", "collection-v2.1-nested-constructed.json");
    let first = parse_collection(text.as_bytes(), "a").unwrap().flatten();
    let again = parse_collection(text.as_bytes(), "b").unwrap().flatten();
    let ids: Vec<&str> = first.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        again.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        "the same file gives the same ids"
    );
    assert!(ids.iter().all(|id| id.starts_with("sha256:")));
    assert_ne!(
        ids[2], ids[3],
        "two requests named alike in one folder differ"
    );
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());

    // Renaming a request changes its hashed id; moving nothing else keeps the others.
    let renamed = text.replace("\"List refunds\"", "\"List all refunds\"");
    let renamed = parse_collection(renamed.as_bytes(), "c").unwrap().flatten();
    assert_ne!(renamed[1].id, first[1].id);
    assert_eq!(renamed[0].id, first[0].id);

    // Exports carry Postman's item ids, which win.
    let text = fixture("postman", "get-collections-collectionId.response.json");
    let requests = parse_collection(text.as_bytes(), "api").unwrap().flatten();
    assert!(
        requests
            .iter()
            .all(|r| !r.id.as_str().starts_with("sha256:"))
    );
}

#[test]
fn the_official_examples_flatten() {
    let text = fixture("postman", "collection-v2.1-example-httpbin.json");
    let requests = parse_collection(text.as_bytes(), "httpbin")
        .unwrap()
        .flatten();
    assert!(!requests.is_empty());
    assert!(requests.iter().all(|r| !r.method.is_empty()));
    let text = fixture("postman", "collection-v2.1-example-collection.json");
    let requests = parse_collection(text.as_bytes(), "collection")
        .unwrap()
        .flatten();
    assert!(requests.len() > 5, "{}", requests.len());
    assert!(requests.iter().any(|r| !r.folder_path.is_empty()));
}

#[test]
fn other_formats_are_refused_with_what_to_do() {
    let v1 = br#"{"id": "x", "name": "old", "order": [], "requests": []}"#;
    let err = parse_collection(v1, "old.json").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("v1"), "{err}");
    assert!(
        err.message().contains("export it as Collection v2.1"),
        "{err}"
    );

    let v1_schema = br#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"}, "item": []}"#;
    let err = parse_collection(v1_schema, "v1.json").unwrap_err();
    assert!(err.message().contains("v1"), "{err}");
    assert_eq!(err.context_value("field"), Some("info.schema"));

    let v3 = br#"{"info": {"name": "x", "schema": "https://schema.postman.com/json/collection/v3.0.0/collection.json"}, "item": []}"#;
    let err = parse_collection(v3, "v3.json").unwrap_err();
    assert!(err.message().contains("v3"), "{err}");

    let unknown = br#"{"info": {"name": "x", "schema": "https://example.test/other"}, "item": []}"#;
    let err = parse_collection(unknown, "other.json").unwrap_err();
    assert!(err.message().contains("unknown collection format"), "{err}");

    let err = parse_collection(b"[1, 2]", "array.json").unwrap_err();
    assert!(err.message().contains("not a Postman collection"), "{err}");

    let err = parse_collection(b"{\"info\": ", "cut.json").unwrap_err();
    assert!(err.message().contains("line 1"), "{err}");
}

#[test]
fn a_malformed_collection_names_the_field() {
    let bad = br#"{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
                   "item": [{"name": "F", "item": [{"name": "R", "request": {"method": 7}}]}]}"#;
    let err = parse_collection(bad, "bad.json").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.context_value("field"),
        Some("item[0].item[0].request"),
        "{err}"
    );
    assert!(err.message().contains("bad.json"), "{err}");

    let no_name = br#"{"info": {"schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"}, "item": []}"#;
    let err = parse_collection(no_name, "anon.json").unwrap_err();
    assert_eq!(err.context_value("field"), Some("info"), "{err}");
    assert!(err.message().contains("name"), "{err}");
}

#[tokio::test]
async fn files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.json");
    std::fs::write(
        &file,
        fixture("postman", "collection-v2.1-example-httpbin.json"),
    )
    .unwrap();
    assert!(
        !read_collection_file(&file)
            .await
            .unwrap()
            .flatten()
            .is_empty()
    );

    // A v3 collection is a folder of YAML files.
    let v3 = dir.path().join("payments");
    std::fs::create_dir(&v3).unwrap();
    std::fs::write(v3.join("get-order.request.yaml"), "$kind: http-request\n").unwrap();
    let err = read_collection_file(&v3).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("v3"), "{err}");

    let err = read_collection_file(&dir.path().join("absent.json"))
        .await
        .unwrap_err();
    assert!(err.message().contains("absent.json"), "{err}");
}
