//! Semantic re-ranking (issue 6 §3) on both store backends, against a local mock of the `OpenAI`
//! embeddings API that returns deterministic vectors: documents embedded in batches and only
//! when their text changed, queries re-ranked by cosine similarity with the configured weight,
//! and every endpoint failure (429, 5xx, timeout, a malformed answer) degrading to keyword
//! ranking with a note, never an error. The key never reaches the logs.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;
#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use qapms_core::http::RetryPolicy;
use qapms_core::logging::Redactor;
use qapms_core::model::SearchDocument;
use qapms_core::search::embed::{EmbeddingClient, embed_pending};
use qapms_core::search::hybrid::{HybridOptions, hybrid_search};
use qapms_core::search::{SearchIndex, SearchRequest, SearchResults};
use qapms_core::store::{EmbeddingRow, Store};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use common::TestStore;
use support::Capture;

const KEY: &str = "sk-test-embeddings-5e1f";

/// Concepts the mock knows: a text's vector counts the words of each, plus a small constant,
/// so texts about the same thing point the same way whatever their exact words.
const CONCEPTS: &[&[&str]] = &[
    &[
        "login",
        "sign-in",
        "session",
        "credential",
        "renewal",
        "expiry",
        "refresh",
    ],
    &["payment", "invoice", "card", "refund", "checkout"],
    &["report", "export", "csv", "dashboard"],
    &["latency", "slow", "timeout", "performance"],
];

fn concept_vector(text: &str) -> Vec<f32> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .collect();
    CONCEPTS
        .iter()
        .map(|concept| 0.05 + words.iter().filter(|w| concept.contains(w)).count() as f32)
        .collect()
}

/// The `OpenAI` embeddings contract: `{model, input: [..]}` in, `{object: "list", data: [{object:
/// "embedding", index, embedding}], model, usage}` out. Answers in reverse order, to check
/// that `index` is honoured.
#[derive(Clone, Default)]
struct Embeddings {
    requests: Arc<AtomicUsize>,
    texts: Arc<AtomicUsize>,
}

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let Some(inputs) = body["input"].as_array() else {
            return ResponseTemplate::new(400).set_body_json(
                json!({"error": {"message": "input is required", "type": "invalid_request_error"}}),
            );
        };
        if body["model"] != "mock-embed-1" {
            return ResponseTemplate::new(404).set_body_json(
                json!({"error": {"message": "model not found", "type": "invalid_request_error"}}),
            );
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.texts.fetch_add(inputs.len(), Ordering::SeqCst);
        let mut data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                json!({"object": "embedding", "index": i,
                       "embedding": concept_vector(text.as_str().unwrap_or(""))})
            })
            .collect();
        data.reverse();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "model": "mock-embed-1",
            "usage": {"prompt_tokens": 1, "total_tokens": 1}
        }))
    }
}

async fn mock(embeddings: &Embeddings) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(embeddings.clone())
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer, redactor: Redactor) -> EmbeddingClient {
    EmbeddingClient::builder(format!("{}/v1/embeddings", server.uri()), "mock-embed-1")
        .api_key(SecretString::from(KEY))
        .batch_size(2)
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .timeouts(Duration::from_secs(10), Duration::from_millis(500))
        .build()
        .unwrap()
}

fn doc(key: &str, title: &str, body: &str) -> SearchDocument {
    SearchDocument {
        source: "postman".to_owned(),
        source_key: key.to_owned(),
        doc_type: "request".to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        url: None,
        project: Some("PAY".to_owned()),
        status: None,
        tags: vec![],
        ticket_keys: vec![],
        fields: BTreeMap::new(),
        updated_at: Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
    }
}

/// Every document says "refresh"; BM25 prefers the ones that say it most, which are about
/// payments and exports, while the word itself (for the mock) is about signing in.
fn corpus() -> Vec<SearchDocument> {
    vec![
        doc(
            "pay-refresh",
            "Payment card refresh",
            "refresh refresh refresh the payment card token at checkout, refund invoice",
        ),
        doc(
            "session-refresh",
            "Session refresh",
            "login session credential renewal after expiry, refresh",
        ),
        doc(
            "export-refresh",
            "Export refresh",
            "csv report export refresh refresh",
        ),
    ]
}

