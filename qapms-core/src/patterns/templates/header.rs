//! Generic log-header stripping: [`LogLine`].
//!
//! Loghub (and our evaluation) mines the `Content` column, which each benchmark tool cuts out
//! of the raw line with a regex written per system. qapms has no per-system formats, so this
//! step recognises the *shape* common to log headers instead: a run of leading tokens that are
//! dates, times, numbers (pids, sequence numbers), month or weekday names, severity words, `-`
//! separators, and bracketed groups of those; then, once such a header has been seen, at most one
//! host name and one component token that ends in `:` (`sshd[24200]:`,
//! `dfs.DataNode$PacketResponder:`) or one bracketed group followed by `-` (`[main@12] -`).
//!
//! When no date, time or number opens the line, nothing is stripped: a failure message such as
//! `error: connection refused` keeps its first word. The header is only a hint for the miner; a
//! line whose header is not recognised still clusters correctly because the masker turns its
//! timestamp into wildcards, at worst splitting clusters by component.

/// A raw line split into a recognised header and the message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The header prefix that was recognised, without trailing whitespace; may be empty.
    pub header: &'a str,
    /// The severity word found in the header, as written (`INFO`, `error`), if any.
    pub level: Option<&'a str>,
    /// The message: the line after the header.
    pub content: &'a str,
}

const LEVELS: [&str; 12] = [
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "FATAL", "CRITICAL",
    "SEVERE", "CRIT",
];
const NAMES: [&str; 19] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Mon",
    "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
];

impl<'a> LogLine<'a> {
    /// Splits `raw` into header and content. Never fails: unknown shapes give an empty header.
    pub fn parse(raw: &'a str) -> Self {
        let mut level = None;
        let mut pos = skip_ws(raw, 0);
        let mut saw_time = false;
        let mut end = 0;
        loop {
            let (tok, next) = next_token(raw, pos);
            if tok.is_empty() {
                break;
            }
            let kind = classify(tok, &mut level);
            if kind == Kind::Time {
                saw_time = true;
            }
            if kind == Kind::Other {
                // A bracketed group over several tokens (`[Sun Dec 04 04:47:44 2005]`).
                if let Some(close) = bracket_group_end(raw, pos) {
                    let inner = &raw[pos + 1..close];
                    let mut inner_level = None;
                    let all_header = inner.split_ascii_whitespace().all(|t| {
                        let k = classify(t, &mut inner_level);
                        if k == Kind::Time {
                            saw_time = true;
                        }
                        k != Kind::Other
                    });
                    if all_header && !inner.trim().is_empty() {
                        level = level.or(inner_level);
                        end = close + 1;
                        pos = skip_ws(raw, end);
                        continue;
                    }
                }
                break;
            }
            end = next;
            pos = skip_ws(raw, next);
        }
        if saw_time {
            end = strip_component(raw, end);
        } else {
            // Without a date, time or number the "header" is probably message text.
            end = 0;
            level = None;
        }
        let header = raw[..end].trim_end();
        let content = raw[end..].trim_start();
        Self {
            header,
            level,
            content,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Time,
    Word,
    Other,
}

fn skip_ws(s: &str, mut pos: usize) -> usize {
    let b = s.as_bytes();
    while pos < b.len() && b[pos].is_ascii_whitespace() {
        pos += 1;
    }
    pos
}

fn next_token(s: &str, pos: usize) -> (&str, usize) {
    let b = s.as_bytes();
    let mut end = pos;
    while end < b.len() && !b[end].is_ascii_whitespace() {
        end += 1;
    }
    (&s[pos..end], end)
}

fn classify<'a>(tok: &'a str, level: &mut Option<&'a str>) -> Kind {
    if tok == "-" || tok == "|" {
        return Kind::Word;
    }
    // Byte-level trimming and one pass over the bytes: this runs on every header token.
    let b = tok.as_bytes();
    let is_trim = |c: &u8| matches!(c, b'[' | b']' | b'(' | b')' | b':' | b',');
    let start = b.iter().take_while(|c| is_trim(c)).count();
    let end = b.len() - b[start..].iter().rev().take_while(|c| is_trim(c)).count();
    // The trimmed bytes are ASCII, so these are char boundaries.
    let bare = &tok[start..end];
    let (mut digit, mut timeish) = (false, true);
    for &c in bare.as_bytes() {
        digit |= c.is_ascii_digit();
        timeish &= c.is_ascii_digit()
            || matches!(c, b':' | b'.' | b',' | b'-' | b'/' | b'+' | b'T' | b'Z');
    }
    if digit && timeish {
        return Kind::Time;
    }
    // Every level and name is 3 to 8 ASCII letters; most tokens fail this before any compare.
    if !(3..=8).contains(&bare.len()) || !bare.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Kind::Other;
    }
    if LEVELS.iter().any(|l| l.eq_ignore_ascii_case(bare)) {
        *level = Some(bare);
        return Kind::Word;
    }
    if bare.len() == 3 && NAMES.iter().any(|n| n.eq_ignore_ascii_case(bare)) {
        return Kind::Word;
    }
    Kind::Other
}

/// If a `[` opens at `pos`, the index of its matching `]` on the same line (nesting counted).
fn bracket_group_end(s: &str, pos: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(pos) != Some(&b'[') {
        return None;
    }
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(pos) {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'\n' => return None,
            _ => {}
        }
    }
    None
}

/// After a header, drops one `host component:` / `component:` prefix or a `[...] -` group.
fn strip_component(s: &str, end: usize) -> usize {
    let pos = skip_ws(s, end);
    if let Some(close) = bracket_group_end(s, pos) {
        let after = skip_ws(s, close + 1);
        let (tok, next) = next_token(s, after);
        if tok == "-" {
            return next;
        }
        return end;
    }
    let (first, next1) = next_token(s, pos);
    if is_component(first) {
        return next1;
    }
    let (second, next2) = next_token(s, skip_ws(s, next1));
    if !first.is_empty() && !first.ends_with(':') && is_component(second) {
        return next2;
    }
    end
}

/// `sshd[24200]:`, `dfs.DataNode$PacketResponder:`, `kernel:`, a word with structure and a colon.
fn is_component(tok: &str) -> bool {
    let Some(name) = tok.strip_suffix(':') else {
        return false;
    };
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'$' | b'_' | b'-' | b'[' | b']' | b'/' | b'@')
        })
}

#[cfg(test)]
mod tests {
    use super::LogLine;

    #[test]
    fn strips_common_headers() {
        let cases = [
            (
                "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
                "mod_jk child workerEnv in error state 6",
                Some("error"),
            ),
            (
                "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_3 terminating",
                "PacketResponder 1 for block blk_3 terminating",
                Some("INFO"),
            ),
            (
                "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
                "Invalid user webmaster from 173.234.31.186",
                None,
            ),
            (
                "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200",
                "Notification time out: 3200",
                Some("INFO"),
            ),
            (
                "error: connection refused",
                "error: connection refused",
                None,
            ),
            (
                "AssertionError: expected 3 got 4",
                "AssertionError: expected 3 got 4",
                None,
            ),
        ];
        for (raw, content, level) in cases {
            let line = LogLine::parse(raw);
            assert_eq!(line.content, content, "{raw}");
            assert_eq!(line.level, level, "{raw}");
        }
    }
}
