//! `qapms_core::sync` against fake servers on loopback that answer from the contract samples,
//! on SQLite and PostgreSQL: incremental Jira sync (twice = nothing new), renames, moves and
//! deletions reaching the store and the search index, a sync that fails or is cancelled
//! halfway and then resumes, Testmo cases, Postman collections from the API and from files,
//! Splunk templates, and one integration failing while the others sync.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use common::TestStore;
use qapms_core::ErrorKind;
use qapms_core::config::SplunkTemplate;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::postman::Postman;
use qapms_core::integrations::testmo::Testmo;
use qapms_core::model::{IssueKey, SearchDocumentKey, TestSource};
use qapms_core::search::{MatchKind, SearchIndex, SearchRequest};
use qapms_core::store::Store;
use qapms_core::store::{SyncBatch, SyncItem, SyncedCase};
use qapms_core::sync::{CancelToken, SyncEvent, SyncOptions, SyncOutcome, SyncReport, Syncer};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fixture(rel: &str) -> Value {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---- A stateful fake Jira Cloud ----------------------------------------------------------------

/// Issues by id, in the shape of the contract's `search-jql` sample issue.
#[derive(Clone, Default)]
struct FakeJira {
    issues: Arc<RwLock<BTreeMap<u64, Value>>>,
    /// Old key -> issue id, as Jira resolves the key an issue had before a move.
    old_keys: Arc<RwLock<HashMap<String, u64>>>,
    searches: Arc<AtomicUsize>,
    /// Fail the search call with this number (1-based) with a 500.
    fail_call: Arc<AtomicUsize>,
    /// Answer everything with 401.
    refuse: Arc<AtomicUsize>,
}

/// A distinct six-letter word per number, far (in edits) from the others, so each summary can
/// be searched alone without the typo-tolerant retry finding a neighbour.
fn word(n: u64) -> String {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
    (0..6)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((x >> 33) % 26) as u8)
        })
        .collect()
}

fn jira_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

impl FakeJira {
    fn with_issues(n: u64) -> Self {
        let fake = Self::default();
        // Ten minutes apart: an incremental window of a few minutes holds one issue.
        let base = Utc::now() - Duration::days(3);
        for i in 1..=n {
            fake.put(
                i,
                &format!("PAY-{i}"),
                base + Duration::minutes(10 * i as i64),
            );
        }
        fake
    }

    fn put(&self, id: u64, key: &str, updated: DateTime<Utc>) {
        let mut issue = fixture("jira/search-jql.response.json")["issues"][0].clone();
        issue["id"] = json!((10_000 + id).to_string());
        issue["key"] = json!(key);
        issue["self"] = json!(format!(
            "https://example.atlassian.net/rest/api/3/issue/{}",
            10_000 + id
        ));
        let f = &mut issue["fields"];
        f["summary"] = json!(format!("Checkout payment {}", word(id)));
        f["status"] = json!({"name": "In Progress", "statusCategory": {"key": "indeterminate"}});
        f["issuetype"] = json!({"name": "Bug"});
        f["labels"] = json!(["checkout"]);
        f["updated"] = json!(jira_time(updated));
        self.issues
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(10_000 + id, issue);
    }

    fn edit(&self, id: u64, summary: &str) {
        let mut issues = self.issues.write().unwrap_or_else(PoisonError::into_inner);
        let issue = issues.get_mut(&(10_000 + id)).expect("a known issue");
        issue["fields"]["summary"] = json!(summary);
        issue["fields"]["updated"] = json!(jira_time(Utc::now()));
    }

    fn move_to(&self, id: u64, new_key: &str) {
        let mut issues = self.issues.write().unwrap_or_else(PoisonError::into_inner);
        let issue = issues.get_mut(&(10_000 + id)).expect("a known issue");
        let old = issue["key"].as_str().unwrap_or_default().to_owned();
        issue["key"] = json!(new_key);
        issue["fields"]["updated"] = json!(jira_time(Utc::now()));
        self.old_keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(old, 10_000 + id);
    }

    fn delete(&self, id: u64) {
        self.issues
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(10_000 + id));
    }

    /// The JQL subset the sync sends: `project = "X"`, `updated >= "-Nm"`, `ORDER BY f ASC`.
    fn matching(&self, jql: &str) -> Vec<Value> {
        let (filter, order) = match jql.split_once("ORDER BY") {
            Some((f, o)) => (f.trim(), o.trim()),
            None => (jql.trim(), ""),
        };
        let now = Utc::now();
        let mut out: Vec<Value> = self
            .issues
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|issue| {
                filter
                    .split(" AND ")
                    .filter(|c| !c.is_empty())
                    .all(|clause| {
                        if let Some(p) = clause.strip_prefix("project = ") {
                            let p = p.trim_matches('"');
                            issue["key"]
                                .as_str()
                                .is_some_and(|k| k.starts_with(&format!("{p}-")))
                        } else if let Some(w) = clause.strip_prefix("updated >= ") {
                            let minutes: i64 = w
                                .trim_matches('"')
                                .trim_start_matches('-')
                                .trim_end_matches('m')
                                .parse()
                                .expect("a relative window");
                            let updated = issue["fields"]["updated"].as_str().unwrap_or_default();
                            let updated =
                                DateTime::parse_from_str(updated, "%Y-%m-%dT%H:%M:%S%.3f%z")
                                    .expect("our own format");
                            updated >= now - Duration::minutes(minutes)
                        } else {
                            panic!("unexpected JQL clause {clause:?}")
                        }
                    })
            })
            .cloned()
            .collect();
        if order.starts_with("updated") {
            out.sort_by_key(|i| {
                i["fields"]["updated"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            });
        } else {
            out.sort_by_key(|i| i["key"].as_str().unwrap_or_default().to_owned());
        }
        out
    }

    async fn mount(&self, server: &MockServer) {
        Mock::given(method("POST"))
            .and(path("/rest/api/3/search/jql"))
            .respond_with(Search(self.clone()))
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/rest/api/3/issue/[^/]+$"))
            .respond_with(GetIssue(self.clone()))
            .mount(server)
            .await;
    }
}

