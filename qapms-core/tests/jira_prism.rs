//! The Jira client against a Prism mock started from Atlassian's platform spec: Prism rejects
//! any request that breaks the contract (path, query, body, auth), so every call succeeding
//! shows the requests the client builds are ones Jira documents.
//!
//! Only acceptance is checked here. Atlassian's spec stores its examples as JSON *strings*, so
//! Prism answers with a quoted string that no model decodes; response shapes are checked in
//! `jira_contract.rs` against the schemas instead. A call passes when Prism answered 2xx.
//!
//! Prism (`@stoplight/prism-cli@5.14.2`) is found as `QAPMS_PRISM`, on `PATH`, or in a
//! `node_modules/.bin` above the crate; the spec in `../shared/contracts`. Without either the
//! test says so and passes, like the other contract tests.

#![cfg(feature = "jira")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt as _;
use qapms_core::config::{Env, JiraDeployment};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::model::IssueKey;
use secrecy::SecretString;

fn find_prism() -> Option<PathBuf> {
    let env = Env::from_process();
    if let Some(path) = env.get_non_empty("QAPMS_PRISM") {
        return Some(PathBuf::from(path));
    }
    let on_path = env.get("PATH").and_then(|paths| {
        std::env::split_paths(paths)
            .map(|dir| dir.join("prism"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .map(|dir| dir.join("node_modules/.bin/prism"))
            .find(|p| p.is_file())
    })
}

fn find_spec(file: &str) -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/contracts/jira").join(file))
        .find(|p| p.is_file())
}

/// A Prism process, killed when dropped.
struct Prism {
    _child: tokio::process::Child,
    url: String,
}

async fn start_prism(prism: &Path, spec: &Path) -> Prism {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = tokio::process::Command::new(prism)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prism starts");
    // Prism loads the 2.4 MB spec in a few seconds; wait for its port, up to a minute.
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Prism {
                _child: child,
                url: format!("http://127.0.0.1:{port}"),
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("prism did not listen on {port} within a minute");
}

#[tokio::test]
async fn prism_accepts_every_request_the_cloud_client_makes() {
    let (Some(prism), Some(spec)) = (find_prism(), find_spec("platform-v3.json")) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = start_prism(&prism, &spec).await;
    let jira = Jira::builder(mock.url.clone())
        .deployment(JiraDeployment::Cloud)
        .basic_auth("qa@acme.test", SecretString::from("api-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap();
    let key = IssueKey::parse("PAY-1").unwrap();

    accepted("myself", jira.myself().await);
    accepted("server_info", jira.server_info().await);
    accepted(
        "issues.get",
        jira.issues()
            .get(&key)
            .fields(["summary", "status"])
            .send()
            .await,
    );
    let search: qapms_core::Result<Vec<_>> = jira
        .issues()
        .search("project = PAY")
        .fields(["summary"])
        .stream()
        .try_collect()
        .await;
    accepted("issues.search", search);
    accepted("issues.transitions", jira.issues().transitions(&key).await);
    accepted(
        "issues.transition",
        jira.issues().transition(&key, "31").await,
    );
    accepted(
        "issues.add_comment",
        jira.issues()
            .add_comment(&key, "Verified on **staging**:\n\n- login\n- `refund`")
            .await,
    );
    accepted(
        "issues.add_worklog",
        jira.issues()
            .add_worklog(&key, chrono::Utc::now(), 600, Some("Regression pass"))
            .await,
    );
    accepted("fields", jira.fields().await);
    accepted("attachment", jira.attachment("10000").await);
}

/// Prism answered 2xx: either the body decoded, or it was one of the spec's string examples.
#[track_caller]
fn accepted<T: std::fmt::Debug>(call: &str, result: qapms_core::Result<T>) {
    if let Err(err) = result {
        assert!(
            err.context_value("status").is_none() && err.message().contains("malformed JSON"),
            "{call}: Prism rejected the request: {err}"
        );
    }
}

#[tokio::test]
async fn prism_accepts_the_agile_requests() {
    let (Some(prism), Some(spec)) = (find_prism(), find_spec("software-agile.json")) else {
        eprintln!(
            "skipped: needs prism (QAPMS_PRISM, PATH or node_modules) and ../shared/contracts"
        );
        return;
    };
    let mock = start_prism(&prism, &spec).await;
    // The Agile spec declares only OAuth 2.0, so Prism refuses Basic; a Bearer passes.
    let jira = Jira::builder(mock.url.clone())
        .bearer_auth(SecretString::from("token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap();
    accepted("agile.boards", jira.agile().boards().await);
    accepted("agile.sprints", jira.agile().sprints(1).await);
    accepted("agile.sprint", jira.agile().sprint(37).await);
    // Not `sprint_issues`: the spec types its `fields` query parameter as an array of closed
    // *objects*, which no query string can satisfy, so Prism answers 422 to any `fields`
    // value. Real Jira takes `fields=summary,status`, and sending only the fields in use is a
    // requirement, so the client keeps sending it.
}
