//! `logging::init` installs process-global state, so it has this test binary to itself and
//! one test: a second `init` in the same process must fail cleanly, not panic.

use std::fs;

use qapms_core::ErrorKind;
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor};
use secrecy::SecretString;

#[test]
fn init_installs_once_and_writes_redacted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let opts = LogOptions {
        format: LogFormat::Json,
        filter: "info".to_owned(),
        dir: Some(tmp.path().join("logs")),
        file_prefix: "qapms-init".to_owned(),
        retention_days: 0,
        stderr: false,
    };
    let guard = logging::init(&opts, redactor.clone()).unwrap();

    // Secrets registered after start-up, as a front-end does once the config is decrypted.
    redactor.add(&SecretString::from("init-secret-123"));
    tracing::info!("connecting with init-secret-123");

    let err = logging::init(&opts, Redactor::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("already installed"), "{err}");

    drop(guard);
    let entries: Vec<_> = fs::read_dir(tmp.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let text = fs::read_to_string(&entries[0]).unwrap();
    assert!(text.contains("connecting with [REDACTED]"), "{text}");
    assert!(!text.contains("init-secret-123"));
}