struct Search(FakeJira);

impl Respond for Search {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        if fake.refuse.load(Ordering::SeqCst) > 0 {
            return ResponseTemplate::new(401).set_body_json(
                json!({"errorMessages": ["You are not authenticated."], "errors": {}}),
            );
        }
        let call = fake.searches.fetch_add(1, Ordering::SeqCst) + 1;
        if fake.fail_call.load(Ordering::SeqCst) == call {
            return ResponseTemplate::new(500)
                .set_body_json(json!({"errorMessages": ["Internal server error"], "errors": {}}));
        }
        let body: Value = serde_json::from_slice(&request.body).expect("JSON");
        let jql = body["jql"].as_str().expect("a JQL string");
        // Jira Cloud pages by token and never gives more than 100 a page.
        let size = body["maxResults"].as_u64().unwrap_or(50).min(100) as usize;
        let start: usize = body["nextPageToken"]
            .as_str()
            .map_or(0, |t| t.parse().expect("our token"));
        let all = fake.matching(jql);
        let end = (start + size).min(all.len());
        let mut out = json!({"issues": all[start..end], "isLast": end == all.len()});
        if end < all.len() {
            out["nextPageToken"] = json!(end.to_string());
        }
        ResponseTemplate::new(200).set_body_json(out)
    }
}

struct GetIssue(FakeJira);

impl Respond for GetIssue {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        let key = request.url.path().rsplit('/').next().unwrap_or_default();
        let issues = fake.issues.read().unwrap_or_else(PoisonError::into_inner);
        let by_old = fake
            .old_keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied();
        let found = issues
            .values()
            .find(|i| i["key"] == key)
            .or_else(|| by_old.and_then(|id| issues.get(&id)));
        match found {
            Some(issue) => ResponseTemplate::new(200).set_body_json(issue),
            None => ResponseTemplate::new(404).set_body_json(json!({
                "errorMessages": ["Issue does not exist or you do not have permission to see it."],
                "errors": {}
            })),
        }
    }
}

fn jira_client(server: &MockServer) -> Jira {
    Jira::builder(server.uri())
        .basic_auth("qa@example.com", SecretString::from("api-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .expect("a test client builds")
}

async fn sync(syncer: &Syncer) -> SyncReport {
    syncer.run(&|_| {}, &CancelToken::new()).await
}

fn only<'r>(report: &'r SyncReport, name: &str) -> &'r qapms_core::sync::IntegrationReport {
    report
        .integrations
        .iter()
        .find(|r| r.integration == name)
        .unwrap_or_else(|| panic!("no report for {name}: {report:?}"))
}

async fn ticket_count(store: &dyn Store) -> usize {
    store
        .tickets_after(None, 10_000)
        .await
        .expect("tickets")
        .len()
}

/// Keys of the ranked hits, and of the near matches of ids and keys.
fn keys_found(index: &SearchIndex, query: &str) -> Vec<String> {
    let results = index.search(&SearchRequest::new(query)).expect("a search");
    results
        .hits
        .iter()
        .chain(results.fuzzy.iter())
        .map(|h| h.key.clone())
        .collect()
}

/// Keys of the ranked full-text hits alone.
fn keys_ranked(index: &SearchIndex, query: &str) -> Vec<String> {
    let results = index.search(&SearchRequest::new(query)).expect("a search");
    results
        .hits
        .iter()
        .filter(|h| h.matched == MatchKind::Text)
        .map(|h| h.key.clone())
        .collect()
}

// ---- Jira ------------------------------------------------------------------------------------

