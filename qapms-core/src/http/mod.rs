//! The one HTTP client every integration uses.
//!
//! Integrations never build a `reqwest::Client` themselves (clippy.toml bans it outside this
//! module): they get an [`HttpClient`] from [`HttpClientBuilder`], which fixes the things that
//! must not differ between them. TLS is rustls with 1.2 as the floor; every request carries a
//! connect and a total timeout; credentials are injected from `SecretString`s as sensitive
//! headers; a per-integration rate limiter paces calls before they leave; idempotent calls are
//! retried on connect errors, 429, 502, 503 and 504 with a 1 s, 2 s, 4 s (plus jitter) schedule
//! that `Retry-After` and `X-RateLimit-Reset` override; every call runs in a `tracing` span and
//! feeds per-integration [`metrics`]; and every non-2xx answer becomes a typed [`crate::Error`]
//! (see [`error`]) so callers branch on kinds, not status codes.
//!
//! Pagination lives in [`page`] as async streams, written once for every integration.
//!
//! Credentials that change while a client runs (OAuth access tokens, Splunk session keys) are an
//! [`Auth::Dynamic`] [`CredentialSource`]: asked for before each attempt and renewed once on a
//! 401. The OAuth 2.0 grants and PKCE are in [`oauth`], the browser sign-in's loopback redirect
//! listener in [`RedirectListener`].

mod auth;
mod client;
pub mod error;
mod loopback;
pub mod metrics;
pub mod oauth;
pub mod page;
mod redact;
pub mod retry;

pub use auth::{Auth, AuthHeader, CredentialSource};
pub use client::{HttpClient, HttpClientBuilder, HttpResponse, HttpStream, Pacer, RequestBuilder};
pub use error::decode_json;
pub use loopback::RedirectListener;
pub use metrics::{Metrics, MetricsSnapshot};
pub use page::{OffsetPage, TokenPage, offset_stream, token_stream};
pub use redact::redact_url;
pub use retry::RetryPolicy;
