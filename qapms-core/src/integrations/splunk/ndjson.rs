//! Splitting a newline-delimited JSON body into lines, incrementally and with bounded memory.
//!
//! The export stream arrives in chunks that cut lines anywhere, a multi-byte character
//! included. [`LineSplitter`] keeps only the unfinished tail of the last line between chunks,
//! and refuses a line longer than its limit with an error that names the limit, so a
//! misbehaving server (or a proxy that strips newlines) cannot make it buffer without end.
//! `\r\n` endings, blank lines and a UTF-8 byte-order mark at the start are accepted.

use crate::{Error, ErrorKind, Result};

/// The longest line accepted unless told otherwise: far above any real Splunk row.
pub const DEFAULT_MAX_LINE: usize = 16 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits bytes into lines as they arrive; see the module notes.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    max_line: usize,
    /// Bytes seen, to recognise a byte-order mark split across the first chunks.
    seen: usize,
    lines: u64,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_line: max_line.max(1),
            seen: 0,
            lines: 0,
        }
    }

    /// Feeds one chunk; every line it completes is appended to `out`, without its ending.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<()> {
        if self.seen < BOM.len() {
            // Strip the part of a byte-order mark this chunk carries, only at the very start.
            let start = self.seen;
            let want = &BOM[start..];
            let n = want.len().min(chunk.len());
            let is_bom_so_far = self.partial.len() == start
                && self.partial.as_slice() == &BOM[..start]
                && chunk[..n] == want[..n];
            if is_bom_so_far {
                self.partial.extend_from_slice(&chunk[..n]);
                self.seen += n;
                chunk = &chunk[n..];
                if self.seen == BOM.len() {
                    self.partial.clear();
                }
                if chunk.is_empty() {
                    return Ok(());
                }
            } else {
                self.seen = BOM.len();
            }
        }
        while let Some(at) = chunk.iter().position(|b| *b == b'\n') {
            let (head, rest) = chunk.split_at(at);
            self.check(head.len())?;
            self.partial.extend_from_slice(head);
            chunk = &rest[1..];
            self.lines += 1;
            let mut line = std::mem::take(&mut self.partial);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.push(line);
            }
        }
        self.check(chunk.len())?;
        self.partial.extend_from_slice(chunk);
        Ok(())
    }

    /// The last line, when the body did not end with a newline.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let mut line = std::mem::take(&mut self.partial);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            Some(line)
        }
    }

    fn check(&self, more: usize) -> Result<()> {
        if self.partial.len().saturating_add(more) > self.max_line {
            return Err(Error::new(
                ErrorKind::Upstream,
                format!(
                    "line {} of the stream is longer than {} bytes; the server is not sending \
                     newline-delimited JSON, or a row is huge (raise the line limit with \
                     `max_line_bytes` if it is)",
                    self.lines + 1,
                    self.max_line
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Result<Vec<Vec<u8>>> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out)?;
        }
        out.extend(s.finish());
        Ok(out)
    }

    #[test]
    fn lines_cut_anywhere_are_joined() {
        let out = split(
            &[b"\xEF\xBB", b"\xBF{\"a\"", b":1}\r\n\n{\"b", b"\":2}"],
            100,
        )
        .unwrap();
        assert_eq!(out, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
    }

    #[test]
    fn an_overlong_line_is_an_error() {
        let err = split(&[b"0123456789", b"0123456789"], 15).unwrap_err();
        assert!(err.message().contains("longer than 15 bytes"), "{err}");
    }

    #[test]
    fn a_bom_only_counts_at_the_start() {
        let out = split(&[b"x\n\xEF\xBB\xBFy"], 100).unwrap();
        assert_eq!(out[1], b"\xEF\xBB\xBFy".to_vec());
    }
}
