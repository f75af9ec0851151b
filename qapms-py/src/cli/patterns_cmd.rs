//! `qapms patterns mine FILE|-`: template mining over a file or stdin.
//!
//! Lines are read as bytes with a bounded buffer, so a 1 GB line without a newline costs
//! `max_line_bytes`, not 1 GB: the rest of such a line is counted and skipped, and the line is
//! mined with a `…[truncated N bytes]` marker. Invalid UTF-8 is replaced (lossy). Headers
//! (timestamp, level, component) are stripped generically unless `--keep-headers` is given.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use clap::Subcommand;
use qapms_core::patterns::templates::{MinerConfig, TemplateMiner};
use serde_json::json;

use super::{CliError, Output};

/// Room left below `max_line_bytes` for the truncation marker.
const MARKER_ROOM: usize = 48;

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum PatternsCommand {
    /// Mine templates from log lines or failure messages; print them with counts, most frequent first.
    Mine {
        /// The file to read, or `-` for stdin.
        file: PathBuf,
        /// Print JSON (an array of `{id, template, count}`).
        #[arg(long)]
        json: bool,
        /// Do not strip timestamp/level/component headers before mining.
        #[arg(long)]
        keep_headers: bool,
    },
}

pub(crate) fn run(cmd: PatternsCommand, out: &mut Output) -> Result<i32, CliError> {
    let PatternsCommand::Mine {
        file,
        json,
        keep_headers,
    } = cmd;
    let reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&file)
                .map_err(|e| CliError::new(format!("cannot open {}: {e}", file.display())))?,
        )
    };
    let config = MinerConfig {
        strip_headers: !keep_headers,
        ..MinerConfig::default()
    };
    let keep = config.max_line_bytes.saturating_sub(MARKER_ROOM);
    let mut miner = TemplateMiner::new(config);
    let mut lines = 0u64;
    for_each_line(BufReader::new(reader), keep, |line, dropped| {
        lines += 1;
        if dropped == 0 {
            miner.add_bytes(line);
        } else {
            let mut text = String::from_utf8_lossy(line).into_owned();
            let _ = write!(text, " …[truncated {dropped} bytes]");
            miner.add(&text);
        }
    })
    .map_err(|e| CliError::new(format!("cannot read {}: {e}", file.display())))?;
    let mut templates: Vec<_> = miner.templates().collect();
    templates.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.text.cmp(b.text)));
    if json {
        let items: Vec<_> = templates
            .iter()
            .map(|t| json!({"id": t.id.to_string(), "template": t.text, "count": t.size}))
            .collect();
        out.line(&serde_json::Value::Array(items).to_string());
    } else {
        for t in &templates {
            out.line(&format!("{:>8}  {}  {}", t.size, t.id, t.text));
        }
        out.note(&format!(
            "{lines} lines, {} templates{}",
            templates.len(),
            if miner.evicted() > 0 {
                format!(" ({} evicted as least recently seen)", miner.evicted())
            } else {
                String::new()
            }
        ));
    }
    Ok(0)
}

/// Calls `f(line, dropped)` for each `\n`-separated line, keeping at most `max` bytes of it;
/// `dropped` counts the bytes beyond that. A trailing `\r` is removed.
fn for_each_line(
    mut reader: impl BufRead,
    max: usize,
    mut f: impl FnMut(&[u8], usize),
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut dropped = 0usize;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            if !buf.is_empty() || dropped > 0 {
                f(strip_cr(&buf), dropped);
            }
            return Ok(());
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(chunk.len());
        let keep = take.min(max.saturating_sub(buf.len()));
        buf.extend_from_slice(&chunk[..keep]);
        dropped += take - keep;
        reader.consume(take + usize::from(newline.is_some()));
        if newline.is_some() {
            f(strip_cr(&buf), dropped);
            buf.clear();
            dropped = 0;
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::for_each_line;

    #[test]
    fn long_lines_are_bounded() {
        let mut input = b"short\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend_from_slice(b"\nlast");
        let mut seen = Vec::new();
        for_each_line(&input[..], 100, |line, dropped| {
            seen.push((line.len(), dropped));
        })
        .unwrap();
        assert_eq!(seen, vec![(5, 0), (100, 9_900), (4, 0)]);
    }
}
