//! The JSON Schema of `qapms.yaml`, and the compiled form the validator walks.
//!
//! [`json_schema`] is what editors get: schemars' schema of [`Config`] plus a `profiles` property
//! whose values are *overlays*, i.e. the same types with every `required` dropped (an overlay
//! may set a single key) and `oneOf` relaxed to `anyOf` (an overlay may omit a union's tag).
//!
//! The loader validates against that very schema, so editor and loader cannot disagree. It does
//! not interpret JSON Schema generically at run time: [`Compiled`] turns the subset schemars emits
//! (`type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`,
//! `oneOf`, `$ref`, numeric and length bounds, `format`) into an arena of [`Shape`]s once per
//! process. A `oneOf` whose branches all pin the same property with `const` (serde's internally
//! tagged enums, e.g. `auth.method`) becomes a [`Tagged`] shape, so a bad `method` is reported as
//! one unknown value with a suggestion rather than "matches none of four branches".

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value as Json, json};

use super::types::Config;

/// The JSON Schema (draft 2020-12) of `qapms.yaml`, for editors and external validators.
pub fn json_schema() -> Json {
    SCHEMA.clone()
}

static SCHEMA: LazyLock<Json> = LazyLock::new(build_schema);

pub(crate) static COMPILED: LazyLock<Compiled> = LazyLock::new(|| Compiled::new(&SCHEMA));

const OVERLAY_SUFFIX: &str = "Overlay";

fn build_schema() -> Json {
    let mut root = schemars::schema_for!(Config).to_value();
    let Some(obj) = root.as_object_mut() else {
        return root;
    };
    obj.insert("title".into(), json!("qapms.yaml"));
    obj.insert(
        "description".into(),
        json!("qapms configuration. Scalars may use ${ENV_VAR} and ${ENV_VAR:-default}; write $${ for a literal ${."),
    );
    // Overlay copies of every definition, then of the root's own properties.
    let mut overlay_defs = Map::new();
    if let Some(Json::Object(defs)) = obj.get("$defs") {
        for (name, def) in defs {
            overlay_defs.insert(format!("{name}{OVERLAY_SUFFIX}"), to_overlay(def));
        }
    }
    let root_overlay = json!({
        "type": "object",
        "description": "A profile: keys here are deep-merged over the rest of the file.",
        "properties": obj.get("properties").map_or_else(|| json!({}), to_overlay),
        "additionalProperties": false,
    });
    overlay_defs.insert(format!("Config{OVERLAY_SUFFIX}"), root_overlay);
    let defs = obj
        .entry("$defs")
        .or_insert_with(|| Json::Object(Map::new()));
    if let Json::Object(defs) = defs {
        defs.extend(overlay_defs);
    }
    if let Some(Json::Object(props)) = obj.get_mut("properties") {
        props.insert(
            "profiles".into(),
            json!({
                "type": "object",
                "description": "Named overlays (dev, staging, prod, ...) selected with --profile or QAPMS_PROFILE.",
                "additionalProperties": { "$ref": format!("#/$defs/Config{OVERLAY_SUFFIX}") },
            }),
        );
    }
    root
}

/// The overlay form of a schema: no `required`, `oneOf` relaxed to `anyOf`, refs to overlays.
fn to_overlay(schema: &Json) -> Json {
    match schema {
        Json::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                match k.as_str() {
                    "required" | "default" => {}
                    "oneOf" => {
                        out.insert("anyOf".into(), to_overlay(v));
                    }
                    "$ref" => {
                        let target = v
                            .as_str()
                            .map_or_else(String::new, |r| format!("{r}{OVERLAY_SUFFIX}"));
                        out.insert(k.clone(), Json::String(target));
                    }
                    // Property names and enum values are data, not schemas: copy them as they are
                    // except for the schemas inside `properties`.
                    "properties" => {
                        let props = v.as_object().map(|p| {
                            p.iter()
                                .map(|(name, s)| (name.clone(), to_overlay(s)))
                                .collect::<Map<_, _>>()
                        });
                        out.insert(k.clone(), props.map_or_else(|| v.clone(), Json::Object));
                    }
                    "enum" | "const" | "description" | "format" | "pattern" | "type" => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {
                        out.insert(k.clone(), to_overlay(v));
                    }
                }
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(items.iter().map(to_overlay).collect()),
        other => other.clone(),
    }
}

