//! Jira OAuth 2.0 against a fake Atlassian authorization server on loopback (see `oauth/`):
//! the browser sign-in with PKCE (the browser is an HTTP client following the redirects to the
//! loopback listener), refresh on 401 and before expiry, rotation of refresh tokens with reuse
//! refused, client credentials, the state check, and no secret in the logs or the token file.

#![cfg(feature = "jira")]
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod oauth;
mod support;

use std::sync::Arc;
use std::time::Duration;

use oauth::{CLIENT_ID, CLIENT_SECRET, CLOUD_ID, FakeAuth};
use qapms_core::ErrorKind;
use qapms_core::config::{self, Env, JiraConfig};
use qapms_core::http::RedirectListener;
use qapms_core::http::oauth::{OAuthClient, Pkce, TokenBody};
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::jira::oauth::JiraOAuthSettings;
use qapms_core::logging::Redactor;
use qapms_core::secrets::{self, KeyLookup, MasterKey, TokenFile, Unlocked, token_file_path};
use secrecy::{ExposeSecret as _, SecretString};
use support::Capture;

struct Setup {
    fake: FakeAuth,
    config: JiraConfig,
    unlocked: Unlocked,
    redactor: Redactor,
    file: TokenFile,
    _dir: tempfile::TempDir,
}

async fn setup(method: &str) -> Setup {
    let fake = FakeAuth::start().await;
    let extra = if method == "oauth_pkce" {
        format!(
            "      scopes: [read:jira-work, offline_access]\n      authorize_url: {0}/authorize\n",
            fake.uri()
        )
    } else {
        "      scopes: [read:jira-work]\n".to_owned()
    };
    let yaml = format!(
        "integrations:\n  jira:\n    base_url: {site}\n    auth:\n      method: {method}\n      \
         client_id: {CLIENT_ID}\n      client_secret: ${{JIRA_CLIENT_SECRET}}\n{extra}      \
         token_url: {uri}/oauth/token\n      api_url: {uri}\n",
        site = fake.site(),
        uri = fake.uri(),
    );
    let env = Env::from_pairs([("JIRA_CLIENT_SECRET", CLIENT_SECRET.to_owned())]);
    let loaded = config::load_str(&yaml, "qapms.yaml", None, &env).expect("a valid config");
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
    let file = TokenFile::new(
        token_file_path(dir.path(), "jira"),
        Arc::new(MasterKey::generate()),
    );
    Setup {
        fake,
        config: loaded.config.integrations.jira.unwrap(),
        unlocked,
        redactor,
        file,
        _dir: dir,
    }
}

impl Setup {
    fn settings(&self) -> JiraOAuthSettings {
        JiraOAuthSettings::from_config(&self.config, &self.unlocked)
            .unwrap()
            .expect("an OAuth config")
    }

    /// The browser sign-in, with an HTTP client as the browser.
    async fn login(&self) -> String {
        let settings = self.settings();
        let (tx, rx) = tokio::sync::oneshot::channel::<url::Url>();
        let mut tx = Some(tx);
        let mut show = move |url: &url::Url| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(url.clone());
            }
        };
        let browser = async {
            let url = rx.await.expect("the login shows a URL");
            // Follows the 302 from /authorize to the loopback listener.
            let page = reqwest::get(url.as_str())
                .await
                .expect("the redirect lands");
            assert_eq!(page.status(), 200);
            page.text().await.unwrap()
        };
        let (info, page) = tokio::join!(
            settings.login(
                &self.file,
                Some(&self.redactor),
                Duration::from_mins(1),
                &mut show
            ),
            browser
        );
        let info = info.expect("the sign-in succeeds");
        assert_eq!(info.cloud_id.as_deref(), Some(CLOUD_ID));
        assert!(info.has_refresh_token);
        page
    }

    fn jira(&self) -> Jira {
        Jira::from_config_with_tokens(
            &self.config,
            &self.unlocked,
            Some(self.redactor.clone()),
            Some(self.file.clone()),
        )
        .unwrap()
    }
}

#[tokio::test]
async fn browser_sign_in_with_pkce_then_refresh_on_401_with_rotation() {
    let capture = Capture::default();
    let _guard = capture.install();
    let s = setup("oauth_pkce").await;
    let page = s.login().await;
    assert!(page.contains("Signed in"), "{page}");
    assert_eq!(s.fake.grants(), ["authorization_code"]);

    let jira = s.jira();
    let me = jira.myself().await.unwrap();
    assert_eq!(me.display_name.as_deref(), Some("Mia Krystof"));
    assert_eq!(s.fake.grants().len(), 1, "a fresh token is used as it is");

    let spent = s.file.load().unwrap().unwrap().refresh_token.unwrap();
    s.fake.expire_access_tokens();
    jira.myself().await.expect("a 401 renews the token once");
    assert_eq!(s.fake.grants(), ["authorization_code", "refresh_token"]);

    // Rotation: the file holds the new refresh token, the old one is spent.
    let stored = s.file.load().unwrap().unwrap();
    let current = stored.refresh_token.unwrap();
    assert_ne!(current.expose_secret(), spent.expose_secret());
    assert_eq!(
        s.fake.live_refresh_tokens(),
        [current.expose_secret().to_owned()]
    );
    let oauth = s.settings().oauth_client(None).unwrap();
    let err = oauth.refresh(&spent).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("refresh token was refused"), "{err}");

    // A new client (another process) starts from the file and keeps working.
    s.fake.expire_access_tokens();
    s.jira().myself().await.unwrap();

    let logs = capture.text();
    assert!(logs.contains("http.call"), "calls were logged: {logs}");
    let file_text = std::fs::read_to_string(s.file.path()).unwrap();
    for secret in s.fake.all_secrets() {
        assert!(!logs.contains(&secret), "{secret} in the logs");
        assert!(
            !file_text.contains(&secret),
            "{secret} in clear in the file"
        );
    }
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_call() {
    let s = setup("oauth_pkce").await;
    // Less than the one-minute margin: every token handed out is "about to expire".
    s.fake.set_expires_in(30);
    s.login().await;
    let jira = s.jira();
    jira.myself().await.unwrap();
    jira.myself().await.unwrap();
    assert_eq!(
        s.fake.grants(),
        ["authorization_code", "refresh_token", "refresh_token"],
        "each call refreshed first, and never hit a 401"
    );
}

