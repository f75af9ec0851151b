//! The `qapms-server` binary: parse the command line, load the configuration, open the store,
//! and serve, or run an admin command (`migrate`, `users …`, `tokens …`). Everything testable
//! lives in the library (`qapms_server::app`, `serve`, `admin`).
//!
//! Passwords are never taken from the command line (argv is visible to every local user in
//! `ps`): they are prompted for without echo, or read from stdin with `--password-stdin`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use qapms_core::ErrorKind;
use qapms_core::config::UserConfig;
use qapms_core::config::{self, Env, LoadOptions};
use qapms_core::integrations::jira::Jira;
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor};
use qapms_core::search::embed::EmbeddingClient;
use qapms_core::search::hybrid::{DEFAULT_TOP_K, HybridOptions};
use qapms_core::search::{IndexStatus, SearchIndex};
use qapms_core::secrets::{self, KeyLookup};
use qapms_core::store::{self, Store};
use qapms_core::sync::Syncer;
use qapms_core::workflow::ActionClients;
use qapms_server::admin::{self, NewUser};
use qapms_server::auth::{AuthSettings, SessionKey};
use qapms_server::monitor::{Monitored, Scheduler};
use qapms_server::{AppState, SearchService, ServerOptions};

/// The qapms dashboard server.
#[derive(Debug, Parser)]
#[command(name = "qapms-server", version, about)]
struct Cli {
    /// Address and port to listen on. Anything but loopback needs at least one configured user.
    #[arg(long, default_value = "127.0.0.1:8080", global = true)]
    bind: SocketAddr,
    #[arg(
        long,
        help = "Path of qapms.yaml (default: $QAPMS_CONFIG, else ./qapms.yaml or a parent's)",
        global = true
    )]
    config: Option<PathBuf>,
    #[arg(
        long,
        help = "Profile overlay to apply (default: $QAPMS_PROFILE)",
        global = true
    )]
    profile: Option<String>,
    #[arg(
        long,
        global = true,
        help = "Log format: pretty or json (default: logging.format from the config, else pretty)"
    )]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard and the API (the default).
    Serve {
        /// Mark the session cookie `Secure` (set this when TLS is terminated in front).
        #[arg(long)]
        secure_cookies: bool,
        /// Serve a generated demo workspace (a fresh SQLite store in the data directory, 90
        /// days of history); the demo login is printed at start-up.
        #[arg(long)]
        demo: bool,
        /// The demo's random seed: the same seed gives the same workspace.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Fill the configured store with generated history (for load benchmarks).
    Seed {
        /// How many QAs (about 20 time entries each per day).
        #[arg(long, default_value_t = 100)]
        qas: usize,
        /// How many days of history, ending today.
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Skip the pattern analysis at the end.
        #[arg(long)]
        no_analyze: bool,
    },
    /// Dashboard rollups.
    #[command(subcommand)]
    Rollups(RollupsCommand),
    /// Apply the store's migrations and exit.
    Migrate,
    /// Manage dashboard users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens for scripts.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Debug, Subcommand)]
enum RollupsCommand {
    /// Recompute every daily rollup from the raw tables (time entries, results, workflows).
    Rebuild,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user; the password is prompted for (or read from stdin).
    Add {
        name: String,
        /// One of `qa`, `pm`, `po`, `tech_lead`, `qa_manager` or `admin`.
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password; signs them out everywhere.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user; signs them out everywhere.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create a token for a user; it is printed once.
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label unique among the user's tokens.
        #[arg(long)]
        name: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by id.
    Revoke { id: String },
    /// List tokens (without their values).
    List {
        #[arg(long)]
        user: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the binary's one place to tell the user why it stopped"
)]
fn fail(message: &str) -> ExitCode {
    eprintln!("qapms-server: {message}");
    ExitCode::FAILURE
}

/// What every command starts from: the configuration, logging, and the unlocked credentials.
struct Started {
    loaded: config::Loaded,
    redactor: Redactor,
    credentials: qapms_core::secrets::Unlocked,
    _log_guard: logging::LogGuard,
}

/// Loads the configuration, starts logging and unlocks the credentials.
fn start(cli: &Cli) -> Result<Started, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let env = Env::from_process_with_dotenv(&cwd).map_err(|e| e.to_string())?;
    let profile = cli
        .profile
        .clone()
        .or_else(|| env.get_non_empty("QAPMS_PROFILE").map(str::to_owned));
    let loaded = config::load(&LoadOptions {
        path: cli.config.clone(),
        profile,
        cwd,
        env: env.clone(),
    })
    .map_err(|errors| format!("invalid configuration:\n{errors}"))?;

    let redactor = Redactor::new();
    let log_guard = logging::init(
        &LogOptions {
            format: cli.log_format.unwrap_or(loaded.config.logging.format),
            filter: loaded.config.logging.level.as_filter().to_owned(),
            dir: Some(loaded.paths.log_dir.clone()),
            file_prefix: "qapms-server".to_owned(),
            retention_days: loaded.config.logging.retention_days,
            stderr: true,
        },
        redactor.clone(),
    )
    .map_err(|e| e.to_string())?;
    // Credentials are decrypted (and registered with the log redactor) before anything else
    // runs, so a wrong key stops start-up with the key path instead of failing a later call.
    // A server never prompts: a key file's passphrase comes from QAPMS_KEY_PASSPHRASE.
    let credentials = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        },
        &redactor,
    )
    .map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match &loaded.path {
        Some(path) => tracing::info!(config = %path.display(), "configuration loaded"),
        None => tracing::info!("no qapms.yaml found; running on defaults (embedded store)"),
    }

    Ok(Started {
        loaded,
        redactor,
        credentials,
        _log_guard: log_guard,
    })
}

