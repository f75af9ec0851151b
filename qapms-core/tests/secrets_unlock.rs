//! From `qapms.yaml` to the log file: every credential the configuration holds (plaintext,
//! `${VAR}`-interpolated or `enc:v1:`) is registered with the redactor by `unlock`, so none of
//! them reaches log output however it is logged.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns are test code too: a panic is a failed test"
)]

use std::io::{self, Write};
use std::sync::{Arc, RwLock};

use qapms_core::ErrorKind;
use qapms_core::config::{self, Env};
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor};
use qapms_core::secrets::{self, KeyLookup, MasterKey};
use secrecy::ExposeSecret;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Capture(Arc<RwLock<Vec<u8>>>);

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

const JIRA_TOKEN: &str = "ATATT3xFfGF0-plain-jira-token";
const TESTMO_TOKEN: &str = "testmo-from-env-7f3a9c";
const GRAFANA_TOKEN: &str = "glsa_encrypted_grafana_token_42";

fn config_text(key: &MasterKey) -> String {
    format!(
        "integrations:\n  jira:\n    base_url: https://acme.atlassian.net\n    deployment: cloud\n    \
         auth:\n      method: basic\n      email: qa@acme.io\n      api_token: {JIRA_TOKEN}\n  \
         testmo:\n    base_url: https://acme.testmo.net\n    token: ${{TESTMO_TOKEN}}\n  \
         grafana:\n    base_url: https://grafana.acme.io/api\n    token: {}\n",
        secrets::encrypt(GRAFANA_TOKEN, key)
    )
}

#[test]
fn no_config_secret_reaches_the_log() {
    let key = MasterKey::generate();
    let env = Env::from_pairs([
        ("TESTMO_TOKEN", TESTMO_TOKEN.to_owned()),
        (
            "QAPMS_MASTER_KEY",
            key.to_encoded().expose_secret().to_owned(),
        ),
    ]);
    let loaded = config::load_str(&config_text(&key), "qapms.yaml", None, &env).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let unlocked = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &env,
            config_dir: dir.path(),
            passphrase: None,
        },
        &redactor,
    )
    .unwrap();
    assert_eq!(unlocked.len(), 3);
    assert_eq!(
        unlocked
            .get("integrations.grafana.token")
            .unwrap()
            .expose_secret(),
        GRAFANA_TOKEN
    );

    for format in [LogFormat::Pretty, LogFormat::Json] {
        let capture = Capture::default();
        let options = LogOptions {
            format,
            filter: "trace".to_owned(),
            ..LogOptions::default()
        };
        let (subscriber, _guard) =
            logging::subscriber(&options, redactor.clone(), capture.clone()).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            // The ways a careless caller could leak them: plain values, fields, Debug of the
            // whole config, headers and URLs built from them.
            for path in unlocked.key_paths() {
                let value = unlocked.get(path).unwrap().expose_secret();
                tracing::info!("credential {path} = {value}");
                tracing::debug!(token = value, header = %format!("Authorization: Bearer {value}"));
                tracing::trace!(url = %format!("https://x/api?token={value}&page=2"));
            }
            tracing::warn!(config = ?loaded.config, "loaded");
        });
        let text = String::from_utf8(capture.0.read().unwrap().clone()).unwrap();
        assert!(text.contains("credential integrations.jira.auth.api_token"));
        for secret in [JIRA_TOKEN, TESTMO_TOKEN, GRAFANA_TOKEN] {
            assert!(
                !text.contains(secret),
                "{format:?} leaked {secret}:\n{text}"
            );
        }
        assert!(
            !text.contains(key.to_encoded().expose_secret()),
            "{format:?} leaked the master key"
        );
    }
}

#[test]
fn plaintext_only_config_needs_no_master_key() {
    let text =
        "integrations:\n  testmo:\n    base_url: https://acme.testmo.net\n    token: t0k3n-plain\n";
    let loaded = config::load_str(text, "qapms.yaml", None, &Env::empty()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let unlocked = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &Env::empty(),
            config_dir: dir.path(),
            passphrase: None,
        },
        &redactor,
    )
    .unwrap();
    assert_eq!(unlocked.len(), 1);
    assert_eq!(redactor.redact("x t0k3n-plain y"), "x [REDACTED] y");
}

#[test]
fn encrypted_value_without_a_key_stops_start_up_naming_the_path() {
    let key = MasterKey::generate();
    let loaded = config::load_str(
        &config_text(&key),
        "qapms.yaml",
        None,
        &Env::from_pairs([("TESTMO_TOKEN", "x")]),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Another key: the value names the key path and the key ids, never the value.
    let other = MasterKey::generate();
    let env = Env::from_pairs([(
        "QAPMS_MASTER_KEY",
        other.to_encoded().expose_secret().to_owned(),
    )]);
    let err = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &env,
            config_dir: dir.path(),
            passphrase: None,
        },
        &Redactor::new(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert!(
        err.to_string().contains("integrations.grafana.token"),
        "{err}"
    );
    assert!(!err.to_string().contains(GRAFANA_TOKEN));

    // No key at all: the error says how to provide one.
    let err = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &Env::empty(),
            config_dir: dir.path(),
            passphrase: None,
        },
        &Redactor::new(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert!(err.to_string().contains("QAPMS_MASTER_KEY"), "{err}");
}
