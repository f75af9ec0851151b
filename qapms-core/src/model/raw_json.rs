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