fn keys(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.key.as_str()).collect()
}

async fn index(t: &TestStore, dir: &std::path::Path) -> SearchIndex {
    t.store.upsert_search_documents(&corpus()).await.unwrap();
    SearchIndex::open(dir, &*t.store, &|_| {}).await.unwrap().0
}

async fn documents_are_embedded_in_batches_and_only_when_changed(t: &TestStore) {
    let embeddings = Embeddings::default();
    let server = mock(&embeddings).await;
    let client = client(&server, Redactor::new());
    let s: &dyn Store = &*t.store;
    s.upsert_search_documents(&corpus()).await.unwrap();
    let seen = std::sync::atomic::AtomicU64::new(0);
    let outcome = embed_pending(s, &client, &|p| seen.store(p.embedded, Ordering::SeqCst))
        .await
        .unwrap();
    assert_eq!(
        (outcome.scanned, outcome.embedded, outcome.unchanged),
        (3, 3, 0)
    );
    assert_eq!(outcome.warning, None);
    assert_eq!(seen.load(Ordering::SeqCst), 3, "progress was reported");
    assert_eq!(
        embeddings.requests.load(Ordering::SeqCst),
        2,
        "batches of 2"
    );

    let uids = vec![
        "d:postman/session-refresh".to_owned(),
        "d:postman/none".to_owned(),
    ];
    let stored = s.embeddings("mock-embed-1", &uids).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored["d:postman/session-refresh"],
        concept_vector(
            "session-refresh: Session refresh\nlogin session credential renewal after expiry, refresh"
        ),
        "the vector for the right text, whatever order the endpoint answered in"
    );

    // Nothing changed: nothing is sent.
    let again = embed_pending(s, &client, &|_| {}).await.unwrap();
    assert_eq!((again.embedded, again.unchanged), (0, 3));
    assert_eq!(embeddings.requests.load(Ordering::SeqCst), 2);

    // One document changed: only it is embedded again.
    let mut changed = corpus()[2].clone();
    "dashboard export, slow".clone_into(&mut changed.body);
    s.upsert_search_documents(&[changed]).await.unwrap();
    let third = embed_pending(s, &client, &|_| {}).await.unwrap();
    assert_eq!((third.embedded, third.unchanged), (1, 2));
    assert_eq!(embeddings.texts.load(Ordering::SeqCst), 4);

    // Another model's vectors go with prune; bad vectors are refused.
    let row = |vector: Vec<f32>| EmbeddingRow {
        uid: "d:postman/pay-refresh".to_owned(),
        content_hash: "x".to_owned(),
        vector,
    };
    s.upsert_embeddings("old-model", &[row(vec![1.0, 2.0])])
        .await
        .unwrap();
    assert_eq!(s.prune_embeddings(Some("mock-embed-1")).await.unwrap(), 1);
    for bad in [vec![f32::NAN], vec![]] {
        let err = s.upsert_embeddings("m", &[row(bad)]).await.unwrap_err();
        assert_eq!(err.kind(), qapms_core::ErrorKind::InvalidInput);
    }
}

