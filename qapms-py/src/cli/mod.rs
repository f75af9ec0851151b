//! The `qapms` command line.
//!
//! It is installed as a console script with the Python package (`qapms._cli:main` hands
//! `sys.argv` to [`run`]), but written in Rust so that it shares every code path with the other
//! front-ends. Each command group has its own module; this one parses arguments, sets up the
//! environment snapshot and logging once, and maps failures to exit codes.
//!
//! Exit codes scripts can rely on:
//! - `0`: success;
//! - `1`: the command ran and found problems (an invalid config, a failed check) or failed;
//! - `2`: the command line itself was wrong (clap's usage errors).

mod auth_cmd;
mod config_cmd;
mod doctor_cmd;
mod import_cmd;
mod output;
mod patterns_cmd;
mod report_cmd;
mod search_cmd;
mod secrets_cmd;
mod store_cmd;
mod sync_cmd;
mod time_cmd;
mod workflow_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use qapms_core::config::{self, Env, LoadOptions, Loaded};
use qapms_core::logging::{self, LogFormat, LogOptions, Redactor};
use qapms_core::secrets::{self, KeyLookup, Unlocked};

pub(crate) use output::Output;

/// Exit code for "ran and found problems" or "failed".
pub(crate) const EXIT_FAILURE: i32 = 1;
/// Exit code for a usage error.
pub(crate) const EXIT_USAGE: i32 = 2;

/// qapms: the QA companion.
#[derive(Debug, Parser)]
#[command(name = "qapms", version, about, propagate_version = true)]
struct Cli {
    #[arg(
        long,
        help = "Path of qapms.yaml (default: $QAPMS_CONFIG, else ./qapms.yaml or a parent's)",
        global = true,
        value_name = "PATH"
    )]
    config: Option<PathBuf>,
    #[arg(
        long,
        help = "Profile overlay to apply (default: $QAPMS_PROFILE)",
        global = true,
        value_name = "NAME"
    )]
    profile: Option<String>,
    #[arg(
        long,
        default_value = "pretty",
        global = true,
        help = "Log format on stderr: pretty or json"
    )]
    log_format: LogFormat,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate qapms.yaml or print its JSON Schema.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Sign in to integrations with OAuth 2.0, show or delete the stored tokens.
    #[command(subcommand)]
    Auth(auth_cmd::AuthCommand),
    /// Manage the master key and encrypted values in qapms.yaml.
    #[command(subcommand)]
    Secrets(secrets_cmd::SecretsCommand),
    /// Migrate or inspect the store.
    #[command(subcommand)]
    Store(store_cmd::StoreCommand),
    /// Detect patterns: mine templates; report and recompute failure clusters, flakiness, alerts.
    #[command(subcommand)]
    Patterns(patterns_cmd::PatternsCommand),
    /// Import test results into the store.
    #[command(subcommand)]
    Import(import_cmd::ImportCommand),
    /// Follow a guided workflow: start, status, steps, pause, resume, complete.
    Workflow(workflow_cmd::WorkflowArgs),
    /// Start, stop or show your timer.
    Timer(time_cmd::TimerArgs),
    /// Time reports, manual entries and kept idle time.
    Time(time_cmd::TimeArgs),
    /// Acknowledge, resolve or mute detected-pattern alerts.
    #[command(subcommand)]
    Alerts(patterns_cmd::AlertsCommand),
    /// Search tickets, test cases, requests, saved searches and reports; rebuild the index.
    Search(search_cmd::SearchArgs),
    /// Report a workflow (md, html, json, csv; post it to Jira) or a period's time.
    Report(report_cmd::ReportArgs),
    /// Sync Jira, Testmo, Postman, Splunk and Grafana into the store and the search index.
    Sync(sync_cmd::SyncArgs),
    /// Check the config, credentials, store, integrations and search index; print hints.
    Doctor(doctor_cmd::DoctorArgs),
}

/// What every command gets: the environment snapshot and the global options.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) env: Env,
    pub(crate) cwd: PathBuf,
    pub(crate) config: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) redactor: Redactor,
}

impl Context {
    pub(crate) fn load_options(&self) -> LoadOptions {
        LoadOptions {
            path: self.config.clone(),
            profile: self.profile.clone(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
        }
    }

    /// Decrypts `loaded`'s credentials, registering each with the redactor.
    pub(crate) fn unlock(&self, loaded: &Loaded) -> Result<Unlocked, CliError> {
        Ok(secrets::unlock(
            &loaded.config,
            &KeyLookup {
                env: &self.env,
                config_dir: &loaded.paths.config_dir,
                passphrase: None,
            },
            &self.redactor,
        )?)
    }

    /// Loads the configuration, or fails with every diagnostic in the message.
    pub(crate) fn load(&self) -> Result<Loaded, CliError> {
        config::load(&self.load_options()).map_err(|errors| CliError::new(errors.to_string()))
    }
}

/// A failure to report on stderr, with its exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) message: String,
    pub(crate) code: i32,
}

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }
}

impl From<qapms_core::Error> for CliError {
    fn from(err: qapms_core::Error) -> Self {
        Self::new(err.to_string())
    }
}

/// Runs the command line; returns the process exit code.
pub fn run(argv: Vec<String>) -> i32 {
    let mut out = Output::stdio();
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version arrive as "errors" that print to stdout and exit 0.
            let code = if err.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = err.print();
            return code;
        }
    };
    match execute(cli, &mut out) {
        Ok(code) => code,
        Err(err) => {
            out.error(&err.message);
            err.code
        }
    }
}

fn execute(cli: Cli, out: &mut Output) -> Result<i32, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::new(format!("cannot read the working directory: {e}")))?;
    let env = Env::from_process_with_dotenv(&cwd)?;
    let profile = cli
        .profile
        .or_else(|| env.get_non_empty("QAPMS_PROFILE").map(str::to_owned));
    let redactor = Redactor::new();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let _log_guard = logging::init(
        &LogOptions {
            format: cli.log_format,
            filter: filter.to_owned(),
            dir: None,
            file_prefix: "qapms".to_owned(),
            retention_days: 30,
            stderr: true,
        },
        redactor.clone(),
    );
    let ctx = Context {
        env,
        cwd,
        config: cli.config,
        profile,
        redactor,
    };
    match cli.command {
        Command::Config(cmd) => config_cmd::run(&ctx, cmd, out),
        Command::Auth(cmd) => auth_cmd::run(&ctx, &cmd, out),
        Command::Secrets(cmd) => secrets_cmd::run(&ctx, cmd, out),
        Command::Store(cmd) => store_cmd::run(&ctx, cmd, out),
        Command::Patterns(cmd) => patterns_cmd::run(&ctx, cmd, out),
        Command::Import(cmd) => import_cmd::run(&ctx, cmd, out),
        Command::Workflow(args) => workflow_cmd::run(&ctx, args, out),
        Command::Timer(args) => time_cmd::run_timer(&ctx, args, out),
        Command::Time(args) => time_cmd::run_time(&ctx, args, out),
        Command::Alerts(cmd) => patterns_cmd::run_alerts(&ctx, cmd, out),
        Command::Search(args) => search_cmd::run(&ctx, &args, out),
        Command::Report(args) => report_cmd::run(&ctx, args, out),
        Command::Sync(args) => sync_cmd::run(&ctx, &args, out),
        Command::Doctor(args) => doctor_cmd::run(&ctx, &args, out),
    }
}

/// A current-thread runtime for commands that touch the network or the store.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))
}