async fn jira_twice_is_nothing_new(ts: &TestStore) {
    let server = MockServer::start().await;
    let fake = FakeJira::with_issues(250);
    fake.mount(&server).await;
    let syncer = Syncer::new(ts.store.clone()).jira(jira_client(&server), vec!["PAY".into()]);

    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    let jira = only(&first, "jira");
    assert_eq!(jira.outcome, SyncOutcome::Ok);
    assert_eq!((jira.counts.seen, jira.counts.written), (250, 250));
    assert_eq!(ticket_count(ts.store.as_ref()).await, 250);
    let scopes = ts.store.sync_scopes(Some("jira")).await.unwrap();
    assert_eq!(scopes.len(), 1);
    assert_eq!(scopes[0].items, 250);
    assert!(
        scopes[0].full_at.is_some(),
        "the first sync is a complete listing"
    );
    let newest = fake.matching("ORDER BY updated").last().cloned().unwrap();
    let cursor = scopes[0].cursor.clone().unwrap();
    assert_eq!(
        DateTime::parse_from_rfc3339(&cursor).unwrap(),
        DateTime::parse_from_str(
            newest["fields"]["updated"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%.3f%z"
        )
        .unwrap(),
        "the cursor is the newest `updated` stored"
    );

    // Nothing changed: only the overlap is read again, and nothing is written.
    let calls = fake.searches.load(Ordering::SeqCst);
    let second = sync(&syncer).await;
    let jira = only(&second, "jira");
    assert_eq!(jira.counts.written, 0, "{second:?}");
    assert_eq!(jira.counts.seen, jira.counts.unchanged);
    assert!(
        jira.counts.seen < 250,
        "an incremental pass reads the window only"
    );
    assert_eq!(
        fake.searches.load(Ordering::SeqCst) - calls,
        1,
        "one page, no reconcile"
    );
    assert_eq!(ticket_count(ts.store.as_ref()).await, 250);

    // One issue edited upstream: exactly that one is written.
    fake.edit(7, "Checkout payment refund twice");
    let third = sync(&syncer).await;
    assert_eq!(only(&third, "jira").counts.written, 1, "{third:?}");
    let t = ts
        .store
        .ticket(&IssueKey::parse("PAY-7").unwrap())
        .await
        .unwrap();
    assert_eq!(t.summary, "Checkout payment refund twice");
    assert_eq!(ticket_count(ts.store.as_ref()).await, 250);
}

async fn jira_moves_and_deletions_reach_store_and_index(ts: &TestStore) {
    let server = MockServer::start().await;
    let fake = FakeJira::with_issues(30);
    fake.mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let (index, _) = SearchIndex::open(dir.path(), ts.store.as_ref(), &|_| {})
        .await
        .unwrap();
    let index = Arc::new(index);
    let options = SyncOptions {
        reconcile_every: std::time::Duration::ZERO,
        ..SyncOptions::default()
    };
    let syncer = Syncer::new(ts.store.clone())
        .jira(jira_client(&server), Vec::new())
        .index(index.clone())
        .options(options);
    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(first.index.as_ref().unwrap().upserted, 30);
    assert!(keys_found(&index, "PAY-3").contains(&"PAY-3".to_owned()));
    assert_eq!(keys_ranked(&index, &word(3)), vec!["PAY-3"]);
    assert_eq!(keys_ranked(&index, &word(5)), vec!["PAY-5"]);

    fake.move_to(3, "OPS-1");
    fake.delete(5);
    let second = sync(&syncer).await;
    assert!(second.is_ok(), "{second:?}");
    let jira = only(&second, "jira");
    assert_eq!(
        (jira.counts.renamed, jira.counts.deleted),
        (1, 1),
        "{second:?}"
    );

    let missing = |key: &str| {
        let store = ts.store.clone();
        let key = IssueKey::parse(key).unwrap();
        async move { store.ticket(&key).await.err().map(|e| e.kind()) }
    };
    assert_eq!(missing("PAY-3").await, Some(ErrorKind::NotFound));
    assert_eq!(missing("PAY-5").await, Some(ErrorKind::NotFound));
    assert_eq!(missing("OPS-1").await, None);
    assert_eq!(ticket_count(ts.store.as_ref()).await, 29);

    // The index follows: the moved issue is found under its new key only, the deleted one not
    // at all.
    assert_eq!(keys_ranked(&index, &word(3)), vec!["OPS-1"]);
    assert!(!keys_found(&index, "PAY-3").contains(&"PAY-3".to_owned()));
    assert!(keys_ranked(&index, &word(5)).is_empty());
    assert!(!keys_found(&index, "PAY-5").contains(&"PAY-5".to_owned()));
    assert_eq!(index.num_docs(), 29);
}

async fn jira_resumes_after_a_failure_halfway(ts: &TestStore) {
    let server = MockServer::start().await;
    let fake = FakeJira::with_issues(250);
    fake.fail_call.store(3, Ordering::SeqCst);
    fake.mount(&server).await;
    let syncer = Syncer::new(ts.store.clone()).jira(jira_client(&server), vec!["PAY".into()]);
    let first = sync(&syncer).await;
    let jira = only(&first, "jira");
    assert_eq!(jira.outcome, SyncOutcome::Failed);
    assert!(
        jira.error.as_deref().unwrap_or_default().contains("500"),
        "{jira:?}"
    );
    // Two pages made it, each with its cursor; the scope was never listed in full.
    assert_eq!(ticket_count(ts.store.as_ref()).await, 200);
    let scope = &ts.store.sync_scopes(Some("jira")).await.unwrap()[0];
    assert_eq!(scope.items, 200);
    assert!(scope.full_at.is_none());

    let second = sync(&syncer).await;
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(ticket_count(ts.store.as_ref()).await, 250);
    let scope = &ts.store.sync_scopes(Some("jira")).await.unwrap()[0];
    assert_eq!(scope.items, 250, "no item twice");
    assert!(
        scope.full_at.is_some(),
        "the resumed sync finished the listing"
    );
}

async fn a_cancelled_sync_keeps_its_batches_and_resumes(ts: &TestStore) {
    let server = MockServer::start().await;
    let fake = FakeJira::with_issues(250);
    fake.mount(&server).await;
    let syncer = Syncer::new(ts.store.clone()).jira(jira_client(&server), vec!["PAY".into()]);
    let cancel = CancelToken::new();
    let on_event = |event: SyncEvent| {
        if matches!(event, SyncEvent::Progress { .. }) {
            cancel.cancel();
        }
    };
    let report = syncer.run(&on_event, &cancel).await;
    assert_eq!(only(&report, "jira").outcome, SyncOutcome::Cancelled);
    assert_eq!(
        ticket_count(ts.store.as_ref()).await,
        100,
        "the batch before the cancel stays"
    );
    let resumed = sync(&syncer).await;
    assert!(resumed.is_ok(), "{resumed:?}");
    assert_eq!(ticket_count(ts.store.as_ref()).await, 250);
    assert_eq!(
        ts.store.sync_scopes(Some("jira")).await.unwrap()[0].items,
        250
    );
}

async fn one_failing_integration_does_not_stop_the_others(ts: &TestStore) {
    let server = MockServer::start().await;
    let fake = FakeJira::with_issues(3);
    fake.refuse.store(1, Ordering::SeqCst);
    fake.mount(&server).await;
    let mut templates = BTreeMap::new();
    templates.insert(
        "checkout_errors".to_owned(),
        SplunkTemplate {
            spl: "search index=web status>=500 path=/checkout*".to_owned(),
            description: Some("Checkout 5xx errors".to_owned()),
            earliest: Some("-24h".to_owned()),
            latest: None,
        },
    );
    let syncer = Syncer::new(ts.store.clone())
        .jira(jira_client(&server), vec!["PAY".into()])
        .splunk_templates(templates.clone())
        .options(SyncOptions {
            only: Vec::new(),
            ..SyncOptions::default()
        });
    let report = sync(&syncer).await;
    assert!(!report.is_ok());
    let jira = only(&report, "jira");
    assert_eq!(jira.outcome, SyncOutcome::Failed);
    assert!(
        jira.error
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains("auth"),
        "{jira:?}"
    );
    assert_eq!(only(&report, "splunk").outcome, SyncOutcome::Ok);
    let docs = ts
        .store
        .search_documents_by_key(&[SearchDocumentKey::new("splunk", "checkout_errors")])
        .await
        .unwrap();
    assert_eq!(docs.len(), 1);
    assert!(docs[0].body.contains("status>=500"));

    // A template dropped from the config is dropped from the store.
    let syncer = Syncer::new(ts.store.clone()).splunk_templates(BTreeMap::new());
    let report = sync(&syncer).await;
    assert_eq!(only(&report, "splunk").counts.deleted, 1);

    // An integration asked for but not configured is reported, not ignored.
    let syncer = Syncer::new(ts.store.clone()).options(SyncOptions {
        only: vec!["testmo".into()],
        ..SyncOptions::default()
    });
    let report = sync(&syncer).await;
    assert!(
        only(&report, "testmo")
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("not configured")
    );
}

// ---- Testmo ----------------------------------------------------------------------------------

/// Answers with whatever the test has put there.
struct Current(Arc<RwLock<Value>>);

impl Respond for Current {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(
            self.0
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// Counts the collection fetches.
struct Get(Arc<AtomicUsize>);

impl Respond for Get {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(fixture(
            "postman/get-collections-collectionId.response.json",
        ))
    }
}

async fn testmo_cases_sync_and_deletions(ts: &TestStore) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/folders"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("testmo/folders.response.json")),
        )
        .mount(&server)
        .await;
    // The one run there is still open: runs are imported once closed.
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/runs"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("testmo/runs.response.json")),
        )
        .mount(&server)
        .await;
    let cases = fixture("testmo/cases.response.json");
    let listing = Arc::new(RwLock::new(cases.clone()));
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/cases"))
        .respond_with(Current(listing.clone()))
        .mount(&server)
        .await;
    let testmo = Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from("testmo-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap();
    let syncer = Syncer::new(ts.store.clone()).testmo(testmo, vec![1]);
    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(only(&first, "testmo").counts.written, 2);
    let login = ts
        .store
        .resolve_test(&qapms_core::model::ExternalKey::new(
            TestSource::Testmo,
            "8001",
        ))
        .await
        .unwrap();
    let case = ts.store.test_case(&login).await.unwrap();
    assert_eq!(case.title, "Login with a valid password");
    assert!(case.folder_path.is_some(), "{case:?}");

    let second = sync(&syncer).await;
    let counts = only(&second, "testmo").counts;
    assert_eq!((counts.written, counts.unchanged), (0, 2), "{second:?}");
    assert_eq!(
        ts.store
            .resolve_test(&qapms_core::model::ExternalKey::new(
                TestSource::Testmo,
                "8001"
            ))
            .await
            .unwrap(),
        login,
        "the id is kept"
    );

    // Case 8002 deleted in Testmo.
    {
        let mut l = listing.write().unwrap_or_else(PoisonError::into_inner);
        l["result"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["id"] != 8002);
        l["total"] = json!(1);
    }
    let third = sync(&syncer).await;
    assert_eq!(only(&third, "testmo").counts.deleted, 1, "{third:?}");
    let gone = ts
        .store
        .resolve_test(&qapms_core::model::ExternalKey::new(
            TestSource::Testmo,
            "8002",
        ))
        .await;
    assert_eq!(gone.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
}

/// Closed runs by id, each with its results; a results call for `fail_run` answers 500 once.
#[derive(Clone, Default)]
struct FakeTestmoRuns {
    runs: Arc<RwLock<Vec<Value>>>,
    results: Arc<RwLock<HashMap<u64, Value>>>,
    result_calls: Arc<AtomicUsize>,
    fail_run: Arc<AtomicUsize>,
    /// The query strings of the run listings, in order.
    listings: Arc<RwLock<Vec<String>>>,
}

impl FakeTestmoRuns {
    fn add_run(&self, id: u64, name: &str, closed_at: &str) {
        let mut run = fixture("testmo/runs-closed.response.json")["result"][0].clone();
        run["id"] = json!(id);
        run["name"] = json!(name);
        run["closed_at"] = json!(closed_at);
        let mut results = fixture("testmo/run-results-statuses.response.json");
        for r in results["result"].as_array_mut().unwrap() {
            r["run_id"] = json!(id);
            r["id"] = json!(r["id"].as_u64().unwrap() + id * 100);
        }
        self.runs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(run);
        self.results
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, results);
    }
}

