//! `GET /api/v1/search` with `oneshot`, on both store backends: ranked hits in the list
//! envelope with pagination, source filters, every bad query answered in the error format,
//! 401 without a caller and 503 without an index; and semantic re-ranking against a fake
//! OpenAI-compatible embeddings server on loopback, which degrades to keyword ranking with a
//! note when the endpoint fails.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{TimeZone, Utc};
use qapms_core::http::RetryPolicy;
use qapms_core::model::{Role, SearchDocument};
use qapms_core::search::SearchIndex;
use qapms_core::search::embed::{EmbeddingClient, embed_pending};
use qapms_core::search::hybrid::HybridOptions;
use qapms_server::admin;
use qapms_server::{AppState, SearchService, ServerOptions};
use secrecy::SecretString;
use serde_json::{Value, json};

use common::{Reply, TestApp, get, send, with_bearer};

const KEY: &str = "sk-test-server-embeddings";

/// Words of one concept point one way: the fake's vector of a text counts each concept's
/// words in it, so texts about the same thing are close whatever their exact words. To this
/// model a "refresh" is a session thing, so the query `refresh` means sessions, while BM25
/// ranks the documents that repeat the word most.
const CONCEPTS: &[&[&str]] = &[
    &[
        "login",
        "session",
        "credential",
        "renewal",
        "expiry",
        "refresh",
    ],
    &["payment", "card", "refund", "checkout", "invoice"],
    &["report", "export", "csv"],
];

fn concept_vector(text: &str) -> Vec<f32> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    CONCEPTS
        .iter()
        .map(|c| 0.05 + words.iter().filter(|w| c.contains(w)).count() as f32)
        .collect()
}

