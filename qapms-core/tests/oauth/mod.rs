//! A fake Atlassian authorization server on loopback, for the OAuth tests.
//!
//! It follows the contract of `auth.atlassian.com` and `api.atlassian.com` as Atlassian
//! documents it for OAuth 2.0 (3LO) apps and service accounts (the Jira spec in
//! `shared/contracts/jira/platform-v3.json` names the same `authorizationUrl` and `tokenUrl`):
//! - `GET /authorize` with `audience`, `client_id`, `scope`, `redirect_uri`, `state`,
//!   `response_type=code`, plus the PKCE `code_challenge` and `code_challenge_method=S256`,
//!   answers `302` to `redirect_uri?code=…&state=…` (the user's consent is implied);
//! - `POST /oauth/token` takes JSON (or a form) with `grant_type` `authorization_code`
//!   (`client_id`, `client_secret`, `code`, `redirect_uri`, `code_verifier`), `refresh_token`
//!   (rotating: each refresh token works once) or `client_credentials`, and answers
//!   `{access_token, token_type: "Bearer", expires_in, scope, refresh_token?}`; failures are RFC
//!   6749 bodies, `403 {"error":"invalid_grant", …}` for a bad code or refresh token and `401
//!   {"error":"access_denied", …}` for a bad client secret;
//! - `GET /oauth/token/accessible-resources` lists the sites a token reaches;
//! - `GET /ex/jira/<cloud id>/rest/api/3/myself` answers the contract's sample to a live token
//!   and 401 to any other.
//!
//! Tokens can be made to expire on the server (`expire_access_tokens`) and the lifetime it
//! announces can be set (`set_expires_in`), so refresh on 401 and refresh before expiry are
//! both driven without waiting.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub(crate) const CLIENT_ID: &str = "qapms-test-client";
pub(crate) const CLIENT_SECRET: &str = "client-secret-7f3a9b2c";
pub(crate) const CLOUD_ID: &str = "11223344-a1b2-3b33-c444-def123456789";

struct Code {
    redirect_uri: String,
    challenge: String,
    used: bool,
}

#[derive(Default)]
struct State {
    next: u64,
    codes: HashMap<String, Code>,
    /// Refresh token -> still valid.
    refresh: HashMap<String, bool>,
    /// Access token -> still valid.
    access: HashMap<String, bool>,
    expires_in: u64,
    site: String,
    grants: Vec<String>,
}

/// The fake server; see the module docs.
#[derive(Clone)]
pub(crate) struct FakeAuth {
    pub(crate) server: Arc<MockServer>,
    state: Arc<RwLock<State>>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": error, "error_description": description}))
}