struct RunListing(FakeTestmoRuns);

impl Respond for RunListing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0
            .listings
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.url.query().unwrap_or_default().to_owned());
        let runs = self
            .0
            .runs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut page = fixture("testmo/runs-closed.response.json");
        page["total"] = json!(runs.len());
        page["result"] = json!(runs);
        ResponseTemplate::new(200).set_body_json(page)
    }
}

struct RunResults(FakeTestmoRuns);

impl Respond for RunResults {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.result_calls.fetch_add(1, Ordering::SeqCst);
        assert!(
            request
                .url
                .query_pairs()
                .any(|(k, v)| k == "expands" && v == "statuses"),
            "results are read with their statuses"
        );
        let id: u64 = request
            .url
            .path()
            .trim_start_matches("/api/v1/runs/")
            .trim_end_matches("/results")
            .parse()
            .unwrap();
        if self
            .0
            .fail_run
            .compare_exchange(
                usize::try_from(id).unwrap(),
                0,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            return ResponseTemplate::new(500).set_body_string("upstream down");
        }
        match self
            .0
            .results
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            Some(page) => ResponseTemplate::new(200).set_body_json(page.clone()),
            None => {
                ResponseTemplate::new(404).set_body_json(fixture("testmo/error-404.response.json"))
            }
        }
    }
}

