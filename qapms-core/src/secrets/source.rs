//! Where the master key comes from: the environment, the key file, or the OS keychain.
//!
//! The first source that is *configured* wins, and if it is broken (a malformed variable, a
//! wrong passphrase, a loose file mode) that is the error: falling through to the next source
//! would silently use a different key than the one the user set up. Only an absent source falls
//! through. The keychain counts as absent when the platform has none (headless Linux has no
//! Secret Service), so CI machines reach the "no master key" error, which says how to set up
//! each source.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::keyfile::open_key_file;
use super::master::MasterKey;
use crate::config::Env;
use crate::{Error, Result};

/// Environment variable holding the master key (32 bytes, base64 or hex).
pub const ENV_MASTER_KEY: &str = "QAPMS_MASTER_KEY";
/// Environment variable holding the key file's passphrase, for unattended use.
pub const ENV_KEY_PASSPHRASE: &str = "QAPMS_KEY_PASSPHRASE";
/// Name of the key file inside the user's config directory.
pub const KEY_FILE_NAME: &str = "master.key";
/// Keychain service under which the base64 master key is stored.
pub const KEYCHAIN_SERVICE: &str = "qapms";
/// Keychain account under which the base64 master key is stored.
pub const KEYCHAIN_ACCOUNT: &str = "master-key";

/// Where a master key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The `QAPMS_MASTER_KEY` environment variable.
    Env,
    /// The passphrase-protected key file at this path.
    KeyFile(PathBuf),
    /// The OS keychain.
    Keychain,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => write!(f, "environment variable {ENV_MASTER_KEY}"),
            Self::KeyFile(path) => write!(f, "key file {}", path.display()),
            Self::Keychain => write!(f, "OS keychain ({KEYCHAIN_SERVICE}/{KEYCHAIN_ACCOUNT})"),
        }
    }
}

/// What [`load_master_key`] looks at.
pub struct KeyLookup<'a> {
    /// The environment snapshot (`QAPMS_MASTER_KEY`, `QAPMS_KEY_PASSPHRASE`).
    pub env: &'a Env,
    /// The user's qapms config directory, where the key file lives.
    pub config_dir: &'a Path,
    /// Asks for the key file's passphrase (a terminal prompt, a GUI dialog) when
    /// `QAPMS_KEY_PASSPHRASE` is not set. Called only if a key file exists.
    pub passphrase: Option<&'a dyn Fn() -> Result<SecretString>>,
}

impl fmt::Debug for KeyLookup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLookup")
            .field("env", self.env)
            .field("config_dir", &self.config_dir)
            .field("passphrase", &self.passphrase.map(|_| "<callback>"))
            .finish()
    }
}

/// The path of the key file in `config_dir`.
pub fn key_file_path(config_dir: &Path) -> PathBuf {
    config_dir.join(KEY_FILE_NAME)
}

/// Finds the master key: `QAPMS_MASTER_KEY`, then the key file, then the OS keychain.
pub fn load_master_key(lookup: &KeyLookup<'_>) -> Result<(MasterKey, KeySource)> {
    if let Some(encoded) = lookup.env.get_non_empty(ENV_MASTER_KEY) {
        let key = MasterKey::from_encoded(encoded)
            .map_err(|e| e.with_context("source", ENV_MASTER_KEY))?;
        return Ok((key, KeySource::Env));
    }

    let path = key_file_path(lookup.config_dir);
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {
            let passphrase = passphrase(lookup, &path)?;
            let key = open_key_file(&path, &passphrase)?;
            return Ok((key, KeySource::KeyFile(path)));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::from(e).with_context("file", path.display().to_string()));
        }
    }

    match keychain::load()? {
        Keychain::Found(key) => Ok((key, KeySource::Keychain)),
        Keychain::Absent(why) => Err(no_master_key(&path, &why)),
    }
}

fn passphrase(lookup: &KeyLookup<'_>, path: &Path) -> Result<SecretString> {
    if let Some(p) = lookup.env.get_non_empty(ENV_KEY_PASSPHRASE) {
        return Ok(SecretString::from(p));
    }
    match lookup.passphrase {
        Some(ask) => ask(),
        None => Err(Error::secret(format!(
            "the key file is locked and no passphrase was given; set {ENV_KEY_PASSPHRASE} or run \
             interactively"
        ))
        .with_context("file", path.display().to_string())),
    }
}

fn no_master_key(key_file: &Path, keychain_status: &str) -> Error {
    Error::secret(format!(
        "no master key to decrypt `enc:v1:` secrets. qapms looks in three places, in order:\n\
         1. environment variable {ENV_MASTER_KEY}: not set. Set it to 32 random bytes in base64 \
            or hex, e.g. `export {ENV_MASTER_KEY}=$(openssl rand -base64 32)`.\n\
         2. key file {}: not found. Create it with `qapms secrets init`, which asks for a \
            passphrase; set {ENV_KEY_PASSPHRASE} to unlock it without a prompt.\n\
         3. OS keychain, service `{KEYCHAIN_SERVICE}`, account `{KEYCHAIN_ACCOUNT}`: \
            {keychain_status}. Store the base64 key there with your keychain tool (macOS \
            Keychain Access, Windows Credential Manager, or a Secret Service such as GNOME \
            Keyring).",
        key_file.display()
    ))
}

enum Keychain {
    #[cfg_attr(
        not(feature = "keychain"),
        expect(dead_code, reason = "only a keychain-enabled build finds keys there")
    )]
    Found(MasterKey),
    /// Why the keychain gave no key, for the "no master key" message.
    Absent(String),
}

#[cfg(feature = "keychain")]
mod keychain {
    use super::{KEYCHAIN_ACCOUNT, KEYCHAIN_SERVICE, Keychain, MasterKey};
    use crate::Result;

    pub(super) fn load() -> Result<Keychain> {
        let entry = match keyring::Entry::new(KEYCHAIN_SERVICE, KEYCHAIN_ACCOUNT) {
            Ok(entry) => entry,
            // No Secret Service on a headless machine lands here: fall through.
            Err(e) => return Ok(Keychain::Absent(format!("unavailable ({e})"))),
        };
        match entry.get_password() {
            Ok(encoded) => {
                let encoded = secrecy::SecretString::from(encoded);
                let key = MasterKey::from_encoded(secrecy::ExposeSecret::expose_secret(&encoded))
                    .map_err(|e| e.with_context("source", "OS keychain"))?;
                Ok(Keychain::Found(key))
            }
            Err(keyring::Error::NoEntry) => Ok(Keychain::Absent("no entry".to_owned())),
            Err(e) => Ok(Keychain::Absent(format!("unavailable ({e})"))),
        }
    }
}

#[cfg(not(feature = "keychain"))]
mod keychain {
    use super::Keychain;
    use crate::Result;

    #[expect(
        clippy::unnecessary_wraps,
        reason = "same signature as the keychain-enabled build"
    )]
    pub(super) fn load() -> Result<Keychain> {
        Ok(Keychain::Absent(
            "not available in this build (it lacks the `keychain` feature)".to_owned(),
        ))
    }
}
