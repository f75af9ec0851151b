//! A snapshot of the environment that configuration is read from.
//!
//! Library code never calls `std::env::var` (clippy.toml bans it): the front-end takes one
//! [`Env`] snapshot at start-up (process variables plus an optional `.env` file) and passes it
//! down. Tests build an [`Env`] from a map, so they never race on the real process environment.

use std::collections::BTreeMap;
use std::path::Path;

use crate::{Error, Result};

/// Environment variables visible to configuration, `${VAR}` interpolation and key lookup.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for Env {
    // Values may be secrets (QAPMS_MASTER_KEY, tokens): show names only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// An empty environment.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The process environment. Variables that are not valid UTF-8 are skipped.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self { vars }
    }

    /// The process environment, with a `.env` file in `dir` (if any) underneath it: a variable
    /// set in the process wins over the same name in `.env`, as dotenv tools do.
    pub fn from_process_with_dotenv(dir: &Path) -> Result<Self> {
        let mut env = Self::from_process();
        env.load_dotenv(&dir.join(".env"))?;
        Ok(env)
    }

    /// Builds an environment from pairs; for tests and embedding.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Adds the variables of a `.env` file that are not already set. A missing file is fine.
    pub fn load_dotenv(&mut self, path: &Path) -> Result<()> {
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(());
            }
            Err(e) => {
                return Err(Error::config("cannot read .env file")
                    .with_context("file", path.display().to_string())
                    .with_source(e));
            }
        };
        for item in iter {
            // dotenvy's parse errors carry the line but not the value, so they are safe to show.
            let (k, v) = item.map_err(|e| {
                Error::config("invalid line in .env file")
                    .with_context("file", path.display().to_string())
                    .with_source(e)
            })?;
            self.vars.entry(k).or_insert(v);
        }
        Ok(())
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name` if set and not empty.
    pub fn get_non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// Sets a variable; for tests and embedding.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_does_not_override_process_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "A=from_file\nB=only_file\n").unwrap();
        let mut env = Env::from_pairs([("A", "from_process")]);
        env.load_dotenv(&dir.path().join(".env")).unwrap();
        assert_eq!(env.get("A"), Some("from_process"));
        assert_eq!(env.get("B"), Some("only_file"));
    }

    #[test]
    fn missing_dotenv_is_fine_and_debug_hides_values() {
        let mut env = Env::from_pairs([("QAPMS_MASTER_KEY", "s3cr3t")]);
        env.load_dotenv(Path::new("/nonexistent/.env")).unwrap();
        assert!(!format!("{env:?}").contains("s3cr3t"));
    }
}