pub(crate) type ShapeId = usize;

/// JSON types a shape accepts, as bits; an empty set accepts anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Types(pub(crate) u8);

impl Types {
    pub(crate) const NULL: u8 = 1;
    pub(crate) const BOOL: u8 = 2;
    pub(crate) const INT: u8 = 4;
    pub(crate) const NUM: u8 = 8;
    pub(crate) const STR: u8 = 16;
    pub(crate) const ARR: u8 = 32;
    pub(crate) const OBJ: u8 = 64;

    pub(crate) fn any(self) -> bool {
        self.0 == 0
    }

    /// Whether a value of type `bit` is accepted; integers are numbers too.
    pub(crate) fn has(self, bit: u8) -> bool {
        self.any() || self.0 & bit != 0 || (bit == Self::INT && self.0 & Self::NUM != 0)
    }

    fn from_name(name: &str) -> u8 {
        match name {
            "null" => Self::NULL,
            "boolean" => Self::BOOL,
            "integer" => Self::INT,
            "number" => Self::NUM,
            "string" => Self::STR,
            "array" => Self::ARR,
            "object" => Self::OBJ,
            _ => 0,
        }
    }

    /// "a string or null", for messages.
    pub(crate) fn describe(self) -> String {
        let names: Vec<&str> = [
            (Self::OBJ, "a mapping"),
            (Self::ARR, "a list"),
            (Self::STR, "a string"),
            (Self::INT, "an integer"),
            (Self::NUM, "a number"),
            (Self::BOOL, "a boolean"),
            (Self::NULL, "null"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.0 & bit != 0)
        .map(|(_, name)| name)
        .collect();
        match names.as_slice() {
            [] => "any value".to_owned(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }
}

/// String and integer formats the validator checks itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    None,
    Url,
    Email,
    Duration,
    ProjectKey,
    /// An integer type's range, from schemars' `uint32` and friends.
    IntRange(i128, i128),
}

impl Format {
    fn from_name(name: &str) -> Self {
        match name {
            "uri" => Self::Url,
            "email" => Self::Email,
            "duration-human" => Self::Duration,
            "jira-project-key" => Self::ProjectKey,
            "uint8" => Self::IntRange(0, u8::MAX.into()),
            "uint16" => Self::IntRange(0, u16::MAX.into()),
            "uint32" => Self::IntRange(0, u32::MAX.into()),
            "uint64" | "uint" => Self::IntRange(0, u64::MAX.into()),
            "int8" => Self::IntRange(i8::MIN.into(), i8::MAX.into()),
            "int16" => Self::IntRange(i16::MIN.into(), i16::MAX.into()),
            "int32" => Self::IntRange(i32::MIN.into(), i32::MAX.into()),
            "int64" | "int" => Self::IntRange(i64::MIN.into(), i64::MAX.into()),
            _ => Self::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Additional {
    Any,
    Forbidden,
    Shape(ShapeId),
}

/// A union told apart by one property's constant value, e.g. `method: basic`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tagged {
    pub(crate) tag: String,
    pub(crate) variants: Vec<(String, ShapeId)>,
}

/// One compiled schema node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    pub(crate) types: Types,
    pub(crate) enum_values: Option<Vec<String>>,
    pub(crate) format: Format,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) min_length: Option<usize>,
    pub(crate) min_items: Option<usize>,
    /// Sorted by name for binary search.
    pub(crate) properties: Vec<(String, ShapeId)>,
    pub(crate) required: Vec<String>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<ShapeId>,
    pub(crate) any_of: Vec<ShapeId>,
    pub(crate) tagged: Option<Tagged>,
    pub(crate) reference: Option<ShapeId>,
}

impl Default for Shape {
    fn default() -> Self {
        Self {
            types: Types::default(),
            enum_values: None,
            format: Format::None,
            minimum: None,
            maximum: None,
            min_length: None,
            min_items: None,
            properties: Vec::new(),
            required: Vec::new(),
            additional: Additional::Any,
            items: None,
            any_of: Vec::new(),
            tagged: None,
            reference: None,
        }
    }
}

impl Shape {
    pub(crate) fn property(&self, name: &str) -> Option<ShapeId> {
        self.properties
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }
}

/// The schema as an arena of shapes; `root` is the file.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) shapes: Vec<Shape>,
    pub(crate) root: ShapeId,
}

impl Compiled {
    fn new(schema: &Json) -> Self {
        let mut c = Compiler {
            shapes: Vec::new(),
            defs: schema.get("$defs").and_then(Json::as_object),
            by_ref: HashMap::new(),
        };
        let root = c.compile(schema);
        Self {
            shapes: c.shapes,
            root,
        }
    }

