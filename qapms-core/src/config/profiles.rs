//! Profiles: named overlays deep-merged onto the rest of the file.
//!
//! Mappings merge key by key, recursively; anything else (a scalar, a list, `null`) in the
//! overlay replaces what the base had, so a profile can drop a list entry or switch an
//! integration off with `jira: null`. One exception makes tagged unions behave: when the overlay
//! changes a union's tag (`auth.method: basic` to `pat`), the overlay's mapping replaces the
//! base's instead of merging, since the old variant's fields (`email`, `api_token`) would be
//! unknown keys in the new one. The merge is schema-aware for exactly that reason.

use super::schema::{Compiled, ShapeId};
use super::tree::{Node, Value};

/// Merges `overlay` onto `base`; `shape` is the schema of both (`None` where unconstrained).
pub(crate) fn merge<'a>(
    base: &mut Node<'a>,
    overlay: Node<'a>,
    schema: &Compiled,
    shape: Option<ShapeId>,
) {
    let replace_whole = match (&base.value, &overlay.value) {
        (Value::Map(_), Value::Map(_)) => {
            shape.and_then(|id| schema.tag_of(id)).is_some_and(|tag| {
                match (base.get(tag), overlay.get(tag)) {
                    (Some(b), Some(o)) => b.value.as_str() != o.value.as_str(),
                    _ => false,
                }
            })
        }
        _ => true,
    };
    if replace_whole {
        *base = overlay;
        return;
    }
    let (Value::Map(base_entries), Value::Map(overlay_entries)) = (&mut base.value, overlay.value)
    else {
        return;
    };
    for entry in overlay_entries {
        let child = shape.and_then(|id| schema.child(id, &entry.key));
        match base_entries.iter_mut().find(|e| e.key == entry.key) {
            Some(existing) => {
                // The overlay's key position is the one to blame if the merged value is wrong.
                existing.key_span = entry.key_span;
                merge(&mut existing.value, entry.value, schema, child);
            }
            None => base_entries.push(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::COMPILED;
    use super::super::tree::parse;
    use super::*;

    #[test]
    fn maps_merge_lists_replace_and_tag_changes_replace() {
        let mut base = parse(
            "integrations:\n  jira:\n    base_url: https://a.atlassian.net\n    projects: [A, B]\n    auth: {method: basic, email: e, api_token: t}\n",
        )
        .root
        .unwrap();
        let overlay =
            parse("integrations:\n  jira:\n    projects: [C]\n    auth: {method: pat, token: x}\n")
                .root
                .unwrap();
        merge(&mut base, overlay, &COMPILED, Some(COMPILED.root));
        let jira = &base
            .get("integrations")
            .unwrap()
            .value
            .get("jira")
            .unwrap()
            .value;
        assert!(jira.get("base_url").is_some());
        let Value::Seq(projects) = &jira.get("projects").unwrap().value.value else {
            panic!()
        };
        assert_eq!(projects.len(), 1);
        let auth = &jira.get("auth").unwrap().value;
        assert!(auth.get("email").is_none());
        assert_eq!(auth.get("token").unwrap().value.as_str(), Some("x"));
    }
}
