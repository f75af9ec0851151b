//! [`SearchIndex`]: opening (and rebuilding) the index, writing to it, and answering queries.
//!
//! Each write opens a tantivy writer, applies its batch and commits, then reloads the reader,
//! so the next search sees it; tantivy's lock file keeps two processes from writing at once
//! (the second gets a temporary error and can retry). Other processes' commits reach this
//! reader through tantivy's `meta.json` watcher within about half a second.
//!
//! The directory is wiped only when it looks like ours (it has our version stamp or a tantivy
//! `meta.json`, or is empty), so a mistyped `search.index_dir` never deletes someone's files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use super::compile::Compiler;
use super::derived;
use super::document::{
    DocRef, IndexDoc, TYPE_CASE, TYPE_CLUSTER, TYPE_REQUEST, TYPE_TICKET, TYPE_WORKFLOW,
};
use super::fuzzy::IdTable;
use super::pages::DocPages;
use super::query::{self, Clause, ParsedQuery};
use super::schema::{self, Fields, SCHEMA_VERSION, VERSION_FILE};
use super::{
    ApplyOutcome, Grouping, IndexChange, IndexProgress, IndexStatus, MAX_LIMIT, MAX_OFFSET,
    MatchKind, RebuildReason, RelatedItems, SearchHit, SearchRequest, SearchResults, Snippet,
    SourceGroup,
};
use crate::model::IssueKey;
use crate::store::Store;
use crate::{Error, ErrorKind, Result};

/// Writer memory for a full build (split across its threads) and for an incremental batch.
const BUILD_MEMORY: usize = 192 * 1024 * 1024;
const APPLY_MEMORY: usize = 32 * 1024 * 1024;
/// Rows read from the store per page during a rebuild.
const PAGE: u32 = 2000;
const SNIPPET_CHARS: usize = 180;
const FUZZY_LIMIT: usize = 5;
/// Related items of each kind.
const RELATED_LIMIT: usize = 10;

/// The search index in one directory. Cheap to share behind an `Arc`; every method takes
/// `&self`.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    fuzzy_distance: u8,
    ids: RwLock<Option<Arc<IdTable>>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("documents", &self.reader.searcher().num_docs())
            .finish_non_exhaustive()
    }
}

fn index_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, format!("search index: {what}: {e}"))
}

/// Why the directory cannot be used as is, or `None` if it holds a current index.
pub(super) fn check_dir(dir: &Path) -> Option<RebuildReason> {
    let meta = dir.join("meta.json");
    if !meta.exists() {
        return Some(RebuildReason::Missing);
    }
    match std::fs::read_to_string(dir.join(VERSION_FILE)) {
        Ok(v) if v.trim() == SCHEMA_VERSION.to_string() => None,
        Ok(v) => Some(RebuildReason::OldVersion {
            found: Some(v.trim().chars().take(40).collect()),
        }),
        Err(_) => Some(RebuildReason::OldVersion { found: None }),
    }
}

/// Empties `dir` if it is ours to empty; creates it if missing.
fn reset_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let ours = dir.join(VERSION_FILE).exists() || dir.join("meta.json").exists();
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !ours && !empty {
            return Err(Error::config(format!(
                "{} is not empty and holds no qapms search index; point `search.index_dir` at \
                 an empty or new directory",
                dir.display()
            )));
        }
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

impl SearchIndex {
    /// Opens the index in `dir`, rebuilding it from `store` when it is missing, corrupt or from
    /// another schema version; the returned status says which happened.
    ///
    /// ```no_run
    /// # async fn demo(store: std::sync::Arc<dyn qapms_core::store::Store>) -> qapms_core::Result<()> {
    /// use qapms_core::search::{IndexStatus, SearchIndex, SearchRequest};
    /// let (index, status) = SearchIndex::open("/tmp/qapms-index".as_ref(), &*store, &|_| {}).await?;
    /// if let IndexStatus::Rebuilt { reason, .. } = &status {
    ///     tracing::info!(%reason, "search index rebuilt");
    /// }
    /// let results = index.search(&SearchRequest::new("token refresh source:testmo"))?;
    /// # Ok(()) }
    /// ```
    pub async fn open(
        dir: &Path,
        store: &dyn Store,
        progress: &(dyn Fn(IndexProgress) + Send + Sync),
    ) -> Result<(Self, IndexStatus)> {
        let (index, needs) = Self::open_dir(dir)?;
        match needs {
            None => {
                // Clusters and workflows change outside sync; bring them up to date. A failure
                // (another process is writing) only leaves them as they were.
                if let Err(err) = index.catch_up(store).await {
                    tracing::warn!(error = %err, "clusters and workflows not re-indexed");
                }
                let documents = index.reader.searcher().num_docs();
                Ok((index, IndexStatus::Ready { documents }))
            }
            Some(reason) => {
                tracing::warn!(dir = %dir.display(), %reason, "rebuilding the search index");
                let documents = index.rebuild(store, progress).await?;
                Ok((index, IndexStatus::Rebuilt { reason, documents }))
            }
        }
    }

