//! The Jira client against wiremock servers answering with the official examples
//! (`tests/fixtures/jira/`), plus hand-written mocks for paging and createmeta.

#![cfg(feature = "jira")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::TryStreamExt as _;
use qapms_core::ErrorKind;
use qapms_core::config::JiraDeployment;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::{Health, Integration as _, TicketSource as _};
use qapms_core::model::IssueKey;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/jira/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn jira(server: &MockServer, deployment: JiraDeployment) -> Jira {
    Jira::builder(server.uri())
        .deployment(deployment)
        .basic_auth("qa@acme.test", SecretString::from("api-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
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

#[tokio::test]
async fn myself_and_server_info_parse_the_official_examples() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .and(header(
            "authorization",
            "Basic cWFAYWNtZS50ZXN0OmFwaS10b2tlbg==",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(fixture("myself.response.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/serverInfo"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("server-info.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::Cloud);
    let me = jira.myself().await.unwrap();
    assert_eq!(me.account_id.as_deref(), Some("5b10a2844c20165700ede21g"));
    let info = jira.server_info().await.unwrap();
    assert_eq!(info.version_numbers, [5, 0, 0]);
    assert!(info.server_time.is_some());
    assert_eq!(jira.health().await.health, Health::Ok);
}

#[tokio::test]
async fn get_issue_asks_only_for_the_named_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/ED-1"))
        .and(query_param("fields", "summary,status"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("get-issue.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let key = IssueKey::parse("ED-1").unwrap();
    let issue = jira(&server, JiraDeployment::Cloud)
        .issues()
        .get(&key)
        .fields(["summary", "status"])
        .send()
        .await
        .unwrap();
    assert_eq!(issue.key.as_str(), "ED-1");
    // The issue keeps what Jira sent, including fields qapms does not model.
    let sent: Value = serde_json::from_str(&fixture("get-issue.response.json")).unwrap();
    assert_eq!(issue.raw.to_value(), sent);
    assert_eq!(
        issue.field("watcher"),
        Some(sent["fields"]["watcher"].clone())
    );
    assert_eq!(issue.field("not-fetched"), None);
    assert_eq!(serde_json::to_value(&issue).unwrap(), sent);
}

#[tokio::test]
async fn a_mistyped_field_is_named_by_its_path_inside_the_issue() {
    let server = MockServer::start().await;
    let mut bad = issue_json(0);
    // A string where a list belongs; the message must name the place but not quote the value.
    bad["fields"]["labels"] = json!("s3cr3t-looking-value");
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issues": [issue_json(1), bad], "isLast": true})),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = jira(&server, JiraDeployment::Cloud)
        .issues()
        .search("project = PAY")
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("field `issues[1]`: within `fields.labels`: wrong type: found string"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[test]
fn an_issue_that_is_not_an_object_is_described_without_its_value() {
    #[derive(serde::Deserialize)]
    struct Page {
        #[expect(dead_code, reason = "only the decode error matters here")]
        issues: Vec<qapms_core::integrations::jira::models::Issue>,
    }
    let body = br#"{"issues": [{"id": "1", "key": "PAY-1"}, "s3cr3t-looking-value"]}"#;
    let text = qapms_core::http::decode_json::<Page>(body, "jira")
        .err()
        .expect("a string is not an issue")
        .to_string();
    assert!(
        text.contains("field `issues[1]`: wrong type: found string"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
}

/// Serves `total` issues, `page` at a time, by `nextPageToken`, whatever `maxResults` says.
struct TokenPages {
    total: usize,
    page: usize,
    calls: Arc<AtomicUsize>,
}

fn issue_json(n: usize) -> Value {
    json!({
        "id": (10_000 + n).to_string(),
        "key": format!("PAY-{}", n + 1),
        "fields": {
            "summary": format!("issue {n}"),
            "status": {"name": "To Do", "statusCategory": {"key": "new"}},
            "issuetype": {"name": "Bug"},
            "updated": "2021-01-17T12:34:00.000+0000",
            "unknownField": {"ignored": true}
        }
    })
}

impl Respond for TokenPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let body: Value = serde_json::from_slice(&request.body).expect("the client sends JSON");
        assert_eq!(body["fields"][0], "summary", "fields are always named");
        let start: usize = body["nextPageToken"].as_str().map_or(0, |t| {
            t.trim_start_matches("tok-")
                .parse()
                .expect("a token we issued")
        });
        let end = (start + self.page).min(self.total);
        let issues: Vec<Value> = (start..end).map(issue_json).collect();
        let mut out = json!({"issues": issues, "isLast": end == self.total});
        if end < self.total {
            out["nextPageToken"] = json!(format!("tok-{end}"));
        }
        ResponseTemplate::new(200).set_body_json(out)
    }
}

#[tokio::test]
async fn cloud_search_follows_tokens_across_many_pages() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(json!({"jql": "project = PAY"})))
        .respond_with(TokenPages {
            total: 2350,
            page: 100,
            calls: calls.clone(),
        })
        .mount(&server)
        .await;
    catch_all(&server).await;
    let issues: Vec<_> = jira(&server, JiraDeployment::Cloud)
        .issues()
        .search("project = PAY")
        .page_size(5000)
        .fields(["summary", "status"])
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(issues.len(), 2350);
    assert_eq!(issues[2349].key.as_str(), "PAY-2350");
    assert_eq!(calls.load(Ordering::Relaxed), 24);
}

/// Data Center `/rest/api/2/search`: caps pages at 50 whatever `maxResults` asks.
struct OffsetPages {
    total: usize,
}

impl Respond for OffsetPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let param = |name: &str| -> usize {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
                .expect("the client sends startAt and maxResults")
        };
        let start = param("startAt");
        let end = (start + param("maxResults").min(50)).min(self.total);
        let issues: Vec<Value> = (start..end).map(issue_json).collect();
        ResponseTemplate::new(200).set_body_json(
            json!({"startAt": start, "maxResults": 50, "total": self.total, "issues": issues}),
        )
    }
}

#[tokio::test]
async fn data_center_search_pages_by_offset_in_parallel_and_misses_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/2/search"))
        .respond_with(OffsetPages { total: 2350 })
        .mount(&server)
        .await;
    catch_all(&server).await;
    let tickets: Vec<_> = jira(&server, JiraDeployment::DataCenter)
        .search_tickets("project = PAY")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tickets.len(), 2350);
    let keys: std::collections::BTreeSet<_> = tickets.iter().map(|t| t.key.number()).collect();
    assert_eq!(keys.len(), 2350);
    assert_eq!(tickets[0].summary, "issue 0");
}

#[tokio::test]
async fn comments_are_adf_on_cloud_and_wiki_on_data_center() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/comment"))
        .and(body_partial_json(
            json!({"body": {"type": "doc", "version": 1}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_string(fixture("add-comment.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/2/issue/PAY-1/comment"))
        .and(body_partial_json(json!({"body": "Verified on *staging*"})))
        .respond_with(
            ResponseTemplate::new(201).set_body_string(fixture("add-comment.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let key = IssueKey::parse("PAY-1").unwrap();
    for deployment in [JiraDeployment::Cloud, JiraDeployment::DataCenter] {
        let comment = jira(&server, deployment)
            .issues()
            .add_comment(&key, "Verified on **staging**")
            .await
            .unwrap();
        assert_eq!(comment.id, "10000");
    }
}

#[tokio::test]
async fn worklogs_send_started_in_jira_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue/PAY-1/worklog"))
        .and(body_partial_json(json!({
            "started": "2021-01-17T12:34:00.000+0000",
            "timeSpentSeconds": 2700
        })))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "100028", "timeSpentSeconds": 2700})),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let started = chrono::DateTime::parse_from_rfc3339("2021-01-17T12:34:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let key = IssueKey::parse("PAY-1").unwrap();
    let log = jira(&server, JiraDeployment::Cloud)
        .issues()
        .add_worklog(&key, started, 2700, Some("Regression pass"))
        .await
        .unwrap();
    assert_eq!(log.time_spent_seconds, Some(2700));
}

#[tokio::test]
async fn lists_parse_the_official_examples() {
    let server = MockServer::start().await;
    let mount = |p: &'static str, f: &'static str| {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(f)))
    };
    mount(
        "/rest/api/3/issue/PAY-1/transitions",
        "get-transitions.response.json",
    )
    .mount(&server)
    .await;
    mount("/rest/api/3/field", "get-fields.response.json")
        .mount(&server)
        .await;
    mount(
        "/rest/api/3/attachment/10000",
        "get-attachment.response.json",
    )
    .mount(&server)
    .await;
    mount(
        "/rest/agile/1.0/sprint/37",
        "agile-get-sprint.response.json",
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/issue/PAY-1/comment",
        "get-comments.response.json",
    )
    .mount(&server)
    .await;
    mount(
        "/rest/api/3/issue/PAY-1/worklog",
        "get-worklogs.response.json",
    )
    .mount(&server)
    .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::Cloud);
    let key = IssueKey::parse("PAY-1").unwrap();
    assert!(!jira.issues().transitions(&key).await.unwrap().is_empty());
    assert!(!jira.fields().await.unwrap().is_empty());
    assert_eq!(jira.attachment("10000").await.unwrap().id, "10000");
    let sprint = jira.agile().sprint(37).await.unwrap();
    assert!(sprint.start_date.is_some());
    assert_eq!(jira.issues().comments(&key).await.unwrap().len(), 1);
    assert_eq!(jira.issues().worklogs(&key).await.unwrap().len(), 1);
}

#[tokio::test]
async fn create_names_a_missing_required_field() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/createmeta/PAY/issuetypes"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issueTypes": [{"id": "10001", "name": "Bug"}], "total": 1})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/createmeta/PAY/issuetypes/10001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"fields": [
            {"fieldId": "summary", "key": "summary", "name": "Summary", "required": true, "hasDefaultValue": false},
            {"fieldId": "components", "key": "components", "name": "Component/s", "required": true, "hasDefaultValue": false},
            {"fieldId": "priority", "key": "priority", "name": "Priority", "required": true, "hasDefaultValue": true}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/issue"))
        .and(body_partial_json(
            json!({"fields": {"issuetype": {"id": "10001"}, "components": [{"name": "API"}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "10002", "key": "PAY-24"})),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::Cloud);
    let err = jira
        .issues()
        .create("PAY", "bug", "Refund fails")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("Component/s"), "{err}");
    let created = jira
        .issues()
        .create("PAY", "Bug", "Refund fails")
        .field("components", json!([{"name": "API"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.key.as_str(), "PAY-24");
    let err = jira
        .issues()
        .create("PAY", "Epic", "x")
        .send()
        .await
        .unwrap_err();
    assert!(err.message().contains("has no issue type `Epic`"), "{err}");
}

#[tokio::test]
async fn unauthorized_and_unreachable_health_are_told_apart() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    assert_eq!(
        jira(&server, JiraDeployment::Cloud).health().await.health,
        Health::Unauthorized
    );
    let gone = Jira::builder("http://127.0.0.1:9")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(gone.health().await.health, Health::Unreachable);
}

/// Agile lists page with `isLast` and, here, no `total`; pages hold 2 whatever is asked.
struct BoardPages;

impl Respond for BoardPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start: usize = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "startAt")
            .and_then(|(_, v)| v.parse().ok())
            .expect("the client sends startAt");
        let end = (start + 2).min(5);
        let values: Vec<Value> = (start..end)
            .map(|i| json!({"id": i + 1, "name": format!("board {i}"), "type": "scrum"}))
            .collect();
        ResponseTemplate::new(200).set_body_json(
            json!({"startAt": start, "maxResults": 2, "isLast": end == 5, "values": values}),
        )
    }
}

#[tokio::test]
async fn agile_boards_page_by_is_last_and_sprints_parse() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/agile/1.0/board"))
        .respond_with(BoardPages)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/agile/1.0/board/1/sprint"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(fixture("agile-board-sprints.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let jira = jira(&server, JiraDeployment::Cloud);
    let boards = jira.agile().boards().await.unwrap();
    assert_eq!(
        boards.iter().map(|b| b.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let sprints = jira.agile().sprints(1).await.unwrap();
    assert!(!sprints.is_empty());
    assert!(sprints.iter().all(|s| s.state.is_some()));
}
