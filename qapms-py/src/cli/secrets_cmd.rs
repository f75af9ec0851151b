//! `qapms secrets init | encrypt KEYPATH | rotate`.
//!
//! The master key comes from `QAPMS_MASTER_KEY`, else a passphrase-wrapped key file in the
//! config directory, else the OS keychain (see `qapms_core::secrets`). The passphrase is read
//! from `QAPMS_KEY_PASSPHRASE`, else asked for on the terminal, else read as one line of stdin,
//! so scripts and CI can drive every command without a TTY.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use clap::Subcommand;
use qapms_core::config::{self, Env};
use qapms_core::secrets::{self, KeyLookup, KeySource, MasterKey};
use secrecy::{ExposeSecret, SecretString};

use super::{CliError, Context, Output};

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Create a master key: a passphrase-wrapped key file in the config directory (default), or
    /// print a fresh key for the environment with --print.
    Init {
        #[arg(
            long,
            help = "Print a new key for QAPMS_MASTER_KEY instead of writing a key file"
        )]
        print: bool,
        /// Replace an existing key file. Values encrypted with the old key become unreadable.
        #[arg(long)]
        force: bool,
    },
    /// Encrypt the plaintext value at a dotted key path of qapms.yaml, in place.
    Encrypt {
        /// For example `integrations.jira.auth.api_token` or `profiles.prod.store.url`.
        key_path: String,
    },
    /// Re-encrypt every `enc:v1:` value of qapms.yaml under a new master key, atomically.
    Rotate,
}

pub(crate) fn run(ctx: &Context, cmd: SecretsCommand, out: &mut Output) -> Result<i32, CliError> {
    match cmd {
        SecretsCommand::Init { print, force } => init(ctx, print, force, out),
        SecretsCommand::Encrypt { key_path } => encrypt(ctx, &key_path, out),
        SecretsCommand::Rotate => rotate(ctx, out),
    }
}

fn init(ctx: &Context, print: bool, force: bool, out: &mut Output) -> Result<i32, CliError> {
    if print {
        let key = MasterKey::generate();
        out.note("Set this in the environment of every qapms process (keep it secret):");
        out.line(&format!(
            "QAPMS_MASTER_KEY={}",
            key.to_encoded().expose_secret()
        ));
        return Ok(0);
    }
    let paths = config::Paths::resolve(&ctx.env)?;
    let passphrase = read_passphrase(&ctx.env, true)?;
    let (key, path) = secrets::init_key_file(&paths.config_dir, &passphrase, force)?;
    out.line(&format!(
        "created key file {} (key id {})",
        path.display(),
        key.key_id()
    ));
    Ok(0)
}

fn encrypt(ctx: &Context, key_path: &str, out: &mut Output) -> Result<i32, CliError> {
    let path = config_path(ctx)?;
    let (key, _) = master_key(ctx)?;
    let text = read(&path)?;
    let updated = secrets::encrypt_in_yaml(&text, key_path, &key)?;
    secrets::write_atomically(&path, updated.as_bytes())?;
    out.line(&format!("encrypted {key_path} in {}", path.display()));
    Ok(0)
}

fn rotate(ctx: &Context, out: &mut Output) -> Result<i32, CliError> {
    let path = config_path(ctx)?;
    let (old, source) = master_key(ctx)?;
    let new = MasterKey::generate();
    let text = read(&path)?;
    let (updated, count) = secrets::rotate_yaml(&text, &old, &new)?;

    // Order matters: the new key must be safe on disk (or shown) before any value depends on
    // it, and the old key must stay usable until every value has moved.
    match &source {
        KeySource::KeyFile(key_file) => {
            let passphrase = read_passphrase(&ctx.env, false)?;
            let next = key_file.with_extension("next");
            secrets::rewrap_key_file(&next, &new, &passphrase)?;
            secrets::write_atomically(&path, updated.as_bytes())?;
            std::fs::rename(&next, key_file).map_err(|e| {
                CliError::new(format!(
                    "{} now uses the new key, kept in {}; moving it over {} failed ({e}): rename it by hand",
                    path.display(),
                    next.display(),
                    key_file.display()
                ))
            })?;
            out.line(&format!(
                "rotated {count} value{} in {}; key file {} now holds key id {}",
                plural(count),
                path.display(),
                key_file.display(),
                new.key_id()
            ));
        }
        KeySource::Env => {
            out.note("Replace QAPMS_MASTER_KEY everywhere qapms runs with this new key:");
            out.line(&format!(
                "QAPMS_MASTER_KEY={}",
                new.to_encoded().expose_secret()
            ));
            secrets::write_atomically(&path, updated.as_bytes())?;
            out.note(&format!(
                "rotated {count} value{} in {} to key id {}",
                plural(count),
                path.display(),
                new.key_id()
            ));
        }
        KeySource::Keychain => {
            return Err(CliError::new(format!(
                "rotation of a key held in {source} is not supported: move the key to \
                 QAPMS_MASTER_KEY or a key file (`qapms secrets init`) first"
            )));
        }
    }
    Ok(0)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn config_path(ctx: &Context) -> Result<PathBuf, CliError> {
    ctx.config
        .clone()
        .or_else(|| config::discover(&ctx.cwd, &ctx.env))
        .ok_or_else(|| {
            CliError::new(
                "no qapms.yaml found: pass --config PATH, set QAPMS_CONFIG, or run in its directory",
            )
        })
}

fn read(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))
}

pub(crate) fn master_key(ctx: &Context) -> Result<(MasterKey, KeySource), CliError> {
    let paths = config::Paths::resolve(&ctx.env)?;
    let env = ctx.env.clone();
    let ask =
        move || read_passphrase(&env, false).map_err(|e| qapms_core::Error::secret(e.message));
    let lookup = KeyLookup {
        env: &ctx.env,
        config_dir: &paths.config_dir,
        passphrase: Some(&ask),
    };
    let (key, source) = secrets::load_master_key(&lookup)?;
    // Nothing should ever log the key, but if a bug did, the redactor catches it.
    ctx.redactor.add(&key.to_encoded());
    Ok((key, source))
}

/// The key-file passphrase: `QAPMS_KEY_PASSPHRASE`, else the terminal, else one line of stdin.
fn read_passphrase(env: &Env, confirm: bool) -> Result<SecretString, CliError> {
    if let Some(value) = env.get_non_empty("QAPMS_KEY_PASSPHRASE") {
        return Ok(SecretString::from(value.to_owned()));
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("qapms key passphrase: ")
            .map_err(|e| CliError::new(format!("cannot read the passphrase: {e}")))?;
        if confirm {
            let second = rpassword::prompt_password("repeat the passphrase: ")
                .map_err(|e| CliError::new(format!("cannot read the passphrase: {e}")))?;
            if first != second {
                return Err(CliError::new("the passphrases do not match"));
            }
        }
        return non_empty(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::new(format!("cannot read the passphrase from stdin: {e}")))?;
    non_empty(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn non_empty(value: String) -> Result<SecretString, CliError> {
    if value.is_empty() {
        return Err(CliError::new(
            "an empty passphrase is not allowed: set QAPMS_KEY_PASSPHRASE or type one",
        ));
    }
    Ok(SecretString::from(value))
}
