//! What the dashboard API and pages share: reading the `days`, `project` and `team` filters
//! (an unreadable value is a 400, a readable one against the rules a 422, in the error
//! format, never a 500), and turning them plus the caller's
//! access into a core [`DashboardQuery`].
//!
//! Access follows [`CurrentUser::scope`]: a QA's panels count only their own data, leads and
//! managers their team's, admins everyone's. A `team` filter narrows that further and never
//! widens it: a lead asking for another team gets the intersection, which is empty.
//!
//! [`DashboardCache`] keeps each computed view for a few seconds, per persona, filters, viewer
//! and visible users, and computes a view once however many requests ask for it at the same
//! time. What requests send from a view (its JSON, the page's panels as HTML) is also made
//! once per cached [`View`]: drawing the charts and formatting the numbers took most of a
//! cached page's time. A 90-day team view reads a dozen rollup and list queries (~30 ms on SQLite with 100
//! QAs); a manager's team refreshing it, or a wall screen, should not redo that each time. Any
//! successful write through this server empties the cache, so its own actions show at once;
//! writes by other processes (a sync elsewhere, the CLI) show within the time to live.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use qapms_core::dashboard::{self, Dashboard, DashboardQuery, Period, Persona};
use qapms_core::model::UserId;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::sync::OnceCell;

use crate::auth::{CurrentUser, Scope};
use crate::{ApiError, AppState};

/// The filters every persona view takes, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filters {
    pub(crate) days: u32,
    /// Upper-cased project key.
    pub(crate) project: Option<String>,
    pub(crate) team: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilters {
    days: Option<String>,
    project: Option<String>,
    team: Option<String>,
}

impl Filters {
    /// Reads `?days=7|30|90&project=KEY&team=NAME`; anything else is a 400.
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        let raw: RawFilters = crate::api::serde_urlencoded_params(query)?;
        let days = match raw.days.as_deref().map(str::trim) {
            None | Some("") => 30,
            Some(text) => match text.parse::<u32>() {
                Ok(d) if Period::CHOICES.contains(&d) => d,
                // A number, but not a period the rollups serve: readable, yet against the rules.
                Ok(_) => {
                    return Err(ApiError::invalid("`days` must be 7, 30 or 90")
                        .with_details(json!({ "parameter": "days" })));
                }
                Err(_) => {
                    return Err(
                        ApiError::bad_request("`days` must be a number: 7, 30 or 90")
                            .with_details(json!({ "parameter": "days" })),
                    );
                }
            },
        };
        let project = match raw.project.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => {
                let ok = p.len() <= 32
                    && p.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(ApiError::invalid(
                        "`project` is a Jira project key: letters, digits and `_`, at most 32",
                    )
                    .with_details(json!({ "parameter": "project" })));
                }
                Some(p.to_ascii_uppercase())
            }
        };
        let team = match raw.team.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                if t.chars().count() > 64 || t.chars().any(char::is_control) {
                    return Err(ApiError::invalid(
                        "`team` is a team name of at most 64 printable characters",
                    )
                    .with_details(json!({ "parameter": "team" })));
                }
                Some(t.to_owned())
            }
        };
        Ok(Self {
            days,
            project,
            team,
        })
    }

    /// The query string that reproduces these filters (for links and exports).
    pub(crate) fn query_string(&self) -> String {
        let mut out = format!("days={}", self.days);
        if let Some(p) = &self.project {
            out.push_str("&project=");
            out.push_str(&crate::pages::encode(p));
        }
        if let Some(t) = &self.team {
            out.push_str("&team=");
            out.push_str(&crate::pages::encode(t));
        }
        out
    }
}

/// Whose data the caller may see, narrowed by a team filter.
pub(crate) async fn visible_users(
    state: &AppState,
    user: &CurrentUser,
    team: Option<&str>,
) -> Result<Option<Vec<UserId>>, ApiError> {
    let scope = user.scope(state.store()).await?;
    let team_ids = match team {
        Some(team) => Some(state.store().team_members(team).await?),
        None => None,
    };
    Ok(match (scope, team_ids) {
        (Scope::Everyone, None) => None,
        (Scope::Everyone, Some(ids)) | (Scope::Users(ids), None) => Some(ids),
        (Scope::Users(ids), Some(team)) => {
            Some(ids.into_iter().filter(|id| team.contains(id)).collect())
        }
    })
}

/// The core query for these filters, as this caller may see it.
pub(crate) async fn query(
    state: &AppState,
    user: &CurrentUser,
    filters: &Filters,
) -> Result<DashboardQuery, ApiError> {
    let now = Utc::now();
    let period = Period::new(filters.days, now)?;
    let mut q = DashboardQuery::new(period, now, user.user.id);
    q.project.clone_from(&filters.project);
    q.users = visible_users(state, user, filters.team.as_deref()).await?;
    Ok(q)
}