async fn run(cli: Cli) -> Result<(), String> {
    let Started {
        loaded,
        redactor,
        credentials,
        _log_guard: _guard,
    } = start(&cli)?;
    let command = cli.command.unwrap_or(Command::Serve {
        secure_cookies: false,
        demo: false,
        seed: 42,
    });
    let demo = match &command {
        Command::Serve {
            demo: true, seed, ..
        } => Some(*seed),
        _ => None,
    };
    let url = match demo {
        Some(_) => demo_store_url(&loaded.paths.data_dir)?,
        None => loaded.config.store.resolved_url(&loaded.paths),
    };
    let store = store::open(&url).await.map_err(|e| e.to_string())?;
    if let Some(seed) = demo {
        seed_demo(store.as_ref(), seed, cli.bind).await?;
    } else {
        sync_config_users(store.as_ref(), &loaded.config.users).await?;
    }
    let (secure_cookies, demo) = match command {
        Command::Migrate => {
            let info = store.info().await.map_err(|e| e.to_string())?;
            tracing::info!(
                backend = %info.backend,
                schema_version = info.schema_version,
                "store migrated"
            );
            return Ok(());
        }
        Command::Users(users) => return users_command(store.as_ref(), users).await,
        Command::Tokens(tokens) => return tokens_command(store.as_ref(), tokens).await,
        Command::Rollups(RollupsCommand::Rebuild) => {
            let rows = store
                .rebuild_dashboard_facts()
                .await
                .map_err(|e| e.to_string())?;
            return write_out(&format!("rebuilt the dashboard rollups: {rows} rows"));
        }
        Command::Seed {
            qas,
            days,
            seed,
            no_analyze,
        } => {
            return seed_command(
                store.as_ref(),
                qapms_server::demo::SeedOptions {
                    qas,
                    days,
                    seed,
                    demo_users: false,
                    analyze: !no_analyze,
                    now: chrono::Utc::now(),
                },
            )
            .await;
        }
        Command::Serve {
            secure_cookies,
            demo,
            ..
        } => (secure_cookies, demo),
    };

    serve_command(ServeSetup {
        bind: cli.bind,
        store,
        config: &loaded.config,
        data_dir: &loaded.paths.data_dir,
        credentials: &credentials,
        redactor: &redactor,
        secure_cookies,
        demo,
    })
    .await
}

