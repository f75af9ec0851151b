//! Secrets: the `enc:v1:` envelope, master-key sources, and in-place edits of `qapms.yaml`.
//!
//! # The envelope
//!
//! A secret in `qapms.yaml` is either plain text or `enc:v1:<base64>`, where the base64
//! (standard alphabet, padded) decodes to
//!
//! ```text
//! key_id (8 bytes) || nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)
//! ```
//!
//! and the AES-GCM associated data is `b"qapms:enc:v1:" || key_id`. So:
//! - the nonce is 96 random bits from the OS, fresh for every value (values are few, far
//!   below the 2^32 messages per key that random GCM nonces allow);
//! - the format version is authenticated: an envelope cannot be replayed as another version;
//! - the key id is authenticated and is checked before decryption, so a value encrypted with a
//!   different key gets a message that says exactly that, instead of "wrong key or tampered";
//! - the key id is the first 8 bytes of `SHA-256("qapms:key-id:v1" || key)`. It identifies a
//!   256-bit random key without helping anyone guess it, so it is safe in logs and errors.
//!
//! Every failure (bad base64, truncation, another version, another key, a flipped bit) is an
//! [`ErrorKind::Secret`](crate::ErrorKind::Secret) error that names the key path and never the
//! value. A value starting with `enc:` is treated as encrypted: the prefix is reserved, so a
//! future `enc:v2:` is reported as unsupported rather than used as a password.
//!
//! # Where the master key comes from
//!
//! [`load_master_key`] tries, in order, and stops at the first source that is configured (a
//! configured but broken source is an error, never a silent fall-through to the next one):
//! 1. `QAPMS_MASTER_KEY` in the [`Env`](crate::config::Env) snapshot: 32 bytes in base64 or hex;
//! 2. the key file `master.key` in the user's config directory: the master key wrapped with
//!    AES-256-GCM under a key derived from a passphrase by Argon2id ([`KeyFileParams`]), with
//!    salt, parameters, nonce and key id bound as associated data; mode `0600`, and refused if
//!    others can read or write it;
//! 3. the OS keychain (feature `keychain`), which headless Linux lacks: there it falls through.
//!
//! If none is configured the error lists all three and how to set each up.
//!
//! # Editing `qapms.yaml`
//!
//! [`encrypt_in_yaml`] and [`rotate_yaml`] rewrite scalar tokens in the text, located by the
//! YAML parser's byte spans, and leave every other byte alone: comments, order, quoting and
//! indentation survive. Re-serialising the document would lose all of that.
//! [`write_atomically`] then replaces the file (temp file, fsync, rename), so a crash leaves
//! either the old or the new file, never half of one.

mod envelope;
mod fsutil;
mod keyfile;
mod master;
mod source;
mod token_file;
mod unlock;
mod value;
mod yaml;

pub use envelope::{decrypt, encrypt};
pub use fsutil::write_atomically;
pub use keyfile::{KeyFileParams, init_key_file, init_key_file_with_params, rewrap_key_file};
pub use master::MasterKey;
pub use source::{
    ENV_KEY_PASSPHRASE, ENV_MASTER_KEY, KEY_FILE_NAME, KEYCHAIN_ACCOUNT, KEYCHAIN_SERVICE,
    KeyLookup, KeySource, key_file_path, load_master_key,
};
pub use token_file::{StoredTokens, TokenFile, TokenInfo, token_file_path};
pub use unlock::{Unlocked, credentials, unlock};
pub use value::SecretValue;
pub use yaml::{encrypt_in_yaml, rotate_yaml};
