//! `GET /api/v1/search`: the one ranked query over tickets, test cases, Postman requests,
//! Splunk searches, workflow reports and failure clusters, for the dashboard and scripts.
//!
//! It answers from the same core call as `qapms search` and the editor's workspace symbols
//! (`qapms_core::search::hybrid::hybrid_search`), so the three front-ends rank alike. The
//! index is derived data opened once at start-up ([`SearchService`]); a server started
//! without one answers 503 with what to do. With `search.embeddings` configured, hits are
//! re-ranked by meaning, and any failure of the embeddings endpoint leaves the keyword ranking
//! with a note in `notes`, never an error.
//!
//! Paging follows the API's conventions (`page`, `pageSize`, the `{data, pagination}`
//! envelope); pages deeper than the core's [`MAX_OFFSET`] are refused rather than computed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use qapms_core::search::embed::EmbeddingClient;
use qapms_core::search::hybrid::{HybridOptions, hybrid_search};
use qapms_core::search::{MAX_OFFSET, MatchKind, SearchHit, SearchIndex, SearchRequest, Snippet};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::api::{PageQuery, Pagination, serde_urlencoded_params};
use crate::auth::CurrentUser;
use crate::{ApiError, AppState};

/// Longest query accepted, in bytes (the core caps it too; this answers in the API's format).
const MAX_QUERY_BYTES: usize = 2048;

/// What the search endpoint answers from: the index, and the optional semantic step.
#[derive(Debug)]
pub struct SearchService {
    index: Arc<SearchIndex>,
    embedder: Option<(EmbeddingClient, HybridOptions)>,
}

impl SearchService {
    pub fn new(index: Arc<SearchIndex>) -> Self {
        Self {
            index,
            embedder: None,
        }
    }

    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// Re-ranks hits by meaning with this client and mix.
    pub fn with_embeddings(mut self, client: EmbeddingClient, options: HybridOptions) -> Self {
        self.embedder = Some((client, options));
        self
    }
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

/// The query string of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchParams {
    /// The query: words (all must match), "phrases", prefix*, -exclusions and filters such as
    /// `source:testmo project:PAY status:"In Progress"`.
    #[param(example = "token refresh")]
    q: Option<String>,
    /// Only these sources, comma-separated (`jira`, `testmo`, `postman`, `pytest`, `junit`,
    /// `splunk`, `workflow`, `cluster`).
    source: Option<String>,
    /// 1-based page number (default 1).
    page: Option<u64>,
    /// Hits per page, 1 to 500 (default 50).
    page_size: Option<u64>,
}

/// Text with the byte ranges that matched the query.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SnippetView {
    text: String,
    /// `[start, end)` byte offsets into `text`.
    #[schema(value_type = Vec<Vec<u64>>)]
    highlights: Vec<(usize, usize)>,
}

impl From<Snippet> for SnippetView {
    fn from(s: Snippet) -> Self {
        Self {
            text: s.text,
            highlights: s.highlights,
        }
    }
}

/// One hit.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchHitView {
    uid: String,
    /// `jira`, `testmo`, `postman`, `pytest`, `junit`, `splunk`, `workflow` or `cluster`.
    source: String,
    /// `ticket`, `case`, `request`, `cluster`, …
    doc_type: String,
    /// The id in its system (`PAY-12`, a Testmo case id, a test node id).
    key: String,
    title: String,
    project: Option<String>,
    status: Option<String>,
    tags: Vec<String>,
    /// Ticket keys it links to.
    links: Vec<String>,
    /// Where it lives in its system.
    url: Option<String>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    score: f32,
    /// `text`, `exact_key`, `fuzzy_key` or `typo`.
    matched: String,
    title_snippet: Option<SnippetView>,
    body_snippet: Option<SnippetView>,
}

