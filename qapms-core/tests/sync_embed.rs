//! Sync embeds what it stored (issue 6 §3), on both store backends: with an embeddings client,
//! each integration's run ends with an embedding pass against a local mock of the `OpenAI`
//! embeddings API, so documents have vectors as soon as the sync returns; a second sync sends
//! nothing new; an endpoint that fails makes a warning, never a failed sync.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use common::TestStore;
use qapms_core::config::SplunkTemplate;
use qapms_core::http::RetryPolicy;
use qapms_core::search::embed::EmbeddingClient;
use qapms_core::sync::{CancelToken, SyncEvent, SyncReport, Syncer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `{model, input: [..]}` in, `{data: [{index, embedding}]}` out: each text's vector is its
/// length and its count of `e`s, so it is deterministic and differs per text.
#[derive(Clone, Default)]
struct Embeddings {
    texts: Arc<AtomicUsize>,
}

impl Respond for Embeddings {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let Some(inputs) = body["input"].as_array() else {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "no input"}}));
        };
        self.texts.fetch_add(inputs.len(), Ordering::SeqCst);
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let text = text.as_str().unwrap_or("");
                let es = text.matches('e').count();
                json!({"object": "embedding", "index": i,
                       "embedding": [text.len() as f32, es as f32 + 1.0]})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": data, "model": "mock-embed-1",
            "usage": {"prompt_tokens": 1, "total_tokens": 1}
        }))
    }
}

fn client(server: &MockServer) -> EmbeddingClient {
    EmbeddingClient::builder(format!("{}/v1/embeddings", server.uri()), "mock-embed-1")
        .batch_size(2)
        .retry(RetryPolicy::none())
        .timeouts(Duration::from_secs(10), Duration::from_millis(500))
        .build()
        .unwrap()
}

fn templates() -> BTreeMap<String, SplunkTemplate> {
    let template = |spl: &str, description: &str| SplunkTemplate {
        spl: spl.to_owned(),
        description: Some(description.to_owned()),
        earliest: Some("-24h".to_owned()),
        latest: None,
    };
    BTreeMap::from([
        (
            "checkout_errors".to_owned(),
            template(
                "search index=web status>=500 path=/checkout*",
                "Checkout 5xx",
            ),
        ),
        (
            "login_latency".to_owned(),
            template(
                "search index=auth action=login | stats p95(duration)",
                "Login latency",
            ),
        ),
        (
            "refund_failures".to_owned(),
            template("search index=pay refund status=failed", "Failed refunds"),
        ),
    ])
}

/// Runs a sync and returns its report with every `Embedded` event.
async fn sync(syncer: &Syncer) -> (SyncReport, Vec<(String, u64, Option<String>)>) {
    let events = RwLock::new(Vec::new());
    let on_event = |event: SyncEvent| {
        if let SyncEvent::Embedded {
            integration,
            embedded,
            warning,
        } = event
        {
            events
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .push((integration, embedded, warning));
        }
    };
    let report = syncer.run(&on_event, &CancelToken::new()).await;
    (report, events.into_inner().unwrap())
}

const UIDS: [&str; 3] = [
    "d:splunk/checkout_errors",
    "d:splunk/login_latency",
    "d:splunk/refund_failures",
];

async fn sync_embeds_what_it_stored_once(t: &TestStore) {
    let server = MockServer::start().await;
    let embeddings = Embeddings::default();
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(embeddings.clone())
        .mount(&server)
        .await;
    let syncer = Syncer::new(t.store.clone())
        .splunk_templates(templates())
        .embeddings(client(&server));
    let (report, events) = sync(&syncer).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(events, [("splunk".to_owned(), 3, None)]);
    let uids: Vec<String> = UIDS.iter().map(|u| (*u).to_owned()).collect();
    let stored = t.store.embeddings("mock-embed-1", &uids).await.unwrap();
    assert_eq!(stored.len(), 3, "every synced document has a vector");
    assert_ne!(stored[UIDS[0]], stored[UIDS[1]]);
    assert_eq!(embeddings.texts.load(Ordering::SeqCst), 3);

    // Nothing changed: the second sync embeds nothing and sends nothing.
    let (report, events) = sync(&syncer).await;
    assert!(report.is_ok());
    assert_eq!(events, [("splunk".to_owned(), 0, None)]);
    assert_eq!(embeddings.texts.load(Ordering::SeqCst), 3);

    // One template's text changed: only it is embedded again.
    let mut changed = templates();
    if let Some(t) = changed.get_mut("login_latency") {
        "search index=auth action=login | timechart p99(duration)".clone_into(&mut t.spl);
    }
    let syncer = Syncer::new(t.store.clone())
        .splunk_templates(changed)
        .embeddings(client(&server));
    let (_, events) = sync(&syncer).await;
    assert_eq!(events, [("splunk".to_owned(), 1, None)]);
    assert_eq!(embeddings.texts.load(Ordering::SeqCst), 4);
}

async fn a_failing_endpoint_is_a_warning_not_a_failed_sync(t: &TestStore) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_json(json!({"error": {"message": "Rate limit reached"}})),
        )
        .mount(&server)
        .await;
    let syncer = Syncer::new(t.store.clone())
        .splunk_templates(templates())
        .embeddings(client(&server));
    let (report, events) = sync(&syncer).await;
    assert!(report.is_ok(), "the sync itself succeeded: {report:?}");
    assert_eq!(events.len(), 1);
    let (integration, embedded, warning) = &events[0];
    assert_eq!((integration.as_str(), *embedded), ("splunk", 0));
    assert!(
        warning
            .as_deref()
            .unwrap_or_default()
            .contains("keyword search is unaffected"),
        "{warning:?}"
    );
    let uids: Vec<String> = UIDS.iter().map(|u| (*u).to_owned()).collect();
    assert!(
        t.store
            .embeddings("mock-embed-1", &uids)
            .await
            .unwrap()
            .is_empty()
    );
    // The documents themselves are stored.
    let docs = t
        .store
        .search_documents_by_key(&[qapms_core::model::SearchDocumentKey::new(
            "splunk",
            "refund_failures",
        )])
        .await
        .unwrap();
    assert_eq!(docs.len(), 1);
}

async fn without_a_client_nothing_is_embedded(t: &TestStore) {
    let syncer = Syncer::new(t.store.clone()).splunk_templates(templates());
    let (report, events) = sync(&syncer).await;
    assert!(report.is_ok());
    assert!(events.is_empty(), "{events:?}");
}

for_each_backend!(
    sync_embeds_what_it_stored_once,
    a_failing_endpoint_is_a_warning_not_a_failed_sync,
    without_a_client_nothing_is_embedded,
);