/// The `OpenAI` embeddings contract over loopback; `fail` answers every call with a 503.
async fn fake_embeddings(fail: bool) -> String {
    let handler = move |headers: HeaderMap, Json(body): Json<Value>| async move {
        let authorised = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {KEY}"));
        if !authorised {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": {"message": "bad key"}})),
            );
        }
        if fail {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {"message": "overloaded"}})),
            );
        }
        let data: Vec<Value> = body["input"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                json!({"object": "embedding", "index": i,
                                 "embedding": concept_vector(t.as_str().unwrap_or(""))})
            })
            .collect();
        (
            StatusCode::OK,
            Json(
                json!({"object": "list", "data": data, "model": "mock-embed-1",
                        "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
            ),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/v1/embeddings", post(handler));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/v1/embeddings")
}

fn embedder(endpoint: &str) -> EmbeddingClient {
    EmbeddingClient::builder(endpoint, "mock-embed-1")
        .api_key(SecretString::from(KEY))
        .retry(RetryPolicy::none())
        .timeouts(Duration::from_secs(10), Duration::from_secs(2))
        .build()
        .unwrap()
}

fn doc(source: &str, key: &str, title: &str, body: &str) -> SearchDocument {
    SearchDocument {
        source: source.to_owned(),
        source_key: key.to_owned(),
        doc_type: if source == "postman" {
            "request"
        } else {
            "case"
        }
        .to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        url: Some(format!("https://example.test/{key}")),
        project: Some("PAY".to_owned()),
        status: None,
        tags: vec![],
        ticket_keys: vec![],
        fields: BTreeMap::new(),
        updated_at: Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
    }
}

/// Every document says "refresh"; BM25 prefers those that say it most (payments, exports),
/// while for the fake the sign-in one is about the query's meaning.
fn corpus() -> Vec<SearchDocument> {
    let mut docs = vec![
        doc(
            "postman",
            "pay-refresh",
            "Payment card refresh",
            "refresh refresh refresh the payment card at checkout, refund invoice",
        ),
        doc(
            "postman",
            "session-refresh",
            "Session refresh",
            "login session credential renewal after expiry, refresh",
        ),
        doc(
            "postman",
            "export-refresh",
            "Export refresh",
            "csv report export refresh refresh",
        ),
    ];
    for n in 0..7 {
        docs.push(doc(
            "testmo",
            &format!("C{}", 100 + n),
            &format!("Token refresh case {n}"),
            "the token refresh is retried",
        ));
    }
    docs
}

/// The app's store with the corpus, an index built from it, and an API token.
struct Fixture {
    app: TestApp,
    token: String,
    index: Arc<SearchIndex>,
    _dir: tempfile::TempDir,
}

async fn fixture(app: TestApp) -> Fixture {
    app.add_user("quinn", Role::Qa, None).await;
    let user = app.store.user_by_name("quinn").await.unwrap();
    let (token, _) = admin::create_token(app.store.as_ref(), &user.id, "tests", None)
        .await
        .unwrap();
    app.store.upsert_search_documents(&corpus()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (index, _) = SearchIndex::open(dir.path(), app.store.as_ref(), &|_| {})
        .await
        .unwrap();
    Fixture {
        app,
        token,
        index: Arc::new(index),
        _dir: dir,
    }
}

impl Fixture {
    async fn get(&self, service: Option<SearchService>, path: &str) -> Reply {
        let state = AppState::with_options(
            self.app.store.clone(),
            ServerOptions {
                search: service.map(Arc::new),
                ..ServerOptions::default()
            },
        );
        send(
            qapms_server::app(state),
            with_bearer(get(path), &self.token),
        )
        .await
    }

    fn lexical(&self) -> SearchService {
        SearchService::new(self.index.clone())
    }
}

fn keys(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap().to_owned())
        .collect()
}

async fn ranked_hits_come_in_pages(app: TestApp) {
    let f = fixture(app).await;
    let reply = f
        .get(Some(f.lexical()), "/api/v1/search?q=refresh&pageSize=4")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(
        body["pagination"],
        json!({"page": 1, "pageSize": 4, "totalItems": 10, "totalPages": 3})
    );
    let first = keys(&body);
    assert_eq!(first.len(), 4);
    let hit = &body["data"][0];
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert_eq!(hit["matched"], "text");
    assert!(
        hit["url"]
            .as_str()
            .unwrap()
            .starts_with("https://example.test/")
    );
    assert!(
        hit["titleSnippet"]["highlights"].is_array() || hit["bodySnippet"]["highlights"].is_array(),
        "{hit}"
    );

    // The next pages continue where the first stopped, without repeats.
    let mut seen = first.clone();
    for page in [2, 3] {
        let reply = f
            .get(
                Some(f.lexical()),
                &format!("/api/v1/search?q=refresh&pageSize=4&page={page}"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        seen.extend(keys(&reply.json()));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (10, 10), "{seen:?}");

    // Source filters: one source, or several comma-separated.
    let reply = f
        .get(Some(f.lexical()), "/api/v1/search?q=refresh&source=postman")
        .await;
    let body = reply.json();
    assert_eq!(body["pagination"]["totalItems"], 3, "{body}");
    assert!(
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["source"] == "postman")
    );
    let reply = f
        .get(
            Some(f.lexical()),
            "/api/v1/search?q=refresh&source=postman,testmo",
        )
        .await;
    assert_eq!(reply.json()["pagination"]["totalItems"], 10);
    // The query's own filter language works too.
    let reply = f
        .get(
            Some(f.lexical()),
            "/api/v1/search?q=source%3Atestmo%20refresh",
        )
        .await;
    assert_eq!(reply.json()["pagination"]["totalItems"], 7);
    // An exact id.
    let reply = f.get(Some(f.lexical()), "/api/v1/search?q=C103").await;
    let body = reply.json();
    assert_eq!(body["data"][0]["key"], "C103", "{body}");
    assert_eq!(body["data"][0]["matched"], "exact_key");
}

async fn bad_queries_are_answered_in_the_error_format(app: TestApp) {
    let f = fixture(app).await;
    for (path, status, parameter) in [
        (
            "/api/v1/search",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("q"),
        ),
        (
            "/api/v1/search?q=%20%20",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("q"),
        ),
        (
            "/api/v1/search?q=x&pageSize=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pageSize"),
        ),
        (
            "/api/v1/search?q=x&pageSize=501",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pageSize"),
        ),
        (
            "/api/v1/search?q=x&page=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("page"),
        ),
        (
            "/api/v1/search?q=x&page=100000&pageSize=500",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("page"),
        ),
        ("/api/v1/search?q=x&page=two", StatusCode::BAD_REQUEST, None),
        ("/api/v1/search?q=x&limit=3", StatusCode::BAD_REQUEST, None),
        // A query syntax error names its position.
        (
            "/api/v1/search?q=%22unclosed",
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    ] {
        let reply = f.get(Some(f.lexical()), path).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        reply.error_code();
        if let Some(parameter) = parameter {
            assert_eq!(reply.json()["details"]["parameter"], parameter, "{path}");
        }
    }
    let long = format!("/api/v1/search?q={}", "a".repeat(3000));
    assert_eq!(
        f.get(Some(f.lexical()), &long).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let reply = f
        .get(Some(f.lexical()), "/api/v1/search?q=%22unclosed")
        .await;
    assert!(
        reply.json()["error"].as_str().unwrap().contains("column"),
        "{}",
        reply.body
    );

    // No caller: 401. No index: 503 with what to do.
    let state = AppState::with_options(
        f.app.store.clone(),
        ServerOptions {
            search: Some(Arc::new(f.lexical())),
            ..ServerOptions::default()
        },
    );
    let reply = send(qapms_server::app(state), get("/api/v1/search?q=refresh")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = f.get(None, "/api/v1/search?q=refresh").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "SEARCH_UNAVAILABLE");
}

async fn hits_are_reranked_by_meaning_and_degrade_when_the_endpoint_fails(app: TestApp) {
    let f = fixture(app).await;
    let working = embedder(&fake_embeddings(false).await);
    let outcome = embed_pending(f.app.store.as_ref(), &working, &|_| {})
        .await
        .unwrap();
    assert_eq!(outcome.embedded, 10);
    let path = "/api/v1/search?q=refresh&source=postman";
    let lexical = keys(&f.get(Some(f.lexical()), path).await.json());
    assert_ne!(lexical[0], "session-refresh", "BM25 alone prefers another");

    let options = HybridOptions {
        weight: 0.9,
        top_k: 50,
    };
    let reply = f
        .get(Some(f.lexical().with_embeddings(working, options)), path)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(keys(&body)[0], "session-refresh", "{body}");
    assert_eq!(keys(&body).len(), 3, "re-ranking keeps the candidates");
    assert!(
        body["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("meaning")),
        "{body}"
    );

    // The endpoint fails: keyword ranking, a note, and still a 200.
    let failing = embedder(&fake_embeddings(true).await);
    let reply = f
        .get(Some(f.lexical().with_embeddings(failing, options)), path)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = reply.json();
    assert_eq!(keys(&body), lexical);
    assert!(
        body["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("semantic ranking is unavailable")),
        "{body}"
    );
    assert!(!reply.body.contains(KEY));
}

for_each_backend!(qapms_server::ServerOptions::default();
    ranked_hits_come_in_pages,
    bad_queries_are_answered_in_the_error_format,
    hits_are_reranked_by_meaning_and_degrade_when_the_endpoint_fails,
);
