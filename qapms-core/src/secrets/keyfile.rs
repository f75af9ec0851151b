//! The key file: the master key wrapped under a passphrase, for machines without a keychain.
//!
//! The file (`master.key` in the user's config directory) is JSON, so a person can see what it
//! is and which parameters it uses:
//!
//! ```json
//! { "format": "qapms-master-key", "version": 1,
//!   "kdf": { "algorithm": "argon2id", "argon2_version": 19,
//!            "memory_kib": 47104, "iterations": 2, "parallelism": 1, "salt": "<base64, 16 B>" },
//!   "cipher": "aes-256-gcm", "key_id": "<16 hex>",
//!   "nonce": "<base64, 12 B>", "wrapped_key": "<base64, 32 B key + 16 B tag>" }
//! ```
//!
//! The wrapping key is `Argon2id(passphrase, salt, params)`; the associated data is
//! `b"qapms:keyfile:v1:" || key_id || memory || iterations || parallelism (u32 LE) || salt`, so
//! editing any field (to lower the cost, or to swap in another key) makes the file fail to open.
//! The key id is also checked after unwrapping.
//!
//! Permissions: the file is written `0600`, and on Unix a file that others can read or write is
//! refused (as OpenSSH refuses private keys), with the `chmod` that fixes it. A warning would
//! be ignored, while the passphrase is then all that stands between a local user and an
//! offline guessing attack on the file.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::envelope::{NONCE_LEN, TAG_LEN};
use super::fsutil::write_atomically_with_mode;
use super::master::{KEY_ID_LEN, KEY_LEN, MasterKey, key_id_hex};
use super::source::key_file_path;
use crate::{Error, ErrorKind, Result};

