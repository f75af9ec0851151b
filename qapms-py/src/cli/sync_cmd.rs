//! `qapms sync [--only jira,testmo,...] [--full] [--json]`.
//!
//! Syncs every configured integration into the store and keeps the search index current
//! (`qapms_core::sync`). On a terminal each integration gets a progress line that counts what
//! it read and wrote; elsewhere one line per integration is printed to stderr when it ends, so
//! CI logs stay short. The summary (or, with `--json`, the whole report) goes to stdout. Ctrl-C
//! stops the sync between batches: everything stored so far stays, and the next run resumes.
//!
//! Exit code 1 when any integration failed or was cancelled, or the index update failed.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use qapms_core::search::{IndexProgress, IndexStatus, SearchIndex};
use qapms_core::secrets::{self, KeyLookup};
use qapms_core::store;
use qapms_core::sync::{CancelToken, SyncEvent, SyncOptions, SyncOutcome, SyncReport, Syncer};

use super::{CliError, Context, EXIT_FAILURE, Output, runtime};

#[derive(Debug, Clone, Args)]
pub(crate) struct SyncArgs {
    /// Only these integrations, comma-separated: jira, testmo, postman, splunk, grafana.
    #[arg(
        long,
        alias = "integration",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    only: Vec<String>,
    /// Read everything again and check for deletions, ignoring cursors.
    #[arg(long)]
    full: bool,
    /// Leave the search index alone (the next search rebuilds it from the store).
    #[arg(long)]
    no_index: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Progress lines, one per integration, drawn on a terminal; elsewhere (CI logs) a plain
/// stderr line at most every few seconds, unless the output is JSON.
struct Bars {
    multi: MultiProgress,
    lines: RwLock<Vec<(String, ProgressBar)>>,
    interactive: bool,
    plain: bool,
    last_line: RwLock<Option<Instant>>,
    /// Warnings of the embedding passes, printed after the report.
    warnings: RwLock<Vec<String>>,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Bars {
    fn new(interactive: bool, plain: bool) -> Self {
        Self {
            multi: MultiProgress::new(),
            lines: RwLock::new(Vec::new()),
            interactive,
            plain: plain && !interactive,
            last_line: RwLock::new(None),
            warnings: RwLock::new(Vec::new()),
        }
    }

    fn plain_line(&self, text: &str, force: bool) {
        if !self.plain {
            return;
        }
        let mut last = self
            .last_line
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if force || last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
            *last = Some(Instant::now());
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }

    fn bar(&self, integration: &str) -> Option<ProgressBar> {
        if !self.interactive {
            return None;
        }
        let mut bars = self.lines.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, bar)) = bars.iter().find(|(n, _)| n == integration) {
            return Some(bar.clone());
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix:<8} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_prefix(integration.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bars.push((integration.to_owned(), bar.clone()));
        Some(bar)
    }

