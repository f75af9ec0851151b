//! JSON text kept as an upstream system sent it.
//!
//! A synced ticket keeps its whole Jira payload so fields qapms does not model stay readable
//! without a re-sync. Holding that payload as a parsed `serde_json::Value` tree costs an
//! allocation per string, number container and key, for every issue of every page, to keep data
//! that is mostly never read. [`RawJson`] holds the text instead: one allocation, copied straight
//! out of the response body, and [`RawJson::path`] reads a single value back by scanning the text
//! and parsing only what it returns.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Well-formed JSON text, stored and sent on as it is.
///
/// Equality compares the JSON values, not the text: PostgreSQL's `jsonb` reorders keys and drops
/// whitespace, and a ticket read back from it is still the ticket that was written.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// JSON `null`.
    pub fn null() -> Self {
        Self(RawValue::NULL.to_owned())
    }

    /// Checks that `text` is one JSON value and keeps it as it is.
    ///
    /// # Errors
    ///
    /// When `text` is not well-formed JSON.
    pub fn from_text(text: impl Into<String>) -> serde_json::Result<Self> {
        RawValue::from_string(text.into()).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// Parses the whole text into a tree.
    pub fn to_value(&self) -> Value {
        // The text was checked when this was made, so it always parses; `Null` is unreachable.
        serde_json::from_str(self.as_str()).unwrap_or(Value::Null)
    }

    /// The value at `path`, a list of object keys and (for arrays) decimal indexes, such as
    /// `["fields", "created"]`, or `None` when something on the way is missing.
    ///
    /// Only the returned value is parsed; everything else is skipped over as text.
    pub fn path(&self, path: &[&str]) -> Option<Value> {
        let mut here: &RawValue = &self.0;
        for step in path {
            let mut de = serde_json::Deserializer::from_str(here.get());
            here = Step(step).deserialize(&mut de).ok()??;
        }
        serde_json::from_str(here.get()).ok()
    }
}

impl Default for RawJson {
    fn default() -> Self {
        Self::null()
    }
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        // A `Value` always serialises (its map keys are strings), so the fallback is unreachable.
        serde_json::value::to_raw_value(value).map_or_else(|_| Self::null(), Self)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        Self::from(&value)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Finds one key of an object, or one index of an array, without parsing its siblings.
struct Step<'s>(&'s str);

impl<'de> DeserializeSeed<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        // Every entry is read to the end so a duplicate key resolves as serde_json does: the
        // last one wins.
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.0 {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Ok(want) = self.0.parse::<usize>() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(None);
        };
        let mut index = 0;
        let mut found = None;
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            if index == want {
                found = Some(item);
            }
            index += 1;
        }
        Ok(found)
    }

    // Scalars have no children.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn path_reads_one_value_and_skips_the_rest() {
        let raw = RawJson::from_text(
            r#"{"key":"PAY-1","fields":{"labels":["a","b"],"created":"2026-01-02","x\"y":1}}"#,
        )
        .unwrap();
        assert_eq!(raw.path(&["fields", "created"]), Some(json!("2026-01-02")));
        assert_eq!(raw.path(&["fields", "labels", "1"]), Some(json!("b")));
        assert_eq!(raw.path(&["fields", "x\"y"]), Some(json!(1)));
        assert_eq!(raw.path(&["fields", "labels", "2"]), None);
        assert_eq!(raw.path(&["fields", "labels", "one"]), None);
        assert_eq!(raw.path(&["key", "deeper"]), None);
        assert_eq!(raw.path(&["missing"]), None);
        assert_eq!(raw.path(&[]), Some(raw.to_value()));
    }

    /// Any JSON value, a few levels deep, with keys that need escaping now and then.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\/~é]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::btree_map("[a-c\"/~]{0,3}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every path to every value of `v`, as `path` takes them.
    fn paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(here.clone());
        let children: Vec<(String, &Value)> = match v {
            Value::Object(m) => m.iter().map(|(k, c)| (k.clone(), c)).collect(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, c)| (i.to_string(), c))
                .collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            here.push(step);
            paths(child, here, out);
            here.pop();
        }
    }

    proptest::proptest! {
        /// `path` finds what walking the parsed tree finds, at every path, and `None` one step
        /// past a leaf or at a key that is not there.
        #[test]
        fn path_agrees_with_the_parsed_tree(v in json_value(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let raw = RawJson::from_text(text).unwrap();
            let mut all = Vec::new();
            paths(&v, &mut Vec::new(), &mut all);
            for path in all {
                let steps: Vec<&str> = path.iter().map(String::as_str).collect();
                let mut want = Some(&v);
                for step in &steps {
                    want = want.and_then(|w| match w {
                        Value::Object(m) => m.get(*step),
                        Value::Array(a) => step.parse::<usize>().ok().and_then(|i| a.get(i)),
                        _ => None,
                    });
                }
                proptest::prop_assert_eq!(raw.path(&steps), want.cloned());
                let mut missing = steps.clone();
                missing.push("\u{0}absent");
                proptest::prop_assert_eq!(raw.path(&missing), None);
            }
        }

        /// Arbitrary text never panics: it is refused, or kept and readable.
        #[test]
        fn any_text_is_refused_or_kept(text in ".{0,40}") {
            if let Ok(raw) = RawJson::from_text(text.clone()) {
                proptest::prop_assert_eq!(raw.as_str(), text.as_str());
                let _ = raw.path(&["a", "0"]);
            }
        }
    }

    #[test]
    fn duplicate_keys_resolve_to_the_last_as_serde_json_does() {
        let raw = RawJson::from_text(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(raw.path(&["a"]), raw.to_value().get("a").cloned());
    }

    #[test]
    fn equality_is_by_value_not_by_text() {
        let a = RawJson::from_text(r#"{"a": 1, "b": [true]}"#).unwrap();
        let b = RawJson::from_text(r#"{"b":[true],"a":1}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, RawJson::null());
    }

    #[test]
    fn bad_text_is_refused_and_values_round_trip() {
        assert!(RawJson::from_text("{\"a\":").is_err());
        assert!(RawJson::from_text("1 2").is_err());
        let value = json!({"k": [1, null, "x"]});
        assert_eq!(RawJson::from(&value).to_value(), value);
        let text = serde_json::to_string(&RawJson::from(&value)).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }
}
