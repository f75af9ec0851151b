//! The `enc:v1:` envelope: AES-256-GCM with the key id and format version as associated data.
//!
//! Layout and rationale are in the [module note](super). Checks run cheapest and most
//! explanatory first (prefix, base64, length, key id) so the error says what is wrong; the GCM
//! tag is the final word on integrity.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::master::{KEY_ID_LEN, MasterKey, key_id_hex};
use crate::{Error, Result};

/// Every encrypted value starts with this.
pub(crate) const PREFIX_V1: &str = "enc:v1:";
/// Any value starting with this is treated as encrypted (reserved for future versions).
pub(crate) const PREFIX_ANY: &str = "enc:";
/// Authenticated with every v1 value, followed by the key id.
const AAD_PREFIX_V1: &[u8] = b"qapms:enc:v1:";
pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
const HEADER_LEN: usize = KEY_ID_LEN + NONCE_LEN;

type Nonce = aes_gcm::aead::Nonce<Aes256Gcm>;

/// Encrypts `plaintext` under `key` into an `enc:v1:<base64>` token for `qapms.yaml`.
///
/// The nonce is 96 fresh random bits, so encrypting the same text twice gives different tokens.
///
/// # Panics
/// If the OS random number generator fails, or the plaintext exceeds AES-GCM's limit of
/// 64 GiB; neither can happen with a config value on a working system.
pub fn encrypt(plaintext: &str, key: &MasterKey) -> String {
    let key_id = key.key_id_bytes();
    let nonce = Nonce::generate();
    let cipher = cipher(key);
    let aad = aad(&key_id);
    let sealed = cipher.encrypt(
        &nonce,
        Payload {
            msg: plaintext.as_bytes(),
            aad: &aad,
        },
    );
    let Ok(sealed) = sealed else {
        // aes-gcm fails only past 2^36 - 32 bytes of plaintext.
        panic!("plaintext too long for AES-GCM");
    };
    let mut envelope = Vec::with_capacity(HEADER_LEN + sealed.len());
    envelope.extend_from_slice(&key_id);
    envelope.extend_from_slice(&nonce);
    envelope.extend_from_slice(&sealed);
    format!("{PREFIX_V1}{}", STANDARD.encode(envelope))
}

/// Decrypts an `enc:v1:` token. `key_path` (e.g. `integrations.jira.auth.api_token`) is only
/// used to say which value failed.
pub fn decrypt(value: &str, key: &MasterKey, key_path: &str) -> Result<SecretString> {
    open(value, key, true).map_err(|reason| reason.into_error(key, key_path))
}

/// Why a value did not open; turned into a message by [`Failure::into_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    NotEncrypted,
    UnsupportedVersion,
    BadBase64,
    Truncated,
    OtherKey(String),
    Rejected,
    NotUtf8,
}

impl Failure {
    fn into_error(self, key: &MasterKey, key_path: &str) -> Error {
        let message = match self {
            Self::NotEncrypted => {
                "value is not encrypted (it does not start with `enc:v1:`)".to_owned()
            }
            Self::UnsupportedVersion => {
                "value uses an encryption format this version of qapms does not know; it reads \
                 `enc:v1:` only"
                    .to_owned()
            }
            Self::BadBase64 => {
                "encrypted value is not valid base64; it was probably cut short or edited"
                    .to_owned()
            }
            Self::Truncated => "encrypted value is truncated".to_owned(),
            Self::OtherKey(id) => format!(
                "value was encrypted with another master key (key id {id}); the loaded key has id \
                 {}",
                key.key_id()
            ),
            Self::Rejected => {
                "encrypted value failed authentication: it was modified, or the master key is \
                 wrong"
                    .to_owned()
            }
            Self::NotUtf8 => "decrypted value is not UTF-8 text".to_owned(),
        };
        Error::secret(message).with_context("key", key_path)
    }
}

