//! Approximate matching of ids, keys and titles with nucleo-matcher.
//!
//! The table holds every live document's key and title as UTF-32 strings (what nucleo wants),
//! built from the stored documents of one searcher generation and rebuilt when the index
//! changes. Each needle is matched as one plain fuzzy atom, never through nucleo's pattern
//! syntax, so user input such as `!x` or `^y` has no special meaning.

use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization};
use nucleo_matcher::{Config, Matcher, Utf32String};
use tantivy::schema::Value;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::schema::Fields;

struct IdEntry {
    key: Utf32String,
    title: Utf32String,
    address: DocAddress,
}

pub(crate) struct IdTable {
    pub(crate) generation: u64,
    entries: Vec<IdEntry>,
}

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable")
            .field("generation", &self.generation)
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// Titles longer than this are cut before matching: nucleo's cost grows with the haystack.
const MAX_TITLE_CHARS: usize = 160;

impl IdTable {
    pub(crate) fn build(searcher: &Searcher, fields: Fields) -> tantivy::Result<Self> {
        let mut entries = Vec::new();
        for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
            let store = segment.get_store_reader(16)?;
            let alive = segment.alive_bitset();
            for doc_id in 0..segment.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(doc_id)) {
                    continue;
                }
                let doc: TantivyDocument = store.get(doc_id)?;
                let text = |field| {
                    doc.get_first(field)
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                };
                let title: String = text(fields.title).chars().take(MAX_TITLE_CHARS).collect();
                entries.push(IdEntry {
                    key: Utf32String::from(text(fields.key).as_str()),
                    title: Utf32String::from(title.as_str()),
                    address: DocAddress::new(ordinal as u32, doc_id),
                });
            }
        }
        Ok(Self {
            generation: searcher.generation().generation_id(),
            entries,
        })
    }

    /// The best matches of `needle` against keys (and titles when `titles`), best first.
    pub(crate) fn best(&self, needle: &str, titles: bool, limit: usize) -> Vec<(DocAddress, u32)> {
        let needle = needle.trim();
        let chars = needle.chars().count();
        if chars == 0 || limit == 0 {
            return Vec::new();
        }
        let atom = Atom::new(
            needle,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Fuzzy,
            false,
        );
        let mut matcher = Matcher::new(Config::DEFAULT);
        // A match must score like mostly-consecutive characters; a scattered subsequence
        // across a long title is noise.
        let floor = 12 * chars as u32;
        let mut found: Vec<(DocAddress, u32, usize)> = Vec::new();
        for entry in &self.entries {
            let key_score = atom
                .score(entry.key.slice(..), &mut matcher)
                .map(u32::from)
                .map(|s| {
                    // An exact key (ignoring case) outranks any partial one.
                    if entry.key.len() == chars
                        && entry
                            .key
                            .slice(..)
                            .chars()
                            .zip(needle.chars())
                            .all(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
                    {
                        s.saturating_mul(2)
                    } else {
                        s
                    }
                });
            let title_score = if titles {
                atom.score(entry.title.slice(..), &mut matcher)
                    .map(u32::from)
            } else {
                None
            };
            let score = key_score.max(title_score);
            if let Some(score) = score.filter(|&s| s >= floor) {
                found.push((entry.address, score, entry.key.len()));
            }
        }
        found.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        found.truncate(limit);
        found.into_iter().map(|(a, s, _)| (a, s)).collect()
    }
}
