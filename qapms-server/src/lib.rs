//! qapms-server: the dashboard server.
//!
//! The server is a function you can test: [`app`] builds the whole router from an [`AppState`],
//! and [`serve`] runs it on a listener until a shutdown future resolves, then lets in-flight
//! requests finish. `main.rs` only parses the command line, loads the configuration, opens the
//! store and calls these two. Each route module exposes a `router()`; errors become JSON in one
//! place ([`ApiError`]); the `/api/v1` conventions (body extractor, pagination) live in [`api`].
//!
//! Layers, outermost first: request id + access log + metrics ([`observe`]), a body size
//! limit, sensitive-header marking, then authentication and CSRF ([`auth`]), which resolves
//! the caller once and leaves it for the [`auth::CurrentUser`] extractor.

pub mod admin;
pub mod api;
pub mod auth;
mod cache;
mod charts;
mod dash;
pub mod demo;
mod detail_pages;
mod error;
pub mod monitor;
mod observe;
mod pages;
mod routes;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use qapms_core::store::Store;
use qapms_core::workflow::{ActionClients, Catalog};
use tokio::net::TcpListener;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;

pub use error::ApiError;
pub use routes::SearchService;

use crate::auth::{AuthSettings, SessionKey};
use crate::monitor::Monitored;
use crate::observe::RequestMetrics;

/// What every handler can reach. Cheap to clone: everything is behind an `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    started: Instant,
    session_key: SessionKey,
    auth: AuthSettings,
    integrations: Vec<Monitored>,
    request_metrics: RequestMetrics,
    catalog: Catalog,
    demo: bool,
    search: Option<Arc<SearchService>>,
    dashboards: dash::DashboardCache,
    /// Who each recently seen credential (by its hash) belongs to.
    signed_in: cache::TtlCache<String, auth::CurrentUser>,
    /// The page banner, which reads the store's and the integrations' health.
    banner: cache::TtlCache<(), Vec<String>>,
    actions: ActionClients,
}

/// How the server is set up beyond its store.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Signs session cookies; share it between instances behind one load balancer.
    pub session_key: SessionKey,
    pub auth: AuthSettings,
    /// The configured integrations, for health and metrics.
    pub integrations: Vec<Monitored>,
    /// Workflow templates the API can start (the built-ins plus the configured ones).
    pub catalog: Catalog,
    /// Serving a generated demo workspace: every page says so.
    pub demo: bool,
    /// What `GET /api/v1/search` answers from (without it, 503).
    pub search: Option<Arc<SearchService>>,
    /// How long a computed dashboard view, and the page banner, are reused (`None`: computed
    /// for every request).
    pub dashboard_cache: Option<std::time::Duration>,
    /// How long a checked credential is trusted without asking the store again (`None`: every
    /// request asks). Writes through this server forget every one at once.
    pub auth_cache: Option<std::time::Duration>,
    /// The clients a finished step's actions call (a Jira comment, a search, …); those
    /// without one are recorded as skipped.
    pub actions: ActionClients,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            session_key: SessionKey::generate(),
            auth: AuthSettings::default(),
            integrations: Vec::new(),
            catalog: Catalog::default(),
            demo: false,
            search: None,
            dashboard_cache: None,
            auth_cache: None,
            actions: ActionClients::none(),
        }
    }
}

impl AppState {
    /// State over an opened store, with default options (a fresh session key).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_options(store, ServerOptions::default())
    }

    pub fn with_options(store: Arc<dyn Store>, options: ServerOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                started: Instant::now(),
                session_key: options.session_key,
                auth: options.auth,
                integrations: options.integrations,
                request_metrics: RequestMetrics::default(),
                catalog: options.catalog,
                demo: options.demo,
                search: options.search,
                dashboards: dash::DashboardCache::new(options.dashboard_cache),
                signed_in: cache::TtlCache::new(options.auth_cache, SIGNED_IN_CAPACITY),
                banner: cache::TtlCache::new(options.dashboard_cache, 1),
                actions: options.actions,
            }),
        }
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn session_key(&self) -> &SessionKey {
        &self.inner.session_key
    }

    pub(crate) fn auth_settings(&self) -> &AuthSettings {
        &self.inner.auth
    }

    pub(crate) fn integrations(&self) -> &[Monitored] {
        &self.inner.integrations
    }

    pub(crate) fn request_metrics(&self) -> &RequestMetrics {
        &self.inner.request_metrics
    }

    pub(crate) fn store_arc(&self) -> Arc<dyn Store> {
        self.inner.store.clone()
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub(crate) fn action_clients(&self) -> &ActionClients {
        &self.inner.actions
    }

    pub(crate) fn is_demo(&self) -> bool {
        self.inner.demo
    }

    /// The kinds of the configured integrations, for the health panels.
    pub(crate) fn integration_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .integrations
            .iter()
            .map(|m| m.kind().to_owned())
            .collect();
        if self.inner.demo {
            for name in demo::DEMO_INTEGRATIONS {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }

    pub(crate) fn search(&self) -> Option<&SearchService> {
        self.inner.search.as_deref()
    }

    pub(crate) fn dashboards(&self) -> &dash::DashboardCache {
        &self.inner.dashboards
    }

    pub(crate) fn signed_in(&self) -> &cache::TtlCache<String, auth::CurrentUser> {
        &self.inner.signed_in
    }

    pub(crate) fn banner_cache(&self) -> &cache::TtlCache<(), Vec<String>> {
        &self.inner.banner
    }

    /// Forgets every cached view, credential and banner: a write went through this server.
    pub(crate) fn forget_cached(&self) {
        self.inner.dashboards.invalidate();
        self.inner.signed_in.clear();
        self.inner.banner.clear();
    }
}

/// Credentials remembered at most; a server behind a load balancer sees a few hundred users.
const SIGNED_IN_CAPACITY: usize = 10_000;

/// The whole application: pages, the `/api/v1` JSON API, assets, metrics and the fallbacks.
pub fn app(state: AppState) -> Router {
    routes::router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            dash::invalidate_on_write,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::layer,
        ))
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::layer,
        ))
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then drains open connections:
/// requests in flight finish, new connections are refused.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
