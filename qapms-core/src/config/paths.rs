//! Where qapms keeps its files: the config, data and log directories.
//!
//! Defaults come from the platform's conventions through `directories::ProjectDirs` (XDG on
//! Linux). `QAPMS_CONFIG_DIR` and `QAPMS_DATA_DIR` in the [`Env`] override them, which is how tests
//! and containers pin everything under one directory; `logging.dir` in the file moves the logs.
//! The platform lookup is only made when an override is missing, so a fully overridden [`Env`]
//! never depends on `$HOME`.

use std::path::PathBuf;

use directories::ProjectDirs;

use super::Env;
use crate::{Error, Result};

/// The directories qapms reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// User-level configuration (`~/.config/qapms` on Linux).
    pub config_dir: PathBuf,
    /// The embedded database and the search index (`~/.local/share/qapms`).
    pub data_dir: PathBuf,
    /// Rotated log files (`<data_dir>/logs` unless `logging.dir` says otherwise).
    pub log_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories from the environment, falling back on the platform defaults.
    pub fn resolve(env: &Env) -> Result<Paths> {
        // Looked up only when an override is missing: a fully overridden Env needs no $HOME.
        let project = || {
            ProjectDirs::from("", "", "qapms").ok_or_else(|| {
                Error::config(
                    "cannot find a home directory; set QAPMS_CONFIG_DIR and QAPMS_DATA_DIR",
                )
            })
        };
        let config_dir = match env.get_non_empty("QAPMS_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => project()?.config_dir().to_path_buf(),
        };
        let data_dir = match env.get_non_empty("QAPMS_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => project()?.data_dir().to_path_buf(),
        };
        let log_dir = data_dir.join("logs");
        Ok(Paths {
            config_dir,
            data_dir,
            log_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_and_logs_default_under_data() {
        let env = Env::from_pairs([("QAPMS_CONFIG_DIR", "/c"), ("QAPMS_DATA_DIR", "/d")]);
        let paths = Paths::resolve(&env).unwrap();
        assert_eq!(paths.config_dir, PathBuf::from("/c"));
        assert_eq!(paths.data_dir, PathBuf::from("/d"));
        assert_eq!(paths.log_dir, PathBuf::from("/d/logs"));
    }
}
