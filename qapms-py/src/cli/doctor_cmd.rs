//! `qapms doctor [--json]`: is this setup ready to use, and if not, what to do.
//!
//! It checks, in order, what every other command depends on: the configuration, the
//! credentials (decrypting them), the store (reachable, migrated), each configured
//! integration's `health()` (a cheap authenticated call: ok, unauthorized, unreachable or
//! degraded), the sync state and the search index. A check that cannot run because an earlier
//! one failed is reported as skipped. Each problem comes with a hint.
//!
//! Exit code 1 when any check found a problem; warnings (a degraded integration, an index that
//! will be rebuilt, nothing synced yet) do not fail it. The doctor changes nothing, except
//! that opening the store applies pending migrations, as every command does.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use qapms_core::config::{Config, SplunkMode};
use qapms_core::integrations::{Health, HealthReport, Integration};
use qapms_core::logging::Redactor;
use qapms_core::search::SearchIndex;
use qapms_core::secrets::{self, KeyLookup, Unlocked};
use qapms_core::store::{self, Store};
use serde::Serialize;

use super::{CliError, Context, EXIT_FAILURE, Output, runtime};

#[derive(Debug, Clone, Args)]
pub(crate) struct DoctorArgs {
    /// Print the checks as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Ok,
    Warning,
    Problem,
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Problem => "PROBLEM",
            Self::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    name: String,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    /// For integrations: the health as `health()` classified it.
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
}

impl Check {
    fn new(name: &str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status,
            detail: detail.into(),
            hint: None,
            health: None,
            latency_ms: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

pub(crate) fn run(ctx: &Context, args: &DoctorArgs, out: &mut Output) -> Result<i32, CliError> {
    let mut checks = Vec::new();
    let loaded = match qapms_core::config::load(&ctx.load_options()) {
        Ok(loaded) => {
            let place = loaded.path.as_ref().map_or_else(
                || "no qapms.yaml found; running on defaults".to_owned(),
                |p| p.display().to_string(),
            );
            let warnings = loaded.warnings.len();
            let mut check = Check::new(
                "config",
                if warnings == 0 {
                    Status::Ok
                } else {
                    Status::Warning
                },
                if warnings == 0 {
                    place
                } else {
                    format!("{place} ({warnings} warnings)")
                },
            );
            if warnings > 0 {
                check = check.hint("run `qapms config validate` to see them");
            }
            checks.push(check);
            Some(loaded)
        }
        Err(errors) => {
            checks.push(
                Check::new("config", Status::Problem, errors.to_string()).hint(
                    "fix the file at the line and column shown, then run `qapms doctor` again",
                ),
            );
            None
        }
    };
    if let Some(loaded) = &loaded {
        loaded_checks(ctx, loaded, &mut checks)?;
    }
    let problems = checks
        .iter()
        .filter(|c| c.status == Status::Problem)
        .count();
    if args.json {
        let json = serde_json::to_string_pretty(&serde_json::json!({
            "ok": problems == 0,
            "checks": checks,
        }))
        .map_err(|e| CliError::new(format!("cannot encode the checks: {e}")))?;
        out.line(&json);
    } else {
        let width = checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        out.line(&format!("{:<width$}  {:<8} DETAIL", "CHECK", "STATUS"));
        for c in &checks {
            out.line(&format!(
                "{:<width$}  {:<8} {}",
                c.name,
                c.status.label(),
                c.detail
            ));
            if let Some(hint) = &c.hint {
                out.line(&format!("{:<width$}  {:<8} hint: {hint}", "", ""));
            }
        }
        out.line(&if problems == 0 {
            "no problems found".to_owned()
        } else {
            format!("{problems} problem(s) found")
        });
    }
    Ok(if problems == 0 { 0 } else { EXIT_FAILURE })
}

/// Everything after the config loaded: credentials, store, integrations, sync, index.
fn loaded_checks(
    ctx: &Context,
    loaded: &qapms_core::config::Loaded,
    checks: &mut Vec<Check>,
) -> Result<(), CliError> {
    let unlocked = match secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &ctx.env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        },
        &ctx.redactor,
    ) {
        Ok(unlocked) => {
            checks.push(Check::new(
                "secrets",
                Status::Ok,
                format!("{} credentials readable", unlocked.len()),
            ));
            Some(unlocked)
        }
        Err(err) => {
            checks.push(Check::new("secrets", Status::Problem, err.to_string()).hint(
                "set QAPMS_MASTER_KEY or QAPMS_KEY_FILE (see `qapms secrets --help`), or re-encrypt the value",
            ));
            None
        }
    };
    let rt = runtime()?;
    rt.block_on(async {
        let store = store_checks(ctx, loaded, checks).await;
        match &unlocked {
            Some(unlocked) => {
                let lookup = KeyLookup {
                    env: &ctx.env,
                    config_dir: &loaded.paths.config_dir,
                    passphrase: None,
                };
                integration_checks(
                    &loaded.config,
                    unlocked,
                    &ctx.redactor,
                    (&loaded.paths.data_dir, &lookup),
                    checks,
                )
                .await;
            }
            None => checks.push(Check::new(
                "integrations",
                Status::Skipped,
                "the credentials could not be read",
            )),
        }
        if let Some(store) = &store {
            sync_check(&loaded.config, store.as_ref(), checks).await;
            store.close().await;
        }
    });
    let dir: PathBuf = loaded
        .config
        .search
        .index_dir
        .clone()
        .map_or_else(|| loaded.paths.data_dir.join("index"), |d| ctx.cwd.join(d));
    checks.push(match SearchIndex::probe(&dir) {
        None => Check::new("search index", Status::Ok, dir.display().to_string()),
        Some(reason) => Check::new(
            "search index",
            Status::Warning,
            format!("{}: {reason}", dir.display()),
        )
        .hint(
            "the next `qapms search` or `qapms sync` rebuilds it; or run `qapms search --reindex`",
        ),
    });
    Ok(())
}

