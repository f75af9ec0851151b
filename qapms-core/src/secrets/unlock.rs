//! Decrypting a configuration's credentials once, at start-up.
//!
//! Front-ends call [`unlock`] right after loading the configuration. It reveals every
//! credential (plaintext, `${VAR}` results and `enc:v1:` values alike), registers each with the
//! log [`Redactor`] before anything can log it, and hands back the values by key path for the
//! integrations to use. The master key is only looked up when some value is encrypted, so a
//! configuration without `enc:v1:` values never asks for a passphrase. A value that cannot be
//! decrypted stops start-up with an error naming its key path: credentials are validated at
//! start-up, not at the first call that needs them.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::{KeyLookup, SecretValue, load_master_key};
use crate::Result;
use crate::config::{Config, JiraAuth, SplunkAuth};
use crate::logging::Redactor;

/// A configuration's credentials, decrypted, by dotted key path.
#[derive(Default)]
pub struct Unlocked {
    values: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unlocked")
            .field("key_paths", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Unlocked {
    /// The decrypted value at `key_path`, e.g. `integrations.jira.auth.api_token`.
    pub fn get(&self, key_path: &str) -> Option<&SecretString> {
        self.values.get(key_path)
    }

    /// The key paths that hold a credential.
    pub fn key_paths(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Every credential field of `config` with its key path, in a stable order.
pub fn credentials(config: &Config) -> Vec<(String, &SecretValue)> {
    let mut found: Vec<(String, &SecretValue)> = Vec::new();
    let integrations = &config.integrations;
    if let Some(jira) = &integrations.jira {
        let path = "integrations.jira.auth";
        match &jira.auth {
            JiraAuth::Basic { api_token, .. } => {
                found.push((format!("{path}.api_token"), api_token));
            }
            JiraAuth::Pat { token } => found.push((format!("{path}.token"), token)),
            JiraAuth::OauthClientCredentials { client_secret, .. }
            | JiraAuth::OauthPkce {
                client_secret: Some(client_secret),
                ..
            } => {
                found.push((format!("{path}.client_secret"), client_secret));
            }
            JiraAuth::OauthPkce { .. } => {}
        }
    }
    if let Some(key) = integrations
        .postman
        .as_ref()
        .and_then(|p| p.api_key.as_ref())
    {
        found.push(("integrations.postman.api_key".to_owned(), key));
    }
    if let Some(testmo) = &integrations.testmo {
        found.push(("integrations.testmo.token".to_owned(), &testmo.token));
    }
    if let Some(auth) = integrations.splunk.as_ref().and_then(|s| s.auth.as_ref()) {
        match auth {
            SplunkAuth::Token { token } => {
                found.push(("integrations.splunk.auth.token".to_owned(), token));
            }
            SplunkAuth::Basic { password, .. } | SplunkAuth::Login { password, .. } => {
                found.push(("integrations.splunk.auth.password".to_owned(), password));
            }
        }
    }
    if let Some(grafana) = &integrations.grafana {
        found.push(("integrations.grafana.token".to_owned(), &grafana.token));
    }
    if let Some(key) = config
        .search
        .embeddings
        .as_ref()
        .and_then(|e| e.api_key.as_ref())
    {
        found.push(("search.embeddings.api_key".to_owned(), key));
    }
    found
}

/// Reveals every credential of `config`, registering each with `redactor` first.
///
/// The master key is loaded through `lookup` only if some value is encrypted.
pub fn unlock(config: &Config, lookup: &KeyLookup<'_>, redactor: &Redactor) -> Result<Unlocked> {
    let credentials = credentials(config);
    let key = if credentials.iter().any(|(_, v)| v.is_encrypted()) {
        let (key, _source) = load_master_key(lookup)?;
        redactor.add(&key.to_encoded());
        Some(key)
    } else {
        None
    };
    let mut values = BTreeMap::new();
    for (path, value) in credentials {
        let revealed = value.reveal(key.as_ref(), &path)?;
        redactor.add(&revealed);
        values.insert(path, revealed);
    }
    Ok(Unlocked { values })
}
