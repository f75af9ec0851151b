//! The generated JSON Schema describes the file: sections, overlays, and every key a real
//! configuration uses.

use std::path::Path;

use qapms_core::config::{self, Env};
use serde_json::Value;

fn resolve<'s>(root: &'s Value, mut schema: &'s Value) -> &'s Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        schema = &root["$defs"][name];
    }
    schema
}

/// Checks that every key of `value` is allowed by `schema` (following refs and unions).
fn check(root: &Value, schema: &Value, value: &Value, path: &str) {
    let schema = resolve(root, schema);
    let branches = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    if let Some(branches) = branches {
        // Some branch must accept the value; tag constants pick the branch of tagged unions.
        let fits = |b: &Value| {
            let b = resolve(root, b);
            match (b.get("type").and_then(Value::as_str), value) {
                (Some("null"), Value::Null) => true,
                (Some("object"), Value::Object(map)) => {
                    b["properties"].as_object().is_some_and(|props| {
                        props.iter().all(|(k, p)| match p.get("const") {
                            Some(c) => map.get(k) == Some(c),
                            None => true,
                        })
                    })
                }
                (Some("object" | "null"), _) => false,
                _ => true,
            }
        };
        let branch = branches.iter().find(|b| fits(b));
        let branch = branch.unwrap_or_else(|| panic!("no branch fits {path}"));
        return check(root, branch, value, path);
    }
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = schema["properties"]
                    .get(k)
                    .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()));
                let child = child.unwrap_or_else(|| panic!("{path}.{k} is not in the schema"));
                check(root, child, v, &format!("{path}.{k}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(root, &schema["items"], item, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn schema_lists_every_section_and_is_2020_12() {
    let schema = config::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "integrations",
        "store",
        "workflows",
        "search",
        "patterns",
        "users",
        "logging",
        "profiles",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
    assert_eq!(schema["additionalProperties"], false);
    let jira = &schema["$defs"]["JiraConfig"];
    assert!(
        jira["required"]
            .as_array()
            .unwrap()
            .contains(&"base_url".into())
    );
    assert_eq!(
        schema["$defs"]["LoggingConfig"]["properties"]["retention_days"]["minimum"],
        30
    );
}

#[test]
fn a_loaded_sample_fits_the_schema() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid.yaml"),
    )
    .unwrap();
    let env = Env::from_pairs([
        ("QAPMS_CONFIG_DIR", "/c"),
        ("QAPMS_DATA_DIR", "/d"),
        ("JIRA_API_TOKEN", "t"),
        ("TESTMO_TOKEN", "t"),
        ("GRAFANA_TOKEN", "t"),
        ("PGPASSWORD", "p"),
        ("SPLUNK_TOKEN", "s"),
    ]);
    let loaded = config::load_str(&text, "qapms.yaml", Some("prod"), &env).unwrap();
    let schema = config::json_schema();
    let value = serde_json::to_value(&loaded.config).unwrap();
    check(&schema, &schema, &value, "");
}