/// Generates the demo workspace and prints how to sign in to it.
async fn seed_demo(store: &dyn Store, seed: u64, bind: SocketAddr) -> Result<(), String> {
    let summary = qapms_server::demo::seed(
        store,
        &qapms_server::demo::SeedOptions {
            seed,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| format!("cannot generate the demo workspace: {e}"))?;
    write_out(&format!(
        "qapms demo workspace (seed {seed}): {} users, {} tickets, {} runs, {} workflows, \
         {} time entries.\nSign in at http://{bind}/login as `{}` (admin) or any of ana, ben, \
         lead-payments, pm, po, manager, with the password `{}`.",
        summary.users,
        summary.tickets,
        summary.runs,
        summary.workflows,
        summary.time_entries,
        qapms_server::demo::DEMO_LOGIN,
        qapms_server::demo::DEMO_PASSWORD,
    ))
}

/// `seed`: generated history in the configured store, for the load benchmarks.
async fn seed_command(
    store: &dyn Store,
    options: qapms_server::demo::SeedOptions,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let summary = qapms_server::demo::seed(store, &options)
        .await
        .map_err(|e| e.to_string())?;
    write_out(&format!(
        "seeded {} users, {} tickets, {} tests, {} runs, {} results, {} workflows, {} time \
         entries, {} alerts in {:.1} s",
        summary.users,
        summary.tickets,
        summary.tests,
        summary.runs,
        summary.results,
        summary.workflows,
        summary.time_entries,
        summary.alerts,
        started.elapsed().as_secs_f64()
    ))
}

/// A fresh demo database in the data directory (the previous demo's is replaced), so a demo
/// never touches the configured store.
fn demo_store_url(data_dir: &std::path::Path) -> Result<String, String> {
    let dir = data_dir.join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in ["qapms-demo.db", "qapms-demo.db-wal", "qapms-demo.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
        }
    }
    Ok(format!("sqlite://{}", dir.join("qapms-demo.db").display()))
}

/// What `serve` needs once the configuration is loaded and the store is open.
struct ServeSetup<'a> {
    bind: SocketAddr,
    store: Arc<dyn Store>,
    config: &'a qapms_core::config::Config,
    data_dir: &'a std::path::Path,
    credentials: &'a qapms_core::secrets::Unlocked,
    redactor: &'a Redactor,
    secure_cookies: bool,
    demo: bool,
}

/// Refuses an exposed bind without users, builds the integrations, starts the scheduler and
/// serves until SIGINT or SIGTERM; in-flight requests finish before the store closes.
async fn serve_command(setup: ServeSetup<'_>) -> Result<(), String> {
    let ServeSetup {
        bind,
        store,
        config,
        data_dir,
        credentials,
        redactor,
        secure_cookies,
        demo,
    } = setup;
    let users = store.list_users().await.map_err(|e| e.to_string())?;
    if !bind.ip().is_loopback() && users.is_empty() {
        return Err(format!(
            "refusing to listen on {bind} with no users configured: anyone on the network could \
             reach the dashboard. Add one with `qapms-server users add NAME --role admin` (or \
             under `users:` in qapms.yaml), or bind 127.0.0.1."
        ));
    }

    let integrations = build_integrations(config, credentials, redactor)?;
    let session_key = SessionKey::load_or_create(&data_dir.join("server-session.key"))
        .map_err(|e| e.to_string())?;
    let search = open_search(store.as_ref(), config, data_dir, credentials, redactor).await;
    // Step actions call the same integrations the sync does, and search the same index.
    let mut actions = ActionClients::from_config(config, credentials, Some(redactor), None);
    if let Some(search) = &search {
        actions = actions.with_index(search.index().clone());
    }
    let options = ServerOptions {
        session_key,
        auth: AuthSettings {
            secure_cookies,
            ..AuthSettings::default()
        },
        integrations: integrations.clone(),
        catalog: qapms_core::workflow::Catalog::new(&config.workflows),
        demo,
        search,
        dashboard_cache: Some(DASHBOARD_CACHE_TTL),
        auth_cache: Some(AUTH_CACHE_TTL),
        actions,
    };
    let index = options.search.as_ref().map(|s| s.index().clone());
    let state = AppState::with_options(store.clone(), options);
    let mut scheduler = Scheduler::start(store.clone(), integrations);
    if config.sync.enabled && any_integration(config) {
        let mut syncer = Syncer::from_config(store.clone(), config, credentials, Some(redactor));
        if let Some(index) = &index {
            syncer = syncer.index(index.clone());
        }
        scheduler = scheduler.sync_every(store.clone(), Arc::new(syncer), config.sync.interval.0);
    }
    if let Some(index) = index {
        scheduler = scheduler.follow_index(store.clone(), index);
    }
    let _scheduler = scheduler;

    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(address = %local, "qapms-server listening on http://{local}/");
    qapms_server::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    store.close().await;
    tracing::info!("qapms-server stopped");
    Ok(())
}

