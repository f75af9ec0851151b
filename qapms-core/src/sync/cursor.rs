//! Cursor text and the Jira time window.
//!
//! A Jira cursor is the newest `updated` time a scope has stored, as RFC 3339. The next sync
//! asks for `updated >= "-Nm"`: a window relative to the server's clock, not an absolute date,
//! because JQL reads absolute dates in the *user's profile time zone* and to the minute, and
//! neither is known reliably from here. `N` covers the time since the cursor plus an overlap
//! margin (clock skew between us and Jira, and issues that commit out of order), rounded up to
//! whole minutes, so the window always reaches back to the cursor; whatever the overlap
//! re-reads is rewritten by key, never duplicated.
//!
//! Fingerprints are short SHA-256 digests of what an item looked like, so an unchanged item
//! is skipped without comparing its fields.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The cursor text for `updated`.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored cursor, or `None` when it is not one of ours (then the scope syncs in full).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whole minutes the JQL window must reach back so that it covers `cursor - overlap` as seen
/// at `now`; at least one minute more than the overlap, so a cursor from the future (a clock
/// ahead of ours) still gets the margin.
pub(crate) fn window_minutes(cursor: DateTime<Utc>, now: DateTime<Utc>, overlap: Duration) -> u64 {
    let behind = (now - cursor).num_seconds().max(0).unsigned_abs();
    let seconds = behind.saturating_add(overlap.as_secs());
    seconds.div_ceil(60).max(1)
}

/// The JQL clause for a window of `minutes`.
pub(crate) fn updated_clause(minutes: u64) -> String {
    format!("updated >= \"-{minutes}m\"")
}

/// A JQL string literal: quotes and backslashes escaped, so a project key from the config
/// cannot change the query.
pub(crate) fn jql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A short hex digest of `parts`, separated so that `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize()[..12])
}

/// The digest of a whole file.
pub(crate) fn file_fingerprint(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_fresh_cursor_gets_the_overlap() {
        let now = at(1_800_000_000);
        assert_eq!(window_minutes(now, now, Duration::from_mins(5)), 5);
        assert_eq!(window_minutes(now, now, Duration::ZERO), 1);
        assert_eq!(updated_clause(5), "updated >= \"-5m\"");
    }

    #[test]
    fn garbage_cursors_are_not_cursors() {
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn jql_strings_cannot_break_out() {
        assert_eq!(jql_string("PAY"), "\"PAY\"");
        assert_eq!(jql_string("a\" OR 1=1 \\"), "\"a\\\" OR 1=1 \\\\\"");
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(fingerprint(["ab", "c"]), fingerprint(["a", "bc"]));
        assert_eq!(fingerprint(["x"]), fingerprint(["x"]));
    }

    proptest! {
        #[test]
        fn cursors_round_trip(secs in 0i64..4_000_000_000, millis in 0u32..1000) {
            let t = at(secs) + chrono::Duration::milliseconds(i64::from(millis));
            prop_assert_eq!(parse_time(&format_time(t)), Some(t));
        }

        #[test]
        fn the_window_always_reaches_the_cursor_minus_the_overlap(
            cursor in 0i64..4_000_000_000,
            ahead in -100_000i64..100_000_000,
            overlap in 0u64..100_000,
        ) {
            let cursor = at(cursor);
            let now = cursor + chrono::Duration::seconds(ahead);
            let minutes = window_minutes(cursor, now, Duration::from_secs(overlap));
            let reach = now - chrono::Duration::seconds(i64::try_from(minutes * 60).unwrap_or(i64::MAX));
            prop_assert!(reach <= cursor - chrono::Duration::seconds(overlap as i64) || ahead < 0);
            prop_assert!(minutes >= 1);
            // Never more than a minute wider than needed.
            let needed = (ahead.max(0) as u64 + overlap).div_ceil(60).max(1);
            prop_assert_eq!(minutes, needed);
        }

        #[test]
        fn any_text_parses_or_is_refused(text in "\\PC{0,40}") {
            let _ = parse_time(&text);
            let quoted = jql_string(&text);
            // The literal ends where it began: no unescaped quote inside.
            let inner = &quoted[1..quoted.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                if escaped { escaped = false; continue; }
                if c == '\\' { escaped = true; continue; }
                prop_assert_ne!(c, '"');
            }
            prop_assert!(!escaped);
        }
    }
}
