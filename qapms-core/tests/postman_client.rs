//! The Postman client against wiremock servers answering with the official examples
//! (`tests/fixtures/postman/`), plus hand-written mocks for paging, the list-endpoint pacer,
//! error mapping and secret hygiene.

#![cfg(feature = "postman")]

mod contract;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use contract::{Capture, fixture, fixture_json};
use qapms_core::ErrorKind;
use qapms_core::config::{self, Env};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::postman::{CollectionId, EnvironmentId, Postman, WorkspaceId};
use qapms_core::integrations::{Health, Integration as _, RequestCatalog as _};
use qapms_core::logging::Redactor;
use qapms_core::secrets::{self, KeyLookup};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "PMAK-0123456789abcdef-secretpart";

fn postman(server: &MockServer) -> Postman {
    Postman::builder(server.uri())
        .api_key(SecretString::from(KEY))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .list_rate_limit(None)
        .build()
        .expect("a test client builds")
}

async fn catch_all(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .mount(server)
        .await;
}

async fn serve(server: &MockServer, p: &str, file: &str) {
    Mock::given(method("GET"))
        .and(path(p))
        .and(header("x-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("postman", file)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn me_sends_the_api_key_and_parses_the_official_example() {
    let server = MockServer::start().await;
    serve(&server, "/me", "get-me.response.json").await;
    catch_all(&server).await;
    let client = postman(&server);
    let me = client.me().await.unwrap();
    assert_eq!(me.user.id, 12_345_678);
    assert_eq!(me.user.username.as_deref(), Some("taylor-lee"));
    assert!(me.operations.iter().any(|o| o.name == "api_usage"));
    assert_eq!(client.health().await.health, Health::Ok);
}

#[tokio::test]
async fn workspaces_list_and_get_parse_the_official_examples() {
    let server = MockServer::start().await;
    serve(&server, "/workspaces", "get-workspaces.response.json").await;
    serve(
        &server,
        "/workspaces/1f0df51a-8658-4ee8-a2a1-d2567dfa09a9",
        "get-workspaces-workspaceId.response.json",
    )
    .await;
    catch_all(&server).await;
    let client = postman(&server);
    let list = client.workspaces().list().await.unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[0].kind.as_deref(), Some("personal"));
    let ws = client
        .workspaces()
        .get(&WorkspaceId::new("1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"))
        .await
        .unwrap();
    assert_eq!(ws.collections[0].name, "Test Collection");
    assert_eq!(ws.environments.len(), 1);
}

/// Serves `total` workspaces by cursor, `page` at a time.
struct CursorPages {
    total: usize,
    page: usize,
}

impl Respond for CursorPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "cursor")
            .map_or(0, |(_, v)| v.parse().expect("a numeric query parameter"));
        let end = (start + self.page).min(self.total);
        let items: Vec<Value> = (start..end)
            .map(|n| json!({"id": format!("ws-{n}"), "name": format!("Workspace {n}"), "type": "team"}))
            .collect();
        let mut body = json!({ "workspaces": items });
        if end < self.total {
            body["meta"] = json!({ "nextCursor": end.to_string() });
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

#[tokio::test]
async fn workspaces_follow_the_cursor_to_the_end() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/workspaces"))
        .and(query_param("limit", "100"))
        .respond_with(CursorPages {
            total: 230,
            page: 100,
        })
        .mount(&server)
        .await;
    catch_all(&server).await;
    let list = postman(&server).workspaces().list().await.unwrap();
    assert_eq!(list.len(), 230);
    assert_eq!(list[229].id.as_str(), "ws-229");
}

/// Serves `total` collections by offset, capping pages at `cap` whatever `limit` says.
struct OffsetPages {
    total: u64,
    cap: u64,
    calls: Arc<AtomicUsize>,
}