    /// Opens the index in `dir` without a store. A directory that does not hold a current,
    /// healthy index is reset to an empty one, and the reason is returned: the caller must
    /// then fill it ([`rebuild`](Self::rebuild) or [`index_documents`](Self::index_documents)).
    pub fn open_dir(dir: &Path) -> Result<(Self, Option<RebuildReason>)> {
        let mut reason = check_dir(dir);
        if reason.is_none() {
            match Self::try_open(dir) {
                Ok(index) => return Ok((index, None)),
                Err(detail) => reason = Some(RebuildReason::Corrupt { detail }),
            }
        }
        reset_dir(dir)?;
        let (schema, fields) = schema::build_schema();
        let index = Index::create_in_dir(dir, schema)
            .map_err(|e| index_error("cannot create the index", e))?;
        let index = Self::wrap(dir, index, fields)?;
        Ok((index, reason))
    }

    /// Opens an existing index and checks it; the error text says what is wrong.
    fn try_open(dir: &Path) -> std::result::Result<Self, String> {
        let index = Index::open_in_dir(dir).map_err(|e| e.to_string())?;
        let (schema, fields) = schema::build_schema();
        if index.schema() != schema {
            return Err("its schema differs from this version's".to_owned());
        }
        let damaged = index.validate_checksum().map_err(|e| e.to_string())?;
        if !damaged.is_empty() {
            let names: Vec<String> = damaged.iter().map(|p| p.display().to_string()).collect();
            return Err(format!("checksum mismatch in {}", names.join(", ")));
        }
        Self::wrap(dir, index, fields).map_err(|e| e.to_string())
    }

    fn wrap(dir: &Path, index: Index, fields: Fields) -> Result<Self> {
        schema::register_tokenizers(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(|e| index_error("cannot open a reader", e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
            fuzzy_distance: 2,
            ids: RwLock::new(None),
        })
    }

    /// Sets the edit distance of the typo-tolerant retry (`search.fuzzy_max_distance`, 0 to 2;
    /// larger values are capped at 2, which tantivy's automata support).
    pub fn with_fuzzy_distance(mut self, distance: u8) -> Self {
        self.fuzzy_distance = distance.min(2);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Live documents in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            std::fs::read_dir(dir).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
        }
        walk(&self.dir)
    }