#[tokio::test]
async fn a_refused_refresh_token_says_to_sign_in_again() {
    let s = setup("oauth_pkce").await;
    s.login().await;
    let jira = s.jira();
    // Someone else spends the stored refresh token (another machine with a copy of the file).
    let stored = s.file.load().unwrap().unwrap().refresh_token.unwrap();
    let oauth = s.settings().oauth_client(None).unwrap();
    oauth.refresh(&stored).await.unwrap();
    s.fake.expire_access_tokens();
    let err = jira.myself().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("qapms auth login jira"), "{err}");
}

#[tokio::test]
async fn the_code_exchange_checks_pkce_and_is_single_use() {
    let s = setup("oauth_pkce").await;
    let oauth = OAuthClient::builder("jira", format!("{}/oauth/token", s.fake.uri()), CLIENT_ID)
        .authorize_url(format!("{}/authorize", s.fake.uri()))
        .authorize_param("audience", "api.atlassian.com")
        .client_secret(SecretString::from(CLIENT_SECRET))
        .token_body(TokenBody::Json)
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:9/callback";
    let pkce = Pkce::generate().unwrap();
    let url = oauth
        .authorization_url(redirect, &["read:jira-work".to_owned()], "st", &pkce)
        .unwrap();
    #[expect(
        clippy::disallowed_methods,
        reason = "the test's browser is a plain client that must not follow the redirect"
    )]
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = no_redirects.get(url.as_str()).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let code = SecretString::from(code);

    let wrong = Pkce::generate().unwrap();
    let err = oauth
        .exchange_code(&code, wrong.verifier(), redirect)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.context_value("oauth_error"), Some("invalid_grant"));
    assert!(err.message().contains("PKCE verification failed"), "{err}");
    // The failed attempt used the code up, as a real server does.
    let err = oauth
        .exchange_code(&code, pkce.verifier(), redirect)
        .await
        .unwrap_err();
    assert!(err.message().contains("already used"), "{err}");

    let bad_secret =
        OAuthClient::builder("jira", format!("{}/oauth/token", s.fake.uri()), CLIENT_ID)
            .client_secret(SecretString::from("not-the-secret"))
            .token_body(TokenBody::Json)
            .build()
            .unwrap();
    let err = bad_secret.client_credentials(&[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("client id and secret"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn client_credentials_look_up_the_cloud_id_and_renew_on_401() {
    let s = setup("oauth_client_credentials").await;
    let info = s
        .settings()
        .login_client_credentials(&s.file, Some(&s.redactor))
        .await
        .unwrap();
    assert_eq!(info.cloud_id.as_deref(), Some(CLOUD_ID));
    assert!(!info.has_refresh_token);
    let jira = s.jira();
    jira.myself().await.unwrap();
    s.fake.expire_access_tokens();
    jira.myself().await.unwrap();
    assert_eq!(
        s.fake.grants(),
        ["client_credentials", "client_credentials"]
    );
}

#[tokio::test]
async fn the_listener_ignores_a_wrong_state_and_other_paths() {
    let listener = RedirectListener::bind(None).await.unwrap();
    let uri = listener.redirect_uri();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let waiting = tokio::spawn(listener.wait("right-state", Duration::from_mins(1)));
    let favicon = reqwest::get(uri.replace("/callback", "/favicon.ico"))
        .await
        .unwrap();
    assert_eq!(favicon.status(), 404);
    let forged = reqwest::get(format!("{uri}?code=evil&state=wrong"))
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let good = reqwest::get(format!("{uri}?code=good-code&state=right-state"))
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    let code = waiting.await.unwrap().unwrap();
    assert_eq!(code.expose_secret(), "good-code");
}

#[tokio::test]
async fn a_refused_consent_ends_the_sign_in_with_the_reason() {
    let listener = RedirectListener::bind(None).await.unwrap();
    let uri = listener.redirect_uri();
    let waiting = tokio::spawn(listener.wait("s", Duration::from_mins(1)));
    let page = reqwest::get(format!(
        "{uri}?error=access_denied&error_description=User%20did%20not%20consent&state=s"
    ))
    .await
    .unwrap();
    assert_eq!(page.status(), 200);
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("access_denied"), "{err}");
    assert!(err.message().contains("User did not consent"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_sign_in_that_never_comes_back_times_out() {
    let listener = RedirectListener::bind(None).await.unwrap();
    let err = listener
        .wait("s", Duration::from_mins(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("no sign-in came back"), "{err}");
}
