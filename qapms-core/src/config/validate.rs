//! Validation of the spanned tree against the compiled schema, in one pass that also types it.
//!
//! The walk visits every node once, never stops at an error, and returns the node as JSON typed
//! the way the schema wants (the plain scalar `5` becomes a number under an integer and the string
//! `"5"` under a string), which serde then turns into [`super::Config`]. Typing here, rather than
//! in a YAML deserializer, is what lets every problem carry a span and a key path, and lets the
//! loader report all of them.
//!
//! YAML 1.2 rules: only `true`/`false` are booleans and only `null`, `~` or nothing is null. The
//! YAML 1.1 words `yes`/`no`/`on`/`off` stay strings; where a boolean was expected they get an
//! error (the key accepts only a boolean) or a warning (the key also accepts a string).
//!
//! Messages quote a value only when the schema expects a non-string there (numbers, booleans,
//! enum values) and the value did not come from `${VAR}`: credentials are always strings, so a
//! credential is never quoted back.

use serde_json::{Map, Number, Value as Json};

use super::diagnostic::{Diagnostic, Severity};
use super::schema::{Additional, Compiled, Format, Shape, ShapeId, Tagged, Types};
use super::tree::{Node, Scalar, Span, Style, Value, push_index, push_key};
use super::types::{HumanDuration, ProjectKey};

/// What a scalar reads as under YAML 1.2's core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Lit {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

pub(crate) struct Validator<'s> {
    schema: &'s Compiled,
    file: &'s str,
    pub(crate) diags: Vec<Diagnostic>,
    /// Profile overlays: no required keys, and `${VAR}` scalars are not typed (they are only
    /// interpolated for the selected profile).
    partial: bool,
}

impl<'s> Validator<'s> {
    pub(crate) fn new(schema: &'s Compiled, file: &'s str, partial: bool) -> Self {
        Self {
            schema,
            file,
            diags: Vec::new(),
            partial,
        }
    }

    pub(crate) fn report(
        &mut self,
        severity: Severity,
        span: Span,
        path: &str,
        message: String,
        suggestion: Option<String>,
    ) {
        self.diags.push(diagnostic(
            self.file, severity, span, path, message, suggestion,
        ));
    }

