//! Encrypting and rotating values inside `qapms.yaml` without disturbing anything else.
//!
//! Loading the YAML into values and writing it back would drop comments and reformat the file,
//! and users keep notes, order and quoting there on purpose. So this module rewrites text: the
//! YAML event parser (granit, serde-saphyr's parser) reports each scalar's byte span, and only
//! those bytes are replaced. A replacement keeps the scalar's quoting (plain, `'…'`, `"…"`);
//! `enc:v1:` tokens need no escaping in any of them, since base64 has no quote, space, `#`, or
//! flow indicator. Block scalars (`|`, `>`) are refused: their spans cover the indented body but
//! not the header, so a safe in-place edit is not possible; a secret written that way must be
//! moved to one line first.
//!
//! Before returning, the new text is parsed again and every replaced node is checked to hold
//! its token at the same position in the document, so a bad edit is an error, not a broken
//! config.
//!
//! Paths are dotted keys from the document root; sequence items are addressed by index
//! (`servers.0.token`). Keys containing dots, and complex keys, cannot be addressed (rotation
//! still reaches values under them).

use std::fmt::Write as _;
use std::ops::Range;

use secrecy::ExposeSecret;
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

use super::envelope::{PREFIX_ANY, decrypt, encrypt, envelope_key_id};
use super::master::MasterKey;
use crate::{Error, Result};

/// Encrypts the plain scalar at the dotted `key_path` (e.g. `integrations.jira.auth.api_token`
/// or `profiles.prod.integrations.jira.auth.api_token`) and returns the new text, identical to
/// `text` outside that scalar.
pub fn encrypt_in_yaml(text: &str, key_path: &str, key: &MasterKey) -> Result<String> {
    let wanted = parse_key_path(key_path)?;
    let nodes = scan(text)?;
    let mut found = nodes.iter().enumerate().filter(|(_, n)| n.matches(&wanted));
    let Some((index, node)) = found.next() else {
        return Err(not_found(&nodes, &wanted, key_path));
    };
    if found.next().is_some() {
        return Err(Error::invalid_input(
            "key path appears more than once (duplicate keys or several documents)",
        )
        .with_context("key", key_path));
    }
    let (value, style) = match &node.kind {
        Kind::Scalar { value, style } => (value, *style),
        Kind::Mapping | Kind::Sequence => {
            return Err(Error::invalid_input(format!(
                "value is a {}, not a scalar; give the path of the secret itself",
                node.kind.noun()
            ))
            .with_context("key", key_path));
        }
        Kind::Alias => {
            return Err(Error::invalid_input(
                "value is an alias (`*name`); encrypt the anchored value it refers to instead",
            )
            .with_context("key", key_path));
        }
    };
    if value.starts_with(PREFIX_ANY) {
        return Err(
            Error::invalid_input("value is already encrypted").with_context("key", key_path)
        );
    }
    if style == ScalarStyle::Plain && is_null(value) {
        return Err(
            Error::invalid_input("value is empty (null); there is nothing to encrypt")
                .with_context("key", key_path),
        );
    }
    let token = encrypt(value, key);
    let replacement = render(&token, style).ok_or_else(|| block_scalar_error(key_path))?;
    apply(
        text,
        &nodes,
        &[Edit {
            index,
            span: node.span.clone(),
            replacement,
            token,
        }],
    )
}

/// Re-encrypts every `enc:v1:` value in `text` from `old` to `new`, returning the new text and
/// how many values changed. All values are decrypted before anything is produced, so one bad
/// value (wrong key, tampered, truncated) fails the whole rotation and names its path.
///
/// A value already under `new` is checked and left as it is, so a rotation that was interrupted
/// between files can be run again. Keep the old key until the YAML *and* the key file holding the
/// new key are both written.
pub fn rotate_yaml(text: &str, old: &MasterKey, new: &MasterKey) -> Result<(String, usize)> {
    let nodes = scan(text)?;
    let new_id = new.key_id_bytes();
    let same_key = old.key_id_bytes() == new_id;
    let mut edits = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let Kind::Scalar { value, style } = &node.kind else {
            continue;
        };
        if !value.starts_with(PREFIX_ANY) {
            continue;
        }
        let path = node.display_path();
        // Checked before decrypting: a block scalar's value carries a line break, which would
        // otherwise surface as a misleading "not valid base64".
        if render("", *style).is_none() {
            return Err(block_scalar_error(&path));
        }
        if !same_key && envelope_key_id(value) == Some(new_id) {
            decrypt(value, new, &path)?;
            continue;
        }
        let plain = decrypt(value, old, &path)?;
        let token = encrypt(plain.expose_secret(), new);
        let replacement = render(&token, *style).ok_or_else(|| block_scalar_error(&path))?;
        edits.push(Edit {
            index,
            span: node.span.clone(),
            replacement,
            token,
        });
    }
    let count = edits.len();
    Ok((apply(text, &nodes, &edits)?, count))
}