    /// Follows `$ref`s to the shape that carries the constraints.
    pub(crate) fn resolve(&self, mut id: ShapeId) -> &Shape {
        // Bounded: a reference cycle without content cannot come out of schemars, but a bound
        // keeps a malformed schema from hanging the loader.
        for _ in 0..64 {
            match self.shapes[id].reference {
                Some(next) => id = next,
                None => break,
            }
        }
        &self.shapes[id]
    }

    /// The shape expected under `key` of a mapping of shape `id`, looking through references and
    /// `Option`-style `anyOf [T, null]`; for merging profiles.
    pub(crate) fn child(&self, id: ShapeId, key: &str) -> Option<ShapeId> {
        let shape = self.non_null(id);
        if let Some(t) = &shape.tagged {
            return t
                .variants
                .iter()
                .find_map(|(_, v)| self.resolve(*v).property(key));
        }
        match (shape.property(key), &shape.additional) {
            (Some(child), _) => Some(child),
            (None, Additional::Shape(child)) => Some(*child),
            _ => None,
        }
    }

    /// The tag property if `id` is (an optional) tagged union.
    pub(crate) fn tag_of(&self, id: ShapeId) -> Option<&str> {
        self.non_null(id).tagged.as_ref().map(|t| t.tag.as_str())
    }

    fn non_null(&self, id: ShapeId) -> &Shape {
        let shape = self.resolve(id);
        let non_null: Vec<&Shape> = shape
            .any_of
            .iter()
            .map(|b| self.resolve(*b))
            .filter(|b| b.types.0 != Types::NULL)
            .collect();
        match non_null.as_slice() {
            [only] => only,
            _ => shape,
        }
    }
}

struct Compiler<'s> {
    shapes: Vec<Shape>,
    defs: Option<&'s Map<String, Json>>,
    by_ref: HashMap<String, ShapeId>,
}

impl<'s> Compiler<'s> {
    fn alloc(&mut self, shape: Shape) -> ShapeId {
        self.shapes.push(shape);
        self.shapes.len() - 1
    }

    fn compile_ref(&mut self, reference: &str) -> ShapeId {
        if let Some(id) = self.by_ref.get(reference) {
            return *id;
        }
        // Reserve the id first so recursive types terminate.
        let id = self.alloc(Shape::default());
        self.by_ref.insert(reference.to_owned(), id);
        let target = reference
            .strip_prefix("#/$defs/")
            .and_then(|name| self.defs?.get(name));
        if let Some(target) = target {
            let inner = self.compile(target);
            self.shapes[id].reference = Some(inner);
        }
        id
    }