/// How long a computed dashboard view is served again: short enough that other processes'
/// writes show within a refresh or two, long enough that a team loading the same page at
/// once computes it once.
const DASHBOARD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a checked session or API token is trusted before the store is asked again. A
/// sign-out, a disabled user or a revoked token through this server takes effect at once;
/// through another instance or the CLI, within this.
const AUTH_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether any integration is configured and enabled: without one the sync job has nothing
/// to do and is not started.
fn any_integration(config: &qapms_core::config::Config) -> bool {
    let i = &config.integrations;
    i.jira.as_ref().is_some_and(|c| c.enabled)
        || i.testmo.as_ref().is_some_and(|c| c.enabled)
        || i.postman.as_ref().is_some_and(|c| c.enabled)
        || i.splunk.as_ref().is_some_and(|c| c.enabled)
        || i.grafana.as_ref().is_some_and(|c| c.enabled)
}

/// The search index (rebuilt from the store when missing or stale) and the optional semantic
/// step. Search is one feature among many: a failure is logged and the server starts without
/// it (the endpoint then answers 503).
async fn open_search(
    store: &dyn Store,
    config: &qapms_core::config::Config,
    data_dir: &std::path::Path,
    credentials: &qapms_core::secrets::Unlocked,
    redactor: &Redactor,
) -> Option<Arc<SearchService>> {
    let dir = config
        .search
        .index_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("index"));
    let index = match SearchIndex::open(&dir, store, &|_| {}).await {
        Ok((index, status)) => {
            if let IndexStatus::Rebuilt { reason, documents } = status {
                tracing::info!(%reason, documents, "search index rebuilt");
            }
            index.with_fuzzy_distance(config.search.fuzzy_max_distance)
        }
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "search is unavailable");
            return None;
        }
    };
    let mut service = SearchService::new(Arc::new(index));
    if let Some(embeddings) = &config.search.embeddings {
        match EmbeddingClient::from_config(embeddings, credentials, Some(redactor.clone())) {
            Ok(client) => {
                let options = HybridOptions {
                    weight: embeddings.hybrid_weight,
                    top_k: DEFAULT_TOP_K,
                };
                service = service.with_embeddings(client, options);
            }
            Err(e) => {
                tracing::warn!(error = %e, "semantic ranking is off; search ranks by keywords");
            }
        }
    }
    Some(Arc::new(service))
}

/// Users listed in qapms.yaml are added to the store when missing (without a password: set
/// one with `users passwd`). The store stays the source of truth for existing users.
async fn sync_config_users(store: &dyn Store, users: &[UserConfig]) -> Result<(), String> {
    for configured in users {
        match store.user_by_name(&configured.name).await {
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {
                admin::add_user(
                    store,
                    NewUser {
                        name: configured.name.clone(),
                        role: configured.role,
                        email: Some(configured.email.clone()),
                        team: configured.team.clone(),
                        password: None,
                    },
                )
                .await
                .map_err(|e| {
                    format!("cannot add user `{}` from qapms.yaml: {e}", configured.name)
                })?;
                tracing::info!(
                    user = %configured.name,
                    "added a user from qapms.yaml; set a password with `qapms-server users passwd`"
                );
            }
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(())
}

/// The configured integrations, each with its health check and metrics. An integration that
/// is configured but cannot be built (a missing credential) stops start-up with the reason.
fn build_integrations(
    config: &qapms_core::config::Config,
    credentials: &qapms_core::secrets::Unlocked,
    redactor: &Redactor,
) -> Result<Vec<Monitored>, String> {
    let mut out = Vec::new();
    if let Some(jira) = config.integrations.jira.as_ref().filter(|j| j.enabled) {
        let client = Arc::new(
            Jira::from_config(jira, credentials, Some(redactor.clone()))
                .map_err(|e| format!("integrations.jira: {e}"))?,
        );
        let metrics_client = client.clone();
        out.push(Monitored {
            integration: client,
            metrics: Arc::new(move || metrics_client.metrics()),
        });
    }
    Ok(out)
}

fn write_out(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").map_err(|e| format!("cannot write to stdout: {e}"))
}

/// A password from stdin (first line) or from a no-echo prompt, asked twice.
fn read_password(from_stdin: bool, user: &str) -> Result<String, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = rpassword::prompt_password(format!("New password for {user}: ")).map_err(|e| {
        format!("cannot read the password (use --password-stdin without a terminal): {e}")
    })?;
    let again = rpassword::prompt_password("Repeat it: ")
        .map_err(|e| format!("cannot read the password: {e}"))?;
    if first != again {
        return Err("the passwords do not match; nothing changed".to_owned());
    }
    Ok(first)
}

async fn find_user(store: &dyn Store, name: &str) -> Result<qapms_core::model::User, String> {
    store.user_by_name(name).await.map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            format!("no user named `{name}`; see `qapms-server users list`")
        } else {
            e.to_string()
        }
    })
}

