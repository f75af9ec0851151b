//! Times the qapms search index on the generated corpus (see `search_gen`).
//!
//! Usage: `search_timer DIR [PASSES]` with `DIR` as written by `gen_search`. Indexes
//! `DIR/corpus.jsonl` into a fresh index in `DIR/qapms-index` (timed: documents per second),
//! reports the index size next to the corpus size, then runs every query of
//! `DIR/queries.jsonl` once to warm up and `PASSES` times (default 5) timed, in two modes:
//! - `top10`: the ten best hits, the work SQLite FTS5's `ORDER BY bm25() LIMIT 10` does;
//! - `full`: what `qapms search` asks for: ten hits with snippets plus the total count.
//!
//! Prints one JSON object (latencies in milliseconds) that `search_compare.py` reads.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use chrono::Utc;
use qapms_core::search::{IndexDoc, SearchIndex, SearchRequest};
use serde_json::{Value, json};

fn read_lines(path: &Path) -> std::io::Result<Vec<Value>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut out = Vec::new();
    for line in file.lines() {
        let line = line?;
        if !line.trim().is_empty() {
            out.push(serde_json::from_str(&line).map_err(std::io::Error::other)?);
        }
    }
    Ok(out)
}

fn text(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    json!({
        "p50": percentile(&samples, 50.0),
        "p90": percentile(&samples, 90.0),
        "p99": percentile(&samples, 99.0),
        "max": samples.last().copied().unwrap_or(0.0),
        "samples": samples.len(),
    })
}

fn run(dir: &Path, passes: usize) -> Result<Value, String> {
    let corpus = read_lines(&dir.join("corpus.jsonl")).map_err(|e| e.to_string())?;
    let queries = read_lines(&dir.join("queries.jsonl")).map_err(|e| e.to_string())?;
    let corpus_bytes = std::fs::metadata(dir.join("corpus.jsonl"))
        .map_err(|e| e.to_string())?
        .len();
    let now = Utc::now();
    let docs: Vec<IndexDoc> = corpus
        .iter()
        .enumerate()
        .map(|(i, c)| IndexDoc {
            uid: format!("c:{i}"),
            source: "testmo".to_owned(),
            doc_type: "case".to_owned(),
            key: text(c, "key"),
            title: text(c, "title"),
            body: text(c, "steps"),
            project: Some("PAY".to_owned()),
            status: None,
            tags: c
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            links: Vec::new(),
            url: None,
            fields: BTreeMap::from([("folder".to_owned(), text(c, "folder"))]),
            updated_at: now,
        })
        .collect();
    let n = docs.len();
    let index_dir = dir.join("qapms-index");
    let _ = std::fs::remove_dir_all(&index_dir);
    let (index, _) = SearchIndex::open_dir(&index_dir).map_err(|e| e.to_string())?;
    let started = Instant::now();
    index.index_documents(docs).map_err(|e| e.to_string())?;
    let index_secs = started.elapsed().as_secs_f64();
    let index_bytes = index.size_on_disk();

    let mut results = serde_json::Map::new();
    for mode in ["top10", "full"] {
        let requests: Vec<SearchRequest> = queries
            .iter()
            .map(|q| SearchRequest {
                limit: 10,
                snippets: mode == "full",
                count_total: mode == "full",
                ..SearchRequest::new(text(q, "query"))
            })
            .collect();
        let mut hits_total = 0usize;
        for r in &requests {
            hits_total += index.search(r).map_err(|e| e.to_string())?.hits.len();
        }
        let mut all = Vec::new();
        let mut by_category: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for _ in 0..passes {
            for (q, r) in queries.iter().zip(&requests) {
                let t = Instant::now();
                let found = index.search(r).map_err(|e| e.to_string())?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                std::hint::black_box(found);
                all.push(ms);
                by_category.entry(text(q, "category")).or_default().push(ms);
            }
        }
        let categories: serde_json::Map<String, Value> = by_category
            .into_iter()
            .map(|(k, v)| (k, summary(v)))
            .collect();
        results.insert(
            mode.to_owned(),
            json!({"all": summary(all), "byCategory": categories, "hitsReturned": hits_total}),
        );
    }
    Ok(json!({
        "engine": "qapms",
        "documents": n,
        "queries": queries.len(),
        "passes": passes,
        "indexSeconds": index_secs,
        "docsPerSecond": n as f64 / index_secs,
        "corpusBytes": corpus_bytes,
        "indexBytes": index_bytes,
        "latencyMs": results,
    }))
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: search_timer DIR [PASSES]");
        return ExitCode::FAILURE;
    };
    let passes: usize = args
        .next()
        .and_then(|c| c.to_str()?.parse().ok())
        .unwrap_or(5);
    match run(&dir, passes.max(1)) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("search_timer: {e}");
            ExitCode::FAILURE
        }
    }
}
