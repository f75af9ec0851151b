//! The master key: 32 random bytes, boxed so moves do not leave copies, wiped on drop.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use rand::rngs::OsRng;
use rand::{RngCore as _, TryRngCore as _};
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Length of a master key in bytes (AES-256).
pub(crate) const KEY_LEN: usize = 32;
/// Length of the key id carried in every envelope.
pub(crate) const KEY_ID_LEN: usize = 8;

/// The AES-256 key that encrypts `enc:v1:` values. Zeroized on drop; `Debug` shows only its id.
pub struct MasterKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

impl MasterKey {
    /// A fresh key from the operating system's random number generator.
    ///
    /// # Panics
    /// If the OS random number generator fails, which modern systems do not let happen; there is
    /// no safe key to return instead. [`init_key_file`](super::init_key_file) reports that case
    /// as an error.
    pub fn generate() -> Self {
        // Filled in place, so the key never sits in a temporary outside the zeroized box.
        Self {
            bytes: SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| {
                OsRng.unwrap_err().fill_bytes(b);
            }),
        }
    }

    /// Like [`MasterKey::generate`], but reports a failing random number generator as an error.
    pub(crate) fn try_generate() -> Result<Self> {
        let mut bytes = SecretBox::<[u8; KEY_LEN]>::default();
        OsRng
            .try_fill_bytes(bytes.expose_secret_mut())
            .map_err(|e| Error::secret("the OS random number generator failed").with_source(e))?;
        Ok(Self { bytes })
    }

    /// Reads a key written as base64 (standard or URL-safe, padded or not) or as 64 hex digits.
    /// Surrounding whitespace is ignored. Errors never echo the input.
    pub fn from_encoded(s: &str) -> Result<Self> {
        let s = s.trim();
        let decoded = if s.len() == 2 * KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            // 64 hex digits would also be valid base64, but of 48 bytes, so hex is the only
            // reading that yields a 32-byte key.
            decode_hex(s)
        } else {
            decode_base64_any(s)
        }
        .ok_or_else(|| {
            Error::secret(
                "the master key is neither base64 nor hex; expected 32 random bytes, e.g. the \
                 output of `openssl rand -base64 32`",
            )
        })?;
        Self::from_bytes(&decoded).ok_or_else(|| {
            Error::secret(format!(
                "the master key must be exactly {KEY_LEN} bytes, but it decodes to {} bytes",
                decoded.len()
            ))
        })
    }

    /// The key as standard padded base64, the form `QAPMS_MASTER_KEY` and the keychain take.
    pub fn to_encoded(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes.expose_secret()))
    }

    /// A short, stable identifier of this key: 16 hex digits, derived by a one-way hash, so it
    /// can be logged and shown in errors.
    pub fn key_id(&self) -> String {
        key_id_hex(&self.key_id_bytes())
    }

    pub(crate) fn key_id_bytes(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::new()
            .chain_update(b"qapms:key-id:v1")
            .chain_update(self.bytes.expose_secret())
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self {
            bytes: SecretBox::init_with_mut(|b: &mut [u8; KEY_LEN]| b.copy_from_slice(array)),
        })
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("key_id", &self.key_id())
            .field("key", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// Renders a key id from its bytes (for error messages about an envelope's key).
pub(crate) fn key_id_hex(id: &[u8]) -> String {
    id.iter()
        .fold(String::with_capacity(2 * id.len()), |mut s, b| {
            s.push(hex_digit(b >> 4));
            s.push(hex_digit(b & 0x0f));
            s
        })
}

fn hex_digit(n: u8) -> char {
    char::from_digit(u32::from(n), 16).unwrap_or('0')
}

fn decode_hex(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    let bytes = s.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len() / 2));
    for pair in bytes.chunks(2) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        out.push(((hi << 4) | lo) as u8);
    }
    Some(out)
}

fn decode_base64_any(s: &str) -> Option<Zeroizing<Vec<u8>>> {
    // People paste keys from many tools; accept the four common base64 spellings.
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(s).ok())
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_round_trip_and_stable_id() {
        let key = MasterKey::generate();
        let again = MasterKey::from_encoded(key.to_encoded().expose_secret()).unwrap();
        assert_eq!(key.as_bytes(), again.as_bytes());
        assert_eq!(key.key_id(), again.key_id());
        assert_eq!(key.key_id().len(), 16);
        assert_ne!(key.key_id(), MasterKey::generate().key_id());
    }

    #[test]
    fn hex_is_accepted() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let key = MasterKey::from_encoded(hex).unwrap();
        assert_eq!(key.as_bytes()[1], 0x11);
        assert_eq!(key.as_bytes()[31], 0xff);
    }

    #[test]
    fn wrong_length_is_reported_without_the_input() {
        let err = MasterKey::from_encoded("c2hvcnQ=").unwrap_err();
        assert!(err.message().contains("5 bytes"), "{err}");
        assert!(!err.to_string().contains("c2hvcnQ"));
    }
}