async fn store_checks(
    ctx: &Context,
    loaded: &qapms_core::config::Loaded,
    checks: &mut Vec<Check>,
) -> Option<Arc<dyn Store>> {
    let _ = ctx;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let store = match store::open(&url).await {
        Ok(store) => store,
        Err(err) => {
            let check = Check::new("store", Status::Problem, err.to_string());
            checks.push(match (err.context_value("store_schema"), err.context_value("known_schema")) {
                (Some(found), Some(known)) => check.hint(format!(
                    "the store has schema migration {found} but this qapms knows migrations up to {known}: \
                     upgrade qapms (`pip install -U qapms`) to the version that migrated it, or set \
                     `store.url` to another database"
                )),
                _ => check.hint(
                    "check `store.url`; for PostgreSQL, that the server runs and the database exists",
                ),
            });
            return None;
        }
    };
    match store.info().await {
        Ok(info) => checks.push(schema_check(&info)),
        Err(err) => checks.push(Check::new("store", Status::Problem, err.to_string())),
    }
    Some(store)
}

/// The store's schema version against the newest migration this binary knows.
fn schema_check(info: &store::StoreInfo) -> Check {
    let Some(known) = store::known_schema_version(info.backend) else {
        return Check::new(
            "store",
            Status::Problem,
            format!("this qapms was built without the {} backend", info.backend),
        );
    };
    let place = format!("{} at {}", info.backend, info.location);
    match info.schema_version.cmp(&known) {
        std::cmp::Ordering::Equal => Check::new(
            "store",
            Status::Ok,
            format!(
                "{place}, schema version {}, the newest this qapms knows",
                info.schema_version
            ),
        ),
        std::cmp::Ordering::Less => Check::new(
            "store",
            Status::Problem,
            format!(
                "{place}, schema version {} but this qapms knows up to {known}",
                info.schema_version
            ),
        )
        .hint("the migrations did not all apply: run `qapms store migrate` and read its error"),
        std::cmp::Ordering::Greater => Check::new(
            "store",
            Status::Problem,
            format!(
                "{place}, schema version {} is newer than this qapms knows ({known})",
                info.schema_version
            ),
        )
        .hint(
            "a newer qapms migrated this store: upgrade qapms (`pip install -U qapms`), or set \
             `store.url` to another database",
        ),
    }
}

