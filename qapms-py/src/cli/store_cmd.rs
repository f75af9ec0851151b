//! `qapms store migrate | info`.

use clap::Subcommand;
use qapms_core::store;
use serde_json::json;

use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum StoreCommand {
    /// Apply pending migrations (opening the store does this too) and report the schema version.
    Migrate,
    /// Show the backend, location, schema version and row counts.
    Info {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &Context, cmd: StoreCommand, out: &mut Output) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let rt = runtime()?;
    rt.block_on(async {
        let store = store::open(&url).await?;
        let info = store.info().await?;
        match cmd {
            StoreCommand::Migrate => {
                out.line(&format!(
                    "{} store at {} is at schema version {}",
                    info.backend, info.location, info.schema_version
                ));
            }
            StoreCommand::Info { json: true } => {
                let tables: serde_json::Map<String, serde_json::Value> = info
                    .tables
                    .iter()
                    .map(|(name, rows)| (name.clone(), json!(rows)))
                    .collect();
                out.line(
                    &json!({
                        "backend": info.backend.to_string(),
                        "location": info.location,
                        "schemaVersion": info.schema_version,
                        "tables": tables,
                    })
                    .to_string(),
                );
            }
            StoreCommand::Info { json: false } => {
                out.line(&format!("backend         {}", info.backend));
                out.line(&format!("location        {}", info.location));
                out.line(&format!("schema version  {}", info.schema_version));
                out.line("tables");
                for (name, rows) in &info.tables {
                    out.line(&format!("  {name:<22} {rows:>10}"));
                }
            }
        }
        Ok(0)
    })
}
