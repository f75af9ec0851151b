//! The Splunk client: manual-mode templates, job polling on a paused clock, paged results, the
//! export stream replayed from a real capture (whole and in small chunks), 429 with
//! `Retry-After`, error mapping, and secrets kept out of logs.

#![cfg(feature = "splunk")]

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use futures::{StreamExt as _, TryStreamExt as _};
use qapms_core::ErrorKind;
use qapms_core::config::{SplunkConfig, SplunkTemplate};
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::splunk::models::SearchId;
use qapms_core::integrations::splunk::{PollPolicy, SplTemplates, Splunk, export_rows};
use qapms_core::integrations::{FieldValue, Health, Integration as _, LogSearch as _, TimeRange};
use qapms_core::logging::Redactor;
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{Capture, fixture, fixture_json};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "splunk-tok-a1b2c3d4e5";
const SID: &str = "1701388800.42";

fn templates() -> SplTemplates {
    let t = |spl: &str, earliest: Option<&str>| SplunkTemplate {
        spl: spl.to_owned(),
        description: None,
        earliest: earliest.map(str::to_owned),
        latest: None,
    };
    SplTemplates::new(BTreeMap::from([
        (
            "errors_by_host".to_owned(),
            t(
                "index=app sourcetype=api host={host} status>=500 | stats count by uri",
                Some("-24h"),
            ),
        ),
        (
            "ticket_logs".to_owned(),
            t(r#"index=app "ticket={ticket}" message={message}"#, None),
        ),
        (
            "tstats".to_owned(),
            t("| tstats count where index={index} by host", Some("-7d@d")),
        ),
    ]))
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn templates_render_ready_to_paste_with_the_default_time() {
    let out = templates()
        .render(
            "errors_by_host",
            &params(&[("host", "web-01")]),
            &TimeRange::default(),
        )
        .unwrap();
    assert_eq!(
        out.spl,
        r#"index=app sourcetype=api host="web-01" status>=500 | stats count by uri"#
    );
    assert_eq!(out.earliest.as_deref(), Some("-24h"));
    assert_eq!(
        out.pasteable,
        r#"earliest=-24h index=app sourcetype=api host="web-01" status>=500 | stats count by uri"#
    );
    assert!(out.time_inline);
    let ranged = templates()
        .render(
            "errors_by_host",
            &params(&[("host", "web-01")]),
            &TimeRange::new("-1h", "now"),
        )
        .unwrap();
    assert!(
        ranged
            .pasteable
            .starts_with("earliest=-1h latest=now index=app"),
        "{}",
        ranged.pasteable
    );
}

#[test]
fn a_value_cannot_break_out_of_its_string() {
    let hostile = r#"x" OR index=* | delete | eval a="\"#;
    let out = templates()
        .render(
            "errors_by_host",
            &params(&[("host", hostile)]),
            &TimeRange::default(),
        )
        .unwrap();
    assert_eq!(
        out.spl,
        r#"index=app sourcetype=api host="x\" OR index=* | delete | eval a=\"\\" status>=500 | stats count by uri"#
    );
    // Inside a quoted string of the template the value is escaped in place, not re-quoted.
    let quoted = templates()
        .render(
            "ticket_logs",
            &params(&[("ticket", r#"PAY-1" OR "1"="1"#), ("message", "two words")]),
            &TimeRange::default(),
        )
        .unwrap();
    assert_eq!(
        quoted.spl,
        r#"index=app "ticket=PAY-1\" OR \"1\"=\"1" message="two words""#
    );
    let newline = templates()
        .render(
            "errors_by_host",
            &params(&[("host", "a\n| delete")]),
            &TimeRange::default(),
        )
        .unwrap_err();
    assert_eq!(newline.kind(), ErrorKind::InvalidInput);
    assert!(newline.message().contains("`host`"), "{newline}");
}

#[test]
fn missing_and_unknown_parameters_are_named() {
    let err = templates()
        .render(
            "ticket_logs",
            &params(&[("ticket", "PAY-1")]),
            &TimeRange::default(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("`message`"), "{err}");
    assert_eq!(err.context_value("parameter"), Some("message"));
    let extra = templates()
        .render(
            "errors_by_host",
            &params(&[("host", "a"), ("hots", "b")]),
            &TimeRange::default(),
        )
        .unwrap_err();
    assert!(extra.message().contains("no parameter `hots`"), "{extra}");
    let unknown = templates()
        .render("errors_by_hots", &params(&[]), &TimeRange::default())
        .unwrap_err();
    assert!(
        unknown.message().contains("did you mean `errors_by_host`"),
        "{unknown}"
    );
    let bad_time = templates()
        .render(
            "errors_by_host",
            &params(&[("host", "a")]),
            &TimeRange::new("-1h | delete", "now"),
        )
        .unwrap_err();
    assert!(
        bad_time.message().contains("not a Splunk time"),
        "{bad_time}"
    );
    assert_eq!(
        templates().parameters("ticket_logs").unwrap(),
        ["ticket", "message"]
    );
}

#[test]
fn generating_searches_keep_the_time_outside() {
    let out = templates()
        .render(
            "tstats",
            &params(&[("index", "app")]),
            &TimeRange::default(),
        )
        .unwrap();
    assert_eq!(out.pasteable, r#"| tstats count where index="app" by host"#);
    assert!(!out.time_inline);
    assert_eq!(out.earliest.as_deref(), Some("-7d@d"));
}

#[test]
fn manual_mode_config_needs_no_connection() {
    let config = SplunkConfig::default();
    let unlocked = qapms_core::secrets::Unlocked::default();
    let err = Splunk::from_config(&config, &unlocked, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("manual"), "{err}");
    assert_eq!(SplTemplates::from_config(&config).names().count(), 0);
}

fn client(server: &MockServer) -> Splunk {
    Splunk::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .retry(RetryPolicy::none())
        .timeout(None)
        .pool_idle_timeout(None)
        .page_size(2)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Answers job status polls from a script of fixtures, counting polls.
struct Script {
    states: Vec<&'static str>,
    polls: Arc<AtomicUsize>,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.polls.fetch_add(1, Ordering::SeqCst);
        let file = self.states[n.min(self.states.len() - 1)];
        ResponseTemplate::new(200).set_body_json(fixture_json(file))
    }
}

async fn job_server(states: Vec<&'static str>) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/jobs"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_string_contains("search=search+index%3Dapp+error"))
        .and(body_string_contains("earliest_time=-1h"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(fixture_json("splunk/create-job.response.json")),
        )
        .mount(&server)
        .await;
    let polls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path(format!("/services/search/jobs/{SID}")))
        .respond_with(Script {
            states,
            polls: polls.clone(),
        })
        .mount(&server)
        .await;
    (server, polls)
}

#[tokio::test(start_paused = true)]
async fn a_job_is_polled_with_backoff_until_done() {
    let (server, polls) = job_server(vec![
        "splunk/job-queued.response.json",
        "splunk/job-running.response.json",
        "splunk/job-running.response.json",
        "splunk/job-done.response.json",
    ])
    .await;
    let splunk = client(&server);
    let started = tokio::time::Instant::now();
    let sid = splunk
        .jobs()
        .create("index=app error")
        .earliest("-1h")
        .send()
        .await
        .unwrap();
    assert_eq!(sid, SearchId(SID.to_owned()));
    let done = splunk.jobs().wait(&sid).await.unwrap();
    assert!(done.is_done);
    assert_eq!(done.result_count, Some(5));
    assert_eq!(polls.load(Ordering::SeqCst), 4);
    // 250 ms, 500 ms, 1 s between the four polls.
    assert_eq!(started.elapsed(), Duration::from_millis(1750));
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_an_error_with_splunks_message() {
    let (server, _) = job_server(vec![
        "splunk/job-running.response.json",
        "splunk/job-failed.response.json",
    ])
    .await;
    let splunk = client(&server);
    let sid = splunk
        .jobs()
        .create("index=app error")
        .earliest("-1h")
        .send()
        .await
        .unwrap();
    let err = splunk.jobs().wait(&sid).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("unbalanced parentheses"), "{err}");
    assert_eq!(err.context_value("sid"), Some(SID));
}

#[tokio::test(start_paused = true)]
async fn a_job_that_never_finishes_is_cancelled_after_the_timeout() {
    let (server, _) = job_server(vec!["splunk/job-running.response.json"]).await;
    Mock::given(method("DELETE"))
        .and(path(format!("/services/search/jobs/{SID}")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let splunk = Splunk::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .timeout(None)
        .pool_idle_timeout(None)
        .poll(PollPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            timeout: Duration::from_mins(1),
        })
        .build()
        .unwrap();
    let sid = splunk
        .jobs()
        .create("index=app error")
        .earliest("-1h")
        .send()
        .await
        .unwrap();
    let err = splunk.jobs().wait(&sid).await.unwrap_err();
    assert!(err.message().contains("was cancelled"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn job_results_are_read_page_by_page() {
    let (server, _) = job_server(vec!["splunk/job-done.response.json"]).await;
    let page = |offset: usize, rows: Value| {
        Mock::given(method("GET"))
            .and(path(format!("/services/search/v2/jobs/{SID}/results")))
            .and(query_param("offset", offset.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"preview": false, "init_offset": offset, "messages": [], "results": rows}),
            ))
    };
    page(
        0,
        json!([{"host": "a", "count": "1"}, {"host": "b", "count": "2"}]),
    )
    .mount(&server)
    .await;
    page(
        2,
        json!([{"host": "c", "count": "3"}, {"host": "d", "count": "4"}]),
    )
    .mount(&server)
    .await;
    page(4, json!([{"host": ["e1", "e2"], "count": "5"}]))
        .mount(&server)
        .await;
    let splunk = client(&server);
    let rows: Vec<_> = splunk
        .jobs()
        .create("index=app error")
        .earliest("-1h")
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 5, "every row the job reported");
    assert_eq!(
        rows[4]["host"],
        FieldValue::Multi(vec!["e1".into(), "e2".into()])
    );
    assert_eq!(rows[0]["count"].first(), Some("1"));
}

#[test]
fn results_from_real_captures_parse() {
    for file in [
        "splunk/results-events-multivalue.splunk5.json",
        "splunk/results-stats.splunk5.json",
        "splunk/oneshot-results.splunk5.json",
    ] {
        let raw = fixture_json(file);
        let page =
            qapms_core::integrations::splunk::models::parse_results(fixture(file).as_bytes(), file)
                .unwrap();
        assert_eq!(
            page.rows.len(),
            raw["results"].as_array().unwrap().len(),
            "{file}"
        );
        assert_eq!(
            as_json(&page.rows[0]),
            raw["results"][0],
            "{file}: fields kept as sent"
        );
    }
}

fn expected_final_rows() -> Vec<Value> {
    fixture("splunk/export-stream.ndjson")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["preview"] == false && v.get("result").is_some())
        .map(|v| v["result"].clone())
        .collect()
}

fn as_json(fields: &qapms_core::integrations::LogRecord) -> Value {
    serde_json::to_value(fields).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_export_stream_yields_only_final_rows() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .and(body_string_contains("output_mode=json"))
        .and(body_string_contains("search=search+index%3D_internal"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("splunk/export-stream.ndjson"), "application/json"),
        )
        .mount(&server)
        .await;
    let splunk = client(&server);
    let rows: Vec<_> = splunk
        .export("index=_internal | stats count by host")
        .earliest("-24h")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let expected = expected_final_rows();
    assert!(!expected.is_empty());
    assert!(rows.iter().all(|r| !r.preview));
    assert_eq!(
        rows.iter().map(|r| as_json(&r.fields)).collect::<Vec<_>>(),
        expected
    );
    assert!(rows.last().unwrap().last_row);

    let all: Vec<_> = splunk
        .export("index=_internal | stats count by host")
        .preview(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let lines = fixture("splunk/export-stream.ndjson")
        .lines()
        .filter(|l| l.contains("\"result\""))
        .count();
    assert_eq!(all.len(), lines, "with previews asked for, every batch");
    assert!(all.iter().any(|r| r.preview));

    let logs: Vec<_> = splunk
        .search_logs(
            "index=_internal | stats count by host",
            &TimeRange::default(),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(logs.len(), expected.len());
}

#[tokio::test]
async fn the_export_stream_survives_any_chunking() {
    let body = fixture("splunk/export-stream.ndjson").into_bytes();
    let expected = expected_final_rows();
    for size in [1, 2, 3, 7, 64, 1000] {
        let chunks: Vec<qapms_core::Result<Vec<u8>>> =
            body.chunks(size).map(|c| Ok(c.to_vec())).collect();
        let rows: Vec<_> = export_rows(
            futures::stream::iter(chunks).boxed(),
            1 << 20,
            false,
            "replay".into(),
        )
        .try_collect()
        .await
        .unwrap();
        assert_eq!(
            rows.iter().map(|r| as_json(&r.fields)).collect::<Vec<_>>(),
            expected,
            "chunks of {size}"
        );
    }
}

#[tokio::test]
async fn export_stream_errors_are_typed() {
    let run = |body: &'static [u8], max: usize| async move {
        export_rows(
            futures::stream::iter([Ok(body.to_vec())]).boxed(),
            max,
            false,
            "splunk export".into(),
        )
        .try_collect::<Vec<_>>()
        .await
    };
    let fatal = run(b"{\"preview\":false,\"messages\":[{\"type\":\"FATAL\",\"text\":\"Unknown search command 'stast'.\"}]}\n", 1000)
        .await
        .unwrap_err();
    assert!(
        fatal.message().contains("Unknown search command"),
        "{fatal}"
    );
    let long = run(
        b"{\"result\":{\"a\":\"0123456789012345678901234567890123456789\"}}\n",
        20,
    )
    .await
    .unwrap_err();
    assert!(long.message().contains("longer than 20 bytes"), "{long}");
    let malformed = run(
        b"{\"preview\":false,\"result\":{\"host\":{\"nested\":1}}}\n",
        1000,
    )
    .await
    .unwrap_err();
    assert_eq!(malformed.kind(), ErrorKind::Upstream);
    assert!(malformed.message().contains("result.host"), "{malformed}");
    let bad_flag = run(b"{\"preview\":\"maybe\",\"result\":{}}\n", 1000)
        .await
        .unwrap_err();
    assert!(bad_flag.message().contains("preview"), "{bad_flag}");
}

#[tokio::test(start_paused = true)]
async fn a_429_on_export_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("splunk/export-stream.ndjson"), "application/json"),
        )
        .mount(&server)
        .await;
    let splunk = Splunk::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .timeout(None)
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let rows: Vec<_> = splunk
        .export("index=_internal")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), expected_final_rows().len());
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert_eq!(splunk.metrics().rate_limited, 1);
}

#[tokio::test]
async fn errors_say_what_to_fix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/server/info"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(fixture_json("splunk/error-401.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/search/jobs"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(fixture_json("splunk/error-400.response.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"messages": [{"type": "ERROR", "text": "User 'qa' with roles { user } cannot search"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/search/jobs/gone"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"messages": [{"type": "ERROR", "text": "Unknown sid."}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/services/search/jobs/odd"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"entry": [{"content": {"dispatchState": 7}}]})),
        )
        .mount(&server)
        .await;
    let splunk = client(&server);
    let expired = splunk.server_info().await.unwrap_err();
    assert_eq!(expired.kind(), ErrorKind::Unauthorized);
    assert!(expired.message().contains("token is expired"), "{expired}");
    assert!(
        expired
            .message()
            .contains("call not properly authenticated"),
        "{expired}"
    );
    assert_eq!(splunk.health().await.health, Health::Unauthorized);

    let bad = splunk
        .jobs()
        .create("index=app x=")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
    assert!(bad.message().contains("Comparator '='"), "{bad}");

    let forbidden = splunk
        .export("index=app")
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(forbidden.kind(), ErrorKind::Unauthorized);
    assert!(forbidden.message().contains("capability"), "{forbidden}");

    let gone = splunk
        .jobs()
        .status(&SearchId("gone".into()))
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert!(gone.message().contains("Unknown sid"), "{gone}");

    let odd = splunk
        .jobs()
        .status(&SearchId("odd".into()))
        .await
        .unwrap_err();
    assert!(odd.message().contains("dispatchState"), "{odd}");
    assert_eq!(
        odd.context_value("field"),
        Some("entry[0].content.dispatchState")
    );
}