async fn testmo_server() -> (MockServer, FakeTestmoRuns) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/folders"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("testmo/folders.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/cases"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("testmo/cases.response.json")),
        )
        .mount(&server)
        .await;
    let fake = FakeTestmoRuns::default();
    Mock::given(method("GET"))
        .and(path("/api/v1/projects/1/runs"))
        .respond_with(RunListing(fake.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/v1/runs/\d+/results$"))
        .respond_with(RunResults(fake.clone()))
        .mount(&server)
        .await;
    (server, fake)
}

fn testmo_client(server: &MockServer) -> Testmo {
    Testmo::builder(format!("{}/api/v1", server.uri()))
        .token(SecretString::from("testmo-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap()
}

async fn testmo_runs(store: &dyn Store) -> Vec<qapms_core::model::TestRun> {
    let mut runs: Vec<_> = store
        .list_runs(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.source == TestSource::Testmo)
        .collect();
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    runs
}

#[expect(
    clippy::too_many_lines,
    reason = "one scenario: first sync, changes, second sync"
)]
async fn testmo_runs_import_incrementally_with_stable_identity(ts: &TestStore) {
    let (server, fake) = testmo_server().await;
    fake.add_run(601, "Release 2.3 regression", "2026-11-20T12:00:00.000000Z");
    fake.add_run(602, "Release 2.3 smoke", "2026-11-21T09:00:00.000000Z");
    let syncer = Syncer::new(ts.store.clone()).testmo(testmo_client(&server), vec![1]);

    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    // Two cases and two runs.
    assert_eq!(only(&first, "testmo").counts.written, 4, "{first:?}");
    let runs = testmo_runs(ts.store.as_ref()).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].name, "Release 2.3 regression");
    assert_eq!(
        runs[0].finished_at.map(|t| t.to_rfc3339()),
        Some("2026-11-20T12:00:00+00:00".to_owned())
    );
    // Case 8001 failed, then passed on a retest: two attempts of the synced case.
    let login = ts
        .store
        .resolve_test(&qapms_core::model::ExternalKey::new(
            TestSource::Testmo,
            "8001",
        ))
        .await
        .unwrap();
    assert_eq!(
        ts.store.test_case(&login).await.unwrap().title,
        "Login with a valid password",
        "results join the synced case"
    );
    let results = ts.store.results_for_run(&runs[0].id).await.unwrap();
    let login_results: Vec<_> = results.iter().filter(|r| r.test_id == login).collect();
    assert_eq!(
        login_results
            .iter()
            .map(|r| (r.attempt, r.status))
            .collect::<Vec<_>>(),
        [
            (1, qapms_core::model::TestStatus::Failed),
            (2, qapms_core::model::TestStatus::Passed)
        ]
    );
    assert_eq!(login_results[0].duration_ms, Some(12_000));
    assert_eq!(
        login_results[0].message.as_deref(),
        Some("Timeout on login")
    );
    // Untested results (case 8003) are no attempts: 8001 twice and 8002 once.
    assert_eq!(results.len(), 3, "{results:?}");
    assert!(
        fake.listings.read().unwrap()[0].contains("is_closed=true"),
        "only closed runs are listed"
    );

    // Nothing new: the listing starts at the cursor and no results are read again.
    let calls = fake.result_calls.load(Ordering::SeqCst);
    let second = sync(&syncer).await;
    assert!(second.is_ok(), "{second:?}");
    let counts = only(&second, "testmo").counts;
    assert_eq!((counts.written, counts.unchanged), (0, 4), "{second:?}");
    assert_eq!(fake.result_calls.load(Ordering::SeqCst), calls);
    let listing = fake.listings.read().unwrap().last().cloned().unwrap();
    assert!(
        listing.contains("closed_after=2026-11-21T08%3A55%3A00Z"),
        "the window starts at the cursor minus the overlap: {listing}"
    );

    // Two more runs close; reading the second one's results fails once.
    fake.add_run(603, "Release 2.4 regression", "2026-11-25T12:00:00.000000Z");
    fake.add_run(604, "Release 2.4 smoke", "2026-11-26T12:00:00.000000Z");
    fake.fail_run.store(604, Ordering::SeqCst);
    let third = sync(&syncer).await;
    assert_eq!(only(&third, "testmo").outcome, SyncOutcome::Failed);
    assert_eq!(testmo_runs(ts.store.as_ref()).await.len(), 3, "603 is kept");
    let scope = ts
        .store
        .sync_scopes(Some("testmo"))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.scope == "runs:1")
        .unwrap();
    assert_eq!(scope.cursor.as_deref(), Some("2026-11-25T12:00:00.000Z"));

    // The next sync resumes: only 604 is written, and nothing is stored twice.
    let fourth = sync(&syncer).await;
    assert!(fourth.is_ok(), "{fourth:?}");
    assert_eq!(only(&fourth, "testmo").counts.written, 1, "{fourth:?}");
    let runs = testmo_runs(ts.store.as_ref()).await;
    assert_eq!(runs.len(), 4);
    for run in &runs {
        assert_eq!(ts.store.results_for_run(&run.id).await.unwrap().len(), 3);
    }

    // A full pass rewrites every run under its own id: still four runs, three results each.
    let ids: Vec<_> = runs.iter().map(|r| r.id).collect();
    let full = Syncer::new(ts.store.clone())
        .testmo(testmo_client(&server), vec![1])
        .options(SyncOptions {
            full: true,
            ..SyncOptions::default()
        });
    let report = sync(&full).await;
    assert!(report.is_ok(), "{report:?}");
    let runs = testmo_runs(ts.store.as_ref()).await;
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    for run in &runs {
        assert_eq!(ts.store.results_for_run(&run.id).await.unwrap().len(), 3);
    }
    assert_eq!(
        ts.store.results_for_test(&login, 100).await.unwrap().len(),
        8,
        "two attempts in each of four runs"
    );
}

// ---- Grafana ---------------------------------------------------------------------------------

/// Annotations in the contract sample's shape; answers `GET /api/annotations` newest first
/// within `from`..`to`, at most `limit`, as Grafana does.
#[derive(Clone, Default)]
struct FakeAnnotations {
    items: Arc<RwLock<Vec<Value>>>,
    /// The `from` of each listing, in epoch milliseconds.
    froms: Arc<RwLock<Vec<i64>>>,
}

