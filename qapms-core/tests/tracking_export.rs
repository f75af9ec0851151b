//! Time export to Jira worklogs through a wiremock Jira: the right `started`, request bodies
//! valid against Atlassian's spec (`../shared/contracts/jira/platform-v3.json`), and no
//! duplicate on a second export or after an export that died between Jira and the store.

#![cfg(feature = "jira")]
#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]
#![expect(
    clippy::too_many_lines,
    reason = "a scenario test reads top to bottom as the story it checks"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use qapms_core::config::JiraDeployment;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::model::{
    IssueKey, Role, TimeEntry, TimeEntryId, TimeHistoryFilter, TimeSource, User, UserId,
};
use qapms_core::tracking::{export_worklogs, worklog_marker};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn entry(user: UserId, ticket: Option<&str>, start: i64, secs: i64) -> TimeEntry {
    TimeEntry {
        id: TimeEntryId::new(),
        user_id: user,
        ticket: ticket.map(|t| IssueKey::parse(t).unwrap()),
        workflow_id: None,
        step: Some("test".into()),
        started_at: at(start),
        ended_at: at(start) + Duration::seconds(secs),
        source: TimeSource::Timer,
        note: None,
        corrects: None,
        exported_worklog_id: None,
        recorded_at: at(start),
    }
}

/// Answers worklog POSTs with ids 100, 101, …
struct NewWorklog(AtomicUsize);

impl Respond for NewWorklog {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let id = 100 + self.0.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(201).set_body_json(json!({ "id": id.to_string() }))
    }
}

fn worklog_list(logs: &[Value]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "startAt": 0, "maxResults": 1000, "total": logs.len(), "worklogs": logs
    }))
}

/// OpenAPI 3.0's `nullable: true` as a JSON Schema `null` type.
fn nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([t, "null"]));
            }
            map.values_mut().for_each(nullable);
        }
        Value::Array(list) => list.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// The request schema of `POST /issue/{key}/worklog`, with OpenAPI's `nullable` made JSON Schema.
fn worklog_schema() -> Option<jsonschema::Validator> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = manifest
        .ancestors()
        .skip(1)
        .map(|d| d.join("shared/contracts/jira/platform-v3.json"))
        .find(|p| p.is_file())?;
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let op = &spec["paths"]["/rest/api/3/issue/{issueIdOrKey}/worklog"]["post"];
    let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
    let mut root = json!({ "components": spec["components"].clone() });
    for (k, v) in schema.as_object().unwrap() {
        root[k] = v.clone();
    }
    nullable(&mut root);
    Some(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(false)
            .build(&root)
            .unwrap(),
    )
}

#[tokio::test]
async fn export_is_idempotent_adopts_interrupted_worklogs_and_sends_the_entry_start() {
    let store = qapms_core::store::open("sqlite::memory:").await.unwrap();
    let ada = User::new("ada", Role::Qa);
    store.create_user(&ada).await.unwrap();
    let long = entry(ada.id, Some("PAY-1"), 0, 45 * 60);
    let short = entry(ada.id, Some("PAY-1"), 50, 30);
    let untracked = entry(ada.id, None, 60, 600);
    let other = entry(ada.id, Some("PAY-2"), 70, 600);
    let interrupted = entry(ada.id, Some("PAY-2"), 90, 1200);
    for e in [&long, &short, &untracked, &other, &interrupted] {
        store.append_time_entry(e).await.unwrap();
    }

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-1/worklog"))
        .respond_with(worklog_list(&[]))
        .mount(&server)
        .await;
    // An earlier export created this worklog and died before recording its id.
    Mock::given(method("GET"))
        .and(path("/rest/api/3/issue/PAY-2/worklog"))
        .respond_with(worklog_list(&[json!({
            "id": "77",
            "timeSpentSeconds": 1200,
            "comment": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
                {"type": "text", "text": format!("test {}", worklog_marker(&interrupted.id))}
            ]}]}
        })]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex(
            r"^/rest/api/3/issue/PAY-[12]/worklog$",
        ))
        .respond_with(NewWorklog(AtomicUsize::new(0)))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    let jira = Jira::builder(server.uri())
        .deployment(JiraDeployment::Cloud)
        .basic_auth("qa@acme.test", SecretString::from("api-token"))
        .retry(RetryPolicy::none())
        .rate_limit(None)
        .build()
        .unwrap();

    let all = TimeHistoryFilter::default();
    let first = export_worklogs(store.as_ref(), &jira, &all).await.unwrap();
    assert_eq!(first.exported.len(), 2);
    assert_eq!(first.adopted, vec![(interrupted.id, "77".to_owned())]);
    assert_eq!((first.too_short, first.no_ticket), (1, 1));

    let posts: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    let schema = worklog_schema();
    for (request, expected) in posts.iter().zip([&long, &other]) {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let started = expected
            .started_at
            .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
            .to_string();
        assert_eq!(body["started"], started.as_str());
        assert_eq!(
            body["timeSpentSeconds"].as_i64().unwrap(),
            (expected.ended_at - expected.started_at).num_seconds()
        );
        assert!(
            body["comment"]
                .to_string()
                .contains(&worklog_marker(&expected.id))
        );
        if let Some(v) = &schema {
            let errors: Vec<String> = v.iter_errors(&body).map(|e| e.to_string()).collect();
            assert!(
                errors.is_empty(),
                "worklog body breaks the contract: {errors:?}"
            );
        }
    }

    // Exporting again sends nothing.
    let second = export_worklogs(store.as_ref(), &jira, &all).await.unwrap();
    assert!(second.exported.is_empty() && second.adopted.is_empty());
    assert_eq!(second.already_exported, 3);
    let posts_after = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(posts_after, 2);
    let stored = store.time_history(&all).await.unwrap();
    let ids: Vec<Option<&str>> = stored
        .iter()
        .map(|h| h.entry.exported_worklog_id.as_deref())
        .collect();
    assert_eq!(ids, [Some("100"), None, None, Some("101"), Some("77")]);

    // A correction of an exported entry is reported, not exported a second time.
    let mut fix = entry(ada.id, Some("PAY-1"), 0, 40 * 60);
    fix.corrects = Some(long.id);
    store.append_time_entry(&fix).await.unwrap();
    let third = export_worklogs(store.as_ref(), &jira, &all).await.unwrap();
    assert!(third.exported.is_empty());
    assert_eq!(third.stale_worklogs, vec![(long.id, "100".to_owned())]);
}
