//! Masking: one hand-written classifier replaces Drain's per-dataset regexes.
//!
//! A line is split on ASCII whitespace into tokens; each token is split again at structural
//! punctuation (`: = , ; ( ) [ ] { } " ' < > | @`) into segments, and each segment is classified on
//! its own bytes, in one pass, without regexes. A segment is a variable (`<*>`) when it
//! - starts with a digit, or a sign or `#` followed by a digit (numbers, dates, times, IPv4,
//!   hex such as `0x1f`, UUIDs and hashes that start with a digit);
//! - holds two or more digits anywhere (`blk_-42`, `Thread-12`, `a3f9e0c1`, `10.0.0.1`);
//! - is a path (`/...`, `\...`, `./`, `../`, `~/`).
//!
//! Whole tokens that are URLs (`scheme://...`) or e-mail addresses become one `<*>`, keeping any
//! surrounding brackets or trailing punctuation. Splitting at punctuation before classifying is
//! what makes IPs with ports (`10.0.0.1:8080` → `<*>:<*>`), key-value pairs (`uid=0` →
//! `uid=<*>`), bracketed ids and timestamps (`17:41:44,747` → `<*>:<*>:<*>,<*>`) come out right
//! without a rule for each. A single digit inside a word (`ssh2`, `log4j`, `jk2_init`) is kept:
//! such words are nearly always part of the message, not a value.
//!
//! The punctuation set keeps `.`, `-`, `_`, `/`, `$`, `+`, `#` inside segments, so dotted names
//! (`dfs.DataNode$PacketResponder`), paths and dotted quads stay one segment.

/// The wildcard that stands for a variable, as in the Loghub ground truth.
pub const WILDCARD: &str = "<*>";