    fn compile(&mut self, schema: &'s Json) -> ShapeId {
        let Some(obj) = schema.as_object() else {
            // `true` (or anything unexpected) accepts any value.
            return self.alloc(Shape::default());
        };
        if let Some(reference) = obj.get("$ref").and_then(Json::as_str) {
            return self.compile_ref(reference);
        }
        let mut shape = Shape::default();
        match obj.get("type") {
            Some(Json::String(t)) => shape.types = Types(Types::from_name(t)),
            Some(Json::Array(ts)) => {
                shape.types = Types(
                    ts.iter()
                        .filter_map(Json::as_str)
                        .fold(0, |acc, t| acc | Types::from_name(t)),
                );
            }
            _ => {}
        }
        if let Some(values) = obj.get("enum").and_then(Json::as_array) {
            shape.enum_values = Some(
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            );
            // `enum: [..., null]` (an optional enum) accepts null.
            if values.iter().any(Json::is_null) {
                shape.types.0 |= Types::NULL;
            }
        }
        if let Some(c) = obj.get("const").and_then(Json::as_str) {
            shape.enum_values = Some(vec![c.to_owned()]);
        }
        if let Some(f) = obj.get("format").and_then(Json::as_str) {
            shape.format = Format::from_name(f);
        }
        shape.minimum = obj.get("minimum").and_then(Json::as_f64);
        shape.maximum = obj.get("maximum").and_then(Json::as_f64);
        shape.min_length = obj
            .get("minLength")
            .and_then(Json::as_u64)
            .map(|n| n as usize);
        shape.min_items = obj
            .get("minItems")
            .and_then(Json::as_u64)
            .map(|n| n as usize);
        if let Some(props) = obj.get("properties").and_then(Json::as_object) {
            let mut compiled: Vec<(String, ShapeId)> = props
                .iter()
                .map(|(name, s)| (name.clone(), self.compile(s)))
                .collect();
            compiled.sort_by(|a, b| a.0.cmp(&b.0));
            shape.properties = compiled;
        }
        if let Some(req) = obj.get("required").and_then(Json::as_array) {
            shape.required = req
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect();
        }
        shape.additional = match obj.get("additionalProperties") {
            Some(Json::Bool(false)) => Additional::Forbidden,
            Some(s @ Json::Object(_)) => Additional::Shape(self.compile(s)),
            _ => Additional::Any,
        };
        if let Some(items) = obj.get("items") {
            shape.items = Some(self.compile(items));
        }
        let branches = obj
            .get("oneOf")
            .or_else(|| obj.get("anyOf"))
            .and_then(Json::as_array);
        if let Some(branches) = branches {
            let ids: Vec<ShapeId> = branches.iter().map(|b| self.compile(b)).collect();
            // A unit enum with documented variants comes out as `oneOf` string constants; fold
            // it into one `enum` so a bad value gets one message with a suggestion.
            let consts: Option<Vec<String>> = ids
                .iter()
                .map(|&b| {
                    let b = &self.shapes[b];
                    match &b.enum_values {
                        Some(v) if v.len() == 1 && b.properties.is_empty() => Some(v[0].clone()),
                        _ => None,
                    }
                })
                .collect();
            if let Some(consts) = consts {
                shape.types = Types(Types::STR);
                shape.enum_values = Some(consts);
            } else {
                match self.tagged(&ids) {
                    Some(tagged) => shape.tagged = Some(tagged),
                    None => shape.any_of = ids,
                }
            }
        }
        self.alloc(shape)
    }

    /// Recognises serde's internally tagged enums: every branch an object pinning the same
    /// property to a different string constant.
    fn tagged(&self, branches: &[ShapeId]) -> Option<Tagged> {
        let mut tag: Option<&str> = None;
        let mut variants = Vec::with_capacity(branches.len());
        for &b in branches {
            let mut shape = &self.shapes[b];
            while let Some(next) = shape.reference {
                shape = &self.shapes[next];
            }
            let (name, value) = shape.properties.iter().find_map(|(name, p)| {
                let p = &self.shapes[*p];
                match &p.enum_values {
                    Some(values) if values.len() == 1 && p.types.has(Types::STR) => {
                        Some((name.as_str(), values[0].clone()))
                    }
                    _ => None,
                }
            })?;
            if *tag.get_or_insert(name) != name {
                return None;
            }
            variants.push((value, b));
        }
        Some(Tagged {
            tag: tag?.to_owned(),
            variants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_sections_profiles_and_overlays() {
        let schema = json_schema();
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
            assert!(props.contains_key(key), "missing {key}");
        }
        let defs = schema["$defs"].as_object().unwrap();
        assert!(defs.contains_key("JiraConfig"));
        assert!(defs.contains_key("JiraConfigOverlay"));
        assert!(defs["JiraConfig"]["required"].is_array());
        assert!(defs["JiraConfigOverlay"].get("required").is_none());
    }

    #[test]
    fn tagged_unions_are_recognised() {
        let c = &*COMPILED;
        let jira = c.child(c.root, "integrations").unwrap();
        let jira = c.child(jira, "jira").unwrap();
        let auth = c.child(jira, "auth").unwrap();
        assert_eq!(c.tag_of(auth), Some("method"));
        let t = c.resolve(auth).tagged.as_ref().unwrap();
        let names: Vec<&str> = t.variants.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["basic", "pat", "oauth_client_credentials", "oauth_pkce"]
        );
    }
}