async fn users_command(store: &dyn Store, command: UsersCommand) -> Result<(), String> {
    match command {
        UsersCommand::Add {
            name,
            role,
            email,
            team,
            password_stdin,
        } => {
            let role = admin::parse_role(&role).map_err(|e| e.to_string())?;
            admin::check_name(&name).map_err(|e| e.to_string())?;
            let password = read_password(password_stdin, &name)?;
            let user = admin::add_user(
                store,
                NewUser {
                    name,
                    role,
                    email,
                    team,
                    password: Some(password),
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            write_out(&format!("added user {} ({})", user.name, user.role))
        }
        UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            let user = find_user(store, &name).await?;
            let password = read_password(password_stdin, &name)?;
            admin::set_password(store, &user.id, password)
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!(
                "password set for {}; their sessions were signed out",
                user.name
            ))
        }
        UsersCommand::Disable { name } => {
            let user = find_user(store, &name).await?;
            admin::set_disabled(store, &user.id, true)
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!(
                "disabled {}; their sessions were signed out",
                user.name
            ))
        }
        UsersCommand::Enable { name } => {
            let user = find_user(store, &name).await?;
            admin::set_disabled(store, &user.id, false)
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!("enabled {}", user.name))
        }
        UsersCommand::List => {
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            write_out(&format!(
                "{:<24} {:<11} {:<16} {}",
                "NAME", "ROLE", "TEAM", "STATE"
            ))?;
            for user in users {
                let team = store.user_team(&user.id).await.map_err(|e| e.to_string())?;
                let has_password = store
                    .user_password_hash(&user.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some();
                let state = match (user.disabled, has_password) {
                    (true, _) => "disabled",
                    (false, false) => "no password",
                    (false, true) => "active",
                };
                write_out(&format!(
                    "{:<24} {:<11} {:<16} {state}",
                    user.name,
                    user.role.as_str(),
                    team.as_deref().unwrap_or("-")
                ))?;
            }
            Ok(())
        }
    }
}

async fn tokens_command(store: &dyn Store, command: TokensCommand) -> Result<(), String> {
    match command {
        TokensCommand::Create {
            user,
            name,
            expires_in_days,
        } => {
            let user = find_user(store, &user).await?;
            let (token, record) = admin::create_token(store, &user.id, &name, expires_in_days)
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!(
                "created token {} ({}) for {}; it is shown only now:\n{token}",
                record.id, record.name, user.name
            ))
        }
        TokensCommand::Revoke { id } => {
            let id = uuid::Uuid::parse_str(id.trim())
                .map_err(|_| format!("`{id}` is not a token id; see `qapms-server tokens list`"))?;
            store
                .revoke_api_token(id, chrono::Utc::now())
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!("revoked token {id}"))
        }
        TokensCommand::List { user } => {
            let owner = match user {
                Some(name) => Some(find_user(store, &name).await?.id),
                None => None,
            };
            let users = store.list_users().await.map_err(|e| e.to_string())?;
            let tokens = store
                .list_api_tokens(owner.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            write_out(&format!(
                "{:<36} {:<16} {:<20} {:<12} {}",
                "ID", "USER", "NAME", "PREFIX", "STATE"
            ))?;
            let now = chrono::Utc::now();
            for token in tokens {
                let owner = users
                    .iter()
                    .find(|u| u.id == token.user_id)
                    .map_or("?", |u| u.name.as_str());
                let state = if token.revoked_at.is_some() {
                    "revoked"
                } else if token.expires_at.is_some_and(|t| t <= now) {
                    "expired"
                } else {
                    "active"
                };
                write_out(&format!(
                    "{:<36} {:<16} {:<20} {:<12} {state}",
                    token.id, owner, token.name, token.prefix
                ))?;
            }
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so connections drain before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; draining connections");
}
