//! `qapms config validate | schema`.

use std::path::PathBuf;

use clap::Subcommand;
use qapms_core::config::{self, Diagnostic};
use serde_json::json;

use super::{CliError, Context, EXIT_FAILURE, Output};

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Check qapms.yaml (with the selected profile) and list every problem with its position.
    Validate {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the JSON Schema of qapms.yaml, for editors to validate and complete it.
    Schema {
        /// Write to this file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub(crate) fn run(ctx: &Context, cmd: ConfigCommand, out: &mut Output) -> Result<i32, CliError> {
    match cmd {
        ConfigCommand::Validate { json } => Ok(validate(ctx, json, out)),
        ConfigCommand::Schema { output } => schema(output.as_deref(), out),
    }
}

fn validate(ctx: &Context, as_json: bool, out: &mut Output) -> i32 {
    match config::load(&ctx.load_options()) {
        Ok(loaded) => {
            let path = loaded.path.as_ref().map(|p| p.display().to_string());
            if as_json {
                let report = json!({
                    "valid": true,
                    "path": path,
                    "profile": loaded.profile,
                    "errors": [],
                    "warnings": loaded.warnings.iter().map(diagnostic_json).collect::<Vec<_>>(),
                });
                out.line(&report.to_string());
            } else {
                for warning in &loaded.warnings {
                    out.line(&warning.to_string());
                }
                match (&path, &loaded.profile) {
                    (Some(path), Some(profile)) => {
                        out.line(&format!("{path}: valid (profile {profile})"));
                    }
                    (Some(path), None) => out.line(&format!("{path}: valid")),
                    (None, _) => out.line(
                        "no qapms.yaml found (looked at --config, $QAPMS_CONFIG, and the working \
                         directory and its parents): running on defaults",
                    ),
                }
            }
            0
        }
        Err(errors) => {
            let diagnostics = &errors.diagnostics;
            if as_json {
                let (errs, warns): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
                    diagnostics.iter().partition(|d| d.is_error());
                let report = json!({
                    "valid": false,
                    "errors": errs.into_iter().map(diagnostic_json).collect::<Vec<_>>(),
                    "warnings": warns.into_iter().map(diagnostic_json).collect::<Vec<_>>(),
                });
                out.line(&report.to_string());
            } else {
                for diagnostic in diagnostics {
                    out.line(&diagnostic.to_string());
                }
                let count = diagnostics.iter().filter(|d| d.is_error()).count();
                out.note(&format!(
                    "{count} error{} found",
                    if count == 1 { "" } else { "s" }
                ));
            }
            EXIT_FAILURE
        }
    }
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    json!({
        "severity": d.severity.to_string(),
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "endLine": d.end_line,
        "endColumn": d.end_column,
        "keyPath": d.key_path,
        "message": d.message,
        "suggestion": d.suggestion,
    })
}

fn schema(output: Option<&std::path::Path>, out: &mut Output) -> Result<i32, CliError> {
    let schema = config::json_schema();
    let text = serde_json::to_string_pretty(&schema)
        .map_err(|e| CliError::new(format!("cannot serialise the schema: {e}")))?;
    match output {
        Some(path) => {
            std::fs::write(path, format!("{text}\n"))
                .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
            out.note(&format!("wrote {}", path.display()));
        }
        None => out.line(&text),
    }
    Ok(0)
}