    fn writer(&self, memory: usize, threads: usize) -> Result<IndexWriter> {
        self.index
            .writer_with_num_threads(threads, memory)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::new(
                    ErrorKind::Store,
                    "the search index is being written by another qapms process; try again",
                )
                .set_temporary(),
                other => index_error("cannot open a writer", other),
            })
    }

    fn commit(&self, mut writer: IndexWriter) -> Result<()> {
        writer
            .commit()
            .map_err(|e| index_error("commit failed", e))?;
        writer
            .wait_merging_threads()
            .map_err(|e| index_error("merge failed", e))?;
        self.reader
            .reload()
            .map_err(|e| index_error("reload failed", e))
    }

    fn stamp(&self) -> Result<()> {
        std::fs::write(self.dir.join(VERSION_FILE), format!("{SCHEMA_VERSION}\n"))?;
        Ok(())
    }

    fn to_document(&self, doc: &IndexDoc) -> TantivyDocument {
        let f = self.fields;
        let mut d = TantivyDocument::new();
        d.add_text(f.uid, &doc.uid);
        d.add_text(f.source, &doc.source);
        d.add_text(f.doc_type, &doc.doc_type);
        d.add_text(f.key, &doc.key);
        d.add_text(f.title, &doc.title);
        d.add_text(f.text, &doc.key);
        // The title twice: its words weigh double in BM25 over `text`, which ranks title
        // matches first even for queries that search `text` alone (see `Compiler::lean`).
        d.add_text(f.text, &doc.title);
        d.add_text(f.text, &doc.title);
        d.add_text(f.text, &doc.body);
        for value in doc.fields.values() {
            d.add_text(f.text, value);
        }
        for tag in &doc.tags {
            d.add_text(f.text, tag);
            d.add_text(f.tags, tag);
        }
        d.add_text(f.body, &doc.body);
        if let Some(project) = &doc.project {
            d.add_text(f.project, project);
        }
        if let Some(status) = &doc.status {
            d.add_text(f.status, status);
        }
        for link in &doc.links {
            d.add_text(f.links, link);
        }
        if let Some(url) = &doc.url {
            d.add_text(f.url, url);
        }
        if !doc.fields.is_empty()
            && let Ok(json) = serde_json::to_string(&doc.fields)
        {
            d.add_text(f.extra, json);
        }
        d.add_date(
            f.updated,
            tantivy::DateTime::from_timestamp_micros(doc.updated_at.timestamp_micros()),
        );
        d
    }

    /// Replaces the whole index with `docs` (the bench, and tests without a store).
    pub fn index_documents(&self, docs: impl IntoIterator<Item = IndexDoc>) -> Result<u64> {
        let writer = self.writer(BUILD_MEMORY, 2)?;
        writer
            .delete_all_documents()
            .map_err(|e| index_error("cannot clear the index", e))?;
        let mut n = 0;
        for doc in docs {
            writer
                .add_document(self.to_document(&doc))
                .map_err(|e| index_error("cannot add a document", e))?;
            n += 1;
        }
        self.commit(writer)?;
        self.stamp()?;
        Ok(n)
    }

    /// Rebuilds the index from everything in the store, reporting progress after each page.
    /// Until it finishes, searches see the previous contents.
    pub async fn rebuild(
        &self,
        store: &dyn Store,
        progress: &(dyn Fn(IndexProgress) + Send + Sync),
    ) -> Result<u64> {
        // Written first, so a build killed halfway is redone on the next open.
        let _ = std::fs::remove_file(self.dir.join(VERSION_FILE));
        let _ = std::fs::remove_file(self.dir.join(derived::DERIVED_FILE));
        // Taken before the walk: what changes during it is caught up on the next open.
        let signature = derived::snapshot(store).await?.signature;
        let total = store.info().await.ok().map(|info| {
            info.tables
                .iter()
                .filter(|(t, _)| {
                    matches!(
                        t.as_str(),
                        "tickets" | "test_cases" | "search_documents" | "workflows"
                    )
                })
                .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
                .sum()
        });
        let writer = self.writer(BUILD_MEMORY, 2)?;
        writer
            .delete_all_documents()
            .map_err(|e| index_error("cannot clear the index", e))?;
        let mut done = 0u64;
        let add = |doc: IndexDoc| {
            writer
                .add_document(self.to_document(&doc))
                .map(|_| ())
                .map_err(|e| index_error("cannot add a document", e))
        };
        let mut pages = DocPages::new(store, PAGE);
        while let Some(page) = pages.next().await? {
            done += page.len() as u64;
            for doc in page {
                add(doc)?;
            }
            progress(IndexProgress { done, total });
        }
        self.commit(writer)?;
        self.stamp()?;
        std::fs::write(self.dir.join(derived::DERIVED_FILE), &signature)?;
        tracing::info!(dir = %self.dir.display(), documents = done, "search index built");
        Ok(done)
    }

    /// Re-indexes the failure clusters and workflows when they changed since they were last
    /// indexed (see [`super::derived`]); returns how many documents were written, or `None`
    /// when nothing had changed. Analysis and workflow actions in any front-end are seen by
    /// the next call, which `open` makes and long-running front-ends make periodically.
    ///
    /// ```no_run
    /// # async fn run(index: &qapms_core::search::SearchIndex, store: &dyn qapms_core::store::Store) -> qapms_core::Result<()> {
    /// if let Some(n) = index.catch_up(store).await? {
    ///     tracing::debug!(documents = n, "clusters and workflows re-indexed");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn catch_up(&self, store: &dyn Store) -> Result<Option<u64>> {
        let stamp = self.dir.join(derived::DERIVED_FILE);
        let snapshot = derived::snapshot(store).await?;
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s == snapshot.signature) {
            return Ok(None);
        }
        let mut docs: Vec<IndexDoc> = snapshot
            .clusters
            .iter()
            .map(derived::from_cluster)
            .collect();
        docs.extend(derived::workflow_docs(store).await?);
        let writer = self.writer(APPLY_MEMORY, 1)?;
        for doc_type in [TYPE_CLUSTER, TYPE_WORKFLOW] {
            writer.delete_term(Term::from_field_text(self.fields.doc_type, doc_type));
        }
        for doc in &docs {
            writer
                .add_document(self.to_document(doc))
                .map_err(|e| index_error("cannot add a document", e))?;
        }
        self.commit(writer)?;
        std::fs::write(&stamp, &snapshot.signature)?;
        Ok(Some(docs.len() as u64))
    }

    /// Applies what the sync loop saw change, re-reading each thing from the store, and
    /// commits once. The changes are visible to searches when this returns.
    pub async fn apply(&self, store: &dyn Store, changes: &[IndexChange]) -> Result<ApplyOutcome> {
        if changes.is_empty() {
            return Ok(ApplyOutcome::default());
        }
        let mut remove: HashSet<String> = HashSet::new();
        let mut fetch: Vec<&DocRef> = Vec::new();
        for change in changes {
            match change {
                IndexChange::Upserted(r) => fetch.push(r),
                IndexChange::Deleted(r) => {
                    remove.insert(r.uid());
                }
                IndexChange::Renamed { from, to } => {
                    remove.insert(from.uid());
                    fetch.push(to);
                }
            }
        }
        let mut tickets = Vec::new();
        let mut cases = Vec::new();
        let mut documents = Vec::new();
        for r in &fetch {
            match r {
                DocRef::Ticket { key } => tickets.push(key.clone()),
                DocRef::TestCase { id } => cases.push(*id),
                DocRef::Document { key } => documents.push(key.clone()),
            }
        }
        let mut docs: Vec<IndexDoc> = Vec::new();
        docs.extend(
            store
                .tickets_by_key(&tickets)
                .await?
                .iter()
                .map(IndexDoc::from_ticket),
        );
        docs.extend(
            store
                .test_cases_by_id(&cases)
                .await?
                .iter()
                .map(|(c, t)| IndexDoc::from_test_case(c, *t)),
        );
        docs.extend(
            store
                .search_documents_by_key(&documents)
                .await?
                .iter()
                .map(IndexDoc::from_search_document),
        );
        let found: HashSet<&str> = docs.iter().map(|d| d.uid.as_str()).collect();
        // Asked for but no longer in the store: deleted at the source.
        for r in &fetch {
            let uid = r.uid();
            if !found.contains(uid.as_str()) {
                remove.insert(uid);
            }
        }
        let writer = self.writer(APPLY_MEMORY, 1)?;
        for uid in remove.iter().chain(docs.iter().map(|d| &d.uid)) {
            writer.delete_term(Term::from_field_text(self.fields.uid, uid));
        }
        for doc in &docs {
            writer
                .add_document(self.to_document(doc))
                .map_err(|e| index_error("cannot add a document", e))?;
        }
        self.commit(writer)?;
        let deleted = remove
            .iter()
            .filter(|u| !found.contains(String::as_str(u)))
            .count();
        Ok(ApplyOutcome {
            upserted: docs.len() as u64,
            deleted: deleted as u64,
        })
    }

    fn compiler<'a>(&self, searcher: &'a Searcher, fuzzy: bool) -> Result<Compiler<'a>> {
        Ok(Compiler {
            searcher,
            fields: self.fields,
            analyzer: self
                .index
                .tokenizer_for_field(self.fields.text)
                .map_err(|e| index_error("no analyzer", e))?,
            fuzzy_distance: if fuzzy { self.fuzzy_distance } else { 0 },
            lean: false,
        })
    }

    /// Runs a search.
    ///
    /// ```no_run
    /// # fn demo(index: &qapms_core::search::SearchIndex) -> qapms_core::Result<()> {
    /// use qapms_core::search::SearchRequest;
    /// let mut request = SearchRequest::new(r#""token refresh" project:PAY -status:done"#);
    /// request.limit = 10;
    /// for hit in index.search(&request)?.hits {
    ///     tracing::info!(key = %hit.key, title = %hit.title, score = hit.score);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let mut parsed = query::parse(&request.query)?;
        let limit = request.limit.clamp(1, MAX_LIMIT);
        if request.offset > MAX_OFFSET {
            return Err(Error::invalid_input(format!(
                "offset {} is too deep; the limit is {MAX_OFFSET}",
                request.offset
            )));
        }
        // Several sources are alternatives (Jira or Testmo), so they join as one AnyOf part,
        // not as filters that must all hold.
        let mut sources: Vec<Clause> = request
            .sources
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| Clause::Filter {
                field: query::FilterField::Source,
                value: s.clone(),
                prefix: false,
            })
            .collect();
        if !sources.is_empty() {
            parsed.parts.push(query::Part {
                negated: false,
                clause: if sources.len() == 1 {
                    sources.remove(0)
                } else {
                    Clause::AnyOf(sources)
                },
            });
        }
        let searcher = self.reader.searcher();
        let mut results = SearchResults {
            query: request.query.clone(),
            total: 0,
            offset: request.offset,
            limit,
            hits: Vec::new(),
            groups: Vec::new(),
            fuzzy: Vec::new(),
            notes: Vec::new(),
        };
        if parsed.parts.is_empty() {
            return Ok(results);
        }
        let Some(mut query) = self.compiler(&searcher, false)?.compile(&parsed) else {
            results
                .notes
                .push("the query has only very common words; add a more specific one".into());
            return Ok(results);
        };
        let mut matched = MatchKind::Text;
        let mut count = count_matches(&searcher, &*query)?;
        if count == 0
            && self.fuzzy_distance > 0
            && has_words(&parsed)
            && let Some(q) = self.compiler(&searcher, true)?.compile(&parsed)
        {
            let n = count_matches(&searcher, &*q)?;
            if n > 0 {
                results.notes.push(format!(
                    "no exact matches; showing matches within {} typo(s)",
                    self.fuzzy_distance
                ));
                query = q;
                count = n;
                matched = MatchKind::Typo;
            }
        }
        match request.grouping {
            Grouping::Interleaved => {
                results.total = count;
                results.hits = self.top(
                    &searcher,
                    &*query,
                    request.offset,
                    limit,
                    request.snippets,
                    matched,
                )?;
            }
            Grouping::BySource => {
                results.total = count;
                results.groups =
                    self.grouped(&searcher, &*query, limit, request.snippets, matched)?;
            }
        }
        if !request.count_total && request.grouping == Grouping::Interleaved {
            results.total = results.hits.len() as u64;
        }
        mark_exact_keys(&parsed, &mut results);
        if request.offset == 0 {
            self.add_fuzzy(&searcher, &parsed, &mut results)?;
        }
        Ok(results)
    }

    fn top(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        offset: usize,
        limit: usize,
        snippets: bool,
        matched: MatchKind,
    ) -> Result<Vec<SearchHit>> {
        let top = searcher
            .search(
                query,
                &TopDocs::with_limit(limit)
                    .and_offset(offset)
                    .order_by_score(),
            )
            .map_err(|e| index_error("search failed", e))?;
        let generators = if snippets && !top.is_empty() {
            Some(self.snippet_generators(searcher, query)?)
        } else {
            None
        };
        top.into_iter()
            .map(|(score, address)| {
                let mut hit = self.hit(searcher, address, score, generators.as_ref())?;
                if hit.matched == MatchKind::Text {
                    hit.matched = matched;
                }
                Ok(hit)
            })
            .collect()
    }

    fn grouped(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
        snippets: bool,
        matched: MatchKind,
    ) -> Result<Vec<SourceGroup>> {
        let mut groups = Vec::new();
        for source in self.sources(searcher) {
            let filtered = BooleanQuery::new(vec![
                (Occur::Must, query.box_clone()),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(self.fields.source, &source),
                            IndexRecordOption::Basic,
                        )),
                        0.0,
                    )),
                ),
            ]);
            let total = count_matches(searcher, &filtered)?;
            if total == 0 {
                continue;
            }
            let hits = self.top(searcher, &filtered, 0, limit, snippets, matched)?;
            groups.push(SourceGroup {
                source,
                total,
                hits,
            });
        }
        groups.sort_by(|a, b| {
            let best = |g: &SourceGroup| g.hits.first().map_or(0.0, |h| h.score);
            best(b)
                .total_cmp(&best(a))
                .then_with(|| a.source.cmp(&b.source))
        });
        Ok(groups)
    }

    /// Every source value in the index.
    fn sources(&self, searcher: &Searcher) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for segment in searcher.segment_readers() {
            let Ok(inverted) = segment.inverted_index(self.fields.source) else {
                continue;
            };
            let Ok(mut stream) = inverted.terms().stream() else {
                continue;
            };
            while stream.advance() {
                if let Ok(s) = std::str::from_utf8(stream.key())
                    && !out.iter().any(|o| o == s)
                {
                    out.push(s.to_owned());
                }
            }
        }
        out.sort();
        out
    }

    fn snippet_generators(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
    ) -> Result<(SnippetGenerator, SnippetGenerator)> {
        // The query's terms are on `text` and `title`; highlight the stored `body` and
        // `title` with the terms of `text`, weighted the way tantivy weights them.
        let mut terms = std::collections::BTreeMap::new();
        let mut seen: HashSet<Term> = HashSet::new();
        query.query_terms(&mut |term, _| {
            if (term.field() == self.fields.text || term.field() == self.fields.title)
                && seen.insert(term.clone())
                && let Some(text) = term.value().as_str()
            {
                let df = searcher.doc_freq(term).unwrap_or(0);
                if df > 0 {
                    terms.insert(text.to_owned(), 1.0 / (1.0 + df as f32));
                }
            }
        });
        let analyzer = self
            .index
            .tokenizer_for_field(self.fields.text)
            .map_err(|e| index_error("no analyzer", e))?;
        let body = SnippetGenerator::new(
            terms.clone(),
            analyzer.clone(),
            self.fields.body,
            SNIPPET_CHARS,
        );
        let title = SnippetGenerator::new(terms, analyzer, self.fields.title, 400);
        Ok((body, title))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        score: f32,
        generators: Option<&(SnippetGenerator, SnippetGenerator)>,
    ) -> Result<SearchHit> {
        let doc: TantivyDocument = searcher
            .doc(address)
            .map_err(|e| index_error("cannot read a document", e))?;
        let f = self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let all = |field| {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let title = text(f.title).unwrap_or_default();
        let (title_snippet, body_snippet) = match generators {
            Some((body_gen, title_gen)) => {
                let body = text(f.body).unwrap_or_default();
                let body = to_snippet(&body_gen.snippet(&body));
                let title = to_snippet(&title_gen.snippet(&title));
                (title, body)
            }
            None => (None, None),
        };
        let updated_at = doc
            .get_first(f.updated)
            .and_then(|v| v.as_datetime())
            .and_then(|d| DateTime::<Utc>::from_timestamp_micros(d.into_timestamp_micros()));
        let fields = text(f.extra)
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        Ok(SearchHit {
            uid: text(f.uid).unwrap_or_default(),
            source: text(f.source).unwrap_or_default(),
            doc_type: text(f.doc_type).unwrap_or_default(),
            key: text(f.key).unwrap_or_default(),
            title,
            project: text(f.project),
            status: text(f.status),
            tags: all(f.tags),
            links: all(f.links),
            url: text(f.url),
            fields,
            updated_at,
            score,
            matched: MatchKind::Text,
            title_snippet,
            body_snippet,
        })
    }

    /// The id table for this searcher's generation, built on first use.
    fn id_table(&self, searcher: &Searcher) -> Result<Arc<IdTable>> {
        let generation = searcher.generation().generation_id();
        if let Some(table) = self
            .ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|t| t.generation == generation)
        {
            return Ok(Arc::clone(table));
        }
        let table = Arc::new(
            IdTable::build(searcher, self.fields)
                .map_err(|e| index_error("cannot read keys", e))?,
        );
        *self.ids.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&table));
        Ok(table)
    }

    /// Near matches of an id-like word, or of the whole text when nothing matched.
    fn add_fuzzy(
        &self,
        searcher: &Searcher,
        parsed: &ParsedQuery,
        results: &mut SearchResults,
    ) -> Result<()> {
        let words = parsed.positive_text();
        let id_like: Vec<&str> = words.iter().copied().filter(|w| looks_like_id(w)).collect();
        let nothing = results.hits.is_empty() && results.groups.is_empty();
        let (needle, titles) = match (id_like.as_slice(), nothing) {
            ([one], _) => ((*one).to_owned(), false),
            (_, true) if !words.is_empty() && words.len() <= 6 => (words.join(" "), true),
            _ => return Ok(()),
        };
        let table = self.id_table(searcher)?;
        let shown: HashSet<String> = results
            .hits
            .iter()
            .chain(results.groups.iter().flat_map(|g| g.hits.iter()))
            .map(|h| h.uid.clone())
            .collect();
        let filters = Filters::of(parsed);
        for (address, score) in table.best(&needle, titles, FUZZY_LIMIT * 4) {
            let mut hit = self.hit(searcher, address, score as f32, None)?;
            if shown.contains(&hit.uid) || !filters.accept(&hit) {
                continue;
            }
            hit.matched = if hit.key.eq_ignore_ascii_case(&needle) {
                MatchKind::ExactKey
            } else {
                MatchKind::FuzzyKey
            };
            results.fuzzy.push(hit);
            if results.fuzzy.len() == FUZZY_LIMIT {
                break;
            }
        }
        Ok(())
    }

    /// A union of the distinct analysed words of `text` on the `text` field.
    fn any_word_of(&self, text: &str) -> Result<Option<Box<dyn Query>>> {
        let mut analyzer = self
            .index
            .tokenizer_for_field(self.fields.text)
            .map_err(|e| index_error("no analyzer", e))?;
        let mut stream = analyzer.token_stream(text);
        let mut seen = HashSet::new();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        while stream.advance() {
            let token = stream.token().text.clone();
            if seen.insert(token.clone()) {
                should.push((
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.text, &token),
                        IndexRecordOption::WithFreqs,
                    )),
                ));
            }
        }
        Ok((!should.is_empty()).then(|| Box::new(BooleanQuery::new(should)) as Box<dyn Query>))
    }

    /// Test cases, Postman requests, failure clusters and other documents that belong to a
    /// ticket: those linking to it first, then those whose text is closest to its summary.
    ///
    /// ```no_run
    /// # fn demo(index: &qapms_core::search::SearchIndex) -> qapms_core::Result<()> {
    /// let key = qapms_core::model::IssueKey::parse("PAY-12")?;
    /// let related = index.related(&key)?;
    /// for case in &related.test_cases {
    ///     tracing::info!(key = %case.key, how = ?case.matched, "likely test case");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn related(&self, ticket: &IssueKey) -> Result<RelatedItems> {
        let searcher = self.reader.searcher();
        let f = self.fields;
        let uid_query = TermQuery::new(
            Term::from_field_text(f.uid, &super::document::ticket_uid(ticket)),
            IndexRecordOption::Basic,
        );
        let found = searcher
            .search(&uid_query, &TopDocs::with_limit(1).order_by_score())
            .map_err(|e| index_error("search failed", e))?;
        let Some((_, address)) = found.first() else {
            return Err(Error::not_found(format!(
                "ticket {ticket} is not in the search index; sync it first"
            )));
        };
        let ticket_hit = self.hit(&searcher, *address, 1.0, None)?;
        let key_lower = ticket.as_str().to_lowercase();
        let not_self = |q: Box<dyn Query>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, q),
                (
                    Occur::MustNot,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.doc_type, TYPE_TICKET),
                        IndexRecordOption::Basic,
                    )),
                ),
            ]))
        };
        let linked_query = not_self(Box::new(TermQuery::new(
            Term::from_field_text(f.links, &key_lower),
            IndexRecordOption::Basic,
        )));
        // Similar: any of the summary's words (BM25 ranks the ones sharing most and rarest).
        let similar = self.any_word_of(&ticket_hit.title)?.map(not_self);
        let mut items = RelatedItems {
            ticket: ticket_hit,
            test_cases: Vec::new(),
            requests: Vec::new(),
            clusters: Vec::new(),
            other: Vec::new(),
        };
        let mut placed: HashSet<String> = HashSet::new();
        let mut place = |items: &mut RelatedItems, hit: SearchHit| {
            if !placed.insert(hit.uid.clone()) {
                return;
            }
            let list = match hit.doc_type.as_str() {
                TYPE_CASE => &mut items.test_cases,
                TYPE_REQUEST => &mut items.requests,
                TYPE_CLUSTER => &mut items.clusters,
                _ => &mut items.other,
            };
            if list.len() < RELATED_LIMIT {
                list.push(hit);
            }
        };
        for mut hit in self.top(
            &searcher,
            &*linked_query,
            0,
            RELATED_LIMIT * 4,
            false,
            MatchKind::Linked,
        )? {
            hit.matched = MatchKind::Linked;
            place(&mut items, hit);
        }
        if let Some(similar) = similar {
            for mut hit in self.top(
                &searcher,
                &*similar,
                0,
                RELATED_LIMIT * 4,
                false,
                MatchKind::Similar,
            )? {
                hit.matched = MatchKind::Similar;
                place(&mut items, hit);
            }
        }
        Ok(items)
    }
}

