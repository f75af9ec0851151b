//! Optional semantic ranking, part two: re-ranking the keyword top-k by meaning.
//!
//! [`hybrid_search`] runs the ordinary BM25 search for the first `top_k` hits (or the page asked
//! for, if deeper), embeds the query, reads the stored vectors of those hits, and orders them by
//!
//! ```text
//! score = (1 - w) * bm25 / max_bm25 + w * max(0, cosine(query, document))
//! ```
//!
//! where `w` is `search.embeddings.hybrid_weight` (0 keyword-only, 1 meaning-only among the
//! keyword candidates). A hit without a vector yet (embedding still pending) keeps its keyword
//! score in both terms, so it is neither pushed down nor lifted. Exact key matches stay first:
//! someone who typed `PAY-12` wants that ticket. Re-ranking never widens the candidate set, so
//! it cannot surface documents the query does not match.
//!
//! Any failure of the semantic step (no key, a 429, a 5xx, a timeout, vectors of another
//! length) leaves the keyword ranking as it is and adds a note to the results; it is never an
//! error for the user. Store and query-syntax errors are still errors, as in a keyword search.

use std::collections::HashMap;

use super::embed::EmbeddingClient;
use super::{Grouping, MatchKind, SearchHit, SearchIndex, SearchRequest, SearchResults};
use crate::Result;
use crate::store::Store;

/// Candidates re-ranked by default.
pub const DEFAULT_TOP_K: usize = 50;

/// How semantic scores mix in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HybridOptions {
    /// Share of the semantic score, clamped to `0..=1`.
    pub weight: f64,
    /// Keyword hits re-ranked.
    pub top_k: usize,
}

impl Default for HybridOptions {
    fn default() -> Self {
        Self {
            weight: 0.3,
            top_k: DEFAULT_TOP_K,
        }
    }
}

/// Cosine similarity; `None` for vectors of different length or of zero norm.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let norm = na.sqrt() * nb.sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| (dot / norm).clamp(-1.0, 1.0))
}

