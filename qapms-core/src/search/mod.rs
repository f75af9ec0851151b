//! Search and discovery: one ranked query over Jira tickets, test cases (Testmo, Postman,
//! pytest, `JUnit`), Postman requests, Splunk saved searches and templates, workflow reports and
//! notes, and failure clusters.
//!
//! The index is a tantivy index in the data directory. It is derived data: [`SearchIndex::open`]
//! rebuilds it from the store when it is missing, corrupt, or stamped with an older schema
//! version, and says so in the returned [`IndexStatus`], so a front-end can tell the user. The
//! sync loop keeps it current with [`SearchIndex::apply`], which re-reads the named things from
//! the store (a thing that is gone is deleted; a rename is a [`IndexChange::Renamed`]) and
//! commits, so searches see the change as soon as the call returns. Failure clusters and
//! workflows change outside sync (analysis, workflow actions in any front-end), so
//! [`SearchIndex::catch_up`] re-indexes them when their signature in the store changed; `open`
//! calls it, and the server and the editor call it periodically (see `derived.rs`).
//!
//! Queries ([`SearchRequest`]) use a small language (see [`query`](self::query) for the
//! grammar): free text ranked by BM25, phrases, prefixes, field filters, negation. Ids and keys
//! (`PAY-12`, `C1234`) match exactly through the `key` field and approximately through
//! nucleo-matcher over an in-memory table of keys and titles; a query that finds nothing is
//! retried with typo-tolerant terms. [`SearchIndex::related`] finds what belongs to a ticket:
//! test cases, Postman requests and failure clusters that link to it first, then those whose
//! text is most like its summary.
//!
//! Optional semantic ranking (bring your own key) is in [`embed`] (an OpenAI-compatible
//! embeddings client, and [`embed::embed_pending`] for sync to call) and [`hybrid`] (the keyword
//! top-k re-ranked by cosine similarity, degrading to keyword ranking on any endpoint failure).
//!
//! Everything here is blocking CPU work except the calls that read the store; searches take
//! about a millisecond, so async callers may call them inline.

mod compile;
mod derived;
mod document;
pub mod embed;
mod fuzzy;
pub mod hybrid;
mod index;
mod pages;
mod probe;
pub mod query;
mod schema;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use document::{
    DocRef, IndexDoc, TYPE_CASE, TYPE_CLUSTER, TYPE_REQUEST, TYPE_TICKET, TYPE_WORKFLOW,
};
pub use index::SearchIndex;

/// Why the index was (or must be) rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum RebuildReason {
    /// There was no index in the directory.
    Missing,
    /// The index was built by a qapms with another schema version (or the build never finished).
    OldVersion { found: Option<String> },
    /// The index could not be opened or failed its checksums.
    Corrupt { detail: String },
    /// The caller asked for it (`qapms search --reindex`).
    Requested,
}

impl std::fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("there was no search index yet"),
            Self::OldVersion { found: Some(v) } => {
                write!(f, "the search index was built with schema version {v}")
            }
            Self::OldVersion { found: None } => {
                f.write_str("the search index has no version stamp (an interrupted build?)")
            }
            Self::Corrupt { detail } => write!(f, "the search index was damaged: {detail}"),
            Self::Requested => f.write_str("a rebuild was requested"),
        }
    }
}

/// What opening the index did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum IndexStatus {
    /// The index on disk was current and was opened as is.
    Ready { documents: u64 },
    /// The index was rebuilt from the store.
    Rebuilt {
        #[serde(flatten)]
        reason: RebuildReason,
        documents: u64,
    },
}

/// Progress of a build, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexProgress {
    pub done: u64,
    /// Rows in the store to index, when known.
    pub total: Option<u64>,
}

/// One change the sync loop reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "change")]
pub enum IndexChange {
    /// Created or changed in the store; re-read (and removed from the index if it is gone).
    Upserted(DocRef),
    Deleted(DocRef),
    /// The thing moved to a new key: the old entry goes, the new one is read from the store.
    Renamed {
        from: DocRef,
        to: DocRef,
    },
}

/// What [`SearchIndex::apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyOutcome {
    pub upserted: u64,
    pub deleted: u64,
}

/// How hits from several sources are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// One list, by score, whatever the source.
    #[default]
    Interleaved,
    /// The best `limit` hits of each source, sources ordered by their best hit.
    BySource,
}

/// A search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchRequest {
    pub query: String,
    /// Only these sources (`jira`, `testmo`, `postman`, …), in addition to any `source:` in
    /// the query.
    pub sources: Vec<String>,
    pub offset: usize,
    pub limit: usize,
    pub grouping: Grouping,
    /// Build highlighted snippets for the hits.
    pub snippets: bool,
    /// Count every match (for pagination). Counting costs time on very common words.
    pub count_total: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            query: String::new(),
            sources: Vec::new(),
            offset: 0,
            limit: 20,
            grouping: Grouping::Interleaved,
            snippets: true,
            count_total: true,
        }
    }
}

impl SearchRequest {
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            ..Self::default()
        }
    }
}

/// Largest page a search returns.
pub const MAX_LIMIT: usize = 1000;
/// Largest offset accepted (deeper pages are not useful and cost memory).
pub const MAX_OFFSET: usize = 10_000;

/// How a hit matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Ranked full-text match.
    Text,
    /// The query named its key exactly.
    ExactKey,
    /// A near match of a key or title (nucleo-matcher).
    FuzzyKey,
    /// Found only by the typo-tolerant retry.
    Typo,
    /// Links to the ticket (related items).
    Linked,
    /// Its text resembles the ticket's (related items).
    Similar,
}

/// A piece of text with the byte ranges that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

impl Snippet {
    /// The text with each highlight wrapped in `open` and `close` (e.g. ANSI bold, `<b>`).
    pub fn render(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut at = 0;
        for &(start, end) in &self.highlights {
            if start < at || end > self.text.len() || start > end {
                continue;
            }
            if let (Some(before), Some(hit)) = (self.text.get(at..start), self.text.get(start..end))
            {
                out.push_str(before);
                out.push_str(open);
                out.push_str(hit);
                out.push_str(close);
                at = end;
            }
        }
        out.push_str(self.text.get(at..).unwrap_or(""));
        out
    }
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub uid: String,
    pub source: String,
    pub doc_type: String,
    pub key: String,
    pub title: String,
    pub project: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub links: Vec<String>,
    pub url: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub score: f32,
    pub matched: MatchKind,
    pub title_snippet: Option<Snippet>,
    pub body_snippet: Option<Snippet>,
}

/// The hits of one source, for [`Grouping::BySource`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceGroup {
    pub source: String,
    pub total: u64,
    pub hits: Vec<SearchHit>,
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    pub query: String,
    /// All matches (when counted; otherwise the number of hits returned).
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    /// Interleaved hits (empty with [`Grouping::BySource`]).
    pub hits: Vec<SearchHit>,
    /// Per-source hits (empty with [`Grouping::Interleaved`]).
    pub groups: Vec<SourceGroup>,
    /// Near matches of ids, keys and titles, best first, that the ranked hits do not include.
    pub fuzzy: Vec<SearchHit>,
    /// What the user should know, e.g. that typos were tolerated.
    pub notes: Vec<String>,
}

/// What belongs to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedItems {
    pub ticket: SearchHit,
    pub test_cases: Vec<SearchHit>,
    pub requests: Vec<SearchHit>,
    pub clusters: Vec<SearchHit>,
    /// Anything else linked or similar (Splunk searches, workflow reports).
    pub other: Vec<SearchHit>,
}