impl FakeAnnotations {
    fn add(&self, id: u64, at: DateTime<Utc>, text: &str, tags: &[&str]) {
        let mut a = fixture("grafana/get-annotations.response.json")[0].clone();
        a["id"] = json!(id);
        a["time"] = json!(at.timestamp_millis());
        a["timeEnd"] = json!(at.timestamp_millis());
        a["text"] = json!(text);
        a["tags"] = json!(tags);
        self.items
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(a);
    }

    fn remove(&self, id: u64) {
        self.items
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|a| a["id"] != json!(id));
    }
}

impl Respond for FakeAnnotations {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let q: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
        let (from, to, limit) = (
            num("from").unwrap_or(0),
            num("to").unwrap_or(i64::MAX),
            num("limit").unwrap_or(100),
        );
        self.froms
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(from);
        let mut out: Vec<Value> = self
            .items
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|a| {
                let t = a["time"].as_i64().unwrap_or_default();
                t >= from && t <= to
            })
            .cloned()
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a["time"].as_i64().unwrap_or_default()));
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        ResponseTemplate::new(200).set_body_json(out)
    }
}

async fn grafana_server() -> (MockServer, FakeAnnotations) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/health"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"commit": "abc", "database": "ok", "version": "11.4.0"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("grafana/search.response.json")),
        )
        .mount(&server)
        .await;
    let fake = FakeAnnotations::default();
    Mock::given(method("GET"))
        .and(path("/api/annotations"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

fn grafana_client(server: &MockServer) -> qapms_core::integrations::grafana::Grafana {
    qapms_core::integrations::grafana::Grafana::builder(format!("{}/api", server.uri()))
        .token(SecretString::from("glsa_test"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A failed attempt with `message`, under a `JUnit` key.
fn failing(key: &str, message: &str) -> qapms_core::model::ImportedTest {
    qapms_core::model::ImportedTest {
        keys: vec![qapms_core::model::ExternalKey::new(TestSource::Junit, key)],
        title: key.to_owned(),
        folder_path: None,
        ticket_keys: Vec::new(),
        attempts: vec![qapms_core::model::ImportedAttempt {
            status: qapms_core::model::TestStatus::Failed,
            duration_ms: Some(10),
            message: Some(message.to_owned()),
        }],
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one scenario: first sync, changes, second sync"
)]
async fn grafana_annotations_become_signals_for_classification(ts: &TestStore) {
    use qapms_core::patterns::analyze::{AnalyzeOptions, analyze};
    use qapms_core::patterns::classify::{ClusterLabel, SignalSource};

    let (server, fake) = grafana_server().await;
    let now = Utc::now();
    let incident = now - Duration::hours(3);
    fake.add(1124, incident, "Checkout DB failover", &["incident", "db"]);
    fake.add(1123, now - Duration::hours(2), "Deploy 2.3.1", &["deploy"]);
    let syncer = Syncer::new(ts.store.clone()).grafana(grafana_client(&server));

    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    let day = |t: DateTime<Utc>| (t - Duration::days(1), t + Duration::days(1));
    let (from, to) = day(now);
    let signals = ts.store.external_signals(from, to, 100).await.unwrap();
    assert_eq!(
        signals.len(),
        1,
        "only the incident is a signal: {signals:?}"
    );
    assert_eq!(signals[0].source, SignalSource::Grafana);
    assert_eq!(signals[0].name, "incident: Checkout DB failover");
    assert_eq!(
        signals[0].at.timestamp_millis(),
        incident.timestamp_millis()
    );
    // The first sync reads the last 30 days.
    let first_from = fake.froms.read().unwrap()[0];
    assert!(first_from <= (now - Duration::days(29)).timestamp_millis());

    // Each sync reads the whole window again, so a new annotation is stored once, one added
    // with a time in the past (backdated) arrives, and one deleted upstream leaves.
    fake.add(
        1125,
        now - Duration::minutes(1),
        "Payments API down",
        &["OUTAGE"],
    );
    let second = sync(&syncer).await;
    assert!(second.is_ok(), "{second:?}");
    let from_second = *fake.froms.read().unwrap().last().unwrap();
    assert!(
        from_second <= (now - Duration::days(29)).timestamp_millis(),
        "every sync reads the classifier's whole window"
    );
    let backdated = now - Duration::days(10);
    fake.add(1130, backdated, "Queue stalled", &["alert"]);
    fake.add(1131, now - Duration::hours(1), "Cache flapping", &["alert"]);
    let third = sync(&syncer).await;
    assert!(third.is_ok(), "{third:?}");
    let signals = ts.store.external_signals(from, to, 100).await.unwrap();
    assert_eq!(
        signals.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "incident: Checkout DB failover",
            "alert: Cache flapping",
            "OUTAGE: Payments API down"
        ],
        "oldest first, each once"
    );
    let month = ts
        .store
        .external_signals(now - Duration::days(30), now, 100)
        .await
        .unwrap();
    assert!(
        month.iter().any(|s| s.name == "alert: Queue stalled"),
        "the backdated annotation is a signal: {month:?}"
    );
    fake.remove(1131);
    let fourth = sync(&syncer).await;
    assert!(fourth.is_ok(), "{fourth:?}");
    assert_eq!(only(&fourth, "grafana").counts.deleted, 1, "{fourth:?}");
    let signals = ts.store.external_signals(from, to, 100).await.unwrap();
    assert_eq!(
        signals.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        [
            "incident: Checkout DB failover",
            "OUTAGE: Payments API down"
        ],
        "the deleted annotation's signal is gone"
    );

    // Two unrelated tests failing alike shortly after the incident: systemic with the stored
    // signal, not without it.
    let run = qapms_core::model::TestRun {
        id: qapms_core::model::RunId::new(),
        source: TestSource::Junit,
        name: "nightly".into(),
        started_at: incident + Duration::minutes(10),
        finished_at: None,
        environment: None,
        revision: None,
        url: None,
    };
    let mut import = ts.store.begin_run_import(&run).await.unwrap();
    import
        .add(&[
            failing(
                "com.acme.pay.CheckoutTest.pays",
                "Connection refused: db-primary:5432",
            ),
            failing(
                "com.acme.web.LoginTest.logsIn",
                "Connection refused: db-primary:5432",
            ),
        ])
        .await
        .unwrap();
    import.finish(None).await.unwrap();
    let label = |analysis: &qapms_core::patterns::analyze::Analysis| {
        analysis
            .clusters
            .iter()
            .map(|c| c.classification.label)
            .collect::<Vec<_>>()
    };
    let with = analyze(
        ts.store.as_ref(),
        &AnalyzeOptions {
            persist: false,
            ..AnalyzeOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        label(&with),
        [ClusterLabel::Systemic],
        "{:?}",
        with.clusters
    );
    assert_eq!(with.clusters[0].classification.signals.len(), 1);
    let without = analyze(
        ts.store.as_ref(),
        &AnalyzeOptions {
            persist: false,
            stored_signals: false,
            ..AnalyzeOptions::default()
        },
    )
    .await
    .unwrap();
    assert_ne!(label(&without), [ClusterLabel::Systemic]);
}

// ---- Postman ---------------------------------------------------------------------------------

fn write_collection(path: &Path, collection: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(collection).unwrap()).unwrap();
}

fn titles_found(index: &SearchIndex, query: &str) -> Vec<String> {
    index
        .search(&SearchRequest::new(query))
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.title)
        .collect()
}

async fn postman_file_renames_and_deletions_leave_search(ts: &TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("box.postman_collection.json");
    let mut collection = fixture("postman/collection-v2.1-example-collection.json");
    write_collection(&file, &collection);
    let (index, _) = SearchIndex::open(&dir.path().join("index"), ts.store.as_ref(), &|_| {})
        .await
        .unwrap();
    let index = Arc::new(index);
    let server = MockServer::start().await;
    let postman = || {
        Postman::builder(server.uri())
            .collection_files([file.clone()])
            .retry(RetryPolicy::none())
            .rate_limit(None)
            .build()
            .unwrap()
    };
    let syncer = Syncer::new(ts.store.clone())
        .postman(postman())
        .index(index.clone());
    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    let written = only(&first, "postman").counts.written;
    assert_eq!(written, 92, "{first:?}");
    assert!(
        titles_found(&index, "\"Retrieve a Collaboration\"")
            .contains(&"Retrieve a Collaboration".to_owned())
    );
    assert!(titles_found(&index, "\"Delete a Task\"").contains(&"Delete a Task".to_owned()));

    // The same file again: nothing is read into the store.
    let again = sync(&syncer).await;
    assert_eq!(only(&again, "postman").counts.written, 0, "{again:?}");

    // Rename one request, delete another.
    for folder in collection["item"].as_array_mut().unwrap() {
        if let Some(items) = folder["item"].as_array_mut() {
            for item in items.iter_mut() {
                if item["name"] == "Retrieve a Collaboration" {
                    item["name"] = json!("Fetch one partnership record");
                }
            }
            items.retain(|i| i["name"] != "Delete a Task");
        }
    }
    write_collection(&file, &collection);
    let third = sync(&syncer).await;
    assert!(third.is_ok(), "{third:?}");
    let counts = only(&third, "postman").counts;
    assert_eq!((counts.written, counts.deleted), (1, 1), "{third:?}");
    assert!(
        !titles_found(&index, "\"Retrieve a Collaboration\"")
            .contains(&"Retrieve a Collaboration".to_owned())
    );
    assert!(
        titles_found(&index, "partnership").contains(&"Fetch one partnership record".to_owned())
    );
    assert!(!titles_found(&index, "\"Delete a Task\"").contains(&"Delete a Task".to_owned()));

    // The file is dropped from the config: its requests go.
    let none = Postman::builder(server.uri())
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap();
    let syncer = Syncer::new(ts.store.clone())
        .postman(none)
        .index(index.clone());
    let fourth = sync(&syncer).await;
    assert_eq!(
        only(&fourth, "postman").counts.deleted,
        written - 1,
        "{fourth:?}"
    );
    assert!(titles_found(&index, "partnership").is_empty());
    assert!(
        ts.store
            .sync_scopes(Some("postman"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn postman_api_collections_sync_when_changed(ts: &TestStore) {
    let server = MockServer::start().await;
    let listing = fixture("postman/get-collections.response.json");
    let first_uid = listing["collections"][0]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut one = listing.clone();
    one["collections"] = json!([listing["collections"][0].clone()]);
    one["meta"] = json!({"total": 1, "offset": 0, "limit": 25});
    let current = Arc::new(RwLock::new(one));
    let gets = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/collections"))
        .respond_with(Current(current.clone()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/collections/{first_uid}")))
        .respond_with(Get(gets.clone()))
        .mount(&server)
        .await;
    let postman = Postman::builder(server.uri())
        .api_key(SecretString::from("PMAK-test-key"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .list_rate_limit(None)
        .build()
        .unwrap();
    let syncer = Syncer::new(ts.store.clone()).postman(postman);
    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    assert!(only(&first, "postman").counts.written > 0, "{first:?}");
    let second = sync(&syncer).await;
    assert_eq!(only(&second, "postman").counts.written, 0);
    assert_eq!(
        gets.load(Ordering::SeqCst),
        1,
        "an unchanged collection is not fetched again"
    );

    // The collection is deleted in the workspace.
    {
        let mut now = current.write().unwrap_or_else(PoisonError::into_inner);
        now["collections"] = json!([]);
        now["meta"]["total"] = json!(0);
    }
    let third = sync(&syncer).await;
    assert!(only(&third, "postman").counts.deleted > 0, "{third:?}");
    assert!(
        ts.store
            .sync_scopes(Some("postman"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        ts.store
            .search_documents_after(None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- The store side --------------------------------------------------------------------------

async fn a_bad_batch_writes_nothing(ts: &TestStore) {
    let mut batch = SyncBatch {
        integration: "testmo".into(),
        scope: "project:1".into(),
        cases: vec![SyncedCase {
            source: TestSource::Testmo,
            external_id: "1".into(),
            title: "A case".into(),
            folder_path: None,
            tags: Vec::new(),
        }],
        cursor: Some("c1".into()),
        ..SyncBatch::default()
    };
    batch.items.push(SyncItem {
        item_id: " ".into(),
        local_key: "1".into(),
        fingerprint: None,
    });
    let err = ts.store.write_sync_batch(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(ts.store.sync_scopes(None).await.unwrap().is_empty());
    assert!(ts.store.test_external_ids().await.unwrap().is_empty());

    // A case with results survives its deletion upstream, and is counted as kept.
    batch.items[0].item_id = "1".into();
    let written = ts.store.write_sync_batch(&batch).await.unwrap();
    let id = written.cases[0];
    let run = qapms_core::model::TestRun {
        id: qapms_core::model::RunId::new(),
        source: TestSource::Testmo,
        name: "nightly".into(),
        started_at: Utc::now(),
        finished_at: None,
        environment: None,
        revision: None,
        url: None,
    };
    let result = qapms_core::model::TestResult {
        run_id: run.id,
        test_id: id,
        attempt: 1,
        status: qapms_core::model::TestStatus::Passed,
        duration_ms: Some(5),
        message: None,
        trace_fingerprint: None,
        cluster_id: None,
    };
    ts.store.insert_run(&run, &[result]).await.unwrap();
    let drop = SyncBatch {
        integration: "testmo".into(),
        scope: "project:1".into(),
        delete_cases: vec![(TestSource::Testmo, "1".into())],
        forget: vec![("project:1".into(), "1".into())],
        ..SyncBatch::default()
    };
    let outcome = ts.store.write_sync_batch(&drop).await.unwrap();
    assert_eq!((outcome.kept_cases, outcome.deleted_cases.len()), (1, 0));
    assert_eq!(ts.store.test_case(&id).await.unwrap().title, "A case");
    let scope = &ts.store.sync_scopes(Some("testmo")).await.unwrap()[0];
    assert_eq!(
        (scope.items, scope.cursor.as_deref()),
        (0, Some("c1")),
        "an unset cursor is kept"
    );
}

/// Splunk's `saved/searches` as a feed the test edits between syncs.
#[derive(Clone)]
struct SavedSearches(Arc<RwLock<Value>>);

impl Respond for SavedSearches {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let feed = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ResponseTemplate::new(200).set_body_json(feed)
    }
}

async fn splunk_saved_searches_sync_with_edits_and_deletions(ts: &TestStore) {
    let server = MockServer::start().await;
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/splunk/saved-searches.response.json"),
    )
    .unwrap();
    let feed = SavedSearches(Arc::new(RwLock::new(serde_json::from_str(&text).unwrap())));
    Mock::given(method("GET"))
        .and(path("/services/saved/searches"))
        .respond_with(feed.clone())
        .mount(&server)
        .await;
    let client = qapms_core::integrations::splunk::Splunk::builder(server.uri())
        .token(SecretString::from("splunk-token"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (index, _) = SearchIndex::open(dir.path(), ts.store.as_ref(), &|_| {})
        .await
        .unwrap();
    let index = Arc::new(index);
    let templates = BTreeMap::from([(
        "checkout_errors".to_owned(),
        SplunkTemplate {
            spl: "search index=web status>=500 path=/checkout*".to_owned(),
            description: None,
            earliest: None,
            latest: None,
        },
    )]);
    let syncer = Syncer::new(ts.store.clone())
        .splunk(templates, client)
        .index(index.clone());
    let first = sync(&syncer).await;
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(only(&first, "splunk").counts.written, 4, "{first:?}");
    let key = SearchDocumentKey::new("splunk", "auth_app/Token refresh failures");
    let docs = ts
        .store
        .search_documents_by_key(std::slice::from_ref(&key))
        .await
        .unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].doc_type, "saved_search");
    assert_eq!(docs[0].status.as_deref(), Some("disabled"));
    assert_eq!(
        docs[0].fields.get("app").map(String::as_str),
        Some("auth_app")
    );
    assert!(
        docs[0]
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://localhost:8089/servicesNS/")
    );
    assert_eq!(
        keys_ranked(&index, "refresh source:splunk"),
        vec!["auth_app/Token refresh failures"]
    );

    // Nothing changed: nothing written.
    let again = sync(&syncer).await;
    assert_eq!(only(&again, "splunk").counts.written, 0, "{again:?}");

    // One edited, one deleted in Splunk.
    {
        let mut feed = feed.0.write().unwrap_or_else(PoisonError::into_inner);
        let entries = feed["entry"].as_array_mut().unwrap();
        entries.remove(1);
        entries[0]["content"]["description"] = json!("Checkout gateway errors per host");
        feed["paging"]["total"] = json!(2);
    }
    let third = sync(&syncer).await;
    assert!(third.is_ok(), "{third:?}");
    let splunk = only(&third, "splunk");
    assert_eq!(
        (splunk.counts.written, splunk.counts.deleted),
        (1, 1),
        "{third:?}"
    );
    assert!(
        ts.store
            .search_documents_by_key(&[key])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(keys_ranked(&index, "refresh source:splunk").is_empty());
    assert_eq!(
        keys_ranked(&index, "gateway source:splunk"),
        vec!["search/Checkout 5xx by host"]
    );
}

for_each_backend!(
    jira_twice_is_nothing_new,
    jira_moves_and_deletions_reach_store_and_index,
    jira_resumes_after_a_failure_halfway,
    a_cancelled_sync_keeps_its_batches_and_resumes,
    one_failing_integration_does_not_stop_the_others,
    testmo_cases_sync_and_deletions,
    testmo_runs_import_incrementally_with_stable_identity,
    grafana_annotations_become_signals_for_classification,
    postman_file_renames_and_deletions_leave_search,
    postman_api_collections_sync_when_changed,
    a_bad_batch_writes_nothing,
    splunk_saved_searches_sync_with_edits_and_deletions,
);
