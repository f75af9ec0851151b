//! OAuth tokens at rest: one file per integration in the data directory, encrypted.
//!
//! A browser sign-in yields a refresh token that must outlive the process, and with rotating
//! refresh tokens every refresh replaces it: the file is rewritten each time, atomically
//! ([`write_atomically_with_mode`], `0600`), so a crash leaves the old or the new token, never
//! half of one. The tokens are one `enc:v1:` envelope under the master key (the same AES-256-GCM
//! envelope as `qapms.yaml` values); next to it the file keeps, in clear, what `qapms auth
//! status` shows without asking for the key: the client id, the site, the expiry, the scopes.
//!
//! ```text
//! {"version":1,"integration":"jira","client_id":"…","site":"https://acme.atlassian.net",
//!  "cloud_id":"…","expires_at":"…","scope":"…","has_refresh_token":true,"updated_at":"…",
//!  "tokens":"enc:v1:…"}
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::fsutil::write_atomically_with_mode;
use super::{MasterKey, decrypt, encrypt};
use crate::{Error, ErrorKind, Result};

const VERSION: u32 = 1;

/// Where `integration`'s tokens live: `<data_dir>/credentials/<integration>.oauth.json`.
pub fn token_file_path(data_dir: &Path, integration: &str) -> PathBuf {
    data_dir
        .join("credentials")
        .join(format!("{integration}.oauth.json"))
}

/// What a token file says without the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub integration: String,
    pub client_id: String,
    /// The site the tokens are for (`integrations.jira.base_url`).
    pub site: String,
    /// Jira Cloud's id of the site, for `api.atlassian.com/ex/jira/<cloud_id>`.
    #[serde(default)]
    pub cloud_id: Option<String>,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scope: Option<String>,
    pub has_refresh_token: bool,
    pub updated_at: DateTime<Utc>,
}

/// Tokens plus what they belong to. `Debug` shows no token.
#[derive(Clone)]
pub struct StoredTokens {
    pub info: TokenInfo,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("info", &self.info)
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    #[serde(flatten)]
    info: TokenInfo,
    tokens: String,
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// One integration's token file and the key that opens it. Cheap to clone.
#[derive(Clone)]
pub struct TokenFile {
    path: PathBuf,
    key: Arc<MasterKey>,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .field("key_id", &self.key.key_id())
            .finish()
    }
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>, key: Arc<MasterKey>) -> Self {
        Self {
            path: path.into(),
            key,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The clear part of the file at `path`, without the key; `None` if there is no file.
    pub fn info(path: &Path) -> Result<Option<TokenInfo>> {
        Ok(read(path)?.map(|disk| disk.info))
    }

    /// The stored tokens, or `None` if nobody has signed in.
    pub fn load(&self) -> Result<Option<StoredTokens>> {
        let Some(disk) = read(&self.path)? else {
            return Ok(None);
        };
        let key_path = format!("{} tokens", self.path.display());
        let plain = decrypt(&disk.tokens, &self.key, &key_path)?;
        let secrets: Secrets = serde_json::from_str(plain.expose_secret()).map_err(|_| {
            Error::secret(format!(
                "`{}` decrypts, but not to tokens; sign in again",
                self.path.display()
            ))
        })?;
        Ok(Some(StoredTokens {
            info: disk.info,
            access_token: secrets.access_token.map(SecretString::from),
            refresh_token: secrets.refresh_token.map(SecretString::from),
        }))
    }

    /// Replaces the file with `tokens`, atomically, mode `0600`.
    pub fn save(&self, tokens: &StoredTokens) -> Result<()> {
        let secrets = Zeroizing::new(
            serde_json::to_string(&Secrets {
                access_token: tokens
                    .access_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
                refresh_token: tokens
                    .refresh_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
            })
            .map_err(|e| Error::secret("the tokens could not be encoded").with_source(e))?,
        );
        let mut info = tokens.info.clone();
        info.has_refresh_token = tokens.refresh_token.is_some();
        let disk = OnDisk {
            version: VERSION,
            info,
            tokens: encrypt(&secrets, &self.key),
        };
        let text = serde_json::to_vec_pretty(&disk)
            .map_err(|e| Error::secret("the token file could not be encoded").with_source(e))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::from(e).with_context("file", dir.display().to_string()))?;
        }
        write_atomically_with_mode(&self.path, &text, Some(0o600))
    }

    /// Deletes the file; `false` if there was none.
    pub fn remove(path: &Path) -> Result<bool> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::from(e).with_context("file", path.display().to_string())),
        }
    }
}

fn read(path: &Path) -> Result<Option<OnDisk>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::from(e).with_context("file", path.display().to_string())),
    };
    let disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| {
        Error::new(
            ErrorKind::Secret,
            format!(
                "`{}` is not a qapms token file ({}); delete it and sign in again",
                path.display(),
                crate::http::error::describe_decode_error(&e)
            ),
        )
    })?;
    if disk.version != VERSION {
        return Err(Error::secret(format!(
            "`{}` is a version {} token file, which this qapms does not read; sign in again",
            path.display(),
            disk.version
        )));
    }
    Ok(Some(disk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(refresh: Option<&str>) -> StoredTokens {
        StoredTokens {
            info: TokenInfo {
                integration: "jira".to_owned(),
                client_id: "cid".to_owned(),
                site: "https://acme.atlassian.net".to_owned(),
                cloud_id: Some("c-1".to_owned()),
                expires_at: None,
                scope: Some("read:jira-work".to_owned()),
                has_refresh_token: false,
                updated_at: Utc::now(),
            },
            access_token: Some(SecretString::from("access-token-value-1")),
            refresh_token: refresh.map(SecretString::from),
        }
    }

    #[test]
    fn tokens_round_trip_encrypted_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_file_path(dir.path(), "jira");
        let file = TokenFile::new(&path, Arc::new(MasterKey::generate()));
        assert!(file.load().unwrap().is_none());
        file.save(&sample(Some("refresh-token-value-1"))).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("access-token-value-1"), "{text}");
        assert!(!text.contains("refresh-token-value-1"), "{text}");
        let loaded = file.load().unwrap().unwrap();
        assert_eq!(
            loaded.refresh_token.unwrap().expose_secret(),
            "refresh-token-value-1"
        );
        let info = TokenFile::info(&path).unwrap().unwrap();
        assert!(info.has_refresh_token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(TokenFile::remove(&path).unwrap());
        assert!(!TokenFile::remove(&path).unwrap());
    }

    #[test]
    fn another_key_or_a_damaged_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_file_path(dir.path(), "jira");
        TokenFile::new(&path, Arc::new(MasterKey::generate()))
            .save(&sample(None))
            .unwrap();
        let other = TokenFile::new(&path, Arc::new(MasterKey::generate()));
        assert_eq!(other.load().unwrap_err().kind(), ErrorKind::Secret);
        std::fs::write(&path, b"{\"version\":1,\"tokens\":7}").unwrap();
        let err = other.load().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Secret);
        assert!(err.message().contains("sign in again"), "{err}");
    }
}