/// One step of a path from the document root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    /// Under a complex key (a mapping or sequence used as a key, or an alias).
    Unaddressable,
}

#[derive(Debug)]
enum Kind {
    Scalar { value: String, style: ScalarStyle },
    Mapping,
    Sequence,
    Alias,
}

impl Kind {
    fn noun(&self) -> &'static str {
        match self {
            Self::Scalar { .. } => "scalar",
            Self::Mapping => "mapping",
            Self::Sequence => "sequence",
            Self::Alias => "alias",
        }
    }
}

/// A node in value position (not a mapping key), in document order.
#[derive(Debug)]
struct Node {
    path: Vec<Segment>,
    kind: Kind,
    span: Range<usize>,
}

impl Node {
    fn matches(&self, wanted: &[&str]) -> bool {
        self.path.len() == wanted.len()
            && self.path.iter().zip(wanted).all(|(s, w)| segment_is(s, w))
    }

    fn display_path(&self) -> String {
        if self.path.is_empty() {
            return "(document root)".to_owned();
        }
        let mut out = String::new();
        for (i, segment) in self.path.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match segment {
                Segment::Key(k) => out.push_str(k),
                Segment::Index(n) => {
                    let _ = write!(out, "{n}");
                }
                Segment::Unaddressable => out.push_str("<complex key>"),
            }
        }
        out
    }
}

fn segment_is(segment: &Segment, wanted: &str) -> bool {
    match segment {
        Segment::Key(k) => k == wanted,
        Segment::Index(n) => wanted.parse::<usize>().is_ok_and(|w| w == *n),
        Segment::Unaddressable => false,
    }
}

#[derive(PartialEq, Eq)]
enum Role {
    Key,
    Value,
}

enum Container {
    /// `key` holds the current entry's key once read, until its value is complete.
    Map {
        key: Option<Segment>,
    },
    Seq {
        next: usize,
    },
}

struct Frame {
    role: Role,
    container: Container,
}

