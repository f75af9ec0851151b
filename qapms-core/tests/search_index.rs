//! The search index built from a store (SQLite and PostgreSQL) holding realistic tickets, test
//! cases and search documents: ranking, filters, phrases, prefixes, ids, snippets, pagination,
//! grouping, related items, incremental updates, and rebuilds of a damaged index.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use qapms_core::ErrorKind;
use qapms_core::model::{
    IssueKey, SearchDocument, StatusCategory, TestCase, TestId, TestSource, Ticket,
};
use qapms_core::search::{
    DocRef, Grouping, IndexChange, IndexStatus, MatchKind, RebuildReason, SearchIndex,
    SearchRequest, SearchResults,
};
use qapms_core::store::Store;
use serde_json::json;

use common::TestStore;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, day, 9, 30, 0).unwrap()
}

fn key(s: &str) -> IssueKey {
    IssueKey::parse(s).unwrap()
}

fn adf(paragraphs: &[&str]) -> serde_json::Value {
    let content: Vec<_> = paragraphs
        .iter()
        .map(|p| json!({"type": "paragraph", "content": [{"type": "text", "text": p}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

#[expect(clippy::too_many_arguments, reason = "a fixture row, read as a table")]
fn ticket(
    k: &str,
    summary: &str,
    status: &str,
    labels: &[&str],
    components: &[&str],
    description: &[&str],
    comments: &[&str],
    day: u32,
) -> Ticket {
    let comments: Vec<_> = comments
        .iter()
        .map(|c| json!({"body": adf(&[c])}))
        .collect();
    Ticket {
        key: key(k),
        summary: summary.to_owned(),
        status: status.to_owned(),
        status_category: StatusCategory::InProgress,
        issue_type: "Bug".to_owned(),
        priority: Some("High".to_owned()),
        assignee: Some("Ana Lima".to_owned()),
        labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        components: components.iter().map(|s| (*s).to_owned()).collect(),
        fix_versions: vec![],
        updated: at(day),
        url: Some(format!("https://acme.atlassian.net/browse/{k}")),
        raw: json!({"key": k, "fields": {
            "description": adf(description),
            "comment": {"comments": comments},
        }})
        .into(),
    }
}

fn case(source: TestSource, ext: &str, title: &str, folder: &str, links: &[&str]) -> TestCase {
    TestCase {
        id: TestId::new(),
        source,
        external_id: ext.to_owned(),
        title: title.to_owned(),
        folder_path: Some(folder.to_owned()),
        tags: vec!["regression".to_owned()],
        ticket_keys: links.iter().map(|k| key(k)).collect(),
    }
}

fn document(
    source: &str,
    doc_type: &str,
    k: &str,
    title: &str,
    body: &str,
    links: &[&str],
) -> SearchDocument {
    SearchDocument {
        source: source.to_owned(),
        source_key: k.to_owned(),
        doc_type: doc_type.to_owned(),
        title: title.to_owned(),
        body: body.to_owned(),
        url: Some(format!("https://example.invalid/{source}/{k}")),
        project: Some("PAY".to_owned()),
        status: None,
        tags: vec![],
        ticket_keys: links.iter().map(|k| key(k)).collect(),
        fields: BTreeMap::new(),
        updated_at: at(3),
    }
}

#[expect(clippy::too_many_lines, reason = "fixture data, one row per line")]
async fn seed(store: &dyn Store) {
    store
        .upsert_tickets(&[
            ticket(
                "PAY-12",
                "Token refresh fails after 15 minutes",
                "In Progress",
                &["auth"],
                &["Gateway"],
                &[
                    "Users are logged out when the access token expires.",
                    "Seen on web and Android.",
                ],
                &["The refresh call returns 401 with an expired signature."],
                2,
            ),
            ticket(
                "PAY-7",
                "Checkout shows the wrong currency",
                "Open",
                &["checkout"],
                &[],
                &["Prices in EUR are rendered with a dollar sign."],
                &[],
                1,
            ),
            ticket(
                "CORE-3",
                "Login page is slow on first load",
                "Done",
                &["performance"],
                &[],
                &["First paint takes 4 seconds."],
                &[],
                5,
            ),
        ])
        .await
        .unwrap();
    let mut cases = vec![
        case(
            TestSource::Testmo,
            "C1234",
            "Access token is renewed before it expires",
            "Auth/Tokens",
            &["PAY-12"],
        ),
        case(
            TestSource::Testmo,
            "C1301",
            "Login with an expired password",
            "Auth/Login",
            &[],
        ),
        case(
            TestSource::Pytest,
            "tests/test_checkout.py::test_currency_symbol",
            "Currency symbol matches the locale",
            "tests/checkout",
            &["PAY-7"],
        ),
        case(
            TestSource::Junit,
            "com.acme.TokenRefreshTest.refreshesSilently",
            "Token refresh happens silently",
            "com.acme",
            &[],
        ),
    ];
    for i in 0..25 {
        cases.push(case(
            TestSource::Testmo,
            &format!("C2{i:03}"),
            &format!("Basket discount rule {i}"),
            "Checkout/Discounts",
            &[],
        ));
    }
    store.upsert_test_cases(&cases).await.unwrap();
    store
        .upsert_search_documents(&[
            document(
                "postman",
                "request",
                "req-refresh",
                "Refresh access token",
                "POST {{base}}/oauth/token grant_type=refresh_token",
                &["PAY-12"],
            ),
            document(
                "postman",
                "request",
                "req-profile",
                "Get user profile",
                "GET {{base}}/v1/users/me",
                &[],
            ),
            document(
                "splunk",
                "saved_search",
                "token-errors",
                "Token refresh errors by client",
                "index=auth sourcetype=gateway \"refresh\" status=401 | stats count by client",
                &[],
            ),
            document(
                "cluster",
                "cluster",
                "cl-17",
                "TokenExpiredError: token <*> expired at <*>",
                "Token expired while refreshing the session",
                &[],
            ),
            document(
                "workflow",
                "report",
                "wf-9",
                "Verify PAY-7 report",
                "Checked currency on 4 locales; EUR fixed.",
                &["PAY-7"],
            ),
        ])
        .await
        .unwrap();
}

async fn built(t: &TestStore, dir: &Path) -> SearchIndex {
    seed(&*t.store).await;
    let (index, status) = SearchIndex::open(dir, &*t.store, &|_| {}).await.unwrap();
    assert_eq!(
        status,
        IndexStatus::Rebuilt {
            reason: RebuildReason::Missing,
            documents: 3 + 29 + 5
        }
    );
    index
}

fn run(index: &SearchIndex, q: &str) -> SearchResults {
    index.search(&SearchRequest::new(q)).unwrap()
}

fn keys(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.key.as_str()).collect()
}

async fn ranking_filters_phrases_and_prefixes(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = built(t, &dir.path().join("index")).await;

    let r = run(&index, "token refresh");
    let top: Vec<&str> = keys(&r);
    assert!(top.len() >= 4, "{top:?}");
    // Documents with the words in their titles come first (shorter ones ahead).
    assert!(top[..5].contains(&"PAY-12"), "{top:?}");
    assert!(top[..5].contains(&"token-errors"), "{top:?}");
    assert!(!top.contains(&"PAY-7"));
    assert_eq!(r.total, r.hits.len() as u64);
    let pay12 = r.hits.iter().find(|h| h.key == "PAY-12").unwrap();
    assert_eq!(pay12.source, "jira");
    assert_eq!(
        pay12.url.as_deref(),
        Some("https://acme.atlassian.net/browse/PAY-12")
    );
    assert_eq!(pay12.project.as_deref(), Some("PAY"));
    assert!(pay12.updated_at.is_some());

    // Description and comment text from ADF is searchable.
    assert_eq!(keys(&run(&index, "signature")), ["PAY-12"]);
    // Stemming: "renewing" finds "renewed".
    assert_eq!(keys(&run(&index, "renewing")), ["C1234"]);

    // Filters, case-insensitive, quoted, negated.
    let r = run(&index, "token source:testmo");
    assert_eq!(keys(&r), ["C1234"]);
    let r = run(&index, r#"status:"in progress""#);
    assert_eq!(keys(&r), ["PAY-12"]);
    let r = run(&index, "token -source:jira -source:postman");
    assert!(
        r.hits
            .iter()
            .all(|h| h.source != "jira" && h.source != "postman")
    );
    assert!(!r.hits.is_empty());
    let r = run(&index, "label:checkout");
    assert_eq!(keys(&r), ["PAY-7"]);
    let r = run(&index, "component:gateway project:pay");
    assert_eq!(keys(&r), ["PAY-12"]);
    let r = run(&index, "type:saved_search");
    assert_eq!(keys(&r), ["token-errors"]);
    let r = index
        .search(&SearchRequest {
            sources: vec!["postman".into()],
            ..SearchRequest::new("token")
        })
        .unwrap();
    assert_eq!(keys(&r), ["req-refresh"]);
    // Several sources are alternatives: hits from either, none from the others.
    let r = index
        .search(&SearchRequest {
            sources: vec!["postman".into(), "jira".into()],
            ..SearchRequest::new("token")
        })
        .unwrap();
    let k = keys(&r);
    assert!(k.contains(&"req-refresh") && k.contains(&"PAY-12"), "{k:?}");
    assert!(
        r.hits
            .iter()
            .all(|h| h.source == "postman" || h.source == "jira"),
        "{k:?}"
    );

    // A phrase needs the words in order.
    let r = run(&index, r#""token refresh""#);
    assert!(keys(&r).contains(&"PAY-12"));
    assert!(!keys(&r).contains(&"C1234"));
    let r = run(&index, r#""refresh token""#);
    assert!(!keys(&r).contains(&"PAY-12"), "{:?}", keys(&r));

    // Prefixes.
    let r = run(&index, "curren*");
    let k = keys(&r);
    assert!(k.contains(&"PAY-7") && k.contains(&"tests/test_checkout.py::test_currency_symbol"));
    assert!(k.contains(&"wf-9"));

    // Syntax errors point at the column.
    let err = index
        .search(&SearchRequest::new(r#"token "open"#))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.context_value("column"), Some("7"));
}

async fn ids_keys_typos_and_snippets(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = built(t, &dir.path().join("index")).await;

    // Exact keys rank first.
    assert_eq!(keys(&run(&index, "PAY-12"))[0], "PAY-12");
    assert_eq!(keys(&run(&index, "c1234"))[0], "C1234");
    assert_eq!(keys(&run(&index, "req-refresh"))[0], "req-refresh");

    // A key typed without its hyphen is a fuzzy match.
    let r = run(&index, "PAY12");
    assert!(r.hits.is_empty());
    assert_eq!(r.fuzzy[0].key, "PAY-12");
    assert_eq!(r.fuzzy[0].matched, MatchKind::FuzzyKey);
    // Fuzzy candidates respect the query's filters.
    let r = run(&index, "PAY12 source:testmo");
    assert!(r.fuzzy.iter().all(|h| h.source == "testmo"));

    // A request name with a typo: found through the typo-tolerant retry.
    let r = run(&index, "get usr profile");
    assert_eq!(keys(&r), ["req-profile"]);
    assert_eq!(r.hits[0].matched, MatchKind::Typo);
    assert!(r.notes[0].contains("typo"), "{:?}", r.notes);

    // Snippets highlight the matched words in body and title.
    let r = run(&index, "expired signature");
    let hit = &r.hits[0];
    let body = hit.body_snippet.as_ref().unwrap();
    let rendered = body.render("[", "]");
    assert!(
        rendered.contains("[expired]") && rendered.contains("[signature]"),
        "{rendered}"
    );
    let r = run(&index, "currency");
    let title = r.hits.iter().find(|h| h.key == "PAY-7").unwrap();
    assert_eq!(
        title.title_snippet.as_ref().unwrap().render("<b>", "</b>"),
        "Checkout shows the wrong <b>currency</b>"
    );
}

async fn pagination_and_grouping(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = built(t, &dir.path().join("index")).await;
    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let r = index
            .search(&SearchRequest {
                offset,
                limit: 10,
                ..SearchRequest::new("basket discount")
            })
            .unwrap();
        assert_eq!(r.total, 25);
        assert_eq!(r.hits.len(), if offset == 20 { 5 } else { 10 });
        seen.extend(r.hits.into_iter().map(|h| h.key));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    let r = index
        .search(&SearchRequest {
            grouping: Grouping::BySource,
            limit: 2,
            ..SearchRequest::new("token")
        })
        .unwrap();
    assert!(r.hits.is_empty());
    let sources: Vec<&str> = r.groups.iter().map(|g| g.source.as_str()).collect();
    for s in ["jira", "testmo", "postman", "splunk", "cluster", "junit"] {
        assert!(sources.contains(&s), "{sources:?}");
    }
    assert!(
        r.groups
            .iter()
            .all(|g| g.hits.len() <= 2 && g.total >= g.hits.len() as u64)
    );
    let total: u64 = r.groups.iter().map(|g| g.total).sum();
    assert_eq!(total, r.total);
}

async fn related_items_of_a_ticket(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = built(t, &dir.path().join("index")).await;
    let r = index.related(&key("PAY-12")).unwrap();
    assert_eq!(r.ticket.key, "PAY-12");
    assert_eq!(r.test_cases[0].key, "C1234");
    assert_eq!(r.test_cases[0].matched, MatchKind::Linked);
    // Then cases similar to "Token refresh fails after 15 minutes".
    let similar = r
        .test_cases
        .iter()
        .find(|h| h.key.contains("TokenRefreshTest"))
        .unwrap();
    assert_eq!(similar.matched, MatchKind::Similar);
    assert_eq!(r.requests[0].key, "req-refresh");
    assert_eq!(r.requests[0].matched, MatchKind::Linked);
    assert_eq!(r.clusters[0].key, "cl-17");
    assert!(r.other.iter().any(|h| h.key == "token-errors"));
    assert!(r.other.iter().all(|h| h.doc_type != "ticket"));

    let err = index.related(&key("NOPE-1")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

async fn incremental_upserts_renames_and_deletes(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let index = built(t, &dir.path().join("index")).await;
    let s = &*t.store;

    // A new Splunk template, written by its owner, then announced by the sync loop.
    let tpl = document(
        "splunk",
        "template",
        "tpl-latency",
        "Gateway latency percentiles",
        "index=gw | stats p95(latency)",
        &[],
    );
    s.upsert_search_documents(std::slice::from_ref(&tpl))
        .await
        .unwrap();
    assert!(run(&index, "percentiles").hits.is_empty());
    let out = index
        .apply(
            s,
            &[IndexChange::Upserted(DocRef::Document { key: tpl.key() })],
        )
        .await
        .unwrap();
    assert_eq!(out.upserted, 1);
    assert_eq!(keys(&run(&index, "percentiles")), ["tpl-latency"]);

    // Changed ticket summary.
    let mut t7 = s.ticket(&key("PAY-7")).await.unwrap();
    "Checkout rounds totals in JPY".clone_into(&mut t7.summary);
    s.upsert_tickets(&[t7]).await.unwrap();
    index
        .apply(
            s,
            &[IndexChange::Upserted(DocRef::Ticket { key: key("PAY-7") })],
        )
        .await
        .unwrap();
    assert_eq!(keys(&run(&index, "jpy")), ["PAY-7"]);
    assert_eq!(
        run(&index, "PAY-7")
            .hits
            .iter()
            .filter(|h| h.key == "PAY-7")
            .count(),
        1
    );

    // Renamed at the source: the old key disappears, the new one is found.
    let mut renamed = tpl.clone();
    "tpl-gw-latency".clone_into(&mut renamed.source_key);
    s.delete_search_documents(&[tpl.key()]).await.unwrap();
    s.upsert_search_documents(std::slice::from_ref(&renamed))
        .await
        .unwrap();
    index
        .apply(
            s,
            &[IndexChange::Renamed {
                from: DocRef::Document { key: tpl.key() },
                to: DocRef::Document { key: renamed.key() },
            }],
        )
        .await
        .unwrap();
    assert_eq!(keys(&run(&index, "percentiles")), ["tpl-gw-latency"]);

    // Deleted in the store; an upsert event for a missing thing removes it.
    s.delete_search_documents(&[renamed.key()]).await.unwrap();
    let out = index
        .apply(
            s,
            &[IndexChange::Upserted(DocRef::Document {
                key: renamed.key(),
            })],
        )
        .await
        .unwrap();
    assert_eq!(out.deleted, 1);
    assert!(run(&index, "percentiles").hits.is_empty());

    // An explicit delete of a test case.
    let c = run(&index, "C1301").hits[0].uid.clone();
    let id: TestId = c.trim_start_matches("c:").parse().unwrap();
    index
        .apply(s, &[IndexChange::Deleted(DocRef::TestCase { id })])
        .await
        .unwrap();
    assert!(run(&index, "C1301").hits.iter().all(|h| h.key != "C1301"));
}

async fn rebuilds_a_missing_old_or_corrupt_index(t: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    let index = built(t, &path).await;
    drop(index);
    let s = &*t.store;

    let (index, status) = SearchIndex::open(&path, s, &|_| {}).await.unwrap();
    assert_eq!(status, IndexStatus::Ready { documents: 37 });
    drop(index);

    std::fs::write(path.join("qapms-index-version"), "0\n").unwrap();
    let (index, status) = SearchIndex::open(&path, s, &|_| {}).await.unwrap();
    assert!(matches!(
        status,
        IndexStatus::Rebuilt { reason: RebuildReason::OldVersion { found: Some(ref v) }, documents: 37 } if v == "0"
    ));
    assert_eq!(keys(&run(&index, "signature")), ["PAY-12"]);
    drop(index);

    // A damaged segment file fails its checksum.
    let segment = std::fs::read_dir(&path)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap();
    let mut bytes = std::fs::read(&segment).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    let progress = std::sync::atomic::AtomicU64::new(0);
    let (index, status) = SearchIndex::open(&path, s, &|p| {
        progress.store(p.done, std::sync::atomic::Ordering::Relaxed);
    })
    .await
    .unwrap();
    assert!(
        matches!(
            status,
            IndexStatus::Rebuilt {
                reason: RebuildReason::Corrupt { .. },
                ..
            }
        ),
        "{status:?}"
    );
    assert_eq!(progress.load(std::sync::atomic::Ordering::Relaxed), 37);
    assert_eq!(keys(&run(&index, "signature")), ["PAY-12"]);
    drop(index);

    // Garbage metadata.
    std::fs::write(path.join("meta.json"), "{not json").unwrap();
    let (_index, status) = SearchIndex::open(&path, s, &|_| {}).await.unwrap();
    assert!(matches!(
        status,
        IndexStatus::Rebuilt {
            reason: RebuildReason::Corrupt { .. },
            ..
        }
    ));

    // A directory that holds something else is never wiped.
    let other = dir.path().join("photos");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("cat.jpg"), b"meow").unwrap();
    let err = SearchIndex::open(&other, s, &|_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(other.join("cat.jpg").exists());
}

for_each_backend!(
    ranking_filters_phrases_and_prefixes,
    ids_keys_typos_and_snippets,
    pagination_and_grouping,
    related_items_of_a_ticket,
    incremental_upserts_renames_and_deletes,
    rebuilds_a_missing_old_or_corrupt_index,
);
