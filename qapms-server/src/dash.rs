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
//! writes by other processes (a sync elsewhere, the CLI) show within the time to live, plus
//! the one refresh during which the expired view is still served.

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
    let slot = match state
        .dashboards()
        .lookup(CacheKey::new(persona, filters, &q))
    {
        None => return compute().await,
        Some(Lookup::Ready(view)) => return Ok(view),
        Some(Lookup::Compute(slot)) => slot,
    };
    let (_, view) = slot
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

type Slot<V = Arc<View>> = Arc<OnceCell<(Instant, V)>>;

/// One key's views: the slot being filled or filled, and while a refresh is under way, the view
/// it replaces.
#[derive(Debug)]
struct Entry<V> {
    slot: Slot<V>,
    /// The expired view, served while `slot` is being computed, so that a refresh does not make
    /// every request of that moment wait for it: under load those waits were the slowest
    /// percent of all answers.
    stale: Option<V>,
    /// When `slot` was made. A refresh that has not finished within the time to live (it
    /// failed, or its request went away) stops the stale view being served, and the next
    /// request computes again.
    since: Instant,
}

impl<V: Clone> Entry<V> {
    fn new(stale: Option<V>) -> Self {
        Self {
            slot: Slot::default(),
            stale,
            since: Instant::now(),
        }
    }

    /// What a request can have without waiting: a fresh view, or the stale one while its
    /// refresh is recent.
    fn ready(&self, ttl: Duration) -> Option<V> {
        match self.slot.get() {
            Some((at, view)) => (at.elapsed() < ttl).then(|| view.clone()),
            None => self.stale.clone().filter(|_| self.since.elapsed() < ttl),
        }
    }

    fn expired(&self, ttl: Duration) -> bool {
        self.slot.get().is_some_and(|(at, _)| at.elapsed() >= ttl)
    }
}

/// What [`DashboardCache::lookup`] found for a key.
enum Lookup<V> {
    /// A view to serve now.
    Ready(V),
    /// The slot to compute the view into, or to wait on while another request computes it.
    Compute(Slot<V>),
}

/// Computed views for a short time; see the module docs. Without a time to live it caches
/// nothing.
#[derive(Debug)]
pub(crate) struct DashboardCache<V = Arc<View>> {
    ttl: Option<Duration>,
    generation: AtomicU64,
    slots: RwLock<HashMap<CacheKey, Entry<V>>>,
}

impl<V: Clone> DashboardCache<V> {
    pub(crate) fn new(ttl: Option<Duration>) -> Self {
        Self {
            ttl: ttl.filter(|t| !t.is_zero()),
            generation: AtomicU64::new(0),
            slots: RwLock::new(HashMap::new()),
        }
    }

    /// The view for `key` if one can be served at once, else the slot to compute it into.
    /// When a view expires, the first request to see it computes the next one and the others
    /// are served the expired one meanwhile.
    fn lookup(&self, mut key: CacheKey) -> Option<Lookup<V>> {
        let ttl = self.ttl?;
        key.generation = self.generation.load(Ordering::Acquire);
        {
            let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(view) = slots.get(&key).and_then(|e| e.ready(ttl)) {
                return Some(Lookup::Ready(view));
            }
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        // Another request may have filled or replaced the slot meanwhile.
        if let Some(entry) = slots.get_mut(&key) {
            if let Some(view) = entry.ready(ttl) {
                return Some(Lookup::Ready(view));
            }
            if entry.expired(ttl) {
                let stale = entry.slot.get().map(|(_, view)| view.clone());
                *entry = Entry::new(stale);
            }
            return Some(Lookup::Compute(entry.slot.clone()));
        }
        slots.retain(|k, e| {
            k.generation == key.generation && (e.ready(ttl).is_some() || e.slot.get().is_none())
        });
        let entry = Entry::new(None);
        let slot = entry.slot.clone();
        slots.insert(key, entry);
        Some(Lookup::Compute(slot))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(days: u32) -> CacheKey {
        CacheKey {
            persona: "qa-manager",
            days,
            project: None,
            team: None,
            users: None,
            viewer: UserId::new(),
            generation: 0,
        }
    }

    fn fill(lookup: Option<Lookup<u32>>, value: u32) -> Slot<u32> {
        let Some(Lookup::Compute(slot)) = lookup else {
            panic!("expected to compute");
        };
        slot.set((Instant::now(), value)).unwrap();
        slot
    }

    fn ready(cache: &DashboardCache<u32>, key: &CacheKey) -> u32 {
        match cache.lookup(key.clone()) {
            Some(Lookup::Ready(v)) => v,
            _ => panic!("expected a view to serve"),
        }
    }

    #[tokio::test]
    async fn an_expired_view_is_served_while_one_request_refreshes_it() {
        let cache = DashboardCache::<u32>::new(Some(Duration::from_millis(40)));
        let k = key(7);
        fill(cache.lookup(k.clone()), 1);
        assert_eq!(ready(&cache, &k), 1);

        tokio::time::sleep(Duration::from_millis(50)).await;
        // The first request after expiry computes; the others get the old view meanwhile.
        let Some(Lookup::Compute(refresh)) = cache.lookup(k.clone()) else {
            panic!("the first request after expiry refreshes");
        };
        assert_eq!(ready(&cache, &k), 1);
        assert_eq!(ready(&cache, &k), 1);
        refresh.set((Instant::now(), 2)).unwrap();
        assert_eq!(ready(&cache, &k), 2);
    }

    #[tokio::test]
    async fn a_refresh_that_never_finishes_stops_the_stale_view() {
        let cache = DashboardCache::<u32>::new(Some(Duration::from_millis(40)));
        let k = key(30);
        fill(cache.lookup(k.clone()), 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(Lookup::Compute(_abandoned)) = cache.lookup(k.clone()) else {
            panic!("the first request after expiry refreshes");
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Its slot is handed out again, so the next request computes (or waits on a live one).
        fill(cache.lookup(k.clone()), 3);
        assert_eq!(ready(&cache, &k), 3);
    }

    #[test]
    fn a_write_forgets_even_the_stale_view_and_other_keys_are_apart() {
        let cache = DashboardCache::<u32>::new(Some(Duration::from_mins(1)));
        fill(cache.lookup(key(7)), 1);
        let other = key(90);
        fill(cache.lookup(other.clone()), 9);
        assert_eq!(ready(&cache, &other), 9);
        cache.invalidate();
        fill(cache.lookup(other.clone()), 10);
        assert_eq!(ready(&cache, &other), 10);
        assert!(DashboardCache::<u32>::new(None).lookup(key(7)).is_none());
    }
}