/// A search re-ranked by semantic similarity when `embedder` is given; see the module docs.
///
/// ```no_run
/// # async fn run(index: &qapms_core::search::SearchIndex, store: &dyn qapms_core::store::Store,
/// #              client: &qapms_core::search::embed::EmbeddingClient) -> qapms_core::Result<()> {
/// use qapms_core::search::SearchRequest;
/// use qapms_core::search::hybrid::{HybridOptions, hybrid_search};
/// let results = hybrid_search(index, store, Some(client), &SearchRequest::new("token refresh"),
///     HybridOptions::default()).await?;
/// # Ok(()) }
/// ```
pub async fn hybrid_search(
    index: &SearchIndex,
    store: &dyn Store,
    embedder: Option<&EmbeddingClient>,
    request: &SearchRequest,
    options: HybridOptions,
) -> Result<SearchResults> {
    let weight = if options.weight.is_finite() {
        options.weight.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let Some(embedder) = embedder.filter(|_| weight > 0.0 && !request.query.trim().is_empty())
    else {
        return index.search(request);
    };
    // The candidates: the keyword top-k from the first hit, or deeper if the page is deeper.
    let depth = options
        .top_k
        .max(1)
        .max(request.offset.saturating_add(request.limit));
    let candidates_request = SearchRequest {
        offset: 0,
        limit: depth,
        ..request.clone()
    };
    let mut results = index.search(&candidates_request)?;
    let query_vector = match embedder.embed_query(&request.query).await {
        Ok(vector) => vector,
        Err(err) => {
            tracing::warn!(error = %err, "semantic ranking unavailable; keyword ranking kept");
            return Ok(degrade(
                index,
                request,
                format!(
                    "semantic ranking is unavailable right now ({}); results are ranked by keywords",
                    err.kind()
                ),
            ));
        }
    };
    let mut uids: Vec<String> = results.hits.iter().map(|h| h.uid.clone()).collect();
    for group in &results.groups {
        uids.extend(group.hits.iter().map(|h| h.uid.clone()));
    }
    let vectors = store.embeddings(embedder.model(), &uids).await?;
    let mut mismatched = false;
    rerank(
        &mut results.hits,
        &query_vector,
        &vectors,
        weight,
        &mut mismatched,
    );
    for group in &mut results.groups {
        rerank(
            &mut group.hits,
            &query_vector,
            &vectors,
            weight,
            &mut mismatched,
        );
    }
    if request.grouping == Grouping::BySource {
        results.groups.sort_by(|a, b| {
            let best = |g: &super::SourceGroup| g.hits.first().map_or(0.0, |h| h.score);
            best(b).total_cmp(&best(a))
        });
    }
    // Back to the page asked for.
    let page = |hits: &mut Vec<SearchHit>| {
        let end = request.offset.saturating_add(request.limit).min(hits.len());
        let start = request.offset.min(end);
        *hits = hits.drain(start..end).collect();
    };
    page(&mut results.hits);
    for group in &mut results.groups {
        let end = request.limit.min(group.hits.len());
        group.hits.truncate(end);
    }
    results.offset = request.offset;
    results.limit = request.limit;
    if mismatched {
        results.notes.push(format!(
            "some stored vectors do not fit the model `{}` (another dimension); re-embed to rank them by meaning",
            embedder.model()
        ));
    }
    results.notes.push(format!(
        "ranked by keywords and meaning (model {}, weight {weight:.2})",
        embedder.model()
    ));
    Ok(results)
}

/// The keyword results for `request`, with a note saying why they are not re-ranked.
fn degrade(index: &SearchIndex, request: &SearchRequest, note: String) -> SearchResults {
    match index.search(request) {
        Ok(mut results) => {
            results.notes.push(note);
            results
        }
        Err(err) => {
            // The same search succeeded a moment ago; report it as an empty page with the note.
            tracing::warn!(error = %err, "the keyword search failed on its second run");
            SearchResults {
                query: request.query.clone(),
                total: 0,
                offset: request.offset,
                limit: request.limit,
                hits: Vec::new(),
                groups: Vec::new(),
                fuzzy: Vec::new(),
                notes: vec![note],
            }
        }
    }
}

fn rerank(
    hits: &mut [SearchHit],
    query: &[f32],
    vectors: &HashMap<String, Vec<f32>>,
    weight: f64,
    mismatched: &mut bool,
) {
    let max = hits
        .iter()
        .map(|h| f64::from(h.score))
        .fold(0.0_f64, f64::max);
    if hits.is_empty() {
        return;
    }
    for hit in hits.iter_mut() {
        let lexical = if max > 0.0 {
            f64::from(hit.score) / max
        } else {
            0.0
        };
        let semantic = match vectors.get(&hit.uid) {
            Some(vector) => match cosine(query, vector) {
                Some(c) => c.max(0.0),
                None => {
                    *mismatched = true;
                    lexical
                }
            },
            None => lexical,
        };
        hit.score = ((1.0 - weight) * lexical + weight * semantic) as f32;
    }
    hits.sort_by(|a, b| {
        let exact = |h: &SearchHit| h.matched == MatchKind::ExactKey;
        exact(b)
            .cmp(&exact(a))
            .then_with(|| b.score.total_cmp(&a.score))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_is_bounded_and_rejects_mismatches() {
        assert_eq!(cosine(&[1.0, 0.0], &[1.0, 0.0]), Some(1.0));
        assert_eq!(cosine(&[1.0, 0.0], &[-1.0, 0.0]), Some(-1.0));
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), Some(0.0));
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), None);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None);
        assert_eq!(cosine(&[], &[]), None);
    }

    proptest::proptest! {
        #[test]
        fn cosine_never_leaves_its_range(
            a in proptest::collection::vec(-1e30_f32..1e30, 1..16),
            b in proptest::collection::vec(-1e30_f32..1e30, 1..16),
        ) {
            if let Some(c) = cosine(&a, &b) {
                proptest::prop_assert!((-1.0..=1.0).contains(&c));
            }
        }
    }
}