#[tokio::test]
async fn health_reads_server_info() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/server/info"))
        .and(query_param("output_mode", "json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture_json("splunk/server-info.response.json")),
        )
        .mount(&server)
        .await;
    let splunk = client(&server);
    let info = splunk.server_info().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("9.3.1"));
    assert_eq!(splunk.health().await.health, Health::Ok);
}

#[tokio::test]
async fn credentials_never_reach_logs_or_errors() {
    let capture = Capture::default();
    let _guard = capture.install();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string(format!(
            r#"{{"messages":[{{"type":"ERROR","text":"bad {TOKEN}"}}]}}"#
        )))
        .mount(&server)
        .await;
    let redactor = Redactor::new();
    redactor.add(&SecretString::from(TOKEN));
    let splunk = Splunk::builder(server.uri())
        .basic_auth("admin", SecretString::from(TOKEN))
        .redactor(redactor)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let errors = [
        splunk.jobs().create("index=app").send().await.unwrap_err(),
        splunk
            .export("index=app")
            .stream()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN));
    }
    assert!(!format!("{splunk:?}").contains(TOKEN));
    let logs = capture.text();
    assert!(logs.contains("http.call"), "{logs}");
    assert!(
        !logs.contains(TOKEN),
        "a credential leaked into the logs:\n{logs}"
    );
}

