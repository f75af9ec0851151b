//! Sign-in and access: passwords, sessions, API tokens, CSRF and role checks.
//!
//! - **Passwords** are argon2id PHC strings (argon2's defaults: 19 MiB, 2 passes), hashed and
//!   verified on the blocking pool so a sign-in never stalls the async workers.
//! - **Sessions**: the cookie carries `id.mac`, where `id` is 32 random bytes and `mac` their
//!   HMAC-SHA-256 under the server's session key, so a forged or altered cookie is refused
//!   without a store lookup. The store keeps the SHA-256 of the id with its expiry and
//!   revocation, so signing out (or disabling a user) ends a session on every instance. The
//!   cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the server sits behind TLS.
//! - **API tokens** (`qapms_…`, 32 random bytes) are shown once and stored as SHA-256; scripts
//!   send them as `Authorization: Bearer`. A bearer request never looks at cookies.
//! - **CSRF**: tower-http has no CSRF layer, so [`layer`] implements the synchronizer-token
//!   pattern. Each session has a random token, put in every page (a `<meta>` for htmx and a
//!   hidden `_csrf` field in forms); a cookie-authenticated `POST`/`PUT`/`PATCH`/`DELETE` must
//!   echo it in `X-CSRF-Token` or the `_csrf` form field. We chose a server-side token over a
//!   double-submit cookie because sessions are already stored server-side, and a stored token
//!   cannot be planted by a sibling subdomain that can write cookies. Bearer requests need no
//!   token: a browser never attaches one on its own. Sign-in itself has no session yet; it
//!   checks that `Origin`, when sent, is this server.
//! - **Rate limits**: failed sign-ins are counted in the store (so every instance agrees) per
//!   user name since its last success and per client address, over a sliding window.
//! - **Roles**: [`CurrentUser`] is the extractor every protected handler takes; [`Admin`]
//!   refuses anyone but admins; [`CurrentUser::scope`] says whose data a user may see (a QA
//!   their own, leads and managers their team's, admins everyone's).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use qapms_core::model::{Role, User, UserId};
use qapms_core::store::{LoginAttempt, SessionRecord, Store};
use qapms_core::{Error, ErrorKind};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "qapms_session";
/// The header a cookie-authenticated write echoes the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a cookie-authenticated form post carries the CSRF token in.
pub const CSRF_FIELD: &str = "_csrf";
/// Prefix of every API token, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "qapms_";

/// How sign-in is limited and how long sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub session_ttl: Duration,
    /// Failed attempts allowed per user name inside `window` (since its last success).
    pub max_failures_per_user: u64,
    /// Failed attempts allowed per client address inside `window`.
    pub max_failures_per_ip: u64,
    pub window: Duration,
    /// Add `Secure` to the cookie (set when TLS is terminated in front of the server).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_ttl: Duration::from_hours(12),
            max_failures_per_user: 5,
            max_failures_per_ip: 20,
            window: Duration::from_mins(15),
            secure_cookies: false,
        }
    }
}

/// The key session cookies are signed with. `Debug` never shows it.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([REDACTED])")
    }
}