impl FakeAuth {
    pub(crate) async fn start() -> Self {
        let server = Arc::new(MockServer::start().await);
        let state = Arc::new(RwLock::new(State {
            expires_in: 3600,
            site: "https://acme.atlassian.net".to_owned(),
            ..State::default()
        }));
        let fake = Self { server, state };
        Mock::given(method("GET"))
            .and(path("/authorize"))
            .respond_with(Handler(fake.clone(), Route::Authorize))
            .mount(&fake.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(Handler(fake.clone(), Route::Token))
            .mount(&fake.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/oauth/token/accessible-resources"))
            .respond_with(Handler(fake.clone(), Route::Resources))
            .mount(&fake.server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/ex/jira/[^/]+/rest/api/3/myself$"))
            .respond_with(Handler(fake.clone(), Route::Myself))
            .mount(&fake.server)
            .await;
        fake
    }

    pub(crate) fn uri(&self) -> String {
        self.server.uri()
    }

    pub(crate) fn site(&self) -> String {
        self.read(|s| s.site.clone())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Every access token issued so far stops working.
    pub(crate) fn expire_access_tokens(&self) {
        self.write(|s| s.access.values_mut().for_each(|v| *v = false));
    }

    /// The `expires_in` announced for new access tokens.
    pub(crate) fn set_expires_in(&self, secs: u64) {
        self.write(|s| s.expires_in = secs);
    }

    /// The grant types asked for, in order.
    pub(crate) fn grants(&self) -> Vec<String> {
        self.read(|s| s.grants.clone())
    }

    /// Refresh tokens that still work.
    pub(crate) fn live_refresh_tokens(&self) -> Vec<String> {
        self.read(|s| {
            s.refresh
                .iter()
                .filter(|(_, live)| **live)
                .map(|(t, _)| t.clone())
                .collect()
        })
    }

    /// Every token and code issued, for scanning logs.
    pub(crate) fn all_secrets(&self) -> Vec<String> {
        self.read(|s| {
            s.codes
                .keys()
                .chain(s.refresh.keys())
                .chain(s.access.keys())
                .cloned()
                .chain([CLIENT_SECRET.to_owned()])
                .collect()
        })
    }

    fn issue(&self, with_refresh: bool, scope: &str) -> ResponseTemplate {
        let body = self.write(|s| {
            s.next += 1;
            let access = format!("at-{}-{:016x}", s.next, s.next.wrapping_mul(0x9e37_79b9));
            s.access.insert(access.clone(), true);
            let mut body = json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": s.expires_in,
                "scope": scope,
            });
            if with_refresh {
                let refresh = format!("rt-{}-{:016x}", s.next, s.next.wrapping_mul(0x85eb_ca6b));
                s.refresh.insert(refresh.clone(), true);
                body["refresh_token"] = Value::from(refresh);
            }
            body
        });
        ResponseTemplate::new(200).set_body_json(body)
    }

    fn bearer_ok(&self, request: &Request) -> bool {
        let Some(value) = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(token) = value.strip_prefix("Bearer ") else {
            return false;
        };
        self.read(|s| s.access.get(token).copied().unwrap_or(false))
    }
}

enum Route {
    Authorize,
    Token,
    Resources,
    Myself,
}

struct Handler(FakeAuth, Route);

fn params(request: &Request) -> HashMap<String, String> {
    let json_body = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json_body {
        let value: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        value
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect()
    }
}

impl Respond for Handler {
    #[expect(
        clippy::too_many_lines,
        reason = "the whole fake server, one route per arm"
    )]
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        match self.1 {
            Route::Authorize => {
                let q: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
                let get = |k: &str| q.get(k).cloned().unwrap_or_default();
                if get("client_id") != CLIENT_ID
                    || get("response_type") != "code"
                    || get("audience") != "api.atlassian.com"
                    || get("code_challenge_method") != "S256"
                    || get("code_challenge").len() != 43
                    || get("state").is_empty()
                    || !get("redirect_uri").starts_with("http://127.0.0.1:")
                {
                    return ResponseTemplate::new(400).set_body_string("bad authorization request");
                }
                let code = fake.write(|s| {
                    s.next += 1;
                    let code = format!("code-{}-{:08x}", s.next, s.next * 7919);
                    s.codes.insert(
                        code.clone(),
                        Code {
                            redirect_uri: get("redirect_uri"),
                            challenge: get("code_challenge"),
                            used: false,
                        },
                    );
                    code
                });
                let mut location = url::Url::parse(&get("redirect_uri")).expect("a redirect URI");
                location
                    .query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", &get("state"));
                ResponseTemplate::new(302).insert_header("location", location.as_str())
            }
            Route::Token => {
                let p = params(request);
                let get = |k: &str| p.get(k).cloned().unwrap_or_default();
                let grant = get("grant_type");
                fake.write(|s| s.grants.push(grant.clone()));
                if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
                    return oauth_error(401, "access_denied", "Unauthorized");
                }
                match grant.as_str() {
                    "authorization_code" => {
                        let verdict = fake.write(|s| {
                            let Some(code) = s.codes.get_mut(&get("code")) else {
                                return Err("Invalid authorization code");
                            };
                            if code.used {
                                return Err("Authorization code already used");
                            }
                            code.used = true;
                            if code.redirect_uri != get("redirect_uri") {
                                return Err("redirect_uri does not match");
                            }
                            let derived =
                                URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier")));
                            if derived != code.challenge {
                                return Err("PKCE verification failed");
                            }
                            Ok(())
                        });
                        match verdict {
                            Ok(()) => fake.issue(true, "read:jira-work offline_access"),
                            Err(why) => oauth_error(403, "invalid_grant", why),
                        }
                    }
                    "refresh_token" => {
                        let live = fake.write(|s| match s.refresh.get_mut(&get("refresh_token")) {
                            Some(live) if *live => {
                                *live = false;
                                true
                            }
                            _ => false,
                        });
                        if live {
                            fake.issue(true, "read:jira-work offline_access")
                        } else {
                            oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
                        }
                    }
                    "client_credentials" => fake.issue(false, "read:jira-work"),
                    _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
                }
            }
            Route::Resources => {
                if !fake.bearer_ok(request) {
                    return ResponseTemplate::new(401)
                        .set_body_json(json!({"code": 401, "message": "Unauthorized"}));
                }
                ResponseTemplate::new(200).set_body_json(json!([
                    {"id": "99999999-0000-0000-0000-000000000000", "url": "https://other.atlassian.net",
                     "name": "other", "scopes": ["read:jira-work"], "avatarUrl": "https://x.invalid/a.png"},
                    {"id": CLOUD_ID, "url": fake.site(), "name": "acme",
                     "scopes": ["read:jira-work"], "avatarUrl": "https://x.invalid/b.png"}
                ]))
            }
            Route::Myself => {
                let expected = format!("/ex/jira/{CLOUD_ID}/rest/api/3/myself");
                if request.url.path() != expected {
                    return ResponseTemplate::new(404)
                        .set_body_json(json!({"errorMessages": ["no such site"]}));
                }
                if !fake.bearer_ok(request) {
                    return ResponseTemplate::new(401)
                        .set_body_json(json!({"code": 401, "message": "Unauthorized"}));
                }
                let sample = crate::support::spec_path("jira/samples/myself.response.json")
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_else(|| r#"{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia Krystof","active":true}"#.to_owned());
                ResponseTemplate::new(200).set_body_string(sample)
            }
        }
    }
}