#[test]
fn verify_tls_reads_the_ca_bundle_and_names_a_bad_one() {
    use qapms_core::config::TlsVerify;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = Splunk::builder("https://splunk.test:8089")
        .verify_tls(TlsVerify::CaBundle(missing.clone()))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("missing.pem"), "{err}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = Splunk::builder("https://splunk.test:8089")
        .verify_tls(TlsVerify::CaBundle(garbage))
        .build()
        .unwrap_err();
    assert!(err.message().contains("garbage.pem"), "{err}");
    Splunk::builder("https://splunk.test:8089")
        .verify_tls(TlsVerify::Enabled(false))
        .build()
        .unwrap();
}

#[tokio::test]
async fn the_export_reader_pulls_the_body_only_as_rows_are_read() {
    // An endless body: a row per chunk, generated on demand. The reader must hand out rows
    // while pulling chunks one by one, never reading ahead (memory holds one chunk and a line).
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let chunks = futures::stream::iter(0u64..).map(move |i| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(
            format!("{{\"preview\":false,\"offset\":{i},\"result\":{{\"n\":\"{i}\"}}}}\n")
                .into_bytes(),
        )
    });
    let mut rows = export_rows(chunks.boxed(), 1024, false, "endless".into());
    for expected in 0..1000u64 {
        let row = rows.try_next().await.unwrap().unwrap();
        assert_eq!(row.offset, Some(expected));
        assert!(
            pulled.load(Ordering::SeqCst) as u64 <= expected + 1,
            "read ahead of the caller"
        );
    }
}