impl SessionKey {
    /// A fresh random key: sessions then end when the process does.
    pub fn generate() -> Self {
        let mut key = [0_u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Reads the key at `path`, or creates it (mode 0600) so sessions survive a restart.
    /// Several instances behind one load balancer must share this file's content.
    pub fn load_or_create(path: &Path) -> qapms_core::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| {
                    Error::config("the session key file is not base64url text")
                        .with_context("path", path.display().to_string())
                })?;
                let key: [u8; 32] = bytes.try_into().map_err(|_| {
                    Error::config(
                        "the session key file must hold 32 bytes; delete it to make a new one",
                    )
                    .with_context("path", path.display().to_string())
                })?;
                Ok(Self(key))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private(path, URL_SAFE_NO_PAD.encode(key.0).as_bytes())
                    .map_err(|e| Error::from(e).with_context("path", path.display().to_string()))?;
                tracing::info!(path = %path.display(), "created a new session key");
                Ok(key)
            }
            Err(err) => Err(Error::from(err).with_context("path", path.display().to_string())),
        }
    }

    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(data);
        mac
    }

    /// `id.mac` for a session id.
    fn sign(&self, id: &[u8]) -> String {
        let tag = self.mac(id).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(id),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The session id of a cookie value whose MAC checks out (in constant time).
    fn verify(&self, value: &str) -> Option<Vec<u8>> {
        let (id, tag) = value.split_once('.')?;
        let id = URL_SAFE_NO_PAD.decode(id).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(&id).verify_slice(&tag).ok()?;
        Some(id)
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// SHA-256 of a secret, hex: how sessions and tokens are looked up.
pub fn secret_hash(secret: &[u8]) -> String {
    let digest = Sha256::digest(secret);
    let mut out = String::with_capacity(64);
    for byte in &digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new API token: the value to show once, and the hash to store.
pub fn new_api_token() -> (String, String) {
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes()));
    let hash = secret_hash(token.as_bytes());
    (token, hash)
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    if password.chars().count() < 8 {
        return Err(ApiError::invalid("a password needs at least 8 characters"));
    }
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(&format!("cannot hash a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
}

/// Checks a password against a stored hash; a malformed hash verifies nothing.
async fn verify_password(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of nothing anyone knows, verified when the user does not exist, so an
/// unknown name takes as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                          rT4b1uQvQ3mdNyVn9r/HcbIyfO2cFgOzqjvqAfCA2vE";

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthVia {
    Session,
    Token,
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub team: Option<String>,
    pub via: AuthVia,
    /// The session's CSRF token (sessions only), for pages to embed.
    pub csrf_token: Option<String>,
    /// The session's hash (sessions only), for signing out.
    pub(crate) session_hash: Option<String>,
    /// When the session or token stops being valid, for a check remembered in the cache.
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// Whose data a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everyone,
    Users(Vec<UserId>),
}

impl Scope {
    pub fn includes(&self, id: &UserId) -> bool {
        match self {
            Self::Everyone => true,
            Self::Users(ids) => ids.contains(id),
        }
    }
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// Refuses unless the user has one of `roles` (admins always pass).
    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.is_admin() || roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the role {}; you are {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.user.role.as_str()
            )))
        }
    }

    /// Leads and managers see their team; everyone else only themselves.
    fn sees_team(&self) -> bool {
        matches!(
            self.user.role,
            Role::TechLead | Role::QaManager | Role::Pm | Role::Po
        )
    }

    /// Whose data this user may see: admins everyone's, leads and managers their team's
    /// (themselves included), and a QA (or a lead without a team) only their own.
    pub async fn scope(&self, store: &dyn Store) -> Result<Scope, ApiError> {
        if self.is_admin() {
            return Ok(Scope::Everyone);
        }
        match (&self.team, self.sees_team()) {
            (Some(team), true) => {
                let mut ids = store.team_members(team).await?;
                if !ids.contains(&self.user.id) {
                    ids.push(self.user.id);
                }
                Ok(Scope::Users(ids))
            }
            _ => Ok(Scope::Users(vec![self.user.id])),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication::User(user)) => Ok((**user).clone()),
            Some(Authentication::Refused(why)) => Err(ApiError::unauthorized(why.clone())),
            Some(Authentication::Unavailable) => Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "STORE_UNAVAILABLE",
                "the store cannot be reached to check your sign-in; try again shortly",
            )),
            Some(Authentication::Anonymous) | None => Err(ApiError::unauthorized(
                "sign in, or send an API token as `Authorization: Bearer`",
            )),
        }
    }
}

/// A signed-in admin; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden("only admins manage users"))
        }
    }
}