impl Respond for OffsetPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let q = |name: &str| -> u64 {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map_or(0, |(_, v)| v.parse().expect("a numeric query parameter"))
        };
        let (offset, limit) = (q("offset"), q("limit"));
        let end = (offset + limit.min(self.cap)).min(self.total);
        let items: Vec<Value> = (offset..end)
            .map(|n| json!({"id": format!("c-{n}"), "name": format!("C {n}"), "uid": format!("1-c-{n}")}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "collections": items,
            "meta": {"total": self.total, "offset": offset, "limit": limit}
        }))
    }
}

#[tokio::test]
async fn collections_page_by_offset_and_miss_nothing_when_pages_come_back_short() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/collections"))
        .and(query_param("workspace", "ws-1"))
        .respond_with(OffsetPages {
            total: 257,
            cap: 40,
            calls: calls.clone(),
        })
        .mount(&server)
        .await;
    catch_all(&server).await;
    let list = postman(&server)
        .collections()
        .list()
        .workspace(WorkspaceId::new("ws-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.len(), 257);
    let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids[0], "c-0");
    assert_eq!(ids[256], "c-256");
    assert_eq!(calls.load(Ordering::Relaxed), 7, "40 per page: 7 pages");
}

#[tokio::test]
async fn the_official_collection_list_example_parses() {
    let server = MockServer::start().await;
    // The example says `total: 192` for a page of 3; serve it as the whole list.
    let mut body = fixture_json("postman", "get-collections.response.json");
    body["meta"]["total"] = json!(3);
    Mock::given(method("GET"))
        .and(path("/collections"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let list = postman(&server).collections().list().send().await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        list[0].collection_id().as_str(),
        "892436-026fa484-c108-4223-af5e-e97137865143"
    );
    assert!(list[0].created_at.is_some());
}

#[tokio::test]
async fn a_whole_collection_is_fetched_and_flattened() {
    let server = MockServer::start().await;
    serve(
        &server,
        "/collections/12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2",
        "get-collections-collectionId.response.json",
    )
    .await;
    catch_all(&server).await;
    let collection = postman(&server)
        .collections()
        .get(&CollectionId::new(
            "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2",
        ))
        .await
        .unwrap();
    assert_eq!(collection.info.name, "Test Collection");
    let requests = collection.flatten();
    let test_d = requests
        .iter()
        .find(|r| r.name == "Test D")
        .expect("Test D is in the example");
    assert_eq!(test_d.folder_path, ["Folder 1", "ID"]);
    assert!(
        test_d
            .pre_request_script
            .as_deref()
            .unwrap()
            .contains("pm.sendRequest")
    );
    assert!(
        test_d
            .test_script
            .as_deref()
            .unwrap()
            .contains("pm.response.to.have.status(200)")
    );
    assert_eq!(
        test_d.collection_id.as_deref(),
        Some("12ece9e1-2abf-4edc-8e34-de66e74114d2")
    );
}

#[tokio::test]
async fn environments_keep_secret_values_out_of_debug_output() {
    let server = MockServer::start().await;
    serve(&server, "/environments", "get-environments.response.json").await;
    let mut env = fixture_json("postman", "get-environments-environmentId.response.json");
    env["environment"]["values"][1]["value"] = json!("s3cr3t-env-value");
    Mock::given(method("GET"))
        .and(path("/environments/5daabc50-8451-43f6-922d-96b403b4f28e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(env))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = postman(&server);
    let list = client.environments().list().await.unwrap();
    assert_eq!(list.len(), 2);
    let env = client
        .environments()
        .get(&EnvironmentId::new("5daabc50-8451-43f6-922d-96b403b4f28e"))
        .await
        .unwrap();
    assert_eq!(env.values.len(), 2);
    assert_eq!(
        env.values[0].value.as_deref(),
        Some("12ece9e1-2abf-4edc-8e34-de66e74114d2")
    );
    let secret = &env.values[1];
    assert!(secret.is_secret());
    assert!(secret.value.is_none());
    assert_eq!(
        secret.secret.as_ref().unwrap().expose_secret(),
        "s3cr3t-env-value"
    );
    assert!(!format!("{env:?}").contains("s3cr3t-env-value"));
}

#[tokio::test]
async fn a_vault_secret_without_a_value_is_still_a_secret() {
    let server = MockServer::start().await;
    // The contract's sample as is: `apiKey` has `secret: true` and no `value` (vault-backed).
    serve(
        &server,
        "/environments/5daabc50-8451-43f6-922d-96b403b4f28e",
        "get-environments-environmentId.response.json",
    )
    .await;
    catch_all(&server).await;
    let env = postman(&server)
        .environments()
        .get(&EnvironmentId::new("5daabc50-8451-43f6-922d-96b403b4f28e"))
        .await
        .unwrap();
    let secret = &env.values[1];
    assert_eq!(secret.key, "apiKey");
    assert!(secret.is_secret());
    assert!(secret.value.is_none());
}

#[tokio::test(start_paused = true)]
async fn list_calls_wait_for_the_ten_per_ten_seconds_budget() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/environments"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"environments":[]}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("postman", "get-me.response.json")),
        )
        .mount(&server)
        .await;
    // Defaults: 300 a minute overall and 10 per 10 s on lists, on tokio's (paused) clock.
    let client = Postman::builder(server.uri())
        .api_key(SecretString::from(KEY))
        .retry(RetryPolicy::none())
        .timeout(None)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    for _ in 0..15 {
        client.environments().list().await.unwrap();
    }
    client.me().await.unwrap();
    // A burst of 10, then one a second: 15 list calls cannot finish in under 5 s. (Only the
    // lower bound is checked: with real sockets, the paused clock may also jump to a pool or
    // connect timer while idle, which only ever adds time.)
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn errors_are_typed_and_say_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(path("/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"name": "AuthenticationError", "message": "Invalid API Key. Every request requires a valid API Key to be sent."}
        })))
        .mount(&server)
        .await;
    Mock::given(path("/workspaces/forbidden"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": {"name": "forbiddenError", "message": "You do not have access to this workspace."}
        })))
        .mount(&server)
        .await;
    Mock::given(path("/collections/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"name": "instanceNotFoundError", "message": "We could not find the collection you are looking for"}
        })))
        .mount(&server)
        .await;
    Mock::given(path("/environments"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7").set_body_json(json!({
            "error": "rateLimited", "message": "Rate limit exceeded. Please retry after 1669048687"
        })))
        .mount(&server)
        .await;
    Mock::given(path("/workspaces"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workspaces": [{"id": "ws-1", "name": 42}]
        })))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = postman(&server);

    let err = client.me().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("Invalid API Key"), "{err}");
    assert!(
        err.message().contains("integrations.postman.api_key"),
        "{err}"
    );
    assert_eq!(client.health().await.health, Health::Unauthorized);

    let err = client
        .workspaces()
        .get(&WorkspaceId::new("forbidden"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(err.message().contains("access"), "{err}");

    let err = client
        .collections()
        .get(&CollectionId::new("missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("uid"), "{err}");

    let err = client.environments().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_temporary());

    let err = client.workspaces().list().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(
        err.context_value("field"),
        Some("workspaces[0].name"),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_is_told_apart_and_a_missing_key_is_a_config_error() {
    // Nothing listens on port 9.
    let client = Postman::builder("http://127.0.0.1:9")
        .api_key(SecretString::from(KEY))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(client.health().await.health, Health::Unreachable);

    let keyless = Postman::builder("http://127.0.0.1:9").build().unwrap();
    let err = keyless.me().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("api_key"), "{err}");
}

#[tokio::test]
async fn the_api_key_never_reaches_logs_or_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    // A hostile server that echoes the key back, in a success body and in an error.
    Mock::given(path("/me"))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!(
            r#"{{"error":{{"name":"AuthenticationError","message":"bad key {KEY}"}}}}"#
        )))
        .mount(&server)
        .await;
    Mock::given(path("/environments"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"{{"environments":[{{"id":"e","name":"{KEY}"}}]}}"#
        )))
        .mount(&server)
        .await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(KEY));
    let client = Postman::builder(server.uri())
        .api_key(SecretString::from(KEY))
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.me().await.unwrap_err();
    client.environments().list().await.unwrap();
    let report = client.health().await;
    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!format!("{client:?}").contains(KEY));
    assert!(!format!("{report:?}").contains(KEY));

    let logs = String::from_utf8(capture.contents()).unwrap();
    assert!(logs.contains("http.call"), "the calls were logged: {logs}");
    assert!(
        logs.contains("response body"),
        "bodies were logged at TRACE: {logs}"
    );
    assert!(!logs.contains(KEY), "{logs}");
    assert!(!logs.contains("secretpart"), "{logs}");
}

