//! `${VAR}` interpolation in scalar values, from the injected [`Env`].
//!
//! Syntax: `${NAME}` (an error when unset), `${NAME:-default}` (the default when unset or empty,
//! as in POSIX shells) and `$${` for a literal `${`. A `$` followed by anything else is literal,
//! so SPL such as `$token$` needs no escaping. Only values are interpolated, never keys, and only
//! in the effective configuration (base plus the selected profile): a variable used only by the
//! `prod` profile need not exist on a developer's machine.
//!
//! Errors point at the `${` inside the scalar when the source text allows (plain and single-line
//! quoted scalars), else at the scalar. They name the variable, never its value.

use std::borrow::Cow;

use super::Env;
use super::tree::{Node, Pos, Span, Value, push_index, push_key};

/// One interpolation problem, positioned in the file.
pub(crate) struct InterpError {
    pub(crate) span: Span,
    pub(crate) key_path: String,
    pub(crate) message: String,
}

/// Interpolates every scalar value under `node` in place.
pub(crate) fn interpolate_tree(
    node: &mut Node<'_>,
    env: &Env,
    source: &str,
    path: &mut String,
    errors: &mut Vec<InterpError>,
) {
    let span = node.span;
    match &mut node.value {
        Value::Map(entries) => {
            for e in entries {
                let len = path.len();
                push_key(path, &e.key);
                interpolate_tree(&mut e.value, env, source, path, errors);
                path.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                push_index(path, i);
                interpolate_tree(item, env, source, path, errors);
                path.truncate(len);
            }
        }
        Value::Scalar(s) => {
            // Fast path: most scalars have no `$` at all.
            if !s.text.contains('$') {
                return;
            }
            match expand(&s.text, env) {
                Ok(None) => {}
                Ok(Some(text)) => {
                    s.text = Cow::Owned(text);
                    s.interpolated = true;
                }
                Err((offset, message)) => {
                    s.unresolved = true;
                    let at = locate(source, span, &s.text, offset);
                    errors.push(InterpError {
                        span: at,
                        key_path: path.clone(),
                        message,
                    });
                }
            }
        }
    }
}

/// Expands `text`; `Ok(None)` when it holds no `${`. The error carries the byte offset of the
/// offending `${` in `text`.
pub(crate) fn expand(text: &str, env: &Env) -> Result<Option<String>, (usize, String)> {
    if !text.contains("${") {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            offset += i + 3;
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            offset += i + 1;
            rest = &after[1..];
            continue;
        };
        let at = offset + i;
        let Some(close) = body_start.find('}') else {
            return Err((
                at,
                "unterminated `${`: close it with `}`, or write `$${` for a literal `${`".into(),
            ));
        };
        let body = &body_start[..close];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_var_name(name) {
            return Err((
                at,
                "invalid variable name in `${...}`: use letters, digits and `_`, not starting with a digit".into(),
            ));
        }
        match (env.get_non_empty(name), default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => match env.get(name) {
                // Set but empty, and no default: empty is what was asked for.
                Some(_) => {}
                None => {
                    return Err((
                        at,
                        format!(
                            "environment variable `{name}` is not set (set it, or write `${{{name}:-default}}`)"
                        ),
                    ));
                }
            },
        }
        let consumed = i + 2 + close + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The span of the `${` at `offset` in the scalar's text, found in the source when the scalar
/// was written on one line, else the scalar's own span.
fn locate(source: &str, span: Span, text: &str, offset: usize) -> Span {
    let (Some(start), Some(end)) = (span.start.byte, span.end.byte) else {
        return span;
    };
    if span.start.line != span.end.line {
        return span;
    }
    let Some(raw) = source.get(start..end) else {
        return span;
    };
    // The reference as written: `${NAME...}` up to its `}` (or the end of the scalar).
    let Some(tail) = text.get(offset..) else {
        return span;
    };
    let reference = tail.find('}').map_or(tail, |close| &tail[..=close]);
    let Some(found) = raw.find(reference) else {
        return span;
    };
    let col_of = |byte: usize| span.start.column + source[start..byte].chars().count();
    let from = start + found;
    let to = from + reference.len();
    Span {
        start: Pos {
            line: span.start.line,
            column: col_of(from),
            byte: Some(from),
        },
        end: Pos {
            line: span.start.line,
            column: col_of(to),
            byte: Some(to),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_pairs([("HOST", "jira.acme.io"), ("EMPTY", "")])
    }

    #[test]
    fn expands_defaults_and_escapes() {
        let e = env();
        assert_eq!(expand("plain", &e), Ok(None));
        assert_eq!(
            expand("https://${HOST}/x", &e),
            Ok(Some("https://jira.acme.io/x".into()))
        );
        assert_eq!(
            expand("${MISSING:-fallback}", &e),
            Ok(Some("fallback".into()))
        );
        assert_eq!(expand("${EMPTY:-d}", &e), Ok(Some("d".into())));
        assert_eq!(expand("[${EMPTY}]", &e), Ok(Some("[]".into())));
        assert_eq!(expand("$${HOST}", &e), Ok(Some("${HOST}".into())));
        assert_eq!(
            expand("cost $5 ${HOST}", &e),
            Ok(Some("cost $5 jira.acme.io".into()))
        );
        assert_eq!(
            expand("$token$ ${HOST}", &e),
            Ok(Some("$token$ jira.acme.io".into()))
        );
    }

    #[test]
    fn errors_name_the_variable_and_offset() {
        let e = env();
        let (at, msg) = expand("x ${NOPE}", &e).unwrap_err();
        assert_eq!(at, 2);
        assert!(msg.contains("`NOPE`"));
        assert!(expand("${HOST", &e).unwrap_err().1.contains("unterminated"));
        assert!(
            expand("${1X}", &e)
                .unwrap_err()
                .1
                .contains("invalid variable name")
        );
    }
}
