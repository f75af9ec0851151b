//! `qapms.yaml` editing help from the config's JSON Schema: which keys and values fit where the
//! cursor is, and what a key means.
//!
//! The schema is the one the loader validates against (`qapms_core::config::json_schema`), so
//! completion never offers a key the validator would then reject. The YAML around the cursor
//! is read by indentation only: completion happens while the file is half-typed and does not
//! parse, so a real parser would have nothing to say exactly when it is needed.

use std::sync::LazyLock;

use serde_json::Value;

static SCHEMA: LazyLock<Value> = LazyLock::new(qapms_core::config::json_schema);

/// The config's JSON Schema, built once.
pub fn schema() -> &'static Value {
    &SCHEMA
}

/// Where the cursor is in the YAML structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlPosition {
    /// The keys of the enclosing mappings, outermost first.
    pub parents: Vec<String>,
    /// The key on the cursor's line, if the line has one.
    pub key: Option<String>,
    /// The cursor is after `key:` (a value is being typed).
    pub in_value: bool,
    /// What is typed so far at the cursor.
    pub prefix: String,
}

/// Reads the structure around byte `offset` of `text`.
pub fn position_at(text: &str, offset: usize) -> YamlPosition {
    let offset = floor_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let before = &text[line_start..offset];
    let content = before.trim_start();
    let indent = before.len() - content.len();
    let content = content.strip_prefix("- ").unwrap_or(content);
    let (key, in_value) = match line.trim_start().trim_start_matches("- ").split_once(':') {
        Some((k, _)) if content.contains(':') => (Some(k.trim().to_owned()), true),
        Some((k, _)) => (Some(k.trim().to_owned()), false),
        None => (None, false),
    };
    let prefix = if in_value {
        content
            .rsplit_once(':')
            .map_or("", |(_, v)| v)
            .trim_start()
            .to_owned()
    } else {
        content.to_owned()
    };
    let key = key.filter(|k| !k.is_empty());
    let key = if in_value {
        key
    } else {
        key.or_else(|| Some(prefix.clone()))
            .filter(|k| !k.is_empty())
    };
    YamlPosition {
        parents: parents(&text[..line_start], indent),
        key,
        in_value,
        prefix,
    }
}

/// The keys of the mappings enclosing a line indented by `indent`, from the lines above it.
fn parents(above: &str, indent: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut limit = indent;
    for line in above.lines().rev() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let line_indent = line.len() - trimmed.len();
        let item = trimmed.strip_prefix("- ");
        let effective = if item.is_some() {
            line_indent + 2
        } else {
            line_indent
        };
        if line_indent < limit
            && let Some((key, rest)) = item.unwrap_or(trimmed).split_once(':')
            && (rest.trim().is_empty() || rest.trim_start().starts_with('#'))
        {
            out.push(key.trim().to_owned());
            limit = line_indent;
        } else if item.is_some() && effective <= limit && line_indent < limit {
            limit = line_indent;
        }
        if limit == 0 {
            break;
        }
    }
    out.reverse();
    out
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The schema node at a key path, following `$ref`, `anyOf`/`oneOf`, `items` (sequence
/// elements) and `additionalProperties` (maps with free keys, such as `workflows`).
pub fn node_at<'a>(schema: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = resolve(schema, schema);
    for key in path {
        node = child(schema, node, key)?;
    }
    Some(node)
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = node.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(target) = r
            .strip_prefix("#/")
            .and_then(|p| p.split('/').try_fold(root, |n, seg| n.get(seg)))
        else {
            break;
        };
        node = target;
    }
    node
}

fn branches<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    let node = resolve(root, node);
    let mut out = vec![node];
    for k in ["anyOf", "oneOf", "allOf"] {
        if let Some(list) = node.get(k).and_then(Value::as_array) {
            for b in list {
                out.extend(branches(root, b));
            }
        }
    }
    out
}

fn child<'a>(root: &'a Value, node: &'a Value, key: &str) -> Option<&'a Value> {
    for b in branches(root, node) {
        if let Some(p) = b.get("properties").and_then(|p| p.get(key)) {
            return Some(resolve(root, p));
        }
    }
    for b in branches(root, node) {
        if let Some(items) = b.get("items").filter(|i| i.is_object())
            && let Some(found) = child(root, resolve(root, items), key)
        {
            return Some(found);
        }
        if let Some(extra) = b.get("additionalProperties").filter(|a| a.is_object()) {
            return Some(resolve(root, extra));
        }
    }
    None
}

