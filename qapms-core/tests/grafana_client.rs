//! The Grafana client against wiremock servers answering with the official doc examples
//! (`tests/fixtures/grafana/`) and a constructed `/api/ds/query` answer in the data-frame wire
//! format, plus hand-written mocks for health, paging, error mapping and secret hygiene.

#![cfg(feature = "grafana")]

mod contract;

use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use contract::{Capture, fixture, fixture_json};
use qapms_core::ErrorKind;
use qapms_core::config::{self, Env};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::grafana::{DashboardUid, Grafana};
use qapms_core::integrations::{
    Annotation, AnnotationFilter, Annotations as _, Health, Integration as _, MetricQuery,
    MetricSource as _,
};
use qapms_core::logging::Redactor;
use qapms_core::secrets::{self, KeyLookup};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "glsa_0123456789abcdefSECRET_a1b2c3d4";

fn grafana(server: &MockServer) -> Grafana {
    // A real Grafana answers under `/api`; the builder appends it to the server URL.
    Grafana::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .retry(RetryPolicy::none())
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

fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

async fn healthy(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/health"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"commit": "abc", "database": "ok", "version": "11.4.0"})),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn health_checks_the_server_then_the_token() {
    let server = MockServer::start().await;
    healthy(&server).await;
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("limit", "1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("grafana", "search.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = grafana(&server);
    let info = client.server_health().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("11.4.0"));
    let report = client.health().await;
    assert_eq!(report.health, Health::Ok, "{report:?}");
    assert_eq!(client.endpoint(), format!("{}/api", server.uri()));
}

#[tokio::test]
async fn unauthorized_unreachable_and_degraded_are_told_apart() {
    let server = MockServer::start().await;
    healthy(&server).await;
    Mock::given(path("/api/search"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message": "invalid API key", "traceID": ""})),
        )
        .mount(&server)
        .await;
    let report = grafana(&server).health().await;
    assert_eq!(report.health, Health::Unauthorized);
    assert!(report.detail.unwrap().contains("service account token"));

    let down = MockServer::start().await;
    Mock::given(path("/api/health"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"database": "failing", "version": "11.4.0"})),
        )
        .mount(&down)
        .await;
    assert_eq!(grafana(&down).health().await.health, Health::Degraded);

    let db = MockServer::start().await;
    Mock::given(path("/api/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"database": "failing"})))
        .mount(&db)
        .await;
    let report = grafana(&db).health().await;
    assert_eq!(report.health, Health::Degraded);
    assert!(report.detail.unwrap().contains("database"));

    let nowhere = Grafana::builder("http://127.0.0.1:9")
        .token(SecretString::from(TOKEN))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(nowhere.health().await.health, Health::Unreachable);
}

#[tokio::test]
async fn search_and_get_dashboard_parse_the_official_examples() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .and(query_param("query", "prod"))
        .and(query_param("tag", "prod"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(fixture("grafana", "search.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/dashboards/uid/cIBgcSjkk"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(fixture("grafana", "get-dashboard-by-uid.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = grafana(&server);
    let hits = client
        .dashboards()
        .search()
        .query("prod")
        .tag("prod")
        .include_folders()
        .send()
        .await
        .unwrap();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[1].uid.as_str(), "cIBgcSjkk");
    assert_eq!(hits[1].kind.as_deref(), Some("dash-db"));
    assert!(hits[1].is_starred);
    let found = client
        .dashboards()
        .get(&DashboardUid::new("cIBgcSjkk"))
        .await
        .unwrap();
    assert_eq!(found.dashboard.title, "Production Overview");
    assert_eq!(found.dashboard.tags, ["templated"]);
    assert_eq!(found.meta.folder_uid.as_deref(), Some("l3KqBxCMz"));
    assert_eq!(found.dashboard.raw["schemaVersion"], 16);
}

#[tokio::test]
async fn panels_inside_rows_are_listed() {
    let server = MockServer::start().await;
    Mock::given(path("/api/dashboards/uid/rows"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "dashboard": {"uid": "rows", "title": "Rows", "panels": [
                {"id": 1, "title": "Errors"},
                {"id": 2, "type": "row", "title": "Latency", "panels": [{"id": 3, "title": "p95"}]},
                {"title": "no id"}
            ]},
            "meta": {}
        })))
        .mount(&server)
        .await;
    let found = grafana(&server)
        .dashboards()
        .get(&DashboardUid::new("rows"))
        .await
        .unwrap();
    let ids: Vec<u64> = found.dashboard.panels.iter().map(|p| p.id).collect();
    assert_eq!(ids, [1, 2, 3]);
}

/// Serves `total` dashboards in pages of the `limit` asked for, by `page` (from 1).
struct SearchPages {
    total: usize,
}

impl Respond for SearchPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let q = |name: &str| -> usize {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.parse().expect("a numeric query parameter"))
                .expect("the client sends `limit` and `page`")
        };
        let (limit, page) = (q("limit"), q("page"));
        let start = (page - 1) * limit;
        let hits: Vec<Value> = (start..(start + limit).min(self.total))
            .map(|n| json!({"uid": format!("d{n}"), "title": format!("D {n}"), "type": "dash-db"}))
            .collect();
        ResponseTemplate::new(200).set_body_json(hits)
    }
}

#[tokio::test]
async fn search_follows_pages_until_a_short_one() {
    let server = MockServer::start().await;
    Mock::given(path("/api/search"))
        .and(query_param("type", "dash-db"))
        .respond_with(SearchPages { total: 2345 })
        .mount(&server)
        .await;
    let client = grafana(&server);
    let all = client.dashboards().search().send().await.unwrap();
    assert_eq!(all.len(), 2345);
    assert_eq!(all[2344].uid.as_str(), "d2344");
    let some = client.dashboards().search().limit(5).send().await.unwrap();
    assert_eq!(some.len(), 5);
}

#[tokio::test]
async fn annotations_are_created_and_listed() {
    let server = MockServer::start().await;
    let request = fixture_json("grafana", "post-annotation.request.json");
    Mock::given(method("POST"))
        .and(path("/api/annotations"))
        .and(body_partial_json(request.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(fixture("grafana", "post-annotation.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/annotations"))
        .and(query_param("dashboardUID", "uGlb_lG7z"))
        .and(query_param("tags", "tag1"))
        .and(query_param("from", "1507000000000"))
        .and(query_param("limit", "10"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(fixture("grafana", "get-annotations.response.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = grafana(&server);
    // The same annotation as the docs' example request, built by the client.
    let id = client
        .annotations()
        .create("Annotation Description", at(1_507_037_197_339))
        .time_end(at(1_507_180_805_056))
        .tags(["tag1", "tag2"])
        .dashboard("jcIIG-07z")
        .panel(1)
        .send()
        .await
        .unwrap();
    assert_eq!(id, 1);

    let filter = AnnotationFilter {
        from: Some(at(1_507_000_000_000)),
        tags: vec!["tag1".into()],
        dashboard_uid: Some("uGlb_lG7z".into()),
        limit: Some(10),
        ..AnnotationFilter::default()
    };
    let records = client.annotations().list(&filter).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].id, 1124);
    let annotations = qapms_core::integrations::Annotations::annotations(&client, &filter)
        .await
        .unwrap();
    assert_eq!(annotations[0].time, at(1_507_266_395_000));
    assert_eq!(annotations[0].time_end, None, "timeEnd == time is a point");
    assert_eq!(annotations[0].tags, ["tag1", "tag2"]);
    assert_eq!(annotations[0].panel_id, Some(2));

    // Through the capability trait, as a test run marker.
    let marker = Annotation {
        id: None,
        time: at(1_507_037_197_339),
        time_end: Some(at(1_507_180_805_056)),
        text: "Annotation Description".into(),
        tags: vec!["tag1".into(), "tag2".into()],
        dashboard_uid: Some("jcIIG-07z".into()),
        panel_id: Some(1),
    };
    assert_eq!(client.annotate(&marker).await.unwrap(), 1);
}

#[tokio::test]
async fn bad_annotations_are_refused_before_sending() {
    let server = MockServer::start().await;
    catch_all(&server).await;
    let client = grafana(&server);
    let now = Utc::now();
    let err = client
        .annotations()
        .create("  ", now)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = client
        .annotations()
        .create("run", now)
        .time_end(now - chrono::Duration::minutes(1))
        .send()
        .await
        .unwrap_err();
    assert!(err.message().contains("before it starts"), "{err}");
    let err = client
        .annotations()
        .create("run", now)
        .panel(3)
        .send()
        .await
        .unwrap_err();
    assert!(err.message().contains("dashboard"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn ds_query_decodes_frames_into_series() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(body_partial_json(json!({
            "from": "1700000000000",
            "to": "1700003600000",
            "queries": [{"refId": "A", "expr": "sum by (job, code) (rate(http_errors_total[5m]))",
                         "datasource": {"uid": "prom-uid", "type": "prometheus"}, "intervalMs": 60000}]
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(fixture("grafana", "post-ds-query.response.constructed.json")),
        )
        .mount(&server)
        .await;
    catch_all(&server).await;
    let datasources = [(
        "prometheus".to_owned(),
        serde_json::from_value(json!({"uid": "prom-uid", "type": "prometheus"})).unwrap(),
    )]
    .into_iter()
    .collect();
    let client = Grafana::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .datasources(datasources)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let query = MetricQuery {
        datasource: "prometheus".into(),
        query: json!({"expr": "sum by (job, code) (rate(http_errors_total[5m]))"}),
        from: at(1_700_000_000_000),
        to: at(1_700_003_600_000),
        interval: Some(Duration::from_mins(1)),
        max_data_points: None,
    };
    let series = client.series(&query).await.unwrap();
    assert_eq!(series.len(), 2, "the table frame has no time field");
    let checkout = &series[0];
    assert_eq!(checkout.name, "checkout 500s");
    assert_eq!(checkout.labels["job"], "checkout");
    assert_eq!(checkout.timestamps.len(), 4);
    assert_eq!(checkout.timestamps[1], at(1_700_000_060_000));
    assert_eq!(checkout.values[0], Some(0.5));
    assert_eq!(checkout.values[1], None);
    assert!(
        checkout.values[2].unwrap().is_nan(),
        "NaN comes back from `entities`"
    );
    assert_eq!(checkout.values[3], Some(2.25));
    let payments = &series[1];
    assert_eq!(payments.name, "Value");
    assert_eq!(payments.labels["code"], "503");
    assert_eq!(payments.values, [Some(1.0), Some(3.0)]);
}

#[tokio::test]
async fn a_failed_query_names_its_ref_and_a_broken_frame_names_the_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(body_partial_json(json!({"queries": [{"refId": "A", "expr": "rate("}]})))
        .respond_with(ResponseTemplate::new(207).set_body_json(json!({
            "results": {"A": {"status": 400, "error": "bad_data: parse error: unclosed left parenthesis", "errorSource": "downstream"}}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/ds/query"))
        .and(body_partial_json(json!({"queries": [{"refId": "A", "expr": "up"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": {"A": {"status": 200, "frames": [{
                "schema": {"fields": [{"name": "Time", "type": "time"}, {"name": "Value", "type": "number"}]},
                "data": {"values": [[1_700_000_000_000_i64, 1_700_000_060_000_i64], [1, "one"]]}
            }]}}
        })))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = grafana(&server);
    let to = at(1_700_003_600_000);
    let from = at(1_700_000_000_000);
    let err = client
        .datasources()
        .query("prom-uid", from, to)
        .target("A", json!({"expr": "rate("}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("unclosed left parenthesis"), "{err}");
    assert_eq!(err.context_value("ref_id"), Some("A"));

    let err = client
        .datasources()
        .query("prom-uid", from, to)
        .target("A", json!({"expr": "up"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(
        err.context_value("field"),
        Some("frames[0].data.values[1][1]"),
        "{err}"
    );

    let err = client
        .datasources()
        .query("prom-uid", to, from)
        .target("A", json!({"expr": "up"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.message().contains("swap"), "{err}");
}

#[tokio::test]
async fn http_errors_are_typed_and_say_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(path("/api/dashboards/uid/forbidden"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Access denied to this dashboard"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/dashboards/uid/missing"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Dashboard not found"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/dashboards/uid/expired"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "token expired"})))
        .mount(&server)
        .await;
    Mock::given(path("/api/dashboards/uid/busy"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "12")
                .set_body_json(json!({"message": "too many requests"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/dashboards/uid/broken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"dashboard": {"title": "no uid"}, "meta": {}})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/annotations"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "time": "yesterday"}])),
        )
        .mount(&server)
        .await;
    let client = grafana(&server);
    let get = |uid: &'static str| {
        let client = client.clone();
        async move {
            client
                .dashboards()
                .get(&DashboardUid::new(uid))
                .await
                .unwrap_err()
        }
    };
    let err = get("forbidden").await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.message().contains("Access denied") && err.message().contains("role"),
        "{err}"
    );
    let err = get("missing").await;
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("check the uid"), "{err}");
    let err = get("expired").await;
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.message().contains("integrations.grafana.token"),
        "{err}"
    );
    let err = get("busy").await;
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
    let err = get("broken").await;
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(err.context_value("field"), Some("dashboard"), "{err}");
    assert!(err.message().contains("uid"), "{err}");
    let err = client
        .annotations()
        .list(&AnnotationFilter::default())
        .await
        .unwrap_err();
    assert_eq!(err.context_value("field"), Some("[0].time"), "{err}");
}

#[tokio::test]
async fn the_token_never_reaches_logs_or_errors() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    healthy(&server).await;
    // A hostile server that echoes the token back in errors and in a query result.
    Mock::given(path("/api/search"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string(format!(r#"{{"message":"invalid token {TOKEN}"}}"#)),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/ds/query"))
        .respond_with(ResponseTemplate::new(207).set_body_string(format!(
            r#"{{"results":{{"A":{{"status":500,"error":"upstream said Bearer {TOKEN}"}}}}}}"#
        )))
        .mount(&server)
        .await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(TOKEN));
    let client = Grafana::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let report = client.health().await;
    let err = client
        .datasources()
        .query("x", Utc::now() - chrono::Duration::hours(1), Utc::now())
        .target("A", json!({"expr": "up"}))
        .send()
        .await
        .unwrap_err();
    assert!(!format!("{report:?}").contains(TOKEN), "{report:?}");
    assert!(!format!("{client:?}").contains(TOKEN));
    let logs = String::from_utf8(capture.contents()).unwrap();
    assert!(logs.contains("http.call"), "the calls were logged: {logs}");
    assert!(!logs.contains(TOKEN), "{logs}");
    assert!(!logs.contains("SECRET_a1b2c3d4"), "{logs}");
    // A per-query error quotes the datasource's words, redacted like HTTP error bodies.
    assert!(err.message().contains("upstream said"), "{err}");
    assert!(!err.to_string().contains(TOKEN), "{err}");
}

#[tokio::test]
async fn from_config_sends_the_token_and_keeps_a_sub_path() {
    let server = MockServer::start().await;
    Mock::given(path("/grafana/api/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"database": "ok"})))
        .mount(&server)
        .await;
    Mock::given(path("/grafana/api/search"))
        .and(header("authorization", "Bearer glsa_from_env"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let yaml = format!(
        "integrations:\n  grafana:\n    base_url: {}/grafana/\n    token: ${{GRAFANA_TOKEN}}\n    \
         datasources:\n      prom: {{uid: p1, type: prometheus}}\n",
        server.uri()
    );
    let env = Env::from_pairs([("GRAFANA_TOKEN", "glsa_from_env".to_owned())]);
    let loaded = config::load_str(&yaml, "qapms.yaml", None, &env).expect("a valid config");
    let dir = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let lookup = KeyLookup {
        env: &env,
        config_dir: dir.path(),
        passphrase: None,
    };
    let unlocked = secrets::unlock(&loaded.config, &lookup, &redactor).unwrap();
    let section = loaded.config.integrations.grafana.as_ref().unwrap();
    let client = Grafana::from_config(section, &unlocked, Some(redactor)).unwrap();
    assert_eq!(client.health().await.health, Health::Ok);
    let body = client
        .datasources()
        .query("prom", at(0), at(1000))
        .target("A", json!({"expr": "up"}))
        .body()
        .unwrap();
    assert_eq!(
        body["queries"][0]["datasource"],
        json!({"uid": "p1", "type": "prometheus"})
    );
}