/// What [`layer`] found out about a request's credentials.
#[derive(Debug, Clone)]
pub(crate) enum Authentication {
    Anonymous,
    User(Box<CurrentUser>),
    /// Credentials were sent but are not valid (expired, revoked, forged); the reason.
    Refused(String),
    /// The store could not be asked.
    Unavailable,
}

/// Resolves the request's credentials once, checks CSRF for cookie-authenticated writes, and
/// leaves an [`Authentication`] in the request's extensions for the extractors.
pub(crate) async fn layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let auth = authenticate(&state, request.headers()).await;
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if unsafe_method
        && let Authentication::User(user) = &auth
        && user.via == AuthVia::Session
    {
        let expected = user.csrf_token.clone().unwrap_or_default();
        let (checked, rebuilt) = check_csrf(request, &expected).await;
        match checked {
            Ok(()) => request = rebuilt,
            Err(err) => return err.into_response(),
        }
    }
    request.extensions_mut().insert(auth);
    next.run(request).await
}

/// Compares the submitted CSRF token with `expected`, reading a form body if need be (and
/// putting it back). Returns the request to continue with.
async fn check_csrf(request: Request, expected: &str) -> (Result<(), ApiError>, Request) {
    if let Some(sent) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let ok = constant_time_eq(sent.as_bytes(), expected.as_bytes());
        return (
            ok.then_some(())
                .ok_or_else(|| ApiError::csrf("the CSRF token does not match this session")),
            request,
        );
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (
            Err(ApiError::csrf(format!(
                "a signed-in write needs the session's CSRF token in `{CSRF_HEADER}`"
            ))),
            request,
        );
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::api::BODY_LIMIT).await else {
        let request = Request::from_parts(parts, axum::body::Body::empty());
        return (
            Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the form is too large",
            )),
            request,
        );
    };
    let sent = form_field(&bytes, CSRF_FIELD);
    let ok = sent.is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()));
    let request = Request::from_parts(parts, axum::body::Body::from(bytes));
    (
        ok.then_some(())
            .ok_or_else(|| ApiError::csrf("the form's CSRF token does not match this session")),
        request,
    )
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let pairs: Vec<(String, String)> =
        crate::api::serde_urlencoded_params(text).unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret (tokens have a fixed length); the content is compared in full.
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Authentication {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(token) = value.to_str().ok().and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        }) else {
            return Authentication::Refused(
                "the Authorization header must be `Bearer <API token>`".to_owned(),
            );
        };
        let token = token.trim();
        let key = format!("t:{}", secret_hash(token.as_bytes()));
        return remembered(state, key, by_token(state, token)).await;
    }
    let Some(cookie) = session_cookie(headers) else {
        return Authentication::Anonymous;
    };
    // The signature is checked before the cache is consulted, so a forged cookie never even
    // costs a lookup.
    let Some(id) = state.session_key().verify(&cookie) else {
        return Authentication::Refused("the session cookie is not valid; sign in again".into());
    };
    let hash = secret_hash(&id);
    remembered(state, format!("s:{hash}"), by_session(state, hash)).await
}

