//! A fast local Jira Cloud for the search benchmarks (`jira_compare.py`, `jira_search_timer`).
//!
//! Usage: `jira_mock [--issues N] [--port P]`. It serves N generated issues of project BENCH
//! in the `*all` shape (about 11 KB each, see `qapms_benches::jira_gen`) and prints
//! `listening on http://127.0.0.1:PORT` once ready. It answers what the clients under test
//! call: `serverInfo`, `field`, and `search/jql` on REST v2 and v3, by GET or POST, paged by
//! `nextPageToken` with Jira Cloud's cap of 100 issues a page whatever `maxResults` asks, and
//! with only the requested `fields` (as Jira does). Pages are built from pre-serialised fields
//! and cached, so after the first pass the mock's own cost is a memcpy and the clients are what
//! the benchmark measures.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use serde_json::Value;
use tokio::sync::RwLock;

const PAGE_LIMIT: usize = 100;

#[derive(Parser)]
struct Args {
    /// How many issues the site holds.
    #[arg(long, default_value_t = 10_000)]
    issues: usize,
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// One issue, serialised once: its head (`"id":…,"self":…,"key":…`) and each field's JSON.
struct Stored {
    head: String,
    fields: Vec<(String, String)>,
}

/// A page is known by its sorted field list, first issue and size.
type PageKey = (Vec<String>, usize, usize);

struct Site {
    issues: Vec<Stored>,
    pages: RwLock<HashMap<PageKey, Bytes>>,
}

fn store(issue: &Value) -> Stored {
    let mut head = String::new();
    for key in ["expand", "id", "self", "key"] {
        if let Some(v) = issue.get(key) {
            if !head.is_empty() {
                head.push(',');
            }
            let _ = write!(head, "{}:{}", Value::String(key.into()), v);
        }
    }
    let fields = issue["fields"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
        .unwrap_or_default();
    Stored { head, fields }
}

struct Query {
    max: usize,
    start: usize,
    fields: Vec<String>,
}

fn parse_get(raw: Option<&str>) -> Query {
    let mut q = Query {
        max: 50,
        start: 0,
        fields: Vec::new(),
    };
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match &*k {
            "maxResults" => q.max = v.parse().unwrap_or(50),
            "nextPageToken" => q.start = v.parse().unwrap_or(0),
            "fields" => q
                .fields
                .extend(v.split(',').filter(|f| !f.is_empty()).map(str::to_owned)),
            _ => {}
        }
    }
    q
}

fn parse_post(body: &[u8]) -> Option<Query> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let fields = match v.get("fields") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.split(',').map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    Some(Query {
        max: v
            .get("maxResults")
            .and_then(Value::as_u64)
            .map_or(50, |m| m as usize),
        start: v
            .get("nextPageToken")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        fields,
    })
}

async fn page(site: &Site, q: Query) -> Response {
    let page_size = q.max.clamp(1, PAGE_LIMIT);
    let mut fields = q.fields;
    if fields.iter().any(|f| f == "*all" || f == "*navigable") {
        fields = vec!["*all".to_owned()];
    }
    fields.sort();
    fields.dedup();
    let cache_key = (fields, q.start, page_size);
    if let Some(bytes) = site.pages.read().await.get(&cache_key) {
        return json(bytes.clone());
    }
    let (fields, start, _) = &cache_key;
    let all = fields.first().is_some_and(|f| f == "*all");
    let end = (start + page_size).min(site.issues.len());
    let mut out = String::with_capacity(16 * 1024 * page_size);
    out.push_str("{\"issues\":[");
    for (i, issue) in site.issues[(*start).min(end)..end].iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        out.push_str(&issue.head);
        out.push_str(",\"fields\":{");
        let mut first = true;
        for (name, value) in &issue.fields {
            if all || fields.contains(name) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                out.push_str(value);
            }
        }
        out.push_str("}}");
    }
    out.push(']');
    if end < site.issues.len() {
        let _ = write!(out, ",\"nextPageToken\":\"{end}\",\"isLast\":false}}");
    } else {
        out.push_str(",\"isLast\":true}");
    }
    let bytes = Bytes::from(out);
    site.pages
        .write()
        .await
        .insert(cache_key.clone(), bytes.clone());
    json(bytes)
}

fn json(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

async fn search_get(State(site): State<Arc<Site>>, RawQuery(raw): RawQuery) -> Response {
    page(&site, parse_get(raw.as_deref())).await
}

async fn search_post(State(site): State<Arc<Site>>, body: Bytes) -> Response {
    match parse_post(&body) {
        Some(q) => page(&site, q).await,
        None => (
            StatusCode::BAD_REQUEST,
            "{\"errorMessages\":[\"bad JSON\"]}",
        )
            .into_response(),
    }
}

async fn server_info() -> Response {
    json(Bytes::from_static(
        br#"{"baseUrl":"https://bench.atlassian.net","version":"1001.0.0-SNAPSHOT","versionNumbers":[1001,0,0],"deploymentType":"Cloud","buildNumber":100280,"serverTitle":"Bench"}"#,
    ))
}

async fn fields() -> Response {
    json(Bytes::from_static(br#"[{"id":"summary","name":"Summary","custom":false},{"id":"status","name":"Status","custom":false}]"#))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let issues = (1..=args.issues)
        .map(|n| store(&qapms_benches::jira_gen::issue("BENCH", n)))
        .collect();
    let site = Arc::new(Site {
        issues,
        pages: RwLock::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/rest/api/{version}/serverInfo", get(server_info))
        .route("/rest/api/{version}/field", get(fields))
        .route(
            "/rest/api/{version}/search/jql",
            get(search_get).post(search_post),
        )
        .with_state(site);
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot bind: {e}");
                return ExitCode::FAILURE;
            }
        };
        let Ok(addr) = listener.local_addr() else {
            return ExitCode::FAILURE;
        };
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
        match axum::serve(listener, app).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("server failed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