#[tokio::test]
async fn from_config_sends_the_unlocked_key_and_reads_the_configured_files() {
    let server = MockServer::start().await;
    serve(&server, "/me", "get-me.response.json").await;
    catch_all(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regression.postman_collection.json");
    std::fs::write(
        &file,
        fixture("postman", "collection-v2.1-nested-constructed.json"),
    )
    .unwrap();
    let yaml = format!(
        "integrations:\n  postman:\n    base_url: {}\n    api_key: ${{POSTMAN_KEY}}\n    \
         workspace: ws-1\n    collection_files: [{}]\n    rate_limit: {{requests: 60, per: minute}}\n",
        server.uri(),
        file.display()
    );
    let env = Env::from_pairs([("POSTMAN_KEY", KEY.to_owned())]);
    let loaded = config::load_str(&yaml, "qapms.yaml", None, &env).expect("a valid config");
    let redactor = Redactor::new();
    let lookup = KeyLookup {
        env: &env,
        config_dir: dir.path(),
        passphrase: None,
    };
    let unlocked = secrets::unlock(&loaded.config, &lookup, &redactor).unwrap();
    let section = loaded.config.integrations.postman.as_ref().unwrap();
    let client = Postman::from_config(section, &unlocked, Some(redactor)).unwrap();
    assert_eq!(client.me().await.unwrap().user.id, 12_345_678);
    assert_eq!(client.collection_files(), [file]);

    // Without a key, only the files are read, and health says whether they read.
    let yaml = format!(
        "integrations:\n  postman:\n    collection_files: [{}]\n",
        dir.path()
            .join("regression.postman_collection.json")
            .display()
    );
    let loaded = config::load_str(&yaml, "qapms.yaml", None, &env).expect("a valid config");
    let unlocked = secrets::unlock(&loaded.config, &lookup, &Redactor::new()).unwrap();
    let section = loaded.config.integrations.postman.as_ref().unwrap();
    let files_only = Postman::from_config(section, &unlocked, None).unwrap();
    assert_eq!(files_only.health().await.health, Health::Ok);
    let requests = files_only.requests().await.unwrap();
    assert_eq!(requests.len(), 4);
    assert_eq!(requests[0].collection, "Payments regression");
}

#[tokio::test]
async fn the_catalog_covers_every_collection_of_the_workspace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/collections"))
        .and(query_param("workspace", "ws-9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "collections": [{"id": "12ece9e1-2abf-4edc-8e34-de66e74114d2", "name": "Test Collection",
                             "uid": "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2"}]
        })))
        .mount(&server)
        .await;
    serve(
        &server,
        "/collections/12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2",
        "get-collections-collectionId.response.json",
    )
    .await;
    catch_all(&server).await;
    let client = Postman::builder(server.uri())
        .api_key(SecretString::from(KEY))
        .workspace(WorkspaceId::new("ws-9"))
        .retry(RetryPolicy::none())
        .list_rate_limit(None)
        .build()
        .unwrap();
    let requests = client.requests().await.unwrap();
    assert!(requests.len() > 3, "{}", requests.len());
    assert!(requests.iter().all(|r| r.collection == "Test Collection"));
}