/// Structural punctuation, as a table: this test runs on every byte of every line.
const DELIMITERS: [bool; 256] = {
    let mut table = [false; 256];
    let set = b":=,;()[]{}\"'<>|@";
    let mut i = 0;
    while i < set.len() {
        table[set[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_delimiter(b: u8) -> bool {
    DELIMITERS[usize::from(b)]
}

/// Masks `line` token by token and returns the masked tokens joined by single spaces.
///
/// This is the same masking the miner applies before it builds its parse tree.
///
/// ```
/// use qapms_core::patterns::templates::mask;
/// assert_eq!(
///     mask("Accepted password for root from 10.0.0.1 port 22 ssh2"),
///     "Accepted password for root from <*> port <*> ssh2"
/// );
/// ```
pub fn mask(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for token in line.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        mask_token(token, &mut out);
    }
    out
}

/// Appends the masked form of one whitespace-free token to `out`.
pub(crate) fn mask_token(token: &str, out: &mut String) {
    let bytes = token.as_bytes();
    let (mut delimited, mut at) = (false, false);
    for &b in bytes {
        if is_delimiter(b) {
            delimited = true;
            at |= b == b'@';
        }
    }
    if !delimited {
        // Most tokens are one plain segment: classify it without the splitting machinery.
        if is_variable(bytes) {
            push_wildcard(out);
        } else {
            out.push_str(token);
        }
        return;
    }
    // URLs hold `:` and e-mails `@`, both delimiters, so only delimited tokens need this check.
    if let Some((lead, trail)) = whole_token_variable(bytes, at) {
        // The lead and trail are ASCII punctuation, so these are char boundaries.
        out.push_str(&token[..lead]);
        out.push_str(WILDCARD);
        out.push_str(&token[bytes.len() - trail..]);
        return;
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"<*>") {
            push_wildcard(out);
            i += 3;
            continue;
        }
        if is_delimiter(bytes[i]) {
            out.push(char::from(bytes[i]));
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_delimiter(bytes[i]) {
            i += 1;
        }
        // Delimiters are ASCII, so `start..i` falls on char boundaries.
        let segment = &token[start..i];
        if is_variable(segment.as_bytes()) {
            push_wildcard(out);
        } else {
            out.push_str(segment);
        }
    }
}

/// Adjacent wildcards carry no more information than one, and Loghub's evaluation merges them.
fn push_wildcard(out: &mut String) {
    if !out.ends_with(WILDCARD) {
        out.push_str(WILDCARD);
    }
}

/// Whether a segment (a token piece without structural punctuation) is a variable.
pub(crate) fn is_variable(seg: &[u8]) -> bool {
    let Some(&first) = seg.first() else {
        return false;
    };
    if first == b'/' || first == b'\\' {
        return seg[1..].iter().any(u8::is_ascii_alphanumeric);
    }
    if seg.starts_with(b"./") || seg.starts_with(b"../") || seg.starts_with(b"~/") {
        return true;
    }
    if first.is_ascii_digit() {
        return true;
    }
    if matches!(first, b'-' | b'+' | b'#') && seg.get(1).is_some_and(u8::is_ascii_digit) {
        return true;
    }
    seg.iter().filter(|b| b.is_ascii_digit()).take(2).count() >= 2
}

/// If the whole token (less surrounding punctuation) is a URL or an e-mail address, returns the
/// byte lengths of the leading and trailing punctuation to keep.
fn whole_token_variable(bytes: &[u8], at: bool) -> Option<(usize, usize)> {
    let lead = bytes
        .iter()
        .take_while(|b| matches!(b, b'<' | b'(' | b'[' | b'{' | b'"' | b'\''))
        .count();
    let trail = bytes[lead..]
        .iter()
        .rev()
        .take_while(|b| {
            matches!(
                b,
                b'>' | b')' | b']' | b'}' | b'"' | b'\'' | b',' | b';' | b'.' | b':'
            )
        })
        .count();
    let core = &bytes[lead..bytes.len() - trail];
    (is_url(core) || (at && is_email(core))).then_some((lead, trail))
}

fn is_url(core: &[u8]) -> bool {
    let Some(pos) = core.windows(3).position(|w| w == b"://") else {
        return false;
    };
    pos > 0
        && core[..pos]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && core.len() > pos + 3
}

fn is_email(core: &[u8]) -> bool {
    let Some(at) = core.iter().position(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&core[..at], &core[at + 1..]);
    let local_ok = !local.is_empty()
        && local
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-'));
    let Some(dot) = domain.iter().rposition(|&b| b == b'.') else {
        return false;
    };
    let tld = &domain[dot + 1..];
    local_ok
        && dot > 0
        && domain
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && tld.len() >= 2
        && tld.iter().all(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_common_variables() {
        let cases = [
            (
                "Received block blk_-1608999687919862906 of size 91178",
                "Received block <*> of size <*>",
            ),
            (
                "Received connection request /10.10.34.11:45307",
                "Received connection request <*>:<*>",
            ),
            (
                "session 0x14ed93111f20002 at /10.10.34.13:37177",
                "session <*> at <*>:<*>",
            ),
            (
                "[client 218.62.18.218] Directory index forbidden",
                "[client <*>] Directory index forbidden",
            ),
            (
                "uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4",
                "uid=<*> euid=<*> tty=ssh ruser= rhost=<*>",
            ),
            ("at 2015-07-29 17:41:44,747 ok", "at <*> <*>:<*>:<*>,<*> ok"),
            (
                "id 550e8400-e29b-41d4-a716-446655440000 gone",
                "id <*> gone",
            ),
            ("GET https://example.com/a?b=1, then", "GET <*>, then"),
            ("mail (bob.smith@example.org) failed", "mail (<*>) failed"),
            ("open /etc/httpd/conf/workers2.properties", "open <*>"),
            (
                "bind [::1]:8080 and fe80::1ff:fe23:4567:890a",
                "bind [::<*>]:<*> and <*>::<*>:<*>:<*>:<*>",
            ),
            (
                "jk2_init() Found child 6725 in slot 10 ssh2",
                "jk2_init() Found child <*> in slot <*> ssh2",
            ),
            (
                "at com.x.Foo.<init>(Foo.java:42)",
                "at com.x.Foo.<init>(Foo.java:<*>)",
            ),
            ("already <*> masked", "already <*> masked"),
        ];
        for (line, want) in cases {
            assert_eq!(mask(line), want, "{line}");
        }
    }
}