async fn queries_are_reranked_by_meaning_with_the_configured_weight(t: &TestStore) {
    let capture = Capture::default();
    let _guard = capture.install();
    let dir = tempfile::tempdir().unwrap();
    let index = index(t, dir.path()).await;
    let embeddings = Embeddings::default();
    let server = mock(&embeddings).await;
    let client = client(&server, Redactor::new());
    embed_pending(&*t.store, &client, &|_| {}).await.unwrap();

    let request = SearchRequest::new("refresh");
    let lexical = index.search(&request).unwrap();
    assert_eq!(lexical.hits.len(), 3);
    assert_ne!(
        keys(&lexical)[0],
        "session-refresh",
        "BM25 alone prefers another"
    );
    let run = |weight: f64, request: SearchRequest| {
        let index = &index;
        let client = &client;
        let store = &*t.store;
        async move {
            hybrid_search(
                index,
                store,
                Some(client),
                &request,
                HybridOptions { weight, top_k: 50 },
            )
            .await
            .unwrap()
        }
    };

    let keyword_only = run(0.0, request.clone()).await;
    assert_eq!(
        keys(&keyword_only),
        keys(&lexical),
        "weight 0 is keyword ranking"
    );
    let no_client = hybrid_search(&index, &*t.store, None, &request, HybridOptions::default())
        .await
        .unwrap();
    assert_eq!(keys(&no_client), keys(&lexical), "without a key, lexical");

    let meaning = run(0.9, request.clone()).await;
    assert_eq!(
        keys(&meaning)[0],
        "session-refresh",
        "meaning lifts the sign-in document"
    );
    assert_eq!(meaning.hits.len(), 3, "re-ranking keeps the candidates");
    assert!(
        meaning.notes.iter().any(|n| n.contains("meaning")),
        "{:?}",
        meaning.notes
    );
    assert!(meaning.hits.windows(2).all(|w| w[0].score >= w[1].score));

    // Paging over the re-ranked list.
    let page = run(
        0.9,
        SearchRequest {
            offset: 1,
            limit: 1,
            ..request.clone()
        },
    )
    .await;
    assert_eq!(keys(&page), [keys(&meaning)[1]]);
    assert!(!capture.text().contains(KEY), "the key is never logged");
}

async fn endpoint_failures_degrade_to_keyword_ranking(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = index(t, dir.path()).await;
    let request = SearchRequest::new("refresh");
    let lexical = index.search(&request).unwrap();
    let failures = [
        ResponseTemplate::new(429)
            .insert_header("retry-after", "30")
            .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests"}})),
        ResponseTemplate::new(503).set_body_string("upstream unavailable"),
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"index": 0, "embedding": "nope"}]})),
        // Longer than the query timeout (500 ms).
        ResponseTemplate::new(200)
            .set_delay(Duration::from_secs(5))
            .set_body_json(json!({"data": [{"index": 0, "embedding": [1.0]}]})),
    ];
    for failure in failures {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(failure)
            .mount(&server)
            .await;
        let client = client(&server, Redactor::new());
        let results = hybrid_search(
            &index,
            &*t.store,
            Some(&client),
            &request,
            HybridOptions {
                weight: 0.9,
                top_k: 50,
            },
        )
        .await
        .expect("a failing endpoint is never an error");
        assert_eq!(keys(&results), keys(&lexical));
        assert!(
            results
                .notes
                .iter()
                .any(|n| n.contains("semantic ranking is unavailable")),
            "{:?}",
            results.notes
        );
        let pass = embed_pending(&*t.store, &client, &|_| {}).await.unwrap();
        assert_eq!(pass.embedded, 0);
        assert!(
            pass.warning
                .unwrap()
                .contains("keyword search is unaffected")
        );
    }
}

async fn an_interrupted_pass_keeps_its_vectors_and_resumes(t: &TestStore) {
    t.store.upsert_search_documents(&corpus()).await.unwrap();
    let server = MockServer::start().await;
    let embeddings = Embeddings::default();
    // The first batch goes through, then the endpoint rate-limits.
    Mock::given(method("POST"))
        .respond_with(embeddings.clone())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .with_priority(2)
        .mount(&server)
        .await;
    let keyless =
        EmbeddingClient::builder(format!("{}/v1/embeddings", server.uri()), "mock-embed-1")
            .batch_size(2)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
    let first = embed_pending(&*t.store, &keyless, &|_| {}).await.unwrap();
    assert_eq!(first.embedded, 2);
    assert!(first.warning.is_some());
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(embeddings.clone())
        .mount(&server)
        .await;
    let second = embed_pending(&*t.store, &keyless, &|_| {}).await.unwrap();
    assert_eq!((second.embedded, second.unchanged), (1, 2));
}

for_each_backend!(
    documents_are_embedded_in_batches_and_only_when_changed,
    queries_are_reranked_by_meaning_with_the_configured_weight,
    endpoint_failures_degrade_to_keyword_ranking,
    an_interrupted_pass_keeps_its_vectors_and_resumes,
);