/// A user found for the credential `key` within the cache's time to live, or `check`'s answer,
/// remembered when it is a user. Refusals are not remembered: they are cheap to repeat and must
/// not outlive a fix.
async fn remembered(
    state: &AppState,
    key: String,
    check: impl Future<Output = Authentication>,
) -> Authentication {
    if let Some(user) = state.signed_in().get(&key)
        && user.expires_at.is_none_or(|t| t > Utc::now())
    {
        return Authentication::User(Box::new(user));
    }
    let auth = check.await;
    if let Authentication::User(user) = &auth {
        state.signed_in().insert(key, (**user).clone());
    }
    auth
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn store_failure(err: &Error) -> Authentication {
    if err.kind() == ErrorKind::NotFound {
        Authentication::Refused("unknown credentials; sign in again".to_owned())
    } else {
        tracing::warn!(error = %err, "cannot check credentials");
        Authentication::Unavailable
    }
}

async fn by_token(state: &AppState, token: &str) -> Authentication {
    let store = state.store();
    let record = match store
        .api_token_by_hash(&secret_hash(token.as_bytes()))
        .await
    {
        Ok(record) => record,
        Err(err) if err.kind() == ErrorKind::NotFound => {
            return Authentication::Refused("this API token is not valid".to_owned());
        }
        Err(err) => return store_failure(&err),
    };
    let now = Utc::now();
    if record.revoked_at.is_some() {
        return Authentication::Refused("this API token has been revoked".to_owned());
    }
    if record.expires_at.is_some_and(|t| t <= now) {
        return Authentication::Refused("this API token has expired".to_owned());
    }
    // Last use is informative, to the minute: writing it on every request would make each
    // authenticated read a write, which serialises on SQLite under load. A failed touch must
    // not refuse the request.
    let touch_due = record
        .last_used_at
        .is_none_or(|t| now - t >= chrono::Duration::minutes(1));
    if touch_due && let Err(err) = store.touch_api_token(record.id, now).await {
        tracing::warn!(error = %err, "cannot record an API token's last use");
    }
    user_for(
        state,
        record.user_id,
        AuthVia::Token,
        None,
        None,
        record.expires_at,
    )
    .await
}

async fn by_session(state: &AppState, hash: String) -> Authentication {
    let session = match state.store().session(&hash).await {
        Ok(session) => session,
        Err(err) => return store_failure(&err),
    };
    if session.revoked_at.is_some() {
        return Authentication::Refused("this session was signed out; sign in again".into());
    }
    if session.expires_at <= Utc::now() {
        return Authentication::Refused("this session has expired; sign in again".into());
    }
    user_for(
        state,
        session.user_id,
        AuthVia::Session,
        Some(session.csrf_token),
        Some(hash),
        Some(session.expires_at),
    )
    .await
}

async fn user_for(
    state: &AppState,
    id: UserId,
    via: AuthVia,
    csrf_token: Option<String>,
    session_hash: Option<String>,
    expires_at: Option<DateTime<Utc>>,
) -> Authentication {
    let store = state.store();
    let user = match store.user_by_id(&id).await {
        Ok(user) => user,
        Err(err) => return store_failure(&err),
    };
    if user.disabled {
        return Authentication::Refused("this account is disabled".to_owned());
    }
    let team = match store.user_team(&id).await {
        Ok(team) => team,
        Err(err) => return store_failure(&err),
    };
    Authentication::User(Box::new(CurrentUser {
        user,
        team,
        via,
        csrf_token,
        session_hash,
        expires_at,
    }))
}

/// A new session for a user who proved who they are.
#[derive(Debug)]
pub struct NewSession {
    pub user: User,
    /// The `Set-Cookie` header value.
    pub cookie: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The client address, from the connection (never from `X-Forwarded-For`, which any client
/// can set; a proxy in front should limit sign-ins itself).
pub fn client_ip(parts_extensions: &axum::http::Extensions) -> String {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Refuses a cross-site sign-in: `Origin`, when the browser sends one, must name this host.
pub fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::csrf(
            "sign-in from another site is refused (the Origin header is not this server)",
        ))
    }
}

/// What a sign-in request tells about its client: the address and user agent. Refuses a
/// cross-site sign-in first ([`check_origin`]).
pub fn login_context(request: &Request) -> Result<(String, Option<String>), ApiError> {
    check_origin(request.headers())?;
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((client_ip(request.extensions()), user_agent))
}

/// Checks a name and password, rate-limited, and opens a session.
pub async fn sign_in(
    state: &AppState,
    name: &str,
    password: String,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<NewSession, ApiError> {
    let store = state.store();
    let settings = state.auth_settings();
    let now = Utc::now();
    let window = chrono::Duration::from_std(settings.window).unwrap_or(chrono::Duration::MAX);
    let failures = store.login_failures(name, ip, now - window).await?;
    if failures.by_user >= settings.max_failures_per_user
        || failures.by_ip >= settings.max_failures_per_ip
    {
        tracing::warn!(user = name, ip, "sign-in rate limit reached");
        return Err(ApiError::rate_limited(
            "too many failed sign-ins; wait and try again",
            settings.window.as_secs(),
        ));
    }
    let user = match store.user_by_name(name).await {
        Ok(user) => Some(user),
        Err(err) if err.kind() == ErrorKind::NotFound => None,
        Err(err) => return Err(err.into()),
    };
    let hash = match &user {
        Some(user) => store.user_password_hash(&user.id).await?,
        None => None,
    };
    let verified = verify_password(
        hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned()),
        password,
    )
    .await
        && hash.is_some();
    let attempt = |succeeded| LoginAttempt {
        user_name: name.to_owned(),
        ip: ip.to_owned(),
        succeeded,
        attempted_at: now,
    };
    let user = match user {
        Some(user) if verified && !user.disabled => user,
        Some(user) if verified => {
            store.record_login_attempt(&attempt(false)).await?;
            tracing::info!(user = %user.name, "sign-in refused: account disabled");
            return Err(ApiError::unauthorized("this account is disabled"));
        }
        _ => {
            store.record_login_attempt(&attempt(false)).await?;
            tracing::info!(user = name, ip, "sign-in failed");
            return Err(ApiError::unauthorized("wrong user name or password"));
        }
    };
    store.record_login_attempt(&attempt(true)).await?;
    let id = random_bytes();
    let csrf_token = URL_SAFE_NO_PAD.encode(random_bytes());
    let ttl = chrono::Duration::from_std(settings.session_ttl)
        .unwrap_or_else(|_| chrono::Duration::hours(12));
    let expires_at = now + ttl;
    store
        .create_session(&SessionRecord {
            token_hash: secret_hash(&id),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
            ip: Some(ip.to_owned()),
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        })
        .await?;
    tracing::info!(user = %user.name, "signed in");
    let cookie = cookie_header(
        &state.session_key().sign(&id),
        settings.session_ttl.as_secs(),
        settings.secure_cookies,
    );
    Ok(NewSession {
        user,
        cookie,
        csrf_token,
        expires_at,
    })
}

/// Revokes the request's session (if it has one) and returns the `Set-Cookie` that clears it.
pub async fn sign_out(state: &AppState, user: &CurrentUser) -> Result<String, ApiError> {
    if let Some(hash) = &user.session_hash {
        state.store().revoke_session(hash, Utc::now()).await?;
        tracing::info!(user = %user.user.name, "signed out");
    }
    Ok(cookie_header("", 0, state.auth_settings().secure_cookies))
}

fn cookie_header(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_cookie_round_trips_and_rejects_tampering() {
        let key = SessionKey::generate();
        let value = key.sign(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            key.verify(&value).as_deref(),
            Some(&b"0123456789abcdef0123456789abcdef"[..])
        );
        let mut tampered = value.clone();
        tampered.replace_range(0..1, if value.starts_with('A') { "B" } else { "A" });
        assert_eq!(key.verify(&tampered), None);
        assert_eq!(SessionKey::generate().verify(&value), None);
        assert_eq!(key.verify("no-dot"), None);
        assert_eq!(key.verify("...."), None);
    }

    #[test]
    fn dummy_hash_is_a_valid_argon2id_hash() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn form_field_finds_the_csrf_token() {
        assert_eq!(
            form_field(b"a=1&_csrf=abc%2Fd&b=2", CSRF_FIELD).as_deref(),
            Some("abc/d")
        );
        assert_eq!(form_field(b"a=1", CSRF_FIELD), None);
        assert_eq!(form_field(&[0xff, 0xfe], CSRF_FIELD), None);
    }
}
