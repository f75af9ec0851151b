//! `qapms search QUERY [--source S]... [--limit N] [--offset N] [--group] [--json]`,
//! `qapms search --related KEY`, and `qapms search --reindex`.
//!
//! The index lives in `search.index_dir` (default `<data_dir>/index`). Opening it rebuilds it
//! from the store when it is missing, damaged or from another version; the command then says
//! so on stderr, with a progress bar while it builds (drawn only on a terminal), so scripts
//! reading stdout see only results.
//!
//! With `search.embeddings` configured, results are re-ranked by meaning
//! (`qapms_core::search::hybrid`), and `--reindex` also embeds the documents whose vector is
//! missing or stale, so a fresh install gets semantic ranking without waiting for a sync.
//! Semantic ranking is an extra: a key that cannot be unlocked, an endpoint that is down, slow
//! or rate-limited, all leave the keyword ranking in place with a note on stderr, never a
//! failed search or rebuild.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use qapms_core::config::Loaded;
use qapms_core::model::IssueKey;
use qapms_core::search::embed::{EmbedOutcome, EmbedProgress, EmbeddingClient, embed_pending};
use qapms_core::search::hybrid::{DEFAULT_TOP_K, HybridOptions, hybrid_search};
use qapms_core::search::{
    Grouping, IndexProgress, IndexStatus, RebuildReason, RelatedItems, SearchHit, SearchIndex,
    SearchRequest, SearchResults,
};
use qapms_core::store;

use super::{CliError, Context, EXIT_USAGE, Output, runtime};

#[derive(Debug, Clone, Args)]
pub(crate) struct SearchArgs {
    /// The query: words (all must match), "phrases", prefix*, -exclusions and filters such as
    /// source:testmo project:PAY status:"In Progress" tag:smoke ticket:PAY-12.
    #[arg(value_name = "QUERY")]
    query: Option<String>,
    /// Only these sources (jira, testmo, postman, pytest, junit, splunk, workflow, cluster).
    #[arg(long = "source", value_name = "SOURCE")]
    sources: Vec<String>,
    /// Results per page.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Results to skip (for the next page).
    #[arg(long, default_value_t = 0, value_name = "N")]
    offset: usize,
    /// Group results by source instead of interleaving them.
    #[arg(long)]
    group: bool,
    /// What belongs to a ticket: its test cases, requests and failure clusters.
    #[arg(long, value_name = "KEY", conflicts_with = "query")]
    related: Option<String>,
    /// Rebuild the index from the store, with a progress bar.
    #[arg(long)]
    reindex: bool,
    /// Print results as JSON.
    #[arg(long)]
    json: bool,
}

fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "indexing {bar:30} {pos}/{len} documents ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    bar
}

/// What `--reindex --json` prints: the index status, and what embedding did when configured.
#[derive(serde::Serialize)]
struct Reindexed<'a> {
    #[serde(flatten)]
    status: &'a IndexStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    embeddings: Option<&'a EmbedOutcome>,
}

fn report(bar: &ProgressBar, p: IndexProgress) {
    if let Some(total) = p.total {
        bar.set_length(total.max(p.done));
    }
    bar.set_position(p.done);
}

