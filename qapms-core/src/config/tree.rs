//! A spanned YAML tree: the file as mappings, sequences and raw scalars, each with its position.
//!
//! Built from the event stream of `granit-parser` (the YAML 1.2 parser inside serde-saphyr,
//! re-exported as `serde_saphyr::granit_parser`, so both always agree on the grammar). Scalars
//! keep their source text and quoting style and are *not* typed here: whether `5` is a number or
//! a string depends on what the schema expects at that spot, and `on`/`yes` are plain strings as
//! YAML 1.2 says. Typing happens in the validator, which then knows the span to blame.
//!
//! The builder is iterative (the parser caps nesting at 255), copies nothing it can borrow from the
//! source, and reports structural problems it can see on its own: a syntax error (after which it
//! stops, since the parser cannot resynchronise), duplicate keys, non-string keys, unsupported
//! tags, a second document, and alias expansion beyond a node budget (the "billion laughs").

use std::borrow::Cow;
use std::collections::HashMap;

use serde_saphyr::granit_parser::{self, Event, Marker, Parser, ScalarStyle};

/// A position: 1-based line and column (in characters), plus the byte offset when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) byte: Option<usize>,
}

impl Pos {
    fn from_marker(m: &Marker) -> Self {
        Self {
            line: m.line(),
            column: m.col() + 1,
            byte: m.byte_offset(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: Pos,
    pub(crate) end: Pos,
}

impl Span {
    fn from_parser(span: &granit_parser::Span) -> Self {
        Self {
            start: Pos::from_marker(&span.start),
            end: Pos::from_marker(&span.end),
        }
    }
}

/// How a scalar was written; decides how it may be typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Unquoted: may be null, a boolean or a number when the schema wants one.
    Plain,
    /// Quoted, block (`|`, `>`) or tagged `!!str`: always a string.
    Quoted,
}

#[derive(Debug, Clone)]
pub(crate) struct Scalar<'a> {
    pub(crate) text: Cow<'a, str>,
    pub(crate) style: Style,
    /// Set once `${VAR}` interpolation changed the text: the value may now hold a secret, so
    /// messages never quote it, and it is typed as if written plain.
    pub(crate) interpolated: bool,
    /// Set when interpolation failed (already reported): the value is not checked further.
    pub(crate) unresolved: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub(crate) key: Cow<'a, str>,
    pub(crate) key_span: Span,
    pub(crate) value: Node<'a>,
}

#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Scalar(Scalar<'a>),
    Seq(Vec<Node<'a>>),
    Map(Vec<Entry<'a>>),
}

#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    pub(crate) value: Value<'a>,
    pub(crate) span: Span,
}

impl<'a> Node<'a> {
    /// An empty mapping, for a file with no content.
    pub(crate) fn empty_map() -> Self {
        let pos = Pos {
            line: 1,
            column: 1,
            byte: Some(0),
        };
        Self {
            value: Value::Map(Vec::new()),
            span: Span {
                start: pos,
                end: pos,
            },
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[Entry<'a>]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry<'a>> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// The scalar's text when this is a plain or quoted scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    fn size(&self) -> usize {
        match &self.value {
            Value::Scalar(_) => 1,
            Value::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Map(entries) => 1 + entries.iter().map(|e| 1 + e.value.size()).sum::<usize>(),
        }
    }
}

/// A problem found while building the tree; the loader turns it into a diagnostic.
#[derive(Debug, Clone)]
pub(crate) struct TreeError {
    pub(crate) span: Span,
    pub(crate) key_path: String,
    pub(crate) message: String,
}

/// The tree, or `None` when a syntax error stopped the parse, and every problem found.
pub(crate) struct Parsed<'a> {
    pub(crate) root: Option<Node<'a>>,
    pub(crate) errors: Vec<TreeError>,
}

/// Nodes that aliases may expand to in total; far above any real config, far below an OOM.
const ALIAS_NODE_BUDGET: usize = 1_000_000;

enum Frame<'a> {
    Seq {
        items: Vec<Node<'a>>,
        start: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry<'a>>,
        // The key read and waiting for its value; `None` key text marks an invalid key whose
        // value is parsed and dropped.
        pending: Option<(Option<Cow<'a, str>>, Span)>,
        // Key to entry position, built once a mapping grows large, so duplicate detection stays
        // linear on a hostile file with huge mappings.
        index: Option<HashMap<Cow<'a, str>, usize>>,
        start: Span,
        anchor: usize,
    },
}

/// Mappings with more keys than this get a hash index for duplicate detection.
const INDEX_THRESHOLD: usize = 32;

struct Builder<'a> {
    stack: Vec<Frame<'a>>,
    anchors: HashMap<usize, Node<'a>>,
    root: Option<Node<'a>>,
    errors: Vec<TreeError>,
    alias_nodes: usize,
    documents: usize,
}

/// What the builder does after an event.
enum Flow {
    Continue,
    /// Keep what was built (a second document follows and is ignored).
    Stop,
    /// Drop the tree: it is not trustworthy (syntax error, alias bomb).
    Abort,
}

/// Parses `text` into a tree. Never panics; every problem is in `errors`.
pub(crate) fn parse(text: &str) -> Parsed<'_> {
    let mut options = granit_parser::Options::default();
    // Comments carry no data; not capturing them saves work on large files.
    options.set_emit_comments(false);
    let parser = Parser::new_from_str_with_options(text, options);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        errors: Vec::new(),
        alias_nodes: 0,
        documents: 0,
    };
    for next in parser {
        let flow = match next {
            Ok((event, span)) => b.on_event(event, Span::from_parser(&span)),
            Err(err) => {
                let pos = Pos::from_marker(err.marker());
                let path = b.current_path();
                b.errors.push(TreeError {
                    span: Span {
                        start: pos,
                        end: pos,
                    },
                    key_path: path,
                    message: syntax_message(text, pos.line, &err.info()),
                });
                Flow::Abort
            }
        };
        match flow {
            Flow::Continue => {}
            Flow::Stop => break,
            Flow::Abort => {
                return Parsed {
                    root: None,
                    errors: b.errors,
                };
            }
        }
    }
    Parsed {
        root: b.root,
        errors: b.errors,
    }
}

