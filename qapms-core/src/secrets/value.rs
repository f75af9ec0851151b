//! [`SecretValue`]: a secret field of `qapms.yaml` as written, plain or `enc:v1:`.
//!
//! Config types hold secrets in this type, so the config can be loaded, validated, printed and
//! saved without a master key; only [`SecretValue::reveal`] needs one, at the moment a secret is
//! used. The raw string lives in a zeroizing box, and `Debug` never shows it, encrypted or not.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::envelope::{PREFIX_ANY, decrypt};
use super::master::MasterKey;
use crate::{Error, Result};

/// A secret as written in `qapms.yaml`: plain text, or an `enc:v1:` token from
/// [`encrypt`](super::encrypt).
#[derive(Clone)]
pub struct SecretValue {
    raw: SecretString,
}

impl SecretValue {
    /// Wraps the string exactly as written in the config.
    pub fn new(raw: impl Into<String>) -> Self {
        Self {
            raw: SecretString::from(raw.into()),
        }
    }

    /// Whether the value is encrypted (starts with `enc:`; `enc:v1:` is the format written).
    pub fn is_encrypted(&self) -> bool {
        self.raw.expose_secret().starts_with(PREFIX_ANY)
    }

    /// The usable secret. Plain text passes through; an encrypted value is decrypted with `key`,
    /// and without a key it is an error. `key_path` names the value in errors.
    pub fn reveal(&self, key: Option<&MasterKey>, key_path: &str) -> Result<SecretString> {
        let raw = self.raw.expose_secret();
        if !self.is_encrypted() {
            return Ok(SecretString::from(raw));
        }
        match key {
            Some(key) => decrypt(raw, key, key_path),
            None => Err(Error::secret(
                "value is encrypted but no master key is loaded; set QAPMS_MASTER_KEY, create a \
                 key file, or store the key in the OS keychain",
            )
            .with_context("key", key_path)),
        }
    }
}

impl PartialEq for SecretValue {
    fn eq(&self, other: &Self) -> bool {
        self.raw.expose_secret() == other.raw.expose_secret()
    }
}

impl Eq for SecretValue {}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Serialize for SecretValue {
    // Serialised as written, so saving a config keeps `enc:v1:` tokens (and plain values) as
    // they were; callers decide whether a plain secret may be written out.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.raw.expose_secret())
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl JsonSchema for SecretValue {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("SecretValue")
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A secret. Either plain text, or encrypted as `enc:v1:<base64>` \
                (write it with `qapms secrets encrypt KEYPATH`). The base64 holds key id \
                (8 bytes) || nonce (12 bytes) || AES-256-GCM ciphertext and tag, sealed with the \
                master key from QAPMS_MASTER_KEY, the passphrase-protected key file, or the OS \
                keychain."
        })
    }
}
