//! Configuration: `qapms.yaml` discovery, parsing, profiles, interpolation and validation.
//!
//! # Design
//!
//! The file is read once into a *spanned tree* ([`tree`]): mappings, lists and raw scalars with
//! their line and column, built from the event stream of granit-parser, the YAML 1.2 parser that
//! serde-saphyr is made of (re-exported by serde-saphyr, so no second YAML grammar is involved).
//! Everything after that works on the tree, which is why every diagnostic can name
//! `file:line:column` and the dotted key path, and why none of the steps has to stop at the first
//! problem:
//!
//! 1. **Parse** into the tree. A syntax error ends here (a YAML parser cannot resynchronise);
//!    duplicate keys, custom tags and alias bombs are reported and parsing goes on.
//! 2. **Profiles.** `profiles:` is taken out of the tree. Each overlay is validated on its own as
//!    a partial document (no required keys; `${VAR}` left untyped), so a typo in `prod` shows up
//!    when validating with `dev`. The selected one (`LoadOptions::profile`, else `QAPMS_PROFILE`)
//!    is deep-merged onto the base ([`profiles`]); an unknown name is an error listing the known
//!    ones.
//! 3. **Interpolate** `${VAR}`, `${VAR:-default}` and `$${` in the merged tree's scalar values,
//!    from the injected [`Env`] ([`interpolate`]).
//! 4. **Validate and type** the merged tree against the JSON Schema that schemars generates from
//!    the types in [`types`] — the same schema [`json_schema`] hands to editors — compiled once
//!    into an arena of shapes ([`schema`], [`validate`]). One walk checks every node and yields
//!    JSON typed the way the schema wants (YAML 1.2 core schema: `on`/`yes` stay strings, with an
//!    error or a warning where a boolean was expected). Unknown keys and values get the closest
//!    valid one (strsim).
//! 5. **Deserialize** that JSON into [`Config`] with serde (cannot fail once step 4 passed, and
//!    would be reported, not panicked on, if it did), then run the **cross-field checks** in
//!    [`semantic`], which find their spans back in the tree.
//!
//! Everything found is returned at once: [`ConfigErrors`] if there is any error (warnings
//! included, in file order), else [`Loaded`] with the warnings. Messages never contain a
//! credential: values are quoted only where the schema expects a non-string, and never when
//! they came from the environment.
//!
//! Why not deserialize the YAML straight into the structs with serde-saphyr? A serde
//! deserializer stops at the first error and reports unknown fields without the key's position
//! when they are rejected deep inside a derived visitor; a `validate` command over a 10,000-line
//! file must list every problem, each with its position. Validating a tree is also what profiles
//! and interpolation need anyway, since both happen before typing.

mod diagnostic;
pub mod env;
mod interpolate;
mod paths;
mod profiles;
mod schema;
mod semantic;
mod tree;
mod types;
mod validate;
mod workflow_files;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use diagnostic::{ConfigErrors, Diagnostic, Severity};
pub use env::Env;
pub use paths::Paths;
pub use schema::json_schema;
pub use types::default_signal_tags;
pub use types::{
    AnomalyConfig, Config, DatasourceKind, EmbeddingsConfig, EvidenceKind, FlakyConfig,
    FlakyPreset, GrafanaConfig, GrafanaDatasource, HumanDuration, Integrations, JiraAuth,
    JiraConfig, JiraDeployment, KnownIssueConfig, LogLevel, LoggingConfig, PatternAlertsConfig,
    PatternConfig, PostmanConfig, ProjectKey, RateLimit, RatePeriod, SearchConfig, SplunkAuth,
    SplunkConfig, SplunkMode, SplunkTemplate, StepAction, StoreConfig, TemplateMiningConfig,
    TestmoConfig, TlsVerify, TrackingConfig, UserConfig, WorkflowStep, WorkflowTemplate,
};

use schema::COMPILED;
use tree::{Node, Span, Value};
use validate::{Validator, closest, diagnostic};

/// The file name looked for in the working directory and its parents.
pub const FILE_NAME: &str = "qapms.yaml";

/// How to find and read the configuration.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// An explicit file (`--config PATH`); relative to `cwd`.
    pub path: Option<PathBuf>,
    /// The profile to apply; `QAPMS_PROFILE` from `env` when `None`.
    pub profile: Option<String>,
    /// Where discovery starts.
    pub cwd: PathBuf,
    /// Variables for `${VAR}`, `QAPMS_CONFIG`, `QAPMS_PROFILE` and the directory overrides.
    pub env: Env,
}

