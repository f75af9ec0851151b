//! End-to-end redaction: secrets decrypted from a config never reach log output, whatever
//! way they are logged and whichever format writes them.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns are test code too: a panic is a failed test"
)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::logging::{self, LogFormat, LogOptions, REDACTED, RedactingMakeWriter, Redactor};
use secrecy::SecretString;
use tracing_subscriber::fmt::MakeWriter;

/// An in-memory sink that also counts write calls, to check one write per event.
#[derive(Clone, Default)]
struct Capture {
    bytes: Arc<RwLock<Vec<u8>>>,
    writes: Arc<RwLock<Vec<usize>>>,
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.bytes.read().unwrap().clone()).unwrap()
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.write().unwrap().extend_from_slice(buf);
        self.writes.write().unwrap().push(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Values a front-end would have decrypted from `qapms.yaml`.
struct ConfigSecrets {
    jira_token: &'static str,
    postman_key: &'static str,
    // Quote, backslash, colon and slash: escaped in JSON and Debug, percent-encoded in URLs.
    db_password: &'static str,
    master_key: &'static str,
}

const SECRETS: ConfigSecrets = ConfigSecrets {
    jira_token: "ATATT3xFfGF0jiraApiToken9f8e7d6c",
    postman_key: "PMAK-65a1b2c3d4e5f6a7-0123456789abcdef",
    db_password: r#"p@ss"w0rd\with:odd/chars"#,
    master_key: "q0dlTVhNbm1xY2ZLc2J3dE9nR2VqcVhvZ0h3R2hNc1Q=",
};

impl ConfigSecrets {
    fn all(&self) -> [&'static str; 4] {
        [
            self.jira_token,
            self.postman_key,
            self.db_password,
            self.master_key,
        ]
    }

    fn redactor(&self) -> Redactor {
        let redactor = Redactor::new();
        for secret in self.all() {
            redactor.add(&SecretString::from(secret));
        }
        redactor
    }
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A config struct logged carelessly with `?`: its fields are plain strings.
#[derive(Debug)]
#[expect(dead_code, reason = "read only through Debug")]
struct JiraConfig {
    base_url: String,
    email: String,
    api_token: String,
    headers: BTreeMap<String, String>,
}

#[derive(Debug)]
struct UpstreamError {
    detail: String,
    source: Option<Box<UpstreamError>>,
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream rejected request: {}", self.detail)
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Logs every secret in every way code is likely to, at every level.
fn log_everything(s: &ConfigSecrets) {
    let db_url = format!(
        "postgres://qa:{}@db.internal:5432/qapms",
        percent_encode(s.db_password)
    );
    let config = JiraConfig {
        base_url: "https://acme.atlassian.net".to_owned(),
        email: "qa@acme.test".to_owned(),
        api_token: s.jira_token.to_owned(),
        headers: BTreeMap::from([
            (
                "Authorization".to_owned(),
                format!("Bearer {}", s.jira_token),
            ),
            ("X-API-Key".to_owned(), s.postman_key.to_owned()),
        ]),
    };
    let error = UpstreamError {
        detail: format!("bad key {}", s.postman_key),
        source: Some(Box::new(UpstreamError {
            detail: format!("master key {} rejected", s.master_key),
            source: None,
        })),
    };

    // Message text.
    tracing::info!(
        "jira token is {}, db password is {}",
        s.jira_token,
        s.db_password
    );
    // Display and Debug fields.
    tracing::warn!(token = %s.jira_token, key = ?s.postman_key, "fields");
    tracing::debug!(
        password = s.db_password,
        master = s.master_key,
        "value fields"
    );
    // A whole struct through `?`.
    tracing::info!(config = ?config, "loaded jira config");
    // Span fields, on an enclosing and a nested span.
    let outer = tracing::info_span!("sync", master_key = %s.master_key, db = %db_url);
    outer.in_scope(|| {
        let inner = tracing::debug_span!("request", auth = ?format!("Bearer {}", s.jira_token));
        inner.in_scope(|| tracing::info!("syncing"));
    });
    // Error chains, as Display and as `dyn Error` (the formatter walks the sources).
    tracing::error!(error = %error, "call failed");
    tracing::error!(
        error = &error as &(dyn std::error::Error + 'static),
        "call failed"
    );
    tracing::error!("call failed: {error:?}");
    // A header map rendered as text, and a URL with userinfo.
    tracing::debug!(
        "request headers:\nAuthorization: Bearer {}\nX-API-Key: {}\nAccept: application/json",
        s.jira_token,
        s.postman_key
    );
    tracing::info!(url = %db_url, "connecting");
    tracing::info!("connecting to {db_url:?}");
    // A request body at TRACE, as JSON text.
    let body =
        serde_json::json!({ "password": s.db_password, "apiKey": s.postman_key }).to_string();
    tracing::trace!(body = %body, "request body");
    tracing::trace!(body = ?body, "request body (debug)");
}

/// Secrets the test never registered: only the shape rules can catch these.
fn log_unregistered_shapes() {
    tracing::info!("Authorization: Bearer unregisteredBearer123");
    tracing::info!(query = "page=2&api_key=unregisteredQueryKey9&x=1", "get");
    tracing::info!(
        url = "redis://svc:unregisteredRedisPw7@cache:6379/0",
        "cache"
    );
    tracing::info!(
        body = r#"{"client_secret":"unregisteredClientSecret5"}"#,
        "oauth"
    );
}

fn capture(format: LogFormat, redactor: Redactor, log: impl FnOnce()) -> (String, Vec<usize>) {
    let sink = Capture::default();
    let opts = LogOptions {
        format,
        filter: "trace".to_owned(),
        ..LogOptions::default()
    };
    let (subscriber, _guard) = logging::subscriber(&opts, redactor, sink.clone()).unwrap();
    tracing::subscriber::with_default(subscriber, log);
    let writes = sink.writes.read().unwrap().clone();
    (sink.text(), writes)
}

/// Fails if any 8-byte window of `secret` appears in `output`, so partial leaks count too.
#[track_caller]
fn assert_absent(output: &str, secret: &str) {
    let bytes = secret.as_bytes();
    for window in bytes.windows(8.min(bytes.len())) {
        let window = String::from_utf8_lossy(window);
        assert!(
            !output.contains(window.as_ref()),
            "fragment {window:?} of a secret leaked into:\n{output}"
        );
    }
}

#[track_caller]
fn assert_no_secrets(output: &str) {
    for secret in SECRETS.all() {
        assert_absent(output, secret);
        assert_absent(output, &percent_encode(secret));
    }
    for unregistered in [
        "unregisteredBearer123",
        "unregisteredQueryKey9",
        "unregisteredRedisPw7",
        "unregisteredClientSecret5",
    ] {
        assert!(
            !output.contains(unregistered),
            "{unregistered} leaked:\n{output}"
        );
    }
    assert!(output.contains(REDACTED));
}

#[test]
fn no_config_secret_reaches_pretty_output() {
    let (output, _) = capture(LogFormat::Pretty, SECRETS.redactor(), || {
        log_everything(&SECRETS);
        log_unregistered_shapes();
    });
    // The events were written, with their non-secret parts intact.
    for expected in [
        "loaded jira config",
        "db.internal:5432",
        "syncing",
        "qa@acme.test",
    ] {
        assert!(output.contains(expected), "missing {expected:?}:\n{output}");
    }
    assert_no_secrets(&output);
}

#[test]
fn no_config_secret_reaches_json_output() {
    let (output, _) = capture(LogFormat::Json, SECRETS.redactor(), || {
        log_everything(&SECRETS);
        log_unregistered_shapes();
    });
    // Redaction keeps every line valid JSON.
    for line in output.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert!(value.get("level").is_some());
    }
    assert!(output.contains("db.internal:5432"));
    assert_no_secrets(&output);
}

#[test]
fn secrets_added_after_start_up_are_redacted() {
    // Logging starts before the config is decrypted; secrets are registered afterwards.
    let redactor = Redactor::new();
    let late = redactor.clone();
    let (output, _) = capture(LogFormat::Pretty, redactor, move || {
        late.add(&SecretString::from(SECRETS.jira_token));
        tracing::info!("token {}", SECRETS.jira_token);
    });
    assert_absent(&output, SECRETS.jira_token);
}

#[test]
fn each_event_reaches_the_sink_in_one_write() {
    let (output, writes) = capture(LogFormat::Json, Redactor::new(), || {
        for i in 0..5 {
            tracing::info!(i, "event");
        }
    });
    assert_eq!(writes.len(), 5, "{output}");
    assert_eq!(output.lines().count(), 5);
}

#[test]
fn redacting_writer_never_splits_a_secret_across_writes() {
    let sink = Capture::default();
    let redactor = Redactor::new();
    redactor.add(&SecretString::from("split-me-secret"));
    let make = RedactingMakeWriter::new(sink.clone(), redactor);
    {
        let mut writer = make.make_writer();
        writer.write_all(b"a split-").unwrap();
        // A flush mid-line forwards nothing yet: the line is not complete.
        writer.flush().unwrap();
        writer.write_all(b"me-secret b\nnext ").unwrap();
        // Now the first line is complete and is forwarded alone.
        writer.flush().unwrap();
        writer.write_all(b"split-me-").unwrap();
        writer.write_all(b"secret\n").unwrap();
    }
    assert_eq!(sink.text(), "a [REDACTED] b\nnext [REDACTED]\n");
}

#[test]
fn lines_without_secrets_are_not_copied() {
    let redactor = SECRETS.redactor();
    for line in [
        "2025-06-01T10:00:00.000Z  INFO qapms_core::sync: synced 42 tickets from jira in 120ms",
        r#"{"timestamp":"2025-06-01T10:00:00Z","level":"INFO","fields":{"message":"3 tests passed","key":"QA-12"}}"#,
        "WARN qapms_core::http: retrying after 2s (attempt 2 of 3) url=https://acme.atlassian.net/rest/api/3/search",
        "",
    ] {
        assert!(
            matches!(redactor.redact(line), Cow::Borrowed(_)),
            "allocated for {line:?}"
        );
    }
}

#[test]
fn bad_filter_is_a_config_error() {
    for filter in ["qapms=notalevel", "info,[=x"] {
        let opts = LogOptions {
            filter: filter.to_owned(),
            ..LogOptions::default()
        };
        let err = logging::subscriber(&opts, Redactor::new(), Capture::default())
            .err()
            .unwrap_or_else(|| panic!("{filter:?} was accepted"));
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains(filter), "{err}");
    }
}

#[test]
fn unwritable_log_dir_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    // A regular file where a directory component should be: fails even for root.
    let blocker = tmp.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let dir = blocker.join("logs");
    let opts = LogOptions {
        dir: Some(dir.clone()),
        ..LogOptions::default()
    };
    let err = logging::subscriber(&opts, Redactor::new(), Capture::default())
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
}

#[test]
fn log_format_parses_cli_values() {
    assert_eq!("pretty".parse::<LogFormat>().unwrap(), LogFormat::Pretty);
    assert_eq!(" JSON ".parse::<LogFormat>().unwrap(), LogFormat::Json);
    assert_eq!(LogFormat::Json.to_string(), "json");
    let err = "xml".parse::<LogFormat>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("`xml`"));
}