    fn on_event(&self, event: &SyncEvent) {
        match event {
            SyncEvent::Started { integration } => {
                if let Some(bar) = self.bar(integration) {
                    bar.set_message("starting");
                }
                self.plain_line(&format!("{integration}: syncing"), true);
            }
            SyncEvent::Progress {
                integration,
                scope,
                counts,
            } => {
                let text = format!(
                    "{scope}: {} read, {} written, {} deleted",
                    counts.seen, counts.written, counts.deleted
                );
                self.plain_line(&format!("{integration}: {text}"), false);
                if let Some(bar) = self.bar(integration) {
                    bar.set_message(text);
                }
            }
            SyncEvent::Finished { report } => {
                if let Some(bar) = self.bar(&report.integration) {
                    bar.finish_and_clear();
                }
            }
            SyncEvent::Indexed { .. } => {}
            SyncEvent::Embedded {
                integration,
                embedded,
                warning,
            } => {
                if *embedded > 0 {
                    self.plain_line(
                        &format!("{integration}: {embedded} documents embedded"),
                        false,
                    );
                }
                if let Some(warning) = warning {
                    let mut warnings = self
                        .warnings
                        .write()
                        .unwrap_or_else(PoisonError::into_inner);
                    if !warnings.contains(warning) {
                        warnings.push(warning.clone());
                    }
                }
            }
        }
    }
}

fn summary_line(r: &qapms_core::sync::IntegrationReport) -> String {
    let c = &r.counts;
    let outcome = match r.outcome {
        SyncOutcome::Ok => "ok",
        SyncOutcome::Failed => "FAILED",
        SyncOutcome::Cancelled => "cancelled",
    };
    let mut line = format!(
        "{:<8} {outcome:<9} read {}, written {}, unchanged {}, deleted {}, renamed {} ({:.1} s)",
        r.integration,
        c.seen,
        c.written,
        c.unchanged,
        c.deleted,
        c.renamed,
        r.elapsed_ms as f64 / 1000.0
    );
    if c.kept > 0 {
        let _ = write!(
            line,
            "; {} dropped test cases kept for their results",
            c.kept
        );
    }
    if let Some(error) = &r.error {
        let _ = write!(line, "\n         {error}");
    }
    line
}

fn print_report(out: &mut Output, report: &SyncReport) {
    for r in &report.integrations {
        out.line(&summary_line(r));
    }
    if let Some(index) = &report.index {
        match &index.error {
            None => out.line(&format!(
                "search index: {} documents updated, {} removed",
                index.upserted, index.deleted
            )),
            Some(error) => out.line(&format!("search index: FAILED: {error}")),
        }
    }
}

pub(crate) fn run(ctx: &Context, args: &SyncArgs, out: &mut Output) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let unlocked = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &ctx.env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        },
        &ctx.redactor,
    )?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let dir: PathBuf = loaded
        .config
        .search
        .index_dir
        .clone()
        .map_or_else(|| loaded.paths.data_dir.join("index"), |d| ctx.cwd.join(d));
    let interactive = std::io::stderr().is_terminal() && !args.json;
    let rt = runtime()?;
    rt.block_on(async {
        let store = store::open(&url).await?;
        let lookup = KeyLookup {
            env: &ctx.env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        };
        let mut syncer = Syncer::from_config_in(
            store.clone(),
            &loaded.config,
            &unlocked,
            Some(&ctx.redactor),
            Some((&loaded.paths.data_dir, &lookup)),
        )
        .options(SyncOptions {
            only: args.only.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
            full: args.full,
            ..SyncOptions::default()
        });
        if syncer.integrations().is_empty() && args.only.is_empty() {
            store.close().await;
            return Err(CliError::new(
                "no integration is configured: add one under `integrations:` in qapms.yaml",
            ));
        }
        if !args.no_index {
            let (index, status) = SearchIndex::open(&dir, store.as_ref(), &|_: IndexProgress| {})
                .await?;
            if let IndexStatus::Rebuilt { reason, documents } = &status {
                out.note(&format!("search index rebuilt ({reason}): {documents} documents"));
            }
            syncer = syncer.index(Arc::new(index.with_fuzzy_distance(
                loaded.config.search.fuzzy_max_distance,
            )));
        }
        let bars = Bars::new(interactive, !args.json);
        let cancel = CancelToken::new();
        let on_event = |event: SyncEvent| bars.on_event(&event);
        let report = {
            let sync = syncer.run(&on_event, &cancel);
            tokio::pin!(sync);
            tokio::select! {
                report = &mut sync => report,
                _ = tokio::signal::ctrl_c() => {
                    out.note("interrupted: stopping after the current batch (Ctrl-C again to abort)");
                    cancel.cancel();
                    sync.await
                }
            }
        };
        store.close().await;
        for warning in bars
            .warnings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            out.note(&format!("warning: {warning}"));
        }
        if args.json {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| CliError::new(format!("cannot encode the report: {e}")))?;
            out.line(&json);
        } else {
            print_report(out, &report);
        }
        Ok(if report.is_ok() { 0 } else { EXIT_FAILURE })
    })
}
