//! The server test harness: an app over a fresh store on either backend, users, sign-in and
//! request helpers.
//!
//! - `SQLite`: a file in a temporary directory.
//! - `PostgreSQL`: a fresh schema in the database named by `QAPMS_TEST_PG_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards; `QAPMS_SKIP_PG=1` skips
//!   the `PostgreSQL` variant (the same rules as qapms-core's store tests).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]
#![allow(
    clippy::unwrap_used,
    reason = "a failed unwrap in a test helper is a failed test"
)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use qapms_core::config::Env;
use qapms_core::model::Role;
use qapms_core::store::{Store, StoreSettings};
use qapms_server::admin::{self, NewUser};
use qapms_server::{AppState, ServerOptions, app};
use serde_json::Value;
use sqlx::Connection;
use tower::ServiceExt;

pub(crate) const PASSWORD: &str = "correct horse battery";

enum Place {
    Sqlite(#[allow(dead_code, reason = "kept for its Drop")] tempfile::TempDir),
    Postgres { base: String, schema: String },
}

/// An app over its own store.
pub(crate) struct TestApp {
    pub(crate) state: AppState,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) url: String,
    place: Place,
}

fn settings(url: &str) -> StoreSettings {
    let mut settings = StoreSettings::new(url);
    settings.max_connections = Some(3);
    settings
}

pub(crate) async fn sqlite_store() -> (Arc<dyn Store>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/qapms.db", dir.path().display());
    let store = qapms_core::store::open_with(&settings(&url)).await.unwrap();
    (store, url, dir)
}

impl TestApp {
    pub(crate) async fn sqlite(options: ServerOptions) -> Self {
        let (store, url, dir) = sqlite_store().await;
        Self {
            state: AppState::with_options(store.clone(), options),
            store,
            url,
            place: Place::Sqlite(dir),
        }
    }

    /// `None` when `QAPMS_SKIP_PG=1`.
    pub(crate) async fn postgres(options: ServerOptions) -> Option<Self> {
        let env = Env::from_process();
        if env.get("QAPMS_SKIP_PG") == Some("1") {
            return None;
        }
        let base = env
            .get_non_empty("QAPMS_TEST_PG_URL")
            .unwrap_or("postgres://postgres@127.0.0.1:5432/test")
            .to_owned();
        let schema = format!("qapms_t_{}", uuid::Uuid::now_v7().simple());
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}schema={schema}");
        let store = qapms_core::store::open_with(&settings(&url))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL test store: {e}; set QAPMS_SKIP_PG=1 to skip"));
        Some(Self {
            state: AppState::with_options(store.clone(), options),
            store,
            url,
            place: Place::Postgres { base, schema },
        })
    }

    pub(crate) fn app(&self) -> axum::Router {
        app(self.state.clone())
    }

    pub(crate) async fn add_user(&self, name: &str, role: Role, team: Option<&str>) {
        admin::add_user(
            self.store.as_ref(),
            NewUser {
                name: name.to_owned(),
                role,
                email: None,
                team: team.map(str::to_owned),
                password: Some(PASSWORD.to_owned()),
            },
        )
        .await
        .unwrap();
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        send(self.app(), request).await
    }

    /// Signs in through the JSON API and returns the session.
    pub(crate) async fn login(&self, name: &str) -> Session {
        let reply = self
            .send(json_request(
                "POST",
                "/api/v1/sessions",
                &serde_json::json!({ "name": name, "password": PASSWORD }),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let set_cookie = reply.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let csrf = reply.json()["csrfToken"].as_str().unwrap().to_owned();
        Session {
            cookie,
            csrf,
            set_cookie,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Place::Postgres { base, schema } = &self.place {
            let (base, schema) = (base.clone(), schema.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                        )))
                        .execute(&mut conn)
                        .await;
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// `qapms_session=…`, for the `Cookie` header.
    pub(crate) cookie: String,
    pub(crate) csrf: String,
    /// The whole `Set-Cookie` header the server sent.
    pub(crate) set_cookie: String,
}

#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts the error format of DESIGN §5 and returns the code.
    pub(crate) fn error_code(&self) -> String {
        let json = self.json();
        assert!(json["error"].is_string(), "{}", self.body);
        assert!(json["details"].is_object(), "{}", self.body);
        json["code"].as_str().unwrap().to_owned()
    }
}

pub(crate) async fn send(app: axum::Router, mut request: Request<Body>) -> Reply {
    if request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_none()
    {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    }
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

pub(crate) fn json_request(method: &str, path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub(crate) fn raw_request(
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

/// Adds the session cookie (and, if `csrf`, its CSRF header) to a request.
pub(crate) fn with_session(
    mut request: Request<Body>,
    session: &Session,
    csrf: bool,
) -> Request<Body> {
    let headers = request.headers_mut();
    headers.insert(header::COOKIE, session.cookie.parse().unwrap());
    if csrf {
        headers.insert("x-csrf-token", session.csrf.parse().unwrap());
    }
    request
}

pub(crate) fn with_bearer(mut request: Request<Body>, token: &str) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    request
}

/// Runs each listed `async fn(TestApp)` on both backends, as `sqlite::name` and
/// `postgres::name`, with the options `$options` builds.
#[macro_export]
macro_rules! for_each_backend {
    ($options:expr; $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::sqlite($options).await;
                    super::$name(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::common::TestApp::postgres($options).await else {
                        return;
                    };
                    super::$name(app).await;
                }
            )+
        }
    };
}