/// A hit whose key is one of the query's id-like words was named, not just matched: the
/// caller (an editor's hover, a CLI user pasting `C103`) can tell it apart from text hits.
fn mark_exact_keys(parsed: &ParsedQuery, results: &mut SearchResults) {
    let ids: Vec<&str> = parsed
        .positive_text()
        .into_iter()
        .filter(|w| looks_like_id(w))
        .collect();
    if ids.is_empty() {
        return;
    }
    let hits = results
        .hits
        .iter_mut()
        .chain(results.groups.iter_mut().flat_map(|g| g.hits.iter_mut()));
    for hit in hits {
        if ids.iter().any(|id| hit.key.eq_ignore_ascii_case(id)) {
            hit.matched = MatchKind::ExactKey;
        }
    }
}

fn count_matches(searcher: &Searcher, query: &dyn Query) -> Result<u64> {
    searcher
        .search(query, &Count)
        .map(|n| n as u64)
        .map_err(|e| index_error("search failed", e))
}

fn to_snippet(s: &tantivy::snippet::Snippet) -> Option<Snippet> {
    if s.fragment().is_empty() {
        return None;
    }
    Some(Snippet {
        text: s.fragment().to_owned(),
        highlights: s.highlighted().iter().map(|r| (r.start, r.end)).collect(),
    })
}