const FORMAT: &str = "qapms-master-key";
const VERSION: u32 = 1;
const KDF: &str = "argon2id";
const CIPHER: &str = "aes-256-gcm";
const AAD_PREFIX: &[u8] = b"qapms:keyfile:v1:";
const SALT_LEN: usize = 16;
/// A key file is a few hundred bytes; anything far larger is not one, and is not read whole.
const MAX_FILE_LEN: u64 = 64 * 1024;
/// Ceilings for parameters read from a file, so a damaged or hostile file cannot make us
/// allocate or spin without bound.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 64;
const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// Argon2id cost parameters for wrapping the master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFileParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl KeyFileParams {
    /// The production default: Argon2id with 46 MiB, 2 passes, 1 lane. OWASP recommends at
    /// least 19 MiB / 2 passes / 1 lane (or 46 MiB / 1 pass) for password hashing on a busy
    /// server; a key file is unlocked once per process, so it can afford both the larger memory
    /// and the second pass (tens of milliseconds on current hardware).
    pub const OWASP: Self = Self {
        memory_kib: 46 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Custom parameters, checked against Argon2's limits and this module's ceilings
    /// (4 GiB, 64 passes, 64 lanes).
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self> {
        let params = Self {
            memory_kib,
            iterations,
            parallelism,
        };
        params.argon2()?;
        Ok(params)
    }

    /// Cheap parameters (64 KiB, 1 pass) **for tests only**: a key file written with them falls
    /// to a GPU in no time.
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    fn argon2(&self) -> Result<Argon2<'static>> {
        if self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
            || self.parallelism > MAX_PARALLELISM
        {
            return Err(Error::secret(format!(
                "Argon2 parameters are above this build's ceilings ({MAX_MEMORY_KIB} KiB, \
                 {MAX_ITERATIONS} passes, {MAX_PARALLELISM} lanes)"
            )));
        }
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .map_err(|e| Error::secret(format!("invalid Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for KeyFileParams {
    fn default() -> Self {
        Self::OWASP
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFileDoc {
    format: String,
    version: u32,
    kdf: KdfDoc,
    cipher: String,
    key_id: String,
    nonce: String,
    wrapped_key: String,
}

#[derive(Serialize, Deserialize)]
struct KdfDoc {
    algorithm: String,
    argon2_version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// Creates `master.key` in `config_dir` holding a fresh master key wrapped under `passphrase`,
/// with the [default](KeyFileParams::OWASP) Argon2id parameters. Refuses to replace an existing
/// key file unless `force`: values encrypted under the old key would become unreadable.
pub fn init_key_file(
    config_dir: &Path,
    passphrase: &SecretString,
    force: bool,
) -> Result<(MasterKey, PathBuf)> {
    init_key_file_with_params(config_dir, passphrase, force, KeyFileParams::OWASP)
}

/// [`init_key_file`] with explicit Argon2id parameters.
pub fn init_key_file_with_params(
    config_dir: &Path,
    passphrase: &SecretString,
    force: bool,
    params: KeyFileParams,
) -> Result<(MasterKey, PathBuf)> {
    let path = key_file_path(config_dir);
    if !force && fs::symlink_metadata(&path).is_ok() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a key file already exists; replacing it would make every value encrypted with its \
             key unreadable (rotate instead, or force if you mean it)",
        )
        .with_context("file", path.display().to_string()));
    }
    create_private_dir(config_dir)?;
    let key = MasterKey::try_generate()?;
    write_key_file(&path, &key, passphrase, params)?;
    Ok((key, path))
}

/// Replaces the key file at `path` with one holding `key` under `passphrase` (fresh salt and
/// nonce). Keeps the Argon2 parameters of the file it replaces when that file is readable, so
/// tuned parameters survive a rotation; otherwise uses the defaults.
pub fn rewrap_key_file(path: &Path, key: &MasterKey, passphrase: &SecretString) -> Result<()> {
    let params = read_doc(path)
        .ok()
        .and_then(|doc| doc.params().ok())
        .unwrap_or(KeyFileParams::OWASP);
    write_key_file(path, key, passphrase, params)
}

/// Unlocks the key file at `path`.
pub(crate) fn open_key_file(path: &Path, passphrase: &SecretString) -> Result<MasterKey> {
    check_permissions(path)?;
    let doc = read_doc(path)?;
    let damaged = |what: &str| {
        Error::secret(format!("key file is damaged: {what}"))
            .with_context("file", path.display().to_string())
    };
    if doc.format != FORMAT || doc.version != VERSION {
        return Err(Error::secret(format!(
            "not a key file this version of qapms reads (expected format `{FORMAT}` version \
             {VERSION})"
        ))
        .with_context("file", path.display().to_string()));
    }
    if doc.kdf.algorithm != KDF || doc.kdf.argon2_version != 0x13 || doc.cipher != CIPHER {
        return Err(damaged("unsupported KDF or cipher"));
    }
    let params = doc
        .params()
        .map_err(|e| e.with_context("file", path.display().to_string()))?;
    let salt = decode_field(&doc.kdf.salt).ok_or_else(|| damaged("bad salt"))?;
    let nonce = decode_field(&doc.nonce)
        .filter(|n| n.len() == NONCE_LEN)
        .ok_or_else(|| damaged("bad nonce"))?;
    let wrapped = decode_field(&doc.wrapped_key)
        .filter(|w| w.len() == KEY_LEN + TAG_LEN)
        .ok_or_else(|| damaged("bad wrapped key"))?;
    let key_id = decode_hex_id(&doc.key_id).ok_or_else(|| damaged("bad key id"))?;

    let kek = derive(passphrase, &salt, params)
        .map_err(|e| e.with_context("file", path.display().to_string()))?;
    let nonce: &aes_gcm::aead::Nonce<Aes256Gcm> = nonce
        .as_slice()
        .try_into()
        .map_err(|_| damaged("bad nonce"))?;
    let plain = Zeroizing::new(
        kek_cipher(&kek)
            .decrypt(
                nonce,
                Payload {
                    msg: &wrapped,
                    aad: &aad(&key_id, params, &salt),
                },
            )
            .map_err(|_| {
                Error::secret("wrong passphrase for the key file (or the file was modified)")
                    .with_context("file", path.display().to_string())
            })?,
    );
    let key =
        MasterKey::from_bytes(&plain).ok_or_else(|| damaged("wrapped key has the wrong length"))?;
    if key.key_id_bytes() != key_id {
        return Err(damaged("key id does not match the key"));
    }
    Ok(key)
}

impl KeyFileDoc {
    fn params(&self) -> Result<KeyFileParams> {
        KeyFileParams::new(
            self.kdf.memory_kib,
            self.kdf.iterations,
            self.kdf.parallelism,
        )
    }
}

fn write_key_file(
    path: &Path,
    key: &MasterKey,
    passphrase: &SecretString,
    params: KeyFileParams,
) -> Result<()> {
    if passphrase.expose_secret().is_empty() {
        return Err(Error::invalid_input(
            "the key file passphrase must not be empty",
        ));
    }
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = aes_gcm::aead::Nonce::<Aes256Gcm>::default();
    OsRng
        .try_fill_bytes(&mut salt)
        .and_then(|()| OsRng.try_fill_bytes(&mut nonce))
        .map_err(|e| Error::secret("the OS random number generator failed").with_source(e))?;
    let key_id = key.key_id_bytes();
    let kek = derive(passphrase, &salt, params)?;
    let wrapped = kek_cipher(&kek)
        .encrypt(
            &nonce,
            Payload {
                msg: key.as_bytes(),
                aad: &aad(&key_id, params, &salt),
            },
        )
        .map_err(|_| Error::secret("cannot wrap the master key"))?;
    let doc = KeyFileDoc {
        format: FORMAT.to_owned(),
        version: VERSION,
        kdf: KdfDoc {
            algorithm: KDF.to_owned(),
            argon2_version: 0x13,
            memory_kib: params.memory_kib,
            iterations: params.iterations,
            parallelism: params.parallelism,
            salt: STANDARD.encode(salt),
        },
        cipher: CIPHER.to_owned(),
        key_id: key_id_hex(&key_id),
        nonce: STANDARD.encode(nonce),
        wrapped_key: STANDARD.encode(wrapped),
    };
    let mut json = serde_json::to_vec_pretty(&doc)
        .map_err(|e| Error::secret("cannot serialise the key file").with_source(e))?;
    json.push(b'\n');
    write_atomically_with_mode(path, &json, Some(FILE_MODE))
}

fn derive(
    passphrase: &SecretString,
    salt: &[u8],
    params: KeyFileParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let mut kek = Zeroizing::new([0u8; KEY_LEN]);
    params
        .argon2()?
        .hash_password_into(
            passphrase.expose_secret().as_bytes(),
            salt,
            kek.as_mut_slice(),
        )
        .map_err(|e| Error::secret(format!("cannot derive the key-file key: {e}")))?;
    Ok(kek)
}

fn kek_cipher(kek: &[u8; KEY_LEN]) -> Aes256Gcm {
    let key: &Key<Aes256Gcm> = kek.into();
    Aes256Gcm::new(key)
}

fn aad(key_id: &[u8], params: KeyFileParams, salt: &[u8]) -> Vec<u8> {
    [
        AAD_PREFIX,
        key_id,
        &params.memory_kib.to_le_bytes(),
        &params.iterations.to_le_bytes(),
        &params.parallelism.to_le_bytes(),
        salt,
    ]
    .concat()
}

fn read_doc(path: &Path) -> Result<KeyFileDoc> {
    let with_file = |e: Error| e.with_context("file", path.display().to_string());
    let file = fs::File::open(path).map_err(|e| with_file(Error::from(e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| with_file(Error::from(e)))?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(with_file(Error::secret(
            "key file is too large to be a qapms key file",
        )));
    }
    // serde_json's messages can quote the offending text; report the position only.
    serde_json::from_slice(&bytes).map_err(|e| {
        with_file(Error::secret(format!(
            "key file is damaged or not a qapms key file (JSON error at line {}, column {})",
            e.line(),
            e.column()
        )))
    })
}

fn decode_field(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

fn decode_hex_id(s: &str) -> Option<[u8; KEY_ID_LEN]> {
    if s.len() != 2 * KEY_ID_LEN {
        return None;
    }
    let mut id = [0u8; KEY_ID_LEN];
    for (slot, pair) in id.iter_mut().zip(s.as_bytes().chunks(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *slot = u8::from_str_radix(text, 16).ok()?;
    }
    Some(id)
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(path)
        .map_err(|e| Error::from(e).with_context("file", path.display().to_string()))?;
    if !meta.is_file() {
        return Err(Error::secret("the key file path is not a regular file")
            .with_context("file", path.display().to_string()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::secret(format!(
            "key file permissions {mode:04o} let other users read or change it; run `chmod 600 {}`",
            path.display()
        ))
        .with_context("file", path.display().to_string()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(path: &Path) -> Result<()> {
    // Windows ACLs on the user's profile directory already keep other users out.
    let meta = fs::metadata(path)
        .map_err(|e| Error::from(e).with_context("file", path.display().to_string()))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(Error::secret("the key file path is not a regular file")
            .with_context("file", path.display().to_string()))
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| Error::from(e).with_context("file", dir.display().to_string()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    let _ = DIR_MODE;
    fs::create_dir_all(dir)
        .map_err(|e| Error::from(e).with_context("file", dir.display().to_string()))
}