/// Builds each configured integration's client and asks its health.
async fn integration_checks(
    config: &Config,
    unlocked: &Unlocked,
    redactor: &Redactor,
    (data_dir, lookup): (&std::path::Path, &KeyLookup<'_>),
    checks: &mut Vec<Check>,
) {
    use qapms_core::integrations::{grafana, jira, postman, splunk, testmo};
    let integrations = &config.integrations;
    let mut clients: Vec<(&str, qapms_core::Result<Box<dyn Integration>>)> = Vec::new();
    let r = || Some(redactor.clone());
    if let Some(c) = integrations.jira.as_ref().filter(|c| c.enabled) {
        clients.push((
            "jira",
            jira::Jira::from_config_in(c, unlocked, r(), data_dir, lookup)
                .map(|c| Box::new(c) as Box<dyn Integration>),
        ));
    }
    if let Some(c) = integrations.testmo.as_ref().filter(|c| c.enabled) {
        clients.push((
            "testmo",
            testmo::Testmo::from_config(c, unlocked, r())
                .map(|c| Box::new(c) as Box<dyn Integration>),
        ));
    }
    if let Some(c) = integrations.postman.as_ref().filter(|c| c.enabled) {
        clients.push((
            "postman",
            postman::Postman::from_config(c, unlocked, r())
                .map(|c| Box::new(c) as Box<dyn Integration>),
        ));
    }
    if let Some(c) = integrations.splunk.as_ref().filter(|c| c.enabled) {
        if c.mode == SplunkMode::Rest {
            clients.push((
                "splunk",
                splunk::Splunk::from_config(c, unlocked, r())
                    .map(|c| Box::new(c) as Box<dyn Integration>),
            ));
        } else {
            checks.push(Check::new(
                "splunk",
                Status::Ok,
                format!(
                    "manual mode: {} templates, no connection needed",
                    c.templates.len()
                ),
            ));
        }
    }
    if let Some(c) = integrations.grafana.as_ref().filter(|c| c.enabled) {
        clients.push((
            "grafana",
            grafana::Grafana::from_config(c, unlocked, r())
                .map(|c| Box::new(c) as Box<dyn Integration>),
        ));
    }
    if clients.is_empty() && !checks.iter().any(|c| c.name == "splunk") {
        checks.push(
            Check::new("integrations", Status::Warning, "none configured")
                .hint("add jira, testmo, postman, splunk or grafana under `integrations:`"),
        );
        return;
    }
    // Asked concurrently: a slow one does not hold up the others.
    let asks = clients.into_iter().map(|(name, client)| async move {
        match client {
            Ok(client) => {
                let endpoint = client.endpoint();
                let report = client.health().await;
                health_check(name, &endpoint, &report)
            }
            Err(err) => Check::new(name, Status::Problem, err.to_string())
                .hint(format!("fix `integrations.{name}` in qapms.yaml")),
        }
    });
    checks.extend(futures::future::join_all(asks).await);
}

fn health_check(name: &str, endpoint: &str, report: &HealthReport) -> Check {
    let latency = u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX);
    let detail = match &report.detail {
        Some(d) => format!("{endpoint}: {d}"),
        None => format!("{endpoint} answered in {latency} ms"),
    };
    let (status, hint) = match report.health {
        Health::Ok => (Status::Ok, None),
        Health::Unauthorized => (
            Status::Problem,
            Some(format!(
                "the credentials were refused: renew the token in `integrations.{name}` (expired or revoked?) and check its permissions"
            )),
        ),
        Health::Unreachable => (
            Status::Problem,
            Some(format!(
                "no answer: check `integrations.{name}.base_url`, the network, VPN or proxy"
            )),
        ),
        Health::Degraded => (
            Status::Warning,
            Some("it answered with an error, a rate limit or slowly; try again later".to_owned()),
        ),
    };
    let mut check = Check::new(name, status, detail);
    check.hint = hint;
    check.health = Some(report.health);
    check.latency_ms = Some(latency);
    check
}

/// When each configured integration last synced.
async fn sync_check(config: &Config, store: &dyn Store, checks: &mut Vec<Check>) {
    let integrations = &config.integrations;
    let configured = [
        (
            "jira",
            integrations.jira.as_ref().is_some_and(|c| c.enabled),
        ),
        (
            "testmo",
            integrations.testmo.as_ref().is_some_and(|c| c.enabled),
        ),
        (
            "postman",
            integrations.postman.as_ref().is_some_and(|c| c.enabled),
        ),
        (
            "splunk",
            integrations.splunk.as_ref().is_some_and(|c| c.enabled),
        ),
        (
            "grafana",
            integrations.grafana.as_ref().is_some_and(|c| c.enabled),
        ),
    ];
    let scopes = match store.sync_scopes(None).await {
        Ok(scopes) => scopes,
        Err(err) => {
            checks.push(Check::new("sync", Status::Problem, err.to_string()));
            return;
        }
    };
    let mut never = Vec::new();
    let mut parts = Vec::new();
    for (name, enabled) in configured {
        if !enabled {
            continue;
        }
        let mine: Vec<_> = scopes.iter().filter(|s| s.integration == name).collect();
        match mine.iter().map(|s| s.updated_at).max() {
            Some(last) => parts.push(format!(
                "{name} {} ({} items)",
                last.format("%Y-%m-%d %H:%M UTC"),
                mine.iter().map(|s| s.items).sum::<u64>()
            )),
            None => never.push(name),
        }
    }
    if parts.is_empty() && never.is_empty() {
        return;
    }
    let mut detail = parts.join(", ");
    if !never.is_empty() {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        let _ = write!(detail, "never synced: {}", never.join(", "));
    }
    let mut check = Check::new(
        "sync",
        if never.is_empty() {
            Status::Ok
        } else {
            Status::Warning
        },
        detail,
    );
    if !never.is_empty() {
        check = check.hint("run `qapms sync`");
    }
    checks.push(check);
}