/// A loaded configuration, with where it came from and what was noticed on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file read, or `None` when there was none and defaults apply.
    pub path: Option<PathBuf>,
    /// The profile applied, if any.
    pub profile: Option<String>,
    pub warnings: Vec<Diagnostic>,
    /// Directories, with `logging.dir` applied.
    pub paths: Paths,
}

/// Finds the configuration file: `QAPMS_CONFIG` if set (returned even if it does not exist, so
/// the loader reports it), else `qapms.yaml` in `cwd` or the nearest parent that has one.
pub fn discover(cwd: &Path, env: &Env) -> Option<PathBuf> {
    if let Some(explicit) = env.get_non_empty("QAPMS_CONFIG") {
        return Some(cwd.join(explicit));
    }
    cwd.ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// Finds, reads and validates the configuration. With no file at all, the defaults apply.
pub fn load(opts: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    let profile = requested_profile(opts.profile.as_deref(), &opts.env);
    let path = match &opts.path {
        Some(p) => Some(opts.cwd.join(p)),
        None => discover(&opts.cwd, &opts.env),
    };
    let Some(path) = path else {
        let paths = resolve_paths(&opts.env, "<defaults>")?;
        if let Some(profile) = profile {
            return Err(single_error(
                "<defaults>",
                "",
                format!("profile `{profile}` was requested but no {FILE_NAME} was found"),
            ));
        }
        return Ok(Loaded {
            config: Config::default(),
            path: None,
            profile: None,
            warnings: Vec::new(),
            paths,
        });
    };
    let file_name = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => "the configuration file does not exist".to_owned(),
            std::io::ErrorKind::InvalidData => {
                "the configuration file is not valid UTF-8".to_owned()
            }
            _ => format!("cannot read the configuration file: {e}"),
        };
        single_error(&file_name, "", message)
    })?;
    let mut loaded = load_text(&text, &file_name, profile, &opts.env)?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    resolve_relative(&mut loaded.config, base_dir);
    if !loaded.config.workflow_files.is_empty() {
        workflow_files::merge(&mut loaded, &text, &file_name, base_dir, &opts.env)?;
    }
    if let Some(dir) = &loaded.config.logging.dir {
        loaded.paths.log_dir.clone_from(dir);
    }
    loaded.path = Some(path);
    Ok(loaded)
}

/// Validates configuration text; for the language server and tests. `profile` falls back on
/// `QAPMS_PROFILE` in `env`, as in [`load`]. Relative paths in the file are left as written.
pub fn load_str(
    text: &str,
    file_name: &str,
    profile: Option<&str>,
    env: &Env,
) -> Result<Loaded, ConfigErrors> {
    let mut loaded = load_text(text, file_name, requested_profile(profile, env), env)?;
    if let Some(dir) = &loaded.config.logging.dir {
        loaded.paths.log_dir.clone_from(dir);
    }
    Ok(loaded)
}

fn requested_profile(explicit: Option<&str>, env: &Env) -> Option<String> {
    explicit
        .filter(|p| !p.is_empty())
        .or_else(|| env.get_non_empty("QAPMS_PROFILE"))
        .map(str::to_owned)
}

