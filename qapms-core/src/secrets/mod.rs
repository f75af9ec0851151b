//! Secrets: the `enc:v1:` envelope and master-key sources.
//!
//! Stand-in written on the `wip/config` branch so configuration types compile before the real
//! secrets module lands: it holds only [`SecretValue`] with the agreed derives and impls. The
//! integrator replaces this file with the real module (which adds `reveal` and key sources).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A credential exactly as written in `qapms.yaml`: plaintext, or an `enc:v1:<base64>` envelope.
///
/// Its `Debug` never shows the value, so a config struct can be logged with `{:?}` safely.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a raw value from the configuration file.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// Whether the value is an `enc:v1:` envelope rather than plaintext.
    pub fn is_encrypted(&self) -> bool {
        self.0.starts_with("enc:v1:")
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Serialize for SecretValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl JsonSchema for SecretValue {
    fn schema_name() -> Cow<'static, str> {
        "SecretValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A credential: plaintext, `${ENV_VAR}`, or an `enc:v1:` envelope written by `qapms secrets encrypt`."
        })
    }
}