    fn error(&mut self, span: Span, path: &str, message: String) {
        self.report(Severity::Error, span, path, message, None);
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// Validates `node` against shape `id` and returns it typed as JSON.
    /// `key_span` is the span of the key that holds `node`, where "missing key" errors point.
    pub(crate) fn check(
        &mut self,
        node: &Node<'_>,
        id: ShapeId,
        path: &mut String,
        key_span: Option<Span>,
    ) -> Json {
        let shape = self.schema.resolve(id);
        if let Value::Scalar(s) = &node.value
            && (s.unresolved || (self.partial && !s.interpolated && s.text.contains("${")))
        {
            // Already reported (unset variable), or only meaningful once interpolated.
            return Json::Null;
        }
        if let Some(tagged) = &shape.tagged {
            return self.check_tagged(node, tagged, path, key_span);
        }
        if !shape.any_of.is_empty() {
            return self.check_any_of(node, &shape.any_of, path, key_span);
        }
        match &node.value {
            Value::Map(_) if !shape.types.has(Types::OBJ) => {
                self.type_error(node, shape, path);
                Json::Null
            }
            Value::Map(_) => self.check_object(node, shape, path, key_span),
            Value::Seq(_) if !shape.types.has(Types::ARR) => {
                self.type_error(node, shape, path);
                Json::Null
            }
            Value::Seq(items) => {
                if let Some(min) = shape.min_items
                    && items.len() < min
                {
                    let what = if min == 1 {
                        "must not be empty".to_owned()
                    } else {
                        format!("needs at least {min} items")
                    };
                    self.error(node.span, path, what);
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    push_index(path, i);
                    out.push(match shape.items {
                        Some(item_shape) => self.check(item, item_shape, path, None),
                        None => untyped(item),
                    });
                    path.truncate(len);
                }
                Json::Array(out)
            }
            Value::Scalar(s) => self.check_scalar(s, node.span, shape, path),
        }
    }

    fn check_object(
        &mut self,
        node: &Node<'_>,
        shape: &Shape,
        path: &mut String,
        key_span: Option<Span>,
    ) -> Json {
        let Value::Map(entries) = &node.value else {
            return Json::Null;
        };
        let mut out = Map::new();
        for e in entries {
            let len = path.len();
            push_key(path, &e.key);
            let child = shape.property(&e.key).or(match shape.additional {
                Additional::Shape(id) => Some(id),
                _ => None,
            });
            match (child, &shape.additional) {
                (Some(id), _) => {
                    let v = self.check(&e.value, id, path, Some(e.key_span));
                    out.insert(e.key.to_string(), v);
                }
                (None, Additional::Any) => {
                    out.insert(e.key.to_string(), untyped(&e.value));
                }
                (None, _) => {
                    let names = shape.properties.iter().map(|(n, _)| n.as_str());
                    self.unknown_key(e.key_span, path, &e.key, names);
                }
            }
            path.truncate(len);
        }
        if !self.partial {
            for req in &shape.required {
                if !entries.iter().any(|e| e.key == *req) {
                    let len = path.len();
                    push_key(path, req);
                    self.error(
                        key_span.unwrap_or(node.span),
                        path,
                        format!("missing required key `{req}`"),
                    );
                    path.truncate(len);
                }
            }
        }
        Json::Object(out)
    }

    fn unknown_key<'n>(
        &mut self,
        span: Span,
        path: &str,
        key: &str,
        names: impl Iterator<Item = &'n str> + Clone,
    ) {
        let suggestion = closest(key, names.clone());
        let mut message = format!("unknown key `{key}`");
        if suggestion.is_none() {
            let all: Vec<&str> = names.collect();
            if !all.is_empty() && all.len() <= 16 {
                message.push_str("; expected one of: ");
                message.push_str(&all.join(", "));
            }
        }
        self.report(Severity::Error, span, path, message, suggestion);
    }

    fn check_tagged(
        &mut self,
        node: &Node<'_>,
        tagged: &Tagged,
        path: &mut String,
        key_span: Option<Span>,
    ) -> Json {
        let Value::Map(entries) = &node.value else {
            let found = describe_node(node);
            self.error(
                node.span,
                path,
                format!("expected a mapping with `{}`, found {found}", tagged.tag),
            );
            return Json::Null;
        };
        let names = || tagged.variants.iter().map(|(n, _)| n.as_str());
        let tag_entry = entries.iter().find(|e| e.key == tagged.tag);
        let len = path.len();
        push_key(path, &tagged.tag);
        match tag_entry.map(|e| (&e.value, &e.value.value)) {
            Some((tag_node, Value::Scalar(s))) => {
                if let Some((_, variant)) = tagged.variants.iter().find(|(n, _)| *n == *s.text) {
                    path.truncate(len);
                    return self.check(node, *variant, path, key_span);
                }
                let shown = if s.interpolated {
                    String::new()
                } else {
                    format!(" `{}`", s.text)
                };
                let message = format!(
                    "unknown {}{shown}; expected one of: {}",
                    tagged.tag,
                    names().collect::<Vec<_>>().join(", ")
                );
                let suggestion = closest(&s.text, names());
                self.report(Severity::Error, tag_node.span, path, message, suggestion);
            }
            Some((tag_node, _)) => {
                let found = describe_node(tag_node);
                self.error(
                    tag_node.span,
                    path,
                    format!("expected a string, found {found}"),
                );
            }
            None if self.partial => {}
            None => {
                let message = format!(
                    "missing required key `{}` (one of: {})",
                    tagged.tag,
                    names().collect::<Vec<_>>().join(", ")
                );
                self.error(key_span.unwrap_or(node.span), path, message);
            }
        }
        path.truncate(len);
        // Without a known variant, still check every key against the union of the variants.
        for e in entries {
            if e.key == tagged.tag {
                continue;
            }
            let len = path.len();
            push_key(path, &e.key);
            let found = tagged
                .variants
                .iter()
                .find_map(|(_, v)| self.schema.resolve(*v).property(&e.key));
            match found {
                Some(id) => {
                    self.check(&e.value, id, path, Some(e.key_span));
                }
                None => {
                    let all: Vec<&str> = tagged
                        .variants
                        .iter()
                        .flat_map(|(_, v)| self.schema.resolve(*v).properties.iter())
                        .map(|(n, _)| n.as_str())
                        .collect();
                    self.unknown_key(e.key_span, path, &e.key, all.into_iter());
                }
            }
            path.truncate(len);
        }
        Json::Null
    }