impl<'a> Builder<'a> {
    fn on_event(&mut self, event: Event<'a>, span: Span) -> Flow {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.errors.push(TreeError {
                        span,
                        key_path: String::new(),
                        message: "only one YAML document is allowed in qapms.yaml; remove this `---` and what follows".into(),
                    });
                    return Flow::Stop;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let mut style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    _ => Style::Quoted,
                };
                if let Some(tag) = tag {
                    match tag.core_suffix() {
                        Some("str") => style = Style::Quoted,
                        Some(_) => {}
                        None => self.unsupported_tag(span, &tag),
                    }
                }
                let node = Node {
                    value: Value::Scalar(Scalar {
                        text,
                        style,
                        interpolated: false,
                        unresolved: false,
                    }),
                    span,
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node);
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.check_collection_tag(span, tag.as_deref());
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span,
                    anchor,
                });
            }
            Event::MappingStart(_, anchor, tag) => {
                self.check_collection_tag(span, tag.as_deref());
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending: None,
                    index: None,
                    start: span,
                    anchor,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, start, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        start,
                        anchor,
                    }) => (Value::Seq(items), start, anchor),
                    Some(Frame::Map {
                        entries,
                        start,
                        anchor,
                        ..
                    }) => (Value::Map(entries), start, anchor),
                    None => return Flow::Continue,
                };
                let node = Node {
                    value,
                    span: Span {
                        start: start.start,
                        end: span.end,
                    },
                };
                self.finish_collection(node, anchor);
            }
            Event::Alias(id) => return self.on_alias(id, span),
            // Stream and document ends carry nothing; comments are off; anchor events and
            // unresolved aliases are not requested.
            _ => {}
        }
        Flow::Continue
    }

    fn on_alias(&mut self, id: usize, span: Span) -> Flow {
        let Some(target) = self.anchors.get(&id) else {
            // The parser reports unknown anchors itself; this is belt and braces.
            return Flow::Continue;
        };
        self.alias_nodes += target.size();
        if self.alias_nodes > ALIAS_NODE_BUDGET {
            let path = self.current_path();
            self.errors.push(TreeError {
                span,
                key_path: path,
                message: format!(
                    "aliases expand to more than {ALIAS_NODE_BUDGET} nodes; refusing to expand further"
                ),
            });
            return Flow::Abort;
        }
        let mut node = target.clone();
        // Errors inside the copy point at the anchored original; the alias itself is where a
        // type error about the whole value belongs.
        node.span = span;
        self.push(node);
        Flow::Continue
    }

    fn check_collection_tag(&mut self, span: Span, tag: Option<&granit_parser::Tag>) {
        if let Some(tag) = tag
            && tag.core_suffix().is_none()
        {
            self.unsupported_tag(span, tag);
        }
    }

    fn unsupported_tag(&mut self, span: Span, tag: &granit_parser::Tag) {
        let path = self.current_path();
        self.errors.push(TreeError {
            span,
            key_path: path,
            message: format!(
                "unsupported tag `{}{}`; qapms.yaml uses plain YAML (no custom tags)",
                tag.original_handle(),
                tag.suffix()
            ),
        });
    }

    fn finish_collection(&mut self, node: Node<'a>, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        self.push(node);
    }

    /// Places a finished node in its parent: a sequence item, a mapping key or value, or the root.
    fn push(&mut self, node: Node<'a>) {
        // Problems are recorded after the frame is released, since the path reads every frame.
        let mut problem: Option<(Span, Option<Cow<'a, str>>, String)> = None;
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending,
                index,
                ..
            }) => match pending.take() {
                None => match node.value {
                    Value::Scalar(s) => *pending = Some((Some(s.text), node.span)),
                    _ => {
                        problem = Some((
                            node.span,
                            None,
                            "a key must be a string, not a mapping or a list".to_owned(),
                        ));
                        *pending = Some((None, node.span));
                    }
                },
                Some((Some(key), key_span)) => {
                    if key == "<<" {
                        problem = Some((
                            key_span,
                            None,
                            "merge keys (`<<`) are not part of YAML 1.2; use profiles or repeat the keys".to_owned(),
                        ));
                    } else if let Some(first) = find_entry(entries, index.as_ref(), &key) {
                        let line = first.key_span.start.line;
                        let message =
                            format!("duplicate key `{key}` (first defined on line {line})");
                        problem = Some((key_span, Some(key), message));
                    } else {
                        if let Some(index) = index {
                            index.insert(key.clone(), entries.len());
                        }
                        entries.push(Entry {
                            key,
                            key_span,
                            value: node,
                        });
                        if index.is_none() && entries.len() > INDEX_THRESHOLD {
                            *index = Some(
                                entries
                                    .iter()
                                    .enumerate()
                                    .map(|(i, e)| (e.key.clone(), i))
                                    .collect(),
                            );
                        }
                    }
                }
                Some((None, _)) => {}
            },
        }
        if let Some((span, key, message)) = problem {
            let mut key_path = self.current_path();
            if let Some(key) = key {
                push_key(&mut key_path, &key);
            }
            self.errors.push(TreeError {
                span,
                key_path,
                message,
            });
        }
    }

    /// The key path of the collection being built, from the open frames.
    fn current_path(&self) -> String {
        let mut path = String::new();
        let mut frames = self.stack.iter().peekable();
        while let Some(frame) = frames.next() {
            // Each frame's position in its parent is the parent's pending key or next index.
            let is_last = frames.peek().is_none();
            match frame {
                Frame::Map { pending, .. } => {
                    if let Some((Some(key), _)) = pending {
                        push_key(&mut path, key);
                    } else if !is_last {
                        // A collection used as a key: no meaningful path.
                        break;
                    }
                }
                Frame::Seq { items, .. } => push_index(&mut path, items.len()),
            }
        }
        path
    }
}