impl From<SearchHit> for SearchHitView {
    fn from(hit: SearchHit) -> Self {
        Self {
            uid: hit.uid,
            source: hit.source,
            doc_type: hit.doc_type,
            key: hit.key,
            title: hit.title,
            project: hit.project,
            status: hit.status,
            tags: hit.tags,
            links: hit.links,
            url: hit.url,
            updated_at: hit.updated_at,
            score: hit.score,
            matched: match hit.matched {
                MatchKind::Text => "text",
                MatchKind::ExactKey => "exact_key",
                MatchKind::FuzzyKey => "fuzzy_key",
                MatchKind::Typo => "typo",
                MatchKind::Linked => "linked",
                MatchKind::Similar => "similar",
            }
            .to_owned(),
            title_snippet: hit.title_snippet.map(Into::into),
            body_snippet: hit.body_snippet.map(Into::into),
        }
    }
}

/// A page of hits, best first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchPage {
    data: Vec<SearchHitView>,
    pagination: Pagination,
    /// Near matches of ids, keys and titles that the ranked hits do not include (first page
    /// only).
    fuzzy: Vec<SearchHitView>,
    /// What the reader should know: tolerated typos, a semantic step that was unavailable.
    notes: Vec<String>,
}

/// The validated query string.
pub(crate) struct Query {
    text: String,
    sources: Vec<String>,
    page: PageQuery,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let params: SearchParams = serde_urlencoded_params(parts.uri.query().unwrap_or_default())?;
        let text = params.q.unwrap_or_default();
        if text.trim().is_empty() {
            return Err(
                ApiError::invalid("give a query in `q`").with_details(json!({ "parameter": "q" }))
            );
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(ApiError::invalid(format!(
                "the query is longer than {MAX_QUERY_BYTES} bytes"
            ))
            .with_details(json!({ "parameter": "q" })));
        }
        let page = params.page.unwrap_or(1);
        let page_size = params.page_size.unwrap_or(PageQuery::DEFAULT_PAGE_SIZE);
        if page_size == 0 || page_size > PageQuery::MAX_PAGE_SIZE {
            return Err(ApiError::invalid(format!(
                "`pageSize` must be between 1 and {}",
                PageQuery::MAX_PAGE_SIZE
            ))
            .with_details(json!({ "parameter": "pageSize" })));
        }
        let page = PageQuery { page, page_size };
        if page.page == 0 || page.offset() > MAX_OFFSET as u64 {
            return Err(ApiError::invalid(format!(
                "`page` must be at least 1, and pages end after the first {MAX_OFFSET} hits"
            ))
            .with_details(json!({ "parameter": "page" })));
        }
        let sources = params
            .source
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self {
            text,
            sources,
            page,
        })
    }
}

/// Searches everything synced; see the module docs.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(SearchParams),
    responses(
        (status = 200, body = SearchPage),
        (status = 400, body = super::ErrorBody, description = "unreadable query string"),
        (status = 401, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody, description = "a missing or malformed query, or bad paging"),
        (status = 503, body = super::ErrorBody, description = "the server has no search index"),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn search(
    State(state): State<AppState>,
    _user: CurrentUser,
    query: Query,
) -> Result<Json<SearchPage>, ApiError> {
    let Some(service) = state.search() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SEARCH_UNAVAILABLE",
            "this server has no search index; check `search.index_dir` and the server log",
        ));
    };
    let offset = usize::try_from(query.page.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(query.page.page_size).unwrap_or(usize::MAX);
    let request = SearchRequest {
        sources: query.sources,
        offset,
        limit,
        ..SearchRequest::new(query.text)
    };
    let (embedder, options) = match &service.embedder {
        Some((client, options)) => (Some(client), *options),
        None => (None, HybridOptions::default()),
    };
    let results = hybrid_search(&service.index, state.store(), embedder, &request, options).await?;
    let pagination = Pagination {
        page: query.page.page,
        page_size: query.page.page_size,
        total_items: results.total,
        total_pages: results.total.div_ceil(query.page.page_size),
    };
    Ok(Json(SearchPage {
        data: results.hits.into_iter().map(Into::into).collect(),
        pagination,
        fuzzy: results.fuzzy.into_iter().map(Into::into).collect(),
        notes: results.notes,
    }))
}