fn has_words(parsed: &ParsedQuery) -> bool {
    parsed.parts.iter().any(|p| {
        !p.negated
            && matches!(
                p.clause,
                Clause::Word { prefix: false, .. } | Clause::Phrase(_)
            )
    })
}

/// `PAY-12`, `C1234`, `req_42`: letters and digits together, or joined by `-`/`_`/`.`.
fn looks_like_id(word: &str) -> bool {
    let digits = word.chars().any(|c| c.is_ascii_digit());
    let letters = word.chars().any(char::is_alphabetic);
    !word.contains(char::is_whitespace) && digits && letters
}

/// One filter: its field, lowercase value, and whether the value is a prefix.
type FilterTerm = (query::FilterField, String, bool);

/// The filters of a query, checked against fuzzy candidates (which bypass the index).
struct Filters {
    /// Each part: its alternatives (one unless `AnyOf`) and whether it is negated.
    parts: Vec<(Vec<FilterTerm>, bool)>,
}

impl Filters {
    fn of(parsed: &ParsedQuery) -> Self {
        fn filter(clause: &Clause) -> Option<FilterTerm> {
            match clause {
                Clause::Filter {
                    field,
                    value,
                    prefix,
                } => Some((*field, value.trim().to_lowercase(), *prefix)),
                _ => None,
            }
        }
        let parts = parsed
            .parts
            .iter()
            .filter_map(|p| {
                let alternatives: Vec<_> = match &p.clause {
                    Clause::AnyOf(clauses) => clauses.iter().filter_map(filter).collect(),
                    other => filter(other).into_iter().collect(),
                };
                (!alternatives.is_empty()).then_some((alternatives, p.negated))
            })
            .collect();
        Self { parts }
    }

