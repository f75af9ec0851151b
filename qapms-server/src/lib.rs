//! qapms-server: the dashboard server.
//!
//! The server is a function you can test: [`app`] builds the whole router from an [`AppState`],
//! and [`serve`] runs it on a listener until a shutdown future resolves. `main.rs` only parses
//! the command line, loads the configuration, opens the store and calls these two. Each route
//! module exposes a `router()`; errors become JSON in one place ([`error::ApiError`]).

mod error;
mod routes;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use qapms_core::store::Store;
use tokio::net::TcpListener;

pub use error::ApiError;

/// What every handler can reach. Cheap to clone: everything is behind an `Arc`.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    started: Instant,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                started: Instant::now(),
            }),
        }
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub(crate) fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }
}

/// The whole application: pages, the `/api/v1` JSON API, and the fallbacks.
pub fn app(state: AppState) -> Router {
    routes::router().with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
