//! Writes the benchmark configurations and the JSON Schema into a directory:
//! `qapms.yaml` (about 10,000 valid lines), `qapms-errors.yaml` (the same with scattered
//! mistakes) and `qapms.schema.json` (what `config::json_schema()` generates).
//!
//! Usage: `gen_config [OUT_DIR]` (default `target/config-bench`).

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::path::PathBuf;
use std::process::ExitCode;

use qapms_benches::config_gen::generate;
use qapms_core::config::json_schema;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/config-bench"), PathBuf::from);
    let schema = match serde_json::to_string_pretty(&json_schema()) {
        Ok(schema) => schema,
        Err(e) => {
            eprintln!("cannot serialise the schema: {e}");
            return ExitCode::FAILURE;
        }
    };
    let files = [
        ("qapms.yaml", generate(false)),
        ("qapms-errors.yaml", generate(true)),
        ("qapms.schema.json", schema),
    ];
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for (name, text) in files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{} ({} lines)", path.display(), text.lines().count());
    }
    ExitCode::SUCCESS
}