/// `saved/searches` sliced by `count` and `offset` from the fixture, as Splunk pages it.
struct SavedPages {
    ignore_offset: bool,
}

impl Respond for SavedPages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut feed = fixture_json("splunk/saved-searches.response.json");
        let arg = |name: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        };
        let count = arg("count").unwrap_or(30);
        let offset = if self.ignore_offset {
            0
        } else {
            arg("offset").unwrap_or(0)
        };
        let entries = feed["entry"].as_array().cloned().unwrap_or_default();
        feed["entry"] = Value::Array(entries.into_iter().skip(offset).take(count).collect());
        feed["paging"] = json!({"total": 3, "perPage": count, "offset": offset});
        ResponseTemplate::new(200).set_body_json(feed)
    }
}

#[tokio::test]
async fn saved_searches_are_listed_page_by_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/saved/searches"))
        .and(query_param("output_mode", "json"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(SavedPages {
            ignore_offset: false,
        })
        .expect(2)
        .mount(&server)
        .await;
    let saved = client(&server).saved_searches().await.unwrap();
    let keys: Vec<String> = saved
        .iter()
        .map(qapms_core::integrations::splunk::models::SavedSearch::key)
        .collect();
    assert_eq!(
        keys,
        [
            "search/Checkout 5xx by host",
            "auth_app/Token refresh failures",
            "search/Login latency p95"
        ]
    );
    let checkout = &saved[0];
    assert!(checkout.search.starts_with("index=web"));
    assert_eq!(checkout.earliest.as_deref(), Some("-24h"));
    assert!(checkout.scheduled && !checkout.disabled);
    assert_eq!(
        checkout.updated,
        Some(Utc.with_ymd_and_hms(2026, 11, 28, 9, 15, 0).unwrap())
    );
    // Old servers' string flags; an empty description is none.
    let token = &saved[1];
    assert!(token.disabled && !token.scheduled);
    assert_eq!(token.description, None);
    assert_eq!(token.owner.as_deref(), Some("ada"));
    assert!(
        token
            .url
            .as_deref()
            .unwrap()
            .contains("/servicesNS/ada/auth_app/")
    );
}

#[tokio::test]
async fn saved_searches_use_the_app_namespace_and_refuse_a_server_ignoring_offset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/servicesNS/-/search/saved/searches"))
        .respond_with(SavedPages {
            ignore_offset: true,
        })
        .mount(&server)
        .await;
    let splunk = Splunk::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .app("search")
        .retry(RetryPolicy::none())
        .page_size(2)
        .build()
        .unwrap();
    let err = splunk.saved_searches().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("ignores `offset`"), "{err}");
}

#[tokio::test]
async fn a_saved_search_without_spl_names_the_entry() {
    let server = MockServer::start().await;
    let mut feed = fixture_json("splunk/saved-searches.response.json");
    feed["entry"][1]["content"]
        .as_object_mut()
        .unwrap()
        .remove("search");
    feed["entry"][2]["content"]["disabled"] = json!("maybe");
    Mock::given(method("GET"))
        .and(path("/services/saved/searches"))
        .respond_with(ResponseTemplate::new(200).set_body_json(feed))
        .mount(&server)
        .await;
    let splunk = Splunk::builder(server.uri())
        .token(SecretString::from(TOKEN))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = splunk.saved_searches().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("entry[1].content.search"), "{err}");
}