/// A key that may go in a mapping, with its documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDoc {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// The keys the mapping at `path` accepts (for a sequence of mappings, its elements').
pub fn keys_at(schema: &Value, path: &[String]) -> Vec<KeyDoc> {
    let Some(node) = node_at(schema, path) else {
        return Vec::new();
    };
    let mut out: Vec<KeyDoc> = Vec::new();
    let mut candidates = branches(schema, node);
    for b in branches(schema, node) {
        if let Some(items) = b.get("items").filter(|i| i.is_object()) {
            candidates.extend(branches(schema, items));
        }
    }
    for b in candidates {
        let required: Vec<&str> = b
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = b.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                if out.iter().any(|k| &k.name == name) {
                    continue;
                }
                out.push(KeyDoc {
                    name: name.clone(),
                    description: description(schema, prop),
                    required: required.contains(&name.as_str()),
                });
            }
        }
    }
    out
}

/// The values a key accepts when they are a closed set (`enum`, `const`, booleans).
pub fn values_at(schema: &Value, path: &[String]) -> Vec<String> {
    let Some(node) = node_at(schema, path) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for b in branches(schema, node) {
        let mut push = |v: &Value| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(_) | Value::Number(_) => v.to_string(),
                _ => return,
            };
            if !out.contains(&text) {
                out.push(text);
            }
        };
        if let Some(list) = b.get("enum").and_then(Value::as_array) {
            list.iter().for_each(&mut push);
        }
        if let Some(c) = b.get("const") {
            push(c);
        }
        let is_bool = match b.get("type") {
            Some(Value::String(t)) => t == "boolean",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "boolean"),
            _ => false,
        };
        if is_bool {
            push(&Value::Bool(true));
            push(&Value::Bool(false));
        }
    }
    out
}

/// The documentation of the key at `path`: the property's own description (schemars puts a
/// field's doc comment beside its `$ref`), else its type's.
pub fn doc_at(schema: &Value, path: &[String]) -> Option<String> {
    let (last, parents) = path.split_last()?;
    let parent = node_at(schema, parents)?;
    for b in branches(schema, parent) {
        if let Some(d) = b
            .get("properties")
            .and_then(|p| p.get(last))
            .and_then(|p| p.get("description"))
            .and_then(Value::as_str)
        {
            return Some(d.to_owned());
        }
    }
    let node = node_at(schema, path)?;
    description(schema, node)
}

fn description(root: &Value, node: &Value) -> Option<String> {
    if let Some(d) = node.get("description").and_then(Value::as_str) {
        return Some(d.to_owned());
    }
    branches(root, node)
        .into_iter()
        .find_map(|b| b.get("description").and_then(Value::as_str))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_structure_by_indentation() {
        let text = "integrations:\n  jira:\n    base_url: x\n    dep";
        let p = position_at(text, text.len());
        assert_eq!(p.parents, vec!["integrations", "jira"]);
        assert_eq!(p.prefix, "dep");
        assert!(!p.in_value);
        let text = "logging:\n  level: in";
        let p = position_at(text, text.len());
        assert_eq!(p.parents, vec!["logging"]);
        assert_eq!(p.key.as_deref(), Some("level"));
        assert!(p.in_value);
        assert_eq!(p.prefix, "in");
    }

    #[test]
    fn the_real_schema_offers_keys_values_and_docs() {
        let schema = qapms_core::config::json_schema();
        let top: Vec<String> = keys_at(&schema, &[]).into_iter().map(|k| k.name).collect();
        assert!(top.contains(&"integrations".to_owned()), "{top:?}");
        let jira: Vec<String> = keys_at(&schema, &["integrations".into(), "jira".into()])
            .into_iter()
            .map(|k| k.name)
            .collect();
        assert!(jira.contains(&"base_url".to_owned()), "{jira:?}");
        let levels = values_at(&schema, &["logging".into(), "level".into()]);
        assert!(levels.contains(&"info".to_owned()), "{levels:?}");
        assert!(
            doc_at(
                &schema,
                &["integrations".into(), "jira".into(), "projects".into()]
            )
            .is_some()
        );
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}", offset in 0usize..260) {
            let schema = qapms_core::config::json_schema();
            let p = position_at(&text, offset);
            let mut path = p.parents.clone();
            path.extend(p.key.clone());
            let _ = keys_at(&schema, &p.parents);
            let _ = values_at(&schema, &path);
            let _ = doc_at(&schema, &path);
        }
    }
}
