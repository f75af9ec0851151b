//! The store's search-document API and the paging reads the index is built from, on both
//! backends.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use qapms_core::model::{
    IssueKey, SearchDocument, SearchDocumentKey, StatusCategory, TestCase, TestId, TestSource,
    Ticket,
};

use common::TestStore;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 10, minute, 0).unwrap()
}

fn doc(source: &str, key: &str, title: &str) -> SearchDocument {
    SearchDocument {
        source: source.to_owned(),
        source_key: key.to_owned(),
        doc_type: "request".to_owned(),
        title: title.to_owned(),
        body: format!("{title} body"),
        url: Some(format!("https://example.invalid/{key}")),
        project: Some("PAY".to_owned()),
        status: None,
        tags: vec!["auth".to_owned()],
        ticket_keys: vec![IssueKey::parse("PAY-12").unwrap()],
        fields: BTreeMap::from([("method".to_owned(), "POST".to_owned())]),
        updated_at: at(1),
    }
}

#[expect(
    clippy::many_single_char_names,
    reason = "documents a, b, c read like the table they stand for"
)]
async fn search_documents_upsert_replace_and_delete(t: &TestStore) {
    let store = &t.store;
    let a = doc("postman", "req-1", "Refresh token");
    let b = doc("postman", "req-2", "Login");
    let c = doc("splunk", "saved:errors", "Errors by status");
    store
        .upsert_search_documents(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let mut a2 = a.clone();
    "Refresh access token".clone_into(&mut a2.title);
    a2.updated_at = at(2);
    // The last of two writes of one key wins.
    store
        .upsert_search_documents(&[a.clone(), a2.clone()])
        .await
        .unwrap();
    let got = store
        .search_documents_by_key(&[a.key(), SearchDocumentKey::new("postman", "nope")])
        .await
        .unwrap();
    assert_eq!(got, vec![a2.clone()]);

    let page1 = store.search_documents_after(None, 2).await.unwrap();
    assert_eq!(page1, vec![a2.clone(), b.clone()]);
    let page2 = store
        .search_documents_after(Some(&page1[1].key()), 2)
        .await
        .unwrap();
    assert_eq!(page2, vec![c.clone()]);

    let n = store
        .delete_search_documents(&[b.key(), b.key(), SearchDocumentKey::new("x", "y")])
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        store.search_documents_after(None, 10).await.unwrap(),
        vec![a2, c]
    );
}

async fn search_documents_reject_empty_keys(t: &TestStore) {
    let bad = doc("postman", " ", "x");
    let err = t.store.upsert_search_documents(&[bad]).await.unwrap_err();
    assert_eq!(err.kind(), qapms_core::ErrorKind::InvalidInput);
    assert!(
        t.store
            .search_documents_after(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn ticket(key: &str) -> Ticket {
    Ticket {
        key: IssueKey::parse(key).unwrap(),
        summary: format!("Summary {key}"),
        status: "Open".to_owned(),
        status_category: StatusCategory::ToDo,
        issue_type: "Bug".to_owned(),
        priority: None,
        assignee: None,
        labels: vec![],
        components: vec![],
        fix_versions: vec![],
        updated: at(3),
        url: None,
        raw: serde_json::json!({}).into(),
    }
}

async fn tickets_and_cases_page_in_key_order(t: &TestStore) {
    let s = &t.store;
    s.upsert_tickets(&[ticket("PAY-2"), ticket("CORE-1"), ticket("PAY-10")])
        .await
        .unwrap();
    let first = s.tickets_after(None, 2).await.unwrap();
    let keys: Vec<&str> = first.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["CORE-1", "PAY-10"]);
    let rest = s.tickets_after(Some(&first[1].key), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].key.as_str(), "PAY-2");
    let some = s
        .tickets_by_key(&[
            IssueKey::parse("PAY-2").unwrap(),
            IssueKey::parse("X-1").unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(some.len(), 1);

    let cases: Vec<TestCase> = (0..3)
        .map(|i| TestCase {
            id: TestId::new(),
            source: TestSource::Testmo,
            external_id: format!("C{i}"),
            title: format!("case {i}"),
            folder_path: Some("Payments/Refunds".to_owned()),
            tags: vec![],
            ticket_keys: vec![],
        })
        .collect();
    s.upsert_test_cases(&cases).await.unwrap();
    let page = s.test_cases_after(None, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].0, cases[0]);
    let rest = s.test_cases_after(Some(&page[1].0.id), 2).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].0, cases[2]);
    let by_id = s
        .test_cases_by_id(&[cases[1].id, TestId::new()])
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].0, cases[1]);
    assert!(by_id[0].1 > at(0));
}

for_each_backend!(
    search_documents_upsert_replace_and_delete,
    search_documents_reject_empty_keys,
    tickets_and_cases_page_in_key_order,
);