/// The entry already holding `key`: a scan for small mappings, the index for large ones.
fn find_entry<'e, 'a>(
    entries: &'e [Entry<'a>],
    index: Option<&HashMap<Cow<'a, str>, usize>>,
    key: &str,
) -> Option<&'e Entry<'a>> {
    match index {
        Some(index) => index.get(key).and_then(|&i| entries.get(i)),
        None => entries.iter().find(|e| e.key == key),
    }
}

/// The parser's message, plus a hint for the classic trap: `${VAR}` unquoted inside `{...}` or
/// `[...]`, where `{` and `}` are syntax.
fn syntax_message(text: &str, line: usize, info: &str) -> String {
    let mut message = format!("invalid YAML: {info}");
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    if info.contains("flow") && line_text.contains("${") {
        message.push_str(
            " (inside `{...}` or `[...]`, quote values that use `${...}`, e.g. token: \"${TOKEN}\")",
        );
    }
    message
}

/// Appends `.key` (or `["a.b"]` for keys that would be ambiguous) to a key path.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if key.is_empty() || key.contains(['.', '[', ']', ' ', '"']) {
        path.push_str("[\"");
        path.push_str(&key.replace('"', "\\\""));
        path.push_str("\"]");
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

pub(crate) fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write as _;
    let _ = write!(path, "[{index}]");
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn root(text: &str) -> Node<'_> {
        let parsed = parse(text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        parsed.root.unwrap()
    }

    #[test]
    fn scalars_keep_text_style_and_position() {
        let tree = root("a:\n  b: 'on'\n  c: on\n");
        let a = &tree.get("a").unwrap().value;
        let b = a.get("b").unwrap();
        assert_eq!(b.key_span.start.line, 2);
        assert_eq!(b.key_span.start.column, 3);
        let Value::Scalar(s) = &b.value.value else {
            panic!()
        };
        assert_eq!((&*s.text, s.style), ("on", Style::Quoted));
        assert_eq!(b.value.span.start.column, 6);
        let Value::Scalar(s) = &a.get("c").unwrap().value.value else {
            panic!()
        };
        assert_eq!((&*s.text, s.style), ("on", Style::Plain));
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_are_reported_with_paths() {
        let parsed = parse("a:\n  x: 1\n  x: 2\n");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].key_path, "a.x");
        assert_eq!(parsed.errors[0].span.start.line, 3);

        let parsed = parse("a:\n  b: [1, 2\n");
        assert!(parsed.root.is_none());
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.starts_with("invalid YAML"));
    }

    #[test]
    fn aliases_expand_and_bombs_stop() {
        let tree = root("base: &b {x: 1}\nother: *b\n");
        assert!(tree.get("other").unwrap().value.get("x").is_some());

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = (b'a' + i) as char;
            let next = (b'a' + i + 1) as char;
            let items = vec![format!("*{prev}"); 10].join(", ");
            writeln!(bomb, "{next}: &{next} [{items}]").unwrap();
        }
        let parsed = parse(&bomb);
        assert!(parsed.root.is_none());
        assert!(parsed.errors[0].message.contains("aliases expand"));
    }

    #[test]
    fn duplicates_are_found_in_large_mappings() {
        let mut text = String::new();
        for i in 0..100 {
            writeln!(text, "k{i}: {i}").unwrap();
        }
        text.push_str("k7: again\n");
        let parsed = parse(&text);
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("first defined on line 8"));
    }

    #[test]
    fn key_paths_quote_awkward_keys() {
        let mut path = String::from("workflows");
        push_key(&mut path, "release.smoke");
        push_key(&mut path, "steps");
        push_index(&mut path, 2);
        assert_eq!(path, "workflows[\"release.smoke\"].steps[2]");
    }
}