    fn check_any_of(
        &mut self,
        node: &Node<'_>,
        branches: &[ShapeId],
        path: &mut String,
        key_span: Option<Span>,
    ) -> Json {
        let schema = self.schema;
        let plain = plain_scalar(node);
        if let Some(s) = plain
            && !s.interpolated
            && classify(&s.text) == Lit::Null
            && branches
                .iter()
                .any(|b| schema.resolve(*b).types.0 & Types::NULL != 0)
        {
            return Json::Null;
        }
        let viable: Vec<ShapeId> = branches
            .iter()
            .copied()
            .filter(|b| schema.resolve(*b).types.0 != Types::NULL)
            .collect();
        if let [only] = viable.as_slice() {
            return self.check(node, *only, path, key_span);
        }
        if let Some(s) = plain
            && let Some(meant) = yaml11_bool(&s.text)
            && viable
                .iter()
                .any(|b| schema.resolve(*b).types.has(Types::BOOL))
        {
            let shown = shown_value(s);
            self.report(
                Severity::Warning,
                node.span,
                path,
                format!(
                    "{shown} is a string in YAML 1.2, not a boolean, and this key also accepts text, so it is read as text; write `{meant}` if a boolean was meant"
                ),
                Some(meant.to_string()),
            );
        }
        // Try the branches in order; the first that takes the value without errors wins.
        for &b in &viable {
            let mark = self.diags.len();
            let errors_before = self.error_count();
            let v = self.check(node, b, path, key_span);
            if self.error_count() == errors_before {
                return v;
            }
            self.diags.truncate(mark);
        }
        // None fits: explain against the branch that expects this kind of node, if any.
        let kind = node_kind(node);
        match viable
            .iter()
            .find(|b| kind != 0 && schema.resolve(**b).types.0 & kind != 0)
        {
            Some(&b) => self.check(node, b, path, key_span),
            None => {
                let types = viable
                    .iter()
                    .fold(0, |acc, b| acc | schema.resolve(*b).types.0);
                let found = describe_node(node);
                self.error(
                    node.span,
                    path,
                    format!("expected {}, found {found}", Types(types).describe()),
                );
                Json::Null
            }
        }
    }