/// One persona's view for this caller, from the cache when it is fresh.
pub(crate) async fn load(
    state: &AppState,
    user: &CurrentUser,
    persona: Persona,
    filters: &Filters,
) -> Result<Arc<View>, ApiError> {
    let q = query(state, user, filters).await?;
    let compute = || async {
        let data = dashboard::load(state.store(), persona, &q, &state.integration_names()).await?;
        Ok::<_, ApiError>(Arc::new(View::new(data)))
    };
    let cache = state.dashboards();
    let Some(cell) = cache.cell(CacheKey::new(persona, filters, &q)) else {
        return compute().await;
    };
    let (_, view) = cell
        .get_or_try_init(|| async { Ok::<_, ApiError>((Instant::now(), compute().await?)) })
        .await?;
    Ok(view.clone())
}

/// A computed view, with its JSON and its page panels made on first use. Everything a cache
/// key holds (persona, filters, viewer, visible users) is fixed for a view, so what is made
/// from it can be shared by every request that gets the same view.
#[derive(Debug)]
pub(crate) struct View {
    pub(crate) data: Dashboard,
    json: OnceLock<Box<RawValue>>,
    panels_html: OnceLock<String>,
}

impl View {
    fn new(data: Dashboard) -> Self {
        Self {
            data,
            json: OnceLock::new(),
            panels_html: OnceLock::new(),
        }
    }

    /// The view as JSON, for the API.
    pub(crate) fn json(&self) -> Result<&RawValue, ApiError> {
        if let Some(json) = self.json.get() {
            return Ok(json);
        }
        let made =
            serde_json::value::to_raw_value(&self.data).map_err(|e| ApiError::internal(&e))?;
        Ok(self.json.get_or_init(|| made))
    }

    /// The page's panels as HTML, drawn by `render` the first time. A failed render is not
    /// kept, so the next request tries again.
    pub(crate) fn panels_html<E>(
        &self,
        render: impl FnOnce(&Dashboard) -> Result<String, E>,
    ) -> Result<&str, E> {
        if let Some(html) = self.panels_html.get() {
            return Ok(html);
        }
        let made = render(&self.data)?;
        Ok(self.panels_html.get_or_init(|| made))
    }
}

/// What a cached view depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    persona: &'static str,
    days: u32,
    project: Option<String>,
    /// The team as asked for: the page's links carry it, even where two teams' members are the
    /// same users.
    team: Option<String>,
    users: Option<Vec<UserId>>,
    viewer: UserId,
    generation: u64,
}

impl CacheKey {
    fn new(persona: Persona, filters: &Filters, q: &DashboardQuery) -> Self {
        let users = q.users.clone().map(|mut u| {
            u.sort_unstable_by_key(UserId::as_uuid);
            u
        });
        Self {
            persona: persona.slug(),
            days: filters.days,
            project: filters.project.clone(),
            team: filters.team.clone(),
            users,
            viewer: q.viewer,
            generation: 0,
        }
    }
}

type Slot = Arc<OnceCell<(Instant, Arc<View>)>>;

/// Computed views for a short time; see the module docs. Without a time to live it caches
/// nothing.
#[derive(Debug, Default)]
pub(crate) struct DashboardCache {
    ttl: Option<Duration>,
    generation: AtomicU64,
    slots: RwLock<HashMap<CacheKey, Slot>>,
}

impl DashboardCache {
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl: ttl.filter(|t| !t.is_zero()),
            ..Self::default()
        }
    }

    /// The slot for `key`: the fresh one, the one being computed, or a new empty one.
    fn cell(&self, mut key: CacheKey) -> Option<Slot> {
        let ttl = self.ttl?;
        key.generation = self.generation.load(Ordering::Acquire);
        let fresh = |slot: &Slot| slot.get().is_none_or(|(at, _)| at.elapsed() < ttl);
        {
            let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(slot) = slots.get(&key).filter(|s| fresh(s)) {
                return Some(slot.clone());
            }
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        // Another request may have made the slot meanwhile.
        if let Some(slot) = slots.get(&key).filter(|s| fresh(s)) {
            return Some(slot.clone());
        }
        slots.retain(|k, s| k.generation == key.generation && fresh(s));
        let slot = Slot::default();
        slots.insert(key, slot.clone());
        Some(slot)
    }

    /// Forgets every view (a write went through this server).
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Empties the dashboard, credential and banner caches after every successful write request.
pub(crate) async fn invalidate_on_write(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let writes = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(request).await;
    let status = response.status();
    if writes && (status.is_success() || status.is_redirection()) {
        state.forget_cached();
    }
    response
}

/// The persona of a path segment, or a 404 naming the valid ones.
pub(crate) fn persona(slug: &str) -> Result<Persona, ApiError> {
    Persona::from_slug(slug).ok_or_else(|| {
        ApiError::not_found(format!(
            "no dashboard `{slug}`; use qa, pm, po, tech-lead or qa-manager"
        ))
    })
}
