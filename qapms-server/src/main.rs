//! The `qapms-server` binary: parse the command line, load the configuration, open the store,
//! and serve. Everything testable lives in the library (`qapms_server::app`, `serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qapms_core::config::{self, Env, LoadOptions};
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor};
use qapms_core::secrets::{self, KeyLookup};
use qapms_core::store;
use qapms_server::AppState;

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
    Serve,
    /// Apply the store's migrations and exit.
    Migrate,
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

async fn run(cli: Cli) -> Result<(), String> {
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
    let _log_guard = logging::init(
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
    let _credentials = secrets::unlock(
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

    if !cli.bind.ip().is_loopback() && loaded.config.users.is_empty() {
        return Err(format!(
            "refusing to listen on {} with no users configured: anyone on the network could \
             read the dashboard. Add users under `users:` in qapms.yaml, or bind 127.0.0.1.",
            cli.bind
        ));
    }

    let url = loaded.config.store.resolved_url(&loaded.paths);
    let store = store::open(&url).await.map_err(|e| e.to_string())?;
    if matches!(cli.command, Some(Command::Migrate)) {
        let info = store.info().await.map_err(|e| e.to_string())?;
        tracing::info!(
            backend = %info.backend,
            schema_version = info.schema_version,
            "store migrated"
        );
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind(cli.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(address = %local, "qapms-server listening on http://{local}/");
    qapms_server::serve(listener, AppState::new(store), shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("qapms-server stopped");
    Ok(())
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
