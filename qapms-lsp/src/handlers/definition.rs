//! Go to definition from a Testmo case id (`C1234`) or a Postman request reference (its name,
//! `Folder/Name` path or id, in a string) in a test file, to where it is defined locally:
//! - a Testmo case mapped (through the store's identity map) to a pytest node id or a `JUnit`
//!   class goes to that test's declaration in the workspace;
//! - a Postman request goes to its item in one of `integrations.postman.collection_files`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use qapms_core::integrations::postman::parse_collection;
use qapms_core::model::{ExternalKey, TestSource};
use tower_lsp_server::ls_types::{
    GotoDefinitionParams, GotoDefinitionResponse, Location, Position, Range, Uri,
};

use crate::convert::LineIndex;
use crate::document::Document;
use crate::features::regions::Language;
use crate::features::testfiles;
use crate::session::Session;
use crate::workspace::Workspace;

/// Largest file read while looking for a definition.
const MAX_FILE: u64 = 8 << 20;
/// Most directory entries walked when looking for a `JUnit` class's file.
const MAX_WALK: usize = 20_000;

pub(crate) async fn definition(
    session: &Session,
    params: GotoDefinitionParams,
) -> Option<GotoDefinitionResponse> {
    let position = params.text_document_position_params;
    let doc = session.document(&position.text_document.uri).await?;
    let offset = doc.offset(position.position);
    let ws = session.workspace();
    if let Some(case) = testmo_case_at(&doc.text, offset)
        && let Some(location) = testmo_definition(&ws, &case).await
    {
        return Some(GotoDefinitionResponse::Scalar(location));
    }
    let string = string_at(&doc, offset)?;
    postman_definition(&ws, &string).map(GotoDefinitionResponse::Scalar)
}

/// A `C1234` (or `C-1234`) word around `offset`.
fn testmo_case_at(text: &str, offset: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    let word = text.get(start..end)?;
    let digits = word.strip_prefix('C')?.trim_start_matches('-');
    (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.to_owned())
}

async fn testmo_definition(ws: &Workspace, case: &str) -> Option<Location> {
    let store = ws.store.as_ref()?;
    let mut id = None;
    for key in [case.to_owned(), format!("C{case}")] {
        if let Ok(found) = store
            .resolve_test(&ExternalKey::new(TestSource::Testmo, key))
            .await
        {
            id = Some(found);
            break;
        }
    }
    let identities = store.test_identities(&id?).await.ok()?;
    let root = ws.root.clone()?;
    for identity in identities.iter().rev() {
        let location = match identity.key.system {
            TestSource::Pytest => pytest_location(&root, &identity.key.key),
            TestSource::Junit => junit_location(&root, &identity.key.key),
            _ => None,
        };
        if location.is_some() {
            return location;
        }
    }
    None
}

/// `tests/test_pay.py::TestLogin::test_ok[param]` → that file, at `test_ok`'s declaration.
fn pytest_location(root: &Path, node_id: &str) -> Option<Location> {
    let mut parts = node_id.split("::");
    let file = root.join(parts.next()?);
    let path: Vec<String> = parts
        .map(|p| p.split('[').next().unwrap_or(p).to_owned())
        .collect();
    locate_test(&file, &path)
}

/// `com.acme.RefundTest$Nested::name` → `RefundTest.java` (or `.kt`) under the root.
fn junit_location(root: &Path, key: &str) -> Option<Location> {
    let (class, name) = key.split_once("::")?;
    let outer = class.rsplit('.').next()?.split('$').next()?;
    let file = find_file(root, &[format!("{outer}.java"), format!("{outer}.kt")])?;
    let mut path: Vec<String> = class
        .rsplit('.')
        .next()?
        .split('$')
        .map(str::to_owned)
        .collect();
    path.push(name.split('(').next().unwrap_or(name).to_owned());
    locate_test(&file, &path)
}

fn locate_test(file: &Path, path: &[String]) -> Option<Location> {
    let text = read_small(file)?;
    let name = file.to_string_lossy();
    let parsed = testfiles::parse(&text, Language::detect("", &name), &name);
    let item = parsed
        .items
        .iter()
        .find(|t| t.path == path)
        .or_else(|| parsed.items.iter().find(|t| t.path.last() == path.last()))?;
    let index = LineIndex::new(&text);
    Some(Location {
        uri: file_uri(file)?,
        range: index.range(&text, item.name_range.clone()),
    })
}

fn find_file(root: &Path, names: &[String]) -> Option<PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_WALK {
                return None;
            }
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !file_name.starts_with('.')
                    && !matches!(file_name.as_str(), "node_modules" | "target" | "build")
                {
                    stack.push(path);
                }
            } else if names.contains(&file_name) {
                return Some(path);
            }
        }
    }
    None
}

/// The contents of the string literal around `offset`, if the cursor is in one.
fn string_at(doc: &Document, offset: usize) -> Option<String> {
    doc.regions()
        .iter()
        .find(|r| {
            r.kind == crate::features::regions::RegionKind::String
                && r.range.start <= offset
                && offset <= r.range.end
        })
        .and_then(|r| doc.text.get(r.range.clone()))
        .map(str::to_owned)
        .filter(|s| !s.is_empty() && s.len() <= 512)
}

fn postman_definition(ws: &Workspace, reference: &str) -> Option<Location> {
    let config = ws.config.as_ref()?.integrations.postman.as_ref()?;
    for file in &config.collection_files {
        let file = match &ws.root {
            Some(root) if file.is_relative() => root.join(file),
            _ => file.clone(),
        };
        let Some(text) = read_small(&file) else {
            continue;
        };
        let Ok(collection) = parse_collection(text.as_bytes(), &file.to_string_lossy()) else {
            continue;
        };
        let found = collection.flatten().into_iter().find(|r| {
            let mut path = r.folder_path.clone();
            path.push(r.name.clone());
            r.id.as_str() == reference || r.name == reference || path.join("/") == reference
        });
        let Some(request) = found else {
            continue;
        };
        // The item's own `"id"` or `"name"` line in the file.
        let needles = [
            format!("\"id\": \"{}\"", request.id.as_str()),
            format!(
                "\"name\": {}",
                serde_json::Value::String(request.name.clone())
            ),
        ];
        let at = needles
            .iter()
            .find_map(|n| text.find(n.as_str()))
            .unwrap_or(0);
        let index = LineIndex::new(&text);
        let start = index.position(&text, at);
        return Some(Location {
            uri: file_uri(&file)?,
            range: Range::new(start, Position::new(start.line, start.character + 1)),
        });
    }
    None
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// A `file://` URI for a path, percent-encoding what URIs do not allow.
pub(crate) fn file_uri(path: &Path) -> Option<Uri> {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testmo_case_ids() {
        assert_eq!(testmo_case_at("see C1234 here", 6), Some("1234".to_owned()));
        assert_eq!(testmo_case_at("\"C-77\"", 2), Some("77".to_owned()));
        assert_eq!(testmo_case_at("CX12", 2), None);
        assert_eq!(testmo_case_at("", 5), None);
    }
}
