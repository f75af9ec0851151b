//! Writes the search benchmark's corpus and queries.
//!
//! Usage: `gen_search DIR [CASES]` (default 100000): writes `DIR/corpus.jsonl` and
//! `DIR/queries.jsonl`, and prints `cases=<n> queries=<n> bytes=<corpus bytes>`.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use qapms_benches::search_gen::{corpus, queries, write_corpus, write_queries};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen_search DIR [CASES]");
        return ExitCode::FAILURE;
    };
    let n: usize = args
        .next()
        .and_then(|c| c.to_str()?.parse().ok())
        .unwrap_or(100_000);
    let cases = corpus(n);
    let qs = queries(&cases);
    let result = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut out = BufWriter::new(std::fs::File::create(dir.join("corpus.jsonl"))?);
        let bytes = write_corpus(&mut out, &cases)?;
        out.flush()?;
        let mut q = BufWriter::new(std::fs::File::create(dir.join("queries.jsonl"))?);
        write_queries(&mut q, &qs)?;
        q.flush()?;
        Ok(bytes)
    });
    match result {
        Ok(bytes) => {
            println!("cases={} queries={} bytes={bytes}", cases.len(), qs.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen_search: {e}");
            ExitCode::FAILURE
        }
    }
}
