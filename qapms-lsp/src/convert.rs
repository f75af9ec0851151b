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

/// Line starts of a text, for mapping byte offsets to LSP positions and back in O(log n).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// The LSP position of byte `offset` (clamped to the text, floored to a character).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = text.get(start..offset).map_or(0, utf16_len);
        Position::new(to_u32(line), character)
    }

    pub fn range(&self, text: &str, range: std::ops::Range<usize>) -> Range {
        Range::new(
            self.position(text, range.start),
            self.position(text, range.end),
        )
    }

    /// The byte offset of an LSP position. A line past the end maps to the end of the text; a
    /// character past the end of its line maps to the line's end; a position inside a surrogate
    /// pair maps to the start of its character.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let line = position.line as usize;
        let Some(&start) = self.starts.get(line) else {
            return text.len();
        };
        let end = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |&next| next - 1);
        let line_text = text.get(start..end).unwrap_or("");
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        let mut units = 0u32;
        for (i, c) in line_text.char_indices() {
            let width = to_u32(c.len_utf16());
            if units + width > position.character {
                return start + i;
            }
            units += width;
        }
        start + line_text.len()
    }
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
    fn line_index_round_trips_and_clamps() {
        let text = "ab\n😀x\r\nlast";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 3), Position::new(1, 0));
        assert_eq!(index.position(text, 7), Position::new(1, 2));
        assert_eq!(index.offset(text, Position::new(1, 2)), 7);
        // Inside the surrogate pair: the start of the emoji.
        assert_eq!(index.offset(text, Position::new(1, 1)), 3);
        assert_eq!(index.offset(text, Position::new(1, 99)), 8);
        assert_eq!(index.offset(text, Position::new(9, 0)), text.len());
        assert_eq!(index.position(text, 999), Position::new(2, 4));
    }

    proptest::proptest! {
        #[test]
        fn line_index_never_panics(text in "\\PC{0,80}", line in 0u32..6, ch in 0u32..40, off in 0usize..120) {
            let index = LineIndex::new(&text);
            let o = index.offset(&text, Position::new(line, ch));
            proptest::prop_assert!(text.is_char_boundary(o));
            let p = index.position(&text, off);
            let back = index.offset(&text, p);
            proptest::prop_assert!(back <= text.len());
        }
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
