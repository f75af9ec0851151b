//! Position conversion between qapms and LSP.
//!
//! qapms reports 1-based lines and 1-based columns counted in characters (Unicode scalar
//! values). LSP positions are 0-based and count UTF-16 code units by default, so a column past
//! an emoji or a CJK character differs between the two. Positions past the end of a line or
//! the document are clamped rather than rejected: a stale diagnostic must never crash a client.

use tower_lsp_server::ls_types::{Position, Range};

/// Converts a 1-based (line, character column) into an LSP position in `text`.
pub fn position(text: &str, line: usize, column: usize) -> Position {
    let line_index = line.saturating_sub(1);
    let Some(line_text) = text.split('\n').nth(line_index) else {
        let last = text.split('\n').count().saturating_sub(1);
        let last_text = text.split('\n').next_back().unwrap_or("");
        return Position::new(to_u32(last), utf16_len(last_text));
    };
    let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
    let chars = column.saturating_sub(1);
    let character: u32 = line_text
        .chars()
        .take(chars)
        .map(|c| to_u32(c.len_utf16()))
        .sum();
    Position::new(to_u32(line_index), character)
}

/// A range from two 1-based (line, column) pairs; an empty range grows to one character so
/// editors still show a squiggle.
pub fn range(text: &str, start: (usize, usize), end: (usize, usize)) -> Range {
    let start_pos = position(text, start.0, start.1);
    let mut end_pos = position(text, end.0, end.1);
    if end_pos <= start_pos {
        end_pos = position(text, start.0, start.1 + 1);
    }
    Range::new(start_pos, end_pos)
}

fn utf16_len(s: &str) -> u32 {
    to_u32(s.encode_utf16().count())
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units() {
        let text = "a: 1\nb: \"😀x\"\n";
        // Column 6 (1-based, characters) is `x`, after a surrogate pair.
        assert_eq!(position(text, 2, 6), Position::new(1, 6));
        assert_eq!(position(text, 1, 1), Position::new(0, 0));
    }

    #[test]
    fn clamps_past_the_end() {
        let text = "abc\n";
        assert_eq!(position(text, 1, 99), Position::new(0, 3));
        assert_eq!(position(text, 50, 1), Position::new(1, 0));
        let r = range(text, (1, 4), (1, 4));
        assert!(r.end >= r.start);
    }
}