#[test]
fn retention_is_never_below_thirty_days() {
    let opts = LogOptions {
        retention_days: 7,
        ..LogOptions::default()
    };
    assert_eq!(opts.effective_retention_days(), 30);
    let opts = LogOptions {
        retention_days: 90,
        ..LogOptions::default()
    };
    assert_eq!(opts.effective_retention_days(), 90);
}

proptest! {
    #[test]
    fn redaction_never_panics(text in any::<String>(), secret in any::<String>()) {
        let redactor = Redactor::new();
        redactor.add(&SecretString::from(secret));
        let _ = redactor.redact(&text);
    }

    #[test]
    fn redaction_never_panics_near_shapes(
        text in r"(?s)(.|Authorization: |Bearer |Basic |password=|://|@|enc:v1:|\\|\x22|-----BEGIN PRIVATE KEY-----){0,40}",
    ) {
        let _ = Redactor::new().redact(&text);
    }

    #[test]
    fn registered_secret_is_always_removed(
        before in any::<String>(),
        after in any::<String>(),
        // No brackets or capitals: a secret made of `[REDACTED]`'s own characters could
        // reappear across the replacement's edge, which no replacement scheme can prevent.
        secret in "[a-z0-9._~!@#$%&*()+=:;,/-]{4,40}",
    ) {
        let redactor = Redactor::new();
        redactor.add(&SecretString::from(secret.clone()));
        let text = format!("{before}{secret}{after}");
        let redacted = redactor.redact(&text);
        prop_assert!(!redacted.contains(&secret), "{:?}", redacted);
        prop_assert!(redacted.contains(REDACTED));
    }
}
