//! From `qapms.yaml` to a Jira call: the client built by `Jira::from_config` sends the
//! unlocked credential, and a browser sign-in config without stored tokens says to log in.

#![cfg(feature = "jira")]

use qapms_core::ErrorKind;
use qapms_core::config::{self, Env};
use qapms_core::integrations::jira::Jira;
use qapms_core::logging::Redactor;
use qapms_core::secrets::{self, KeyLookup};
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(yaml: &str) -> qapms_core::Result<Jira> {
    let env = Env::from_pairs([("JIRA_PAT", "pat-from-env-123".to_owned())]);
    let loaded =
        config::load_str(yaml, "qapms.yaml", None, &env).expect("the test config is valid");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let redactor = Redactor::new();
    let lookup = KeyLookup {
        env: &env,
        config_dir: dir.path(),
        passphrase: None,
    };
    let unlocked = secrets::unlock(&loaded.config, &lookup, &redactor)?;
    let jira = loaded
        .config
        .integrations
        .jira
        .as_ref()
        .expect("the config has a jira section");
    Jira::from_config(jira, &unlocked, Some(redactor))
}

#[tokio::test]
async fn a_data_center_pat_from_the_environment_is_sent_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(path("/rest/api/2/myself"))
        .and(header("authorization", "Bearer pat-from-env-123"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"name":"qa","displayName":"QA"}"#),
        )
        .mount(&server)
        .await;
    let yaml = format!(
        "integrations:\n  jira:\n    base_url: {}\n    deployment: data_center\n    \
         auth:\n      method: pat\n      token: ${{JIRA_PAT}}\n",
        server.uri()
    );
    let me = client(&yaml).unwrap().myself().await.unwrap();
    assert_eq!(me.name.as_deref(), Some("qa"));
}

#[test]
fn a_browser_sign_in_config_without_stored_tokens_says_to_log_in() {
    let yaml = "integrations:\n  jira:\n    base_url: https://jira.acme.internal\n    \
                deployment: data_center\n    auth:\n      method: oauth_pkce\n      client_id: abc\n";
    let err = client(yaml).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("qapms auth login jira"), "{err}");
}