/// Opens a token. `check_key_id` is off only in tests, to prove the associated data alone binds
/// the key id.
pub(crate) fn open(
    value: &str,
    key: &MasterKey,
    check_key_id: bool,
) -> Result<SecretString, Failure> {
    let Some(encoded) = value.strip_prefix(PREFIX_V1) else {
        return Err(if value.starts_with(PREFIX_ANY) {
            Failure::UnsupportedVersion
        } else {
            Failure::NotEncrypted
        });
    };
    let envelope = STANDARD.decode(encoded).map_err(|_| Failure::BadBase64)?;
    if envelope.len() < HEADER_LEN + TAG_LEN {
        return Err(Failure::Truncated);
    }
    let (key_id, rest) = envelope.split_at(KEY_ID_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    if check_key_id && key_id != key.key_id_bytes() {
        return Err(Failure::OtherKey(key_id_hex(key_id)));
    }
    let nonce = <&Nonce>::try_from(nonce).map_err(|_| Failure::Truncated)?;
    let plain = cipher(key)
        .decrypt(
            nonce,
            Payload {
                msg: sealed,
                aad: &aad(key_id),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Failure::Rejected)?;
    let text = std::str::from_utf8(&plain).map_err(|_| Failure::NotUtf8)?;
    Ok(SecretString::from(text))
}

/// The key id recorded in a well-formed `enc:v1:` token, without decrypting it.
pub(crate) fn envelope_key_id(value: &str) -> Option<[u8; KEY_ID_LEN]> {
    let encoded = value.strip_prefix(PREFIX_V1)?;
    let envelope = STANDARD.decode(encoded).ok()?;
    envelope.get(..KEY_ID_LEN)?.try_into().ok()
}

fn aad(key_id: &[u8]) -> Vec<u8> {
    [AAD_PREFIX_V1, key_id].concat()
}

fn cipher(key: &MasterKey) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = key.as_bytes().into();
    Aes256Gcm::new(key)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn aad_binds_the_key_id_even_without_the_explicit_check() {
        let key = MasterKey::generate();
        let token = encrypt("s3cr3t", &key);
        let mut envelope = STANDARD.decode(&token[PREFIX_V1.len()..]).unwrap();
        envelope[0] ^= 0x01;
        let forged = format!("{PREFIX_V1}{}", STANDARD.encode(&envelope));
        assert_eq!(open(&forged, &key, false).unwrap_err(), Failure::Rejected);
        assert!(matches!(
            open(&forged, &key, true),
            Err(Failure::OtherKey(_))
        ));
        assert_eq!(open(&token, &key, false).unwrap().expose_secret(), "s3cr3t");
    }

    #[test]
    fn aad_binds_the_version() {
        // Sealing the same bytes under another version's associated data must not open as v1.
        let key = MasterKey::generate();
        let key_id = key.key_id_bytes();
        let nonce = Nonce::generate();
        let sealed = cipher(&key)
            .encrypt(
                &nonce,
                Payload {
                    msg: b"s3cr3t",
                    aad: &[b"qapms:enc:v2:".as_slice(), &key_id].concat(),
                },
            )
            .unwrap();
        let envelope = [key_id.as_slice(), &nonce, &sealed].concat();
        let token = format!("{PREFIX_V1}{}", STANDARD.encode(envelope));
        assert_eq!(open(&token, &key, true).unwrap_err(), Failure::Rejected);
    }

    #[test]
    fn envelope_layout_is_as_documented() {
        let key = MasterKey::generate();
        let token = encrypt("abc", &key);
        let envelope = STANDARD.decode(&token[PREFIX_V1.len()..]).unwrap();
        assert_eq!(envelope.len(), KEY_ID_LEN + NONCE_LEN + 3 + TAG_LEN);
        assert_eq!(envelope[..KEY_ID_LEN], key.key_id_bytes());
        assert_eq!(envelope_key_id(&token), Some(key.key_id_bytes()));
    }
}
