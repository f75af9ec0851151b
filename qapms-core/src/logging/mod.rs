//! Logging set-up: tracing with secret redaction and compressed rolling files.
//!
//! Every front-end calls [`init`] once at start-up (or [`subscriber`] when it must choose the
//! console sink itself, or wants no global state, as tests do) and keeps the returned
//! [`LogGuard`] alive until exit. The pipeline, per event:
//!
//! ```text
//! tracing event -> EnvFilter -> fmt (pretty | JSON) -> RedactingMakeWriter -> stderr
//!                            -> fmt (JSON lines)    -> RedactingMakeWriter -> batch writer -> RollingFile
//! ```
//!
//! Design choices:
//! - **Redaction is on the formatted bytes** ([`RedactingMakeWriter`]), so nothing a formatter
//!   emits can bypass it. It happens on the application thread, before the non-blocking
//!   channel, so unredacted text never sits in a queue.
//! - **The [`Redactor`] is shared.** Logging starts before the config is decrypted (config
//!   errors must be logged too), so front-ends register secrets on the same handle afterwards.
//! - **No ANSI colours.** Escape codes between a field name and its value would hide the pair
//!   from the redaction patterns; plain text keeps redaction complete.
//! - **The file is always JSON lines,** whatever the console format: it is read by tools
//!   (Splunk, `jq`), not people. It is written through a non-blocking worker that never drops
//!   lines (the file is the record to keep); the console one drops lines rather than stall the
//!   application when stderr is not read (an editor that ignores the LSP's stderr).
//! - **Nothing goes to stdout:** the LSP speaks its protocol there.

mod batch;
mod redact;
mod rolling;
mod writer;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use tracing::Subscriber;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Layer, Layered, SubscriberExt as _};
use tracing_subscriber::registry::{LookupSpan, Registry};
use tracing_subscriber::util::SubscriberInitExt as _;

pub use redact::{MIN_SECRET_LEN, REDACTED, Redactor};
pub use rolling::RollingFile;
pub use writer::{RedactingMakeWriter, RedactingWriter};

use crate::{Error, Result};

/// Log files are kept at least this many days, whatever [`LogOptions::retention_days`] says.
pub const MIN_RETENTION_DAYS: u32 = 30;

/// The console format, as chosen with `--log-format pretty|json` or `logging.format`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable, one line per event (greppable, unlike a multi-line layout).
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// The name used on the command line and in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(Error::config(format!(
                "unknown log format `{s}`; expected `pretty` or `json`"
            ))),
        }
    }
}

/// How and where to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// The console format.
    pub format: LogFormat,
    /// An `EnvFilter` directive, e.g. `info` or `info,qapms_core::http=trace`.
    pub filter: String,
    /// When set, also write daily rolling JSON-lines files here.
    pub dir: Option<PathBuf>,
    /// The file-name stem of the rolling files, e.g. `qapms-server`.
    pub file_prefix: String,
    /// How long rotated files are kept; raised to [`MIN_RETENTION_DAYS`] if lower.
    pub retention_days: u32,
    /// Whether [`init`] logs to stderr (the console).
    pub stderr: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".to_owned(),
            dir: None,
            file_prefix: "qapms".to_owned(),
            retention_days: MIN_RETENTION_DAYS,
            stderr: true,
        }
    }
}

impl LogOptions {
    /// The retention actually applied: never below [`MIN_RETENTION_DAYS`].
    pub fn effective_retention_days(&self) -> u32 {
        self.retention_days.max(MIN_RETENTION_DAYS)
    }
}

/// Keeps the non-blocking writers running; dropping it flushes what they still hold.
///
/// Keep it alive in `main` until exit: lines still queued when it is leaked (for example by
/// `std::process::exit`) are lost.
#[must_use = "dropping the guard stops the log writers"]
#[derive(Debug, Default)]
pub struct LogGuard {
    guards: Vec<batch::BatchGuard>,
}

/// Installs the global subscriber: the console on stderr (when [`LogOptions::stderr`]) and the
/// rolling files (when [`LogOptions::dir`]), both redacted by `redactor`.
///
/// Fails with [`crate::ErrorKind::Config`] on a bad filter directive or when a global
/// subscriber (or `log` logger) is already installed, and with [`crate::ErrorKind::Io`] naming
/// the directory when the log directory is not writable.
pub fn init(opts: &LogOptions, redactor: Redactor) -> Result<LogGuard> {
    let (console, console_guard) = if opts.stderr {
        let (writer, guard) = batch::spawn("qapms-log-stderr", std::io::stderr(), true)
            .map_err(|e| Error::from(e).with_context("log", "stderr writer thread"))?;
        (Some(BoxMakeWriter::new(writer)), Some(guard))
    } else {
        (None, None)
    };
    let (subscriber, mut guard) = build(opts, redactor, console)?;
    guard.guards.extend(console_guard);
    subscriber.try_init().map_err(|err| {
        Error::config("cannot install the logger: one is already installed in this process")
            .with_source(err)
    })?;
    Ok(guard)
}

/// Builds a subscriber without installing it: console output goes to `writer` (instead of
/// stderr, whatever [`LogOptions::stderr`] says) in [`LogOptions::format`], plus the rolling
/// files when [`LogOptions::dir`] is set. Install it with `tracing::subscriber::with_default`
/// or `set_global_default`, and keep the guard alive as long as it is used.
pub fn subscriber<W>(
    opts: &LogOptions,
    redactor: Redactor,
    writer: W,
) -> Result<(impl Subscriber + Send + Sync + 'static, LogGuard)>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(opts, redactor, Some(BoxMakeWriter::new(writer)))
}

type Filtered = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Filtered> + Send + Sync>;

fn build(
    opts: &LogOptions,
    redactor: Redactor,
    console: Option<BoxMakeWriter>,
) -> Result<(impl Subscriber + Send + Sync + 'static, LogGuard)> {
    let filter = parse_filter(&opts.filter)?;
    let mut layers: Vec<BoxedLayer> = Vec::new();
    let mut guard = LogGuard::default();

    if let Some(console) = console {
        layers.push(fmt_layer(
            opts.format,
            RedactingMakeWriter::new(console, redactor.clone()),
        ));
    }
    if let Some(dir) = &opts.dir {
        let file = RollingFile::open(dir, &opts.file_prefix, opts.effective_retention_days())?;
        let (writer, worker) = batch::spawn("qapms-log-file", file, false)
            .map_err(|e| Error::from(e).with_context("log", "file writer thread"))?;
        guard.guards.push(worker);
        layers.push(fmt_layer(
            LogFormat::Json,
            RedactingMakeWriter::new(writer, redactor),
        ));
    }

    let subscriber = Registry::default().with(filter).with(layers);
    Ok((subscriber, guard))
}

fn parse_filter(directive: &str) -> Result<EnvFilter> {
    EnvFilter::builder().parse(directive).map_err(|err| {
        Error::config(format!("invalid log filter `{directive}`"))
            .with_context(
                "expected",
                "an EnvFilter directive such as `info` or `warn,qapms_core=debug`",
            )
            .with_source(err)
    })
}

fn fmt_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    match format {
        LogFormat::Pretty => layer.boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    }
}