    fn check_scalar(&mut self, s: &Scalar<'_>, span: Span, shape: &Shape, path: &str) -> Json {
        let lit = scalar_lit(s);
        let t = shape.types;
        match lit {
            Lit::Null if t.has(Types::NULL) => return Json::Null,
            Lit::Bool(b) if t.has(Types::BOOL) => return Json::Bool(b),
            Lit::Int(i) if t.has(Types::INT) => {
                return self.check_number(i as f64, Some(i), span, shape, path);
            }
            Lit::Int(i) if t.has(Types::NUM) => {
                return self.check_number(i as f64, None, span, shape, path);
            }
            Lit::Float(f) if t.has(Types::NUM) => {
                return self.check_number(f, None, span, shape, path);
            }
            _ => {}
        }
        let bool_word = if s.style == Style::Plain || s.interpolated {
            yaml11_bool(&s.text)
        } else {
            None
        };
        if t.has(Types::STR) {
            if let Some(meant) = bool_word
                && t.0 & Types::BOOL != 0
            {
                self.report(
                    Severity::Warning,
                    span,
                    path,
                    format!(
                        "{} is a string in YAML 1.2, not a boolean, and this key also accepts text, so it is read as text; write `{meant}` if a boolean was meant",
                        shown_value(s)
                    ),
                    Some(meant.to_string()),
                );
            }
            return self.check_string(s, span, shape, path);
        }
        if let Some(meant) = bool_word
            && t.has(Types::BOOL)
        {
            self.report(
                Severity::Error,
                span,
                path,
                format!(
                    "expected a boolean, found {}: YAML 1.2 reads yes/no/on/off as strings and this key accepts only a boolean; write `{meant}`",
                    shown_value(s)
                ),
                Some(meant.to_string()),
            );
            return Json::Null;
        }
        let found = match lit {
            Lit::Null => "nothing (null)".to_owned(),
            Lit::Bool(_) => "a boolean".to_owned(),
            Lit::Int(_) => "an integer".to_owned(),
            Lit::Float(_) => "a number".to_owned(),
            Lit::Str if s.interpolated => "a string (from an environment variable)".to_owned(),
            Lit::Str => {
                let quoted_fit = s.style == Style::Quoted
                    && match classify(&s.text) {
                        Lit::Bool(_) => t.has(Types::BOOL),
                        Lit::Int(_) => t.has(Types::INT),
                        Lit::Float(_) => t.has(Types::NUM),
                        _ => false,
                    };
                if quoted_fit {
                    format!("the quoted string `{}`; remove the quotes", s.text)
                } else {
                    format!("the string {}", shown_value(s))
                }
            }
        };
        self.error(
            span,
            path,
            format!("expected {}, found {found}", t.describe()),
        );
        Json::Null
    }

    fn check_number(
        &mut self,
        value: f64,
        int: Option<i128>,
        span: Span,
        shape: &Shape,
        path: &str,
    ) -> Json {
        if !value.is_finite() {
            self.error(span, path, "expected a finite number".to_owned());
            return Json::Null;
        }
        if let (Some(i), Format::IntRange(lo, hi)) = (int, shape.format)
            && (i < lo || i > hi)
        {
            self.error(span, path, format!("{i} is out of range ({lo} to {hi})"));
            return Json::Null;
        }
        if let Some(min) = shape.minimum
            && value < min
        {
            self.error(span, path, format!("must be at least {min}"));
        }
        if let Some(max) = shape.maximum
            && value > max
        {
            self.error(span, path, format!("must be at most {max}"));
        }
        let number = match int {
            Some(i) => i64::try_from(i)
                .map(Number::from)
                .ok()
                .or_else(|| u64::try_from(i).ok().map(Number::from)),
            None => Number::from_f64(value),
        };
        number.map_or(Json::Null, Json::Number)
    }

    fn check_string(&mut self, s: &Scalar<'_>, span: Span, shape: &Shape, path: &str) -> Json {
        let text: &str = &s.text;
        if let Some(values) = &shape.enum_values
            && !values.iter().any(|v| v == text)
        {
            let message = format!(
                "unknown value {}; expected one of: {}",
                shown_value(s),
                values.join(", ")
            );
            let suggestion = closest(text, values.iter().map(String::as_str));
            self.report(Severity::Error, span, path, message, suggestion);
            return Json::Null;
        }
        if let Some(min) = shape.min_length
            && text.chars().count() < min
        {
            self.error(span, path, "must not be empty".to_owned());
        }
        match shape.format {
            Format::Url if !is_http_url(text) => self.error(
                span,
                path,
                "expected an http:// or https:// URL with a host".to_owned(),
            ),
            Format::Email if !is_email(text) => {
                self.error(span, path, "expected an email address".to_owned());
            }
            Format::Duration => {
                if let Err(why) = HumanDuration::parse(text) {
                    self.error(
                        span,
                        path,
                        format!(
                            "invalid duration {}: {why} (e.g. `30m`, `1h30m`, `45s`)",
                            shown_value(s)
                        ),
                    );
                }
            }
            Format::ProjectKey if !ProjectKey::is_valid(text) => {
                let upper = text.to_ascii_uppercase();
                let suggestion = ProjectKey::is_valid(&upper).then_some(upper);
                self.report(
                    Severity::Error,
                    span,
                    path,
                    format!(
                        "{} is not a Jira project key (an upper-case letter, then upper-case letters, digits or `_`)",
                        shown_value(s)
                    ),
                    suggestion,
                );
            }
            _ => {}
        }
        Json::String(text.to_owned())
    }

