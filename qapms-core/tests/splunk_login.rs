//! Splunk `auth/login`: username and password exchanged for a session key, the key sent as
//! `Authorization: Splunk <key>`, one new login when the session expires (also under concurrent
//! calls), a refused password named clearly, and neither password nor key in the logs.

#![cfg(feature = "splunk")]
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use qapms_core::ErrorKind;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::splunk::Splunk;
use qapms_core::logging::Redactor;
use secrecy::SecretString;
use serde_json::json;
use support::{Capture, fixture_json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORD: &str = "spl-passw0rd-91ab";

/// `auth/login` per the derived contract: a form with username, password and `output_mode`,
/// answered `{"sessionKey": ...}`; each login gives a new key, and only the newest works.
#[derive(Clone, Default)]
struct Sessions {
    logins: Arc<AtomicUsize>,
    current: Arc<RwLock<String>>,
}

impl Sessions {
    fn expire(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = String::new();
    }
}

struct Login(Sessions);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        if form.get("username").map(String::as_str) != Some("qa-bot")
            || form.get("password").map(String::as_str) != Some(PASSWORD)
            || form.get("output_mode").map(String::as_str) != Some("json")
        {
            return ResponseTemplate::new(401).set_body_json(json!({"messages": [
                {"type": "WARN", "code": "incorrect_username_or_password", "text": "Login failed"}
            ]}));
        }
        let n = self.0.logins.fetch_add(1, Ordering::SeqCst) + 1;
        let key = format!("sessionkey-{n}-9c0ffee{n}");
        self.0
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clone_from(&key);
        ResponseTemplate::new(200).set_body_json(json!({"sessionKey": key}))
    }
}

struct Info(Sessions);

impl Respond for Info {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let current = self
            .0
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let sent = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if current.is_empty() || sent != format!("Splunk {current}") {
            return ResponseTemplate::new(401)
                .set_body_json(fixture_json("splunk/error-401.response.json"));
        }
        ResponseTemplate::new(200).set_body_json(fixture_json("splunk/server-info.response.json"))
    }
}

async fn server(sessions: &Sessions) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/auth/login"))
        .respond_with(Login(sessions.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/server/info"))
        .respond_with(Info(sessions.clone()))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, password: &str, redactor: Redactor) -> Splunk {
    Splunk::builder(server.uri())
        .login("qa-bot", SecretString::from(password))
        .retry(RetryPolicy::none())
        .redactor(redactor)
        .build()
        .unwrap()
}

#[tokio::test]
async fn logs_in_once_and_again_after_the_session_expires() {
    let capture = Capture::default();
    let _guard = capture.install();
    let sessions = Sessions::default();
    let server = server(&sessions).await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(PASSWORD));
    let splunk = client(&server, PASSWORD, redactor);

    splunk.server_info().await.unwrap();
    splunk.server_info().await.unwrap();
    assert_eq!(
        sessions.logins.load(Ordering::SeqCst),
        1,
        "the key is reused"
    );

    sessions.expire();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let splunk = splunk.clone();
            tokio::spawn(async move { splunk.server_info().await })
        })
        .collect();
    for call in calls {
        call.await
            .unwrap()
            .expect("each call succeeds after one new login");
    }
    assert_eq!(
        sessions.logins.load(Ordering::SeqCst),
        2,
        "concurrent 401s lead to one login"
    );

    let logs = capture.text();
    assert!(
        logs.contains("auth.login"),
        "the login call was logged: {logs}"
    );
    assert!(!logs.contains(PASSWORD), "password in the logs");
    assert!(!logs.contains("9c0ffee"), "a session key in the logs");
}

#[tokio::test]
async fn a_refused_password_names_the_user_not_the_password() {
    let sessions = Sessions::default();
    let server = server(&sessions).await;
    let splunk = client(&server, "wrong-password-123", Redactor::new());
    let err = splunk.server_info().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("`qa-bot`"), "{err}");
    assert!(
        !format!("{err} {err:?}").contains("wrong-password-123"),
        "{err}"
    );
}

#[test]
fn login_is_a_config_method() {
    let env = qapms_core::config::Env::from_pairs([("SPLUNK_PASSWORD", PASSWORD.to_owned())]);
    let yaml = "integrations:\n  splunk:\n    mode: rest\n    base_url: https://splunk.acme.internal:8089\n    \
                auth:\n      method: login\n      username: qa-bot\n      password: ${SPLUNK_PASSWORD}\n";
    let loaded = qapms_core::config::load_str(yaml, "qapms.yaml", None, &env).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let unlocked = qapms_core::secrets::unlock(
        &loaded.config,
        &qapms_core::secrets::KeyLookup {
            env: &env,
            config_dir: dir.path(),
            passphrase: None,
        },
        &Redactor::new(),
    )
    .unwrap();
    assert!(
        unlocked.get("integrations.splunk.auth.password").is_some(),
        "the password is a credential"
    );
    let splunk = loaded.config.integrations.splunk.unwrap();
    Splunk::from_config(&splunk, &unlocked, None).unwrap();
}