    fn accept(&self, hit: &SearchHit) -> bool {
        self.parts.iter().all(|(alternatives, negated)| {
            let matches = alternatives
                .iter()
                .any(|(field, value, prefix)| Self::matches(hit, *field, value, *prefix));
            matches != *negated
        })
    }

    fn matches(hit: &SearchHit, field: query::FilterField, value: &str, prefix: bool) -> bool {
        use query::FilterField as F;
        let eq = |s: &str| {
            let s = s.to_lowercase();
            if prefix {
                s.starts_with(value)
            } else {
                s == value
            }
        };
        match field {
            F::Source => eq(&hit.source),
            F::DocType => eq(&hit.doc_type),
            F::Project => hit.project.as_deref().is_some_and(eq),
            F::Status => hit.status.as_deref().is_some_and(eq),
            F::Tag => hit.tags.iter().any(|t| eq(t)),
            F::Ticket => hit.links.iter().any(|t| eq(t)),
            F::Key => eq(&hit.key),
            F::Title => hit.title.to_lowercase().contains(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_like_words() {
        assert!(looks_like_id("PAY-12"));
        assert!(looks_like_id("C1234"));
        assert!(!looks_like_id("login"));
        assert!(!looks_like_id("1234"));
    }

    #[test]
    fn snippet_render_skips_bad_ranges() {
        let s = Snippet {
            text: "token refresh".into(),
            highlights: vec![(0, 5), (3, 4), (6, 99)],
        };
        assert_eq!(s.render("[", "]"), "[token] refresh");
    }
}