/// The configured embeddings client and its mix, or `None` (keyword ranking) when none is
/// configured or it cannot be built; the latter is said on stderr.
fn embedder(
    ctx: &Context,
    loaded: &Loaded,
    out: &mut Output,
) -> Option<(EmbeddingClient, HybridOptions)> {
    let config = loaded.config.search.embeddings.as_ref()?;
    let built = ctx
        .unlock(loaded)
        .map_err(|e| e.message)
        .and_then(|unlocked| {
            EmbeddingClient::from_config(config, &unlocked, Some(ctx.redactor.clone()))
                .map_err(|e| e.to_string())
        });
    match built {
        Ok(client) => Some((
            client,
            HybridOptions {
                weight: config.hybrid_weight,
                top_k: DEFAULT_TOP_K,
            },
        )),
        Err(message) => {
            out.note(&format!(
                "warning: semantic ranking is off ({message}); results are ranked by keywords"
            ));
            None
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "open, query (hybrid or keyword), then print in the chosen format, in reading order"
)]
pub(crate) fn run(ctx: &Context, args: &SearchArgs, out: &mut Output) -> Result<i32, CliError> {
    if args.query.is_none() && args.related.is_none() && !args.reindex {
        return Err(CliError {
            message: "give a query, --related KEY or --reindex (see `qapms search --help`)"
                .to_owned(),
            code: EXIT_USAGE,
        });
    }
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let dir: PathBuf = loaded
        .config
        .search
        .index_dir
        .clone()
        .map_or_else(|| loaded.paths.data_dir.join("index"), |d| ctx.cwd.join(d));
    let default_limit = loaded.config.search.default_limit as usize;
    let fuzzy = loaded.config.search.fuzzy_max_distance;
    let interactive = std::io::stderr().is_terminal() && !args.json;
    let semantic = if args.query.is_some() || args.reindex {
        embedder(ctx, &loaded, out)
    } else {
        None
    };
    let rt = runtime()?;
    rt.block_on(async {
        let store = store::open(&url).await?;
        let bar = progress_bar(interactive);
        let on_progress = |p: IndexProgress| report(&bar, p);
        let opened = if args.reindex {
            match SearchIndex::open_dir(&dir) {
                Ok((index, _)) => {
                    index
                        .rebuild(store.as_ref(), &on_progress)
                        .await
                        .map(|documents| {
                            let status = IndexStatus::Rebuilt {
                                reason: RebuildReason::Requested,
                                documents,
                            };
                            (index, status)
                        })
                }
                Err(e) => Err(e),
            }
        } else {
            SearchIndex::open(&dir, store.as_ref(), &on_progress).await
        };
        bar.finish_and_clear();
        // The store stays open for the semantic step, which reads the stored vectors.
        let answered = async {
            let (index, status) = opened?;
            let index = index.with_fuzzy_distance(fuzzy);
            match &status {
                IndexStatus::Rebuilt {
                    reason: RebuildReason::Requested,
                    documents,
                } => out.note(&format!(
                    "search index rebuilt: {documents} documents in {}",
                    dir.display()
                )),
                IndexStatus::Rebuilt { reason, documents } => out.note(&format!(
                    "search index rebuilt ({reason}): {documents} documents"
                )),
                IndexStatus::Ready { .. } => {}
            }
            if let Some(key) = &args.related {
                let key = IssueKey::parse(key)?;
                let related = index.related(&key)?;
                if args.json {
                    out.line(&to_json(&related)?);
                } else {
                    print_related(out, &related);
                }
            } else if let Some(query) = &args.query {
                let request = SearchRequest {
                    sources: args.sources.clone(),
                    offset: args.offset,
                    limit: args.limit.unwrap_or(default_limit),
                    grouping: if args.group {
                        Grouping::BySource
                    } else {
                        Grouping::Interleaved
                    },
                    ..SearchRequest::new(query.clone())
                };
                let results = match &semantic {
                    Some((client, options)) => {
                        hybrid_search(&index, store.as_ref(), Some(client), &request, *options)
                            .await?
                    }
                    None => index.search(&request)?,
                };
                if args.json {
                    // The notes (a degraded semantic step, tolerated typos) are in the JSON
                    // too; stderr tells the person running the script.
                    for note in &results.notes {
                        out.note(note);
                    }
                    out.line(&to_json(&results)?);
                } else {
                    print_results(out, &results, std::io::stdout().is_terminal());
                }
            } else {
                let embedded = match &semantic {
                    Some((client, _)) => {
                        Some(embed_all(store.as_ref(), client, interactive, out).await?)
                    }
                    None => None,
                };
                if args.json {
                    out.line(&to_json(&Reindexed {
                        status: &status,
                        embeddings: embedded.as_ref(),
                    })?);
                }
            }
            Ok::<i32, CliError>(0)
        }
        .await;
        store.close().await;
        answered
    })
}

/// Embeds what `--reindex` indexed and has no current vector, with a progress bar; an endpoint
/// failure ends the pass with a warning (the next `--reindex` or sync resumes it).
async fn embed_all(
    store: &dyn store::Store,
    client: &EmbeddingClient,
    interactive: bool,
    out: &mut Output,
) -> Result<EmbedOutcome, CliError> {
    let bar = if interactive {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("embedding {spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let on_progress = |p: EmbedProgress| {
        bar.set_message(format!(
            "{} embedded of {} looked at",
            p.embedded, p.scanned
        ));
    };
    let outcome = embed_pending(store, client, &on_progress).await;
    bar.finish_and_clear();
    let outcome = outcome?;
    match &outcome.warning {
        Some(warning) => out.note(&format!(
            "warning: embedding stopped early ({warning}); {} documents embedded, search ranks \
             the rest by keywords until the next --reindex or sync",
            outcome.embedded
        )),
        None => out.note(&format!(
            "embedded {} documents with {} ({} already current)",
            outcome.embedded,
            client.model(),
            outcome.unchanged
        )),
    }
    Ok(outcome)
}

fn to_json(value: &impl serde::Serialize) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|e| CliError::new(format!("cannot write JSON: {e}")))
}

fn print_hit(out: &mut Output, hit: &SearchHit, color: bool) {
    let (open, close) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let title = hit
        .title_snippet
        .as_ref()
        .map_or_else(|| hit.title.clone(), |s| s.render(open, close));
    let status = hit
        .status
        .as_deref()
        .map(|s| format!("  [{s}]"))
        .unwrap_or_default();
    out.line(&format!("{:<9}{}  {title}{status}", hit.source, hit.key));
    if let Some(snippet) = &hit.body_snippet {
        let text = snippet.render(open, close).replace('\n', " ");
        out.line(&format!("         {text}"));
    }
    if let Some(url) = &hit.url {
        out.line(&format!("         {url}"));
    }
}

fn print_results(out: &mut Output, results: &SearchResults, color: bool) {
    for note in &results.notes {
        out.note(note);
    }
    if results.groups.is_empty() {
        if results.hits.is_empty() {
            out.line(&format!("no results for {:?}", results.query));
        } else {
            out.line(&format!(
                "{} results for {:?} (showing {}-{})",
                results.total,
                results.query,
                results.offset + 1,
                results.offset + results.hits.len()
            ));
        }
        for hit in &results.hits {
            print_hit(out, hit, color);
        }
    } else {
        for group in &results.groups {
            out.line(&format!("== {} ({} results)", group.source, group.total));
            for hit in &group.hits {
                print_hit(out, hit, color);
            }
        }
    }
    if !results.fuzzy.is_empty() {
        out.line("close matches:");
        for hit in &results.fuzzy {
            print_hit(out, hit, color);
        }
    }
}

fn print_related(out: &mut Output, related: &RelatedItems) {
    out.line(&format!("{}  {}", related.ticket.key, related.ticket.title));
    for (name, hits) in [
        ("test cases", &related.test_cases),
        ("requests", &related.requests),
        ("failure clusters", &related.clusters),
        ("other", &related.other),
    ] {
        if hits.is_empty() {
            continue;
        }
        out.line(&format!("== {name}"));
        for hit in hits {
            out.line(&format!(
                "{:<9}{}  {}  ({:?})",
                hit.source, hit.key, hit.title, hit.matched
            ));
        }
    }
}