    fn type_error(&mut self, node: &Node<'_>, shape: &Shape, path: &str) {
        let found = describe_node(node);
        self.error(
            node.span,
            path,
            format!("expected {}, found {found}", shape.types.describe()),
        );
    }
}

pub(crate) fn diagnostic(
    file: &str,
    severity: Severity,
    span: Span,
    path: &str,
    message: String,
    suggestion: Option<String>,
) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.to_owned(),
        line: span.start.line,
        column: span.start.column,
        end_line: span.end.line,
        end_column: span.end.column,
        key_path: path.to_owned(),
        message,
        suggestion,
    }
}

/// The closest candidate to `word`, if any is close enough to be a likely typo: within a small
/// edit distance (transpositions count once, which catches `pta` for `pat`), or similar by
/// Jaro-Winkler (which catches truncations such as `base_ur`).
pub(crate) fn closest<'n>(word: &str, candidates: impl Iterator<Item = &'n str>) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let max_edits = if lower.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .filter_map(|c| {
            let edits = strsim::damerau_levenshtein(&lower, c);
            let similarity = strsim::jaro_winkler(&lower, c);
            (edits <= max_edits || similarity >= 0.8).then_some((edits, similarity, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c.to_owned())
}

fn plain_scalar<'n, 'a>(node: &'n Node<'a>) -> Option<&'n Scalar<'a>> {
    match &node.value {
        Value::Scalar(s) if s.style == Style::Plain || s.interpolated => Some(s),
        _ => None,
    }
}

fn scalar_lit(s: &Scalar<'_>) -> Lit {
    match (s.style, s.interpolated) {
        // An interpolated empty value is an empty string, not null.
        (_, true) => match classify(&s.text) {
            Lit::Null => Lit::Str,
            lit => lit,
        },
        (Style::Plain, false) => classify(&s.text),
        (Style::Quoted, false) => Lit::Str,
    }
}

/// A value to quote in a message, or a neutral phrase when it may be a secret.
fn shown_value(s: &Scalar<'_>) -> String {
    if s.interpolated {
        "the value from the environment".to_owned()
    } else if s.text.chars().count() > 60 {
        "the value".to_owned()
    } else {
        format!("`{}`", s.text)
    }
}

fn node_kind(node: &Node<'_>) -> u8 {
    match &node.value {
        Value::Map(_) => Types::OBJ,
        Value::Seq(_) => Types::ARR,
        Value::Scalar(s) => match scalar_lit(s) {
            Lit::Null => Types::NULL,
            Lit::Bool(_) => Types::BOOL,
            Lit::Int(_) => Types::INT | Types::NUM,
            Lit::Float(_) => Types::NUM,
            Lit::Str => Types::STR,
        },
    }
}

fn describe_node(node: &Node<'_>) -> &'static str {
    match &node.value {
        Value::Map(_) => "a mapping",
        Value::Seq(_) => "a list",
        Value::Scalar(s) => match scalar_lit(s) {
            Lit::Null => "nothing (null)",
            Lit::Bool(_) => "a boolean",
            Lit::Int(_) => "an integer",
            Lit::Float(_) => "a number",
            Lit::Str => "a string",
        },
    }
}

/// JSON for a subtree the schema does not constrain, typed by YAML 1.2's core schema.
fn untyped(node: &Node<'_>) -> Json {
    match &node.value {
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), untyped(&e.value)))
                .collect(),
        ),
        Value::Seq(items) => Json::Array(items.iter().map(untyped).collect()),
        Value::Scalar(s) => match scalar_lit(s) {
            Lit::Null => Json::Null,
            Lit::Bool(b) => Json::Bool(b),
            Lit::Int(i) => i64::try_from(i).map_or_else(
                |_| Json::String(s.text.to_string()),
                |i| Json::Number(i.into()),
            ),
            Lit::Float(f) => {
                Number::from_f64(f).map_or_else(|| Json::String(s.text.to_string()), Json::Number)
            }
            Lit::Str => Json::String(s.text.to_string()),
        },
    }
}