fn load_text(
    text: &str,
    file: &str,
    profile: Option<String>,
    env: &Env,
) -> Result<Loaded, ConfigErrors> {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let schema = &*COMPILED;

    // 1. Parse.
    let parsed = tree::parse(text);
    for e in parsed.errors {
        diags.push(diagnostic(
            file,
            Severity::Error,
            e.span,
            &e.key_path,
            e.message,
            None,
        ));
    }
    let Some(mut root) = parsed.root else {
        if diags.is_empty() {
            // An empty file (or only comments): all defaults.
            return finish(Config::default(), diags, profile, env, file);
        }
        return Err(errors(diags));
    };
    // `---` alone, or an explicit `null`: no settings, all defaults.
    if let Value::Scalar(s) = &root.value
        && s.style == tree::Style::Plain
        && matches!(&*s.text, "" | "~" | "null" | "Null" | "NULL")
    {
        root = Node::empty_map();
    }

    // 2. Profiles: validate every overlay as a partial document, then merge the selected one.
    let mut profiles_entry = None;
    if let Value::Map(entries) = &mut root.value
        && let Some(i) = entries.iter().position(|e| e.key == "profiles")
    {
        profiles_entry = Some(entries.remove(i));
    }
    if let Some(entry) = &profiles_entry
        && let Some(shape) = schema.child(schema.root, "profiles")
    {
        let mut v = Validator::new(schema, file, true);
        v.check(
            &entry.value,
            shape,
            &mut "profiles".to_owned(),
            Some(entry.key_span),
        );
        diags.extend(v.diags);
    }
    if let Some(name) = &profile {
        let overlay = profiles_entry.as_ref().and_then(|e| match &e.value.value {
            Value::Map(profiles) => profiles.iter().find(|p| p.key == *name),
            _ => None,
        });
        match overlay {
            Some(overlay) => {
                profiles::merge(&mut root, overlay.value.clone(), schema, Some(schema.root));
            }
            None => diags.push(unknown_profile(
                name,
                profiles_entry.as_ref(),
                file,
                root.span,
            )),
        }
    }

    // 3. Interpolate.
    let mut interp_errors = Vec::new();
    interpolate::interpolate_tree(&mut root, env, text, &mut String::new(), &mut interp_errors);
    for e in interp_errors {
        diags.push(diagnostic(
            file,
            Severity::Error,
            e.span,
            &e.key_path,
            e.message,
            None,
        ));
    }

    // 4. Validate and type.
    let mut v = Validator::new(schema, file, false);
    let json = v.check(&root, schema.root, &mut String::new(), None);
    diags.extend(v.diags);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(errors(diags));
    }

    // 5. Deserialize, then cross-field checks.
    let config: Config = match serde_json::from_value(json) {
        Ok(config) => config,
        Err(e) => {
            // Unreachable when the schema and the types agree; the serde message is left out
            // because it may quote a value.
            diags.push(diagnostic(
                file,
                Severity::Error,
                root.span,
                "",
                format!(
                    "internal error: the validated configuration does not fit the types ({:?} error); please report this",
                    e.classify()
                ),
                None,
            ));
            return Err(errors(diags));
        }
    };
    diags.extend(semantic::check(&config, &root, file));
    finish(config, diags, profile, env, file)
}

fn finish(
    config: Config,
    diags: Vec<Diagnostic>,
    profile: Option<String>,
    env: &Env,
    file: &str,
) -> Result<Loaded, ConfigErrors> {
    if diags.iter().any(Diagnostic::is_error) {
        return Err(errors(diags));
    }
    let paths = resolve_paths(env, file)?;
    let mut warnings = diags;
    sort_dedup(&mut warnings);
    Ok(Loaded {
        config,
        path: None,
        profile,
        warnings,
        paths,
    })
}

fn resolve_paths(env: &Env, file: &str) -> Result<Paths, ConfigErrors> {
    Paths::resolve(env).map_err(|e| single_error(file, "", e.message().to_owned()))
}

fn unknown_profile(
    name: &str,
    profiles: Option<&tree::Entry<'_>>,
    file: &str,
    root_span: Span,
) -> Diagnostic {
    let known: Vec<&str> = profiles
        .and_then(|e| e.value.as_map())
        .map(|m| m.iter().map(|p| &*p.key).collect())
        .unwrap_or_default();
    let message = if known.is_empty() {
        format!("unknown profile `{name}`: the file defines no profiles")
    } else {
        format!(
            "unknown profile `{name}`; known profiles: {}",
            known.join(", ")
        )
    };
    let span = profiles.map_or(
        Span {
            start: root_span.start,
            end: root_span.start,
        },
        |e| e.key_span,
    );
    diagnostic(
        file,
        Severity::Error,
        span,
        "profiles",
        message,
        closest(name, known.iter().copied()),
    )
}

/// Makes relative paths in the file relative to the file's directory, not the process's.
fn resolve_relative(config: &mut Config, base: &Path) {
    let fix = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    if let Some(dir) = &mut config.logging.dir {
        fix(dir);
    }
    if let Some(dir) = &mut config.search.index_dir {
        fix(dir);
    }
    if let Some(postman) = &mut config.integrations.postman {
        postman.collection_files.iter_mut().for_each(fix);
    }
    if let Some(splunk) = &mut config.integrations.splunk
        && let TlsVerify::CaBundle(ca) = &mut splunk.verify_tls
    {
        fix(ca);
    }
}

fn single_error(file: &str, key_path: &str, message: String) -> ConfigErrors {
    let at = tree::Pos {
        line: 1,
        column: 1,
        byte: Some(0),
    };
    ConfigErrors {
        diagnostics: vec![diagnostic(
            file,
            Severity::Error,
            Span { start: at, end: at },
            key_path,
            message,
            None,
        )],
    }
}

fn errors(mut diags: Vec<Diagnostic>) -> ConfigErrors {
    sort_dedup(&mut diags);
    ConfigErrors { diagnostics: diags }
}

/// File order; the same finding reached twice (an overlay checked alone, then merged) once.
fn sort_dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.line, d.column, d.message.clone(), d.severity)));
    diags.sort_by_key(|d| (d.line, d.column, d.severity));
}