/// Every node in value position, with its path and byte span.
fn scan(text: &str) -> Result<Vec<Node>> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes = Vec::new();
    while let Some(item) = parser.next_event() {
        let (event, span) = item.map_err(|e| {
            Error::config(format!(
                "not valid YAML: {} (line {}, column {})",
                e.info(),
                e.marker().line(),
                e.marker().col() + 1
            ))
        })?;
        // Spans from a string parser always carry byte offsets; treat a missing one as a parse
        // failure rather than guessing.
        let span = span
            .byte_range()
            .filter(|r| text.get(r.clone()).is_some())
            .ok_or_else(|| Error::config("YAML parser gave no byte position"))?;
        match event {
            Event::DocumentStart(..) => stack.clear(),
            Event::Scalar(value, style, ..) => {
                if in_key_position(&stack) {
                    set_key(&mut stack, Segment::Key(value.into_owned()));
                } else {
                    record(
                        &stack,
                        &mut nodes,
                        Kind::Scalar {
                            value: value.into_owned(),
                            style,
                        },
                        span,
                    );
                    complete_value(&mut stack);
                }
            }
            Event::Alias(_) => {
                if in_key_position(&stack) {
                    set_key(&mut stack, Segment::Unaddressable);
                } else {
                    record(&stack, &mut nodes, Kind::Alias, span);
                    complete_value(&mut stack);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let role = if in_key_position(&stack) {
                    Role::Key
                } else {
                    let kind = if is_map {
                        Kind::Mapping
                    } else {
                        Kind::Sequence
                    };
                    record(&stack, &mut nodes, kind, span);
                    Role::Value
                };
                let container = if is_map {
                    Container::Map { key: None }
                } else {
                    Container::Seq { next: 0 }
                };
                stack.push(Frame { role, container });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = stack.pop() {
                    match frame.role {
                        Role::Key => set_key(&mut stack, Segment::Unaddressable),
                        Role::Value => complete_value(&mut stack),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(nodes)
}

fn in_key_position(stack: &[Frame]) -> bool {
    matches!(
        stack.last(),
        Some(Frame {
            container: Container::Map { key: None },
            ..
        })
    )
}

fn set_key(stack: &mut [Frame], segment: Segment) {
    if let Some(Frame {
        container: Container::Map { key },
        ..
    }) = stack.last_mut()
    {
        *key = Some(segment);
    }
}

fn complete_value(stack: &mut [Frame]) {
    match stack.last_mut().map(|f| &mut f.container) {
        Some(Container::Map { key }) => *key = None,
        Some(Container::Seq { next }) => *next += 1,
        None => {}
    }
}

/// Records a node in value position, unless it sits inside a complex key.
fn record(stack: &[Frame], nodes: &mut Vec<Node>, kind: Kind, span: Range<usize>) {
    if stack.iter().any(|f| f.role == Role::Key) {
        return;
    }
    let path = stack
        .iter()
        .map(|f| match &f.container {
            Container::Map { key } => key.clone().unwrap_or(Segment::Unaddressable),
            Container::Seq { next } => Segment::Index(*next),
        })
        .collect();
    nodes.push(Node { path, kind, span });
}

fn parse_key_path(key_path: &str) -> Result<Vec<&str>> {
    let segments: Vec<&str> = key_path.split('.').collect();
    if key_path.is_empty() || segments.iter().any(|s| s.is_empty()) {
        return Err(Error::invalid_input(
            "a key path is dotted keys such as `integrations.jira.auth.api_token`",
        )
        .with_context("key", key_path));
    }
    Ok(segments)
}

fn not_found(nodes: &[Node], wanted: &[&str], key_path: &str) -> Error {
    let deepest = (1..wanted.len())
        .rev()
        .find(|&len| nodes.iter().any(|n| n.matches(&wanted[..len])));
    let message = match deepest {
        Some(len) => format!(
            "key path not found: `{}` exists but has no `{}`",
            wanted[..len].join("."),
            wanted[len]
        ),
        None => "key path not found".to_owned(),
    };
    Error::not_found(message).with_context("key", key_path)
}

fn is_null(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

fn block_scalar_error(key_path: &str) -> Error {
    Error::invalid_input(
        "value is a block scalar (`|` or `>`), which cannot be edited in place; write the secret \
         on one line (plain or quoted) first",
    )
    .with_context("key", key_path)
}

/// The token as source text in the scalar's own style; `None` for block scalars.
fn render(token: &str, style: ScalarStyle) -> Option<String> {
    match style {
        ScalarStyle::Plain => Some(token.to_owned()),
        ScalarStyle::SingleQuoted => Some(format!("'{token}'")),
        ScalarStyle::DoubleQuoted => Some(format!("\"{token}\"")),
        _ => None,
    }
}

struct Edit {
    /// Index of the node in [`scan`]'s output.
    index: usize,
    span: Range<usize>,
    replacement: String,
    /// The value the node must hold after the edit.
    token: String,
}

/// Splices `edits` (in document order, non-overlapping) into `text`, whose scan is `before`,
/// then re-parses the result to prove each edited node now holds its token and nothing else
/// moved.
fn apply(text: &str, before: &[Node], edits: &[Edit]) -> Result<String> {
    if edits.is_empty() {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len() + edits.len() * 64);
    let mut cursor = 0;
    for edit in edits {
        let gap = text.get(cursor..edit.span.start).ok_or_else(edit_failed)?;
        out.push_str(gap);
        out.push_str(&edit.replacement);
        cursor = edit.span.end;
    }
    out.push_str(text.get(cursor..).ok_or_else(edit_failed)?);

    let after = scan(&out).map_err(|_| edit_failed())?;
    let same_shape = before.len() == after.len()
        && before
            .iter()
            .zip(&after)
            .all(|(a, b)| a.path == b.path && a.kind.noun() == b.kind.noun());
    let tokens_in_place = edits.iter().all(|edit| {
        after.get(edit.index).is_some_and(|node| match &node.kind {
            Kind::Scalar { value, .. } => *value == edit.token,
            _ => false,
        })
    });
    if same_shape && tokens_in_place {
        Ok(out)
    } else {
        Err(edit_failed())
    }
}

fn edit_failed() -> Error {
    Error::config(
        "rewriting the value would change the YAML structure; nothing was changed (please report \
         this with the shape of the file, not its secrets)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        scan(text)
            .unwrap()
            .iter()
            .map(|n| format!("{}={}", n.display_path(), n.kind.noun()))
            .collect()
    }

    #[test]
    fn scan_tracks_paths_through_maps_sequences_and_flow() {
        let text =
            "a:\n  b: 1\n  c: [x, {d: y}]\nlist:\n  - k: v\n  - plain\n? [complex]\n: hidden\n";
        assert_eq!(
            paths(text),
            [
                "(document root)=mapping",
                "a=mapping",
                "a.b=scalar",
                "a.c=sequence",
                "a.c.0=scalar",
                "a.c.1=mapping",
                "a.c.1.d=scalar",
                "list=sequence",
                "list.0=mapping",
                "list.0.k=scalar",
                "list.1=scalar",
                "<complex key>=scalar",
            ]
        );
    }
}