/// YAML 1.1 boolean words, which YAML 1.2 reads as strings, and the boolean they meant.
fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Resolves a plain scalar with YAML 1.2's core schema.
fn classify(text: &str) -> Lit {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Lit::Null,
        "true" | "True" | "TRUE" => return Lit::Bool(true),
        "false" | "False" | "FALSE" => return Lit::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Lit::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Lit::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Lit::Float(f64::NAN),
        _ => {}
    }
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'0'..=b'9' | b'-' | b'+' | b'.')) {
        return Lit::Str;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16).map_or(Lit::Str, Lit::Int);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i128::from_str_radix(oct, 8).map_or(Lit::Str, Lit::Int);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for i128 still reads as a number, so the range check can say so.
        return text
            .parse::<i128>()
            .map_or(Lit::Float(f64::INFINITY), Lit::Int);
    }
    if is_yaml_float(digits) {
        return text.parse::<f64>().map_or(Lit::Str, Lit::Float);
    }
    Lit::Str
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the unsigned part of a core-schema float.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    !host.is_empty() && !host.starts_with(':') && !text.contains(char::is_whitespace)
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_resolution() {
        assert_eq!(classify("~"), Lit::Null);
        assert_eq!(classify("True"), Lit::Bool(true));
        assert_eq!(classify("yes"), Lit::Str);
        assert_eq!(classify("on"), Lit::Str);
        assert_eq!(classify("0x1F"), Lit::Int(31));
        assert_eq!(classify("0o17"), Lit::Int(15));
        assert_eq!(classify("-12"), Lit::Int(-12));
        assert_eq!(classify("1.5e3"), Lit::Float(1500.0));
        assert_eq!(classify(".5"), Lit::Float(0.5));
        assert_eq!(classify("1_000"), Lit::Str);
        assert_eq!(classify("1.2.3"), Lit::Str);
        assert_eq!(classify("30m"), Lit::Str);
        assert_eq!(classify("-"), Lit::Str);
        assert_eq!(classify("."), Lit::Str);
    }

    #[test]
    fn urls_and_emails() {
        assert!(is_http_url("https://acme.atlassian.net"));
        assert!(is_http_url("http://localhost:8089/x"));
        assert!(!is_http_url("acme.atlassian.net"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("ftp://x"));
        assert!(is_email("qa@acme.io"));
        assert!(!is_email("qa.acme.io"));
        assert!(!is_email("qa@"));
    }

    #[test]
    fn suggestions_pick_close_words_only() {
        let keys = ["base_url", "deployment", "auth", "projects"];
        assert_eq!(
            closest("base_ur", keys.iter().copied()),
            Some("base_url".into())
        );
        assert_eq!(
            closest("deploymnet", keys.iter().copied()),
            Some("deployment".into())
        );
        assert_eq!(closest("zzz", keys.iter().copied()), None);
        assert_eq!(
            closest("pta", ["basic", "pat"].into_iter()),
            Some("pat".into())
        );
    }
}
