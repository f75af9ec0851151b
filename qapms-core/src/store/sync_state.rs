//! What the sync keeps in the store besides the synced rows: a scope per integration and
//! source partition (a Jira project, a Postman collection), and the upstream items each scope
//! has written.
//!
//! A [`SyncBatch`] is the unit of durability: the rows of one page of a source, the deletions
//! found, the item map and the scope's new cursor go in one transaction
//! ([`Store::write_sync_batch`](super::Store::write_sync_batch)). A sync killed between two
//! batches resumes from the last committed cursor and rewrites at most one page, by key, so a
//! crash neither loses nor duplicates anything.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{
    ImportedTest, IssueKey, SearchDocument, SearchDocumentKey, TestId, TestRun, TestSource, Ticket,
};
use crate::patterns::classify::{ExternalSignal, SignalSource};

/// One scope's sync state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncScope {
    pub integration: String,
    pub scope: String,
    /// Where the next incremental sync starts (integration-specific text).
    pub cursor: Option<String>,
    /// What the scope's contents were when last read (a collection's `updatedAt`, a hash).
    pub fingerprint: Option<String>,
    /// When the last complete listing, which finds deletions, finished.
    pub full_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Items the scope has written.
    pub items: u64,
}

/// One upstream item a scope wrote: its stable upstream id and what it is stored as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncItem {
    pub item_id: String,
    /// A ticket key, a test case's external id, or a search document's `source_key`.
    pub local_key: String,
    /// What the item looked like (its `updated` time or a content hash), to skip unchanged
    /// items.
    pub fingerprint: Option<String>,
}

/// A test case as a source lists it, stored by `(source, external_id)`: a case seen before
/// keeps its [`TestId`] and the ticket links imports added to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedCase {
    pub source: TestSource,
    pub external_id: String,
    pub title: String,
    pub folder_path: Option<String>,
    pub tags: Vec<String>,
}

/// A test run a source lists, with every attempt of every test in it. Stored under `run.id`:
/// written again with the same id, the run's row is updated and its results are replaced, so
/// a run re-read after a crash or a change upstream is never stored twice. Tests resolve
/// through the identity map exactly as in a `JUnit` import (any of a test's keys finds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedRun {
    pub run: TestRun,
    pub tests: Vec<ImportedTest>,
}

/// An external signal with the source's own id for it, so writing it again replaces it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncedSignal {
    /// Unique per source: an annotation id.
    pub key: String,
    pub signal: ExternalSignal,
}

/// A time range of one source's external signals, for [`SyncBatch::replace_signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalWindow {
    pub source: SignalSource,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// Everything one step of a sync writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncBatch {
    pub integration: String,
    pub scope: String,
    pub tickets: Vec<Ticket>,
    pub delete_tickets: Vec<IssueKey>,
    pub cases: Vec<SyncedCase>,
    /// Cases the source no longer has, by source and external id. A case with stored results
    /// is kept (its history matters); the outcome counts it.
    pub delete_cases: Vec<(TestSource, String)>,
    pub documents: Vec<SearchDocument>,
    pub delete_documents: Vec<SearchDocumentKey>,
    /// Runs with their results, written after the cases (so results find cases synced in
    /// the same batch).
    pub runs: Vec<SyncedRun>,
    /// External signals, inserted or replaced by source and key.
    pub signals: Vec<SyncedSignal>,
    /// Before `signals` are written, this source's stored signals timed in this range (both
    /// ends included) are deleted: the batch holds every one the source still has there, so
    /// one deleted upstream goes too.
    pub replace_signals: Option<SignalWindow>,
    /// Items to record for this scope (inserted or replaced by item id).
    pub items: Vec<SyncItem>,
    /// Items to forget, as `(scope, item id)` of this integration: deleted ones, and ones that
    /// moved to another scope.
    pub forget: Vec<(String, String)>,
    /// The scope's new cursor; `None` keeps the stored one.
    pub cursor: Option<String>,
    /// The scope's new fingerprint; `None` keeps the stored one.
    pub fingerprint: Option<String>,
    /// The batch ends a complete listing: `full_at` becomes now.
    pub full: bool,
    /// The scope itself is gone upstream: remove it with every item it still has.
    pub drop_scope: bool,
}

/// What [`Store::write_sync_batch`](super::Store::write_sync_batch) did to test cases, so the
/// caller can update the search index by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncBatchOutcome {
    /// The id of every written case, in batch order.
    pub cases: Vec<TestId>,
    pub deleted_cases: Vec<TestId>,
    /// Cases the source dropped that were kept because results refer to them.
    pub kept_cases: u64,
    pub deleted_tickets: u64,
    pub deleted_documents: u64,
    /// External signals removed by [`SyncBatch::replace_signals`] and not written again.
    pub deleted_signals: u64,
    /// Result rows written for the batch's runs (one per attempt).
    pub results: u64,
    /// Tests the batch's runs named that the store had never seen.
    pub new_tests: u64,
}
