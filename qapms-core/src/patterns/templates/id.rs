//! Stable template ids.
//!
//! An id is the 64-bit FNV-1a hash of the template text, shown as 16 lower-case hex digits. FNV-1a
//! is written out here (a few lines) rather than taken from `std`'s `DefaultHasher`, whose
//! algorithm may change between Rust releases: the id must be the same in Python, the editor and
//! the dashboard, on every machine, forever. 64 bits keep collisions negligible for the number of
//! templates one installation sees (well under a million).

use std::fmt;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The stable id of a template text: a content hash, equal for equal text everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(u64);

impl TemplateId {
    /// The id of `template` (the text as [`super::Template::text`] spells it).
    pub fn of(template: &str) -> Self {
        Self(fnv1a(template.as_bytes()))
    }

    /// The raw 64-bit value.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Parses the 16-hex-digit form written by `Display`.
    pub fn parse(hex: &str) -> Option<Self> {
        if hex.len() != 16 {
            return None;
        }
        u64::from_str_radix(hex, 16).ok().map(Self)
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Serialised as its 16-hex-digit text, the form every front-end shows.
impl serde::Serialize for TemplateId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// A fast, deterministic hasher for the parse tree's maps (FNV-1a over the key bytes).
///
/// The tree's keys are short tokens; `SipHash`'s `DoS` resistance buys little there because every
/// node holds at most `max_children` keys, and it costs a large share of the per-line budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        Self(FNV_OFFSET)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

pub(crate) type FnvBuild = std::hash::BuildHasherDefault<FnvHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_never_change() {
        // Published FNV-1a 64 test vectors: if these change, every stored cluster id breaks.
        assert_eq!(TemplateId::of("").to_string(), "cbf29ce484222325");
        assert_eq!(TemplateId::of("a").to_string(), "af63dc4c8601ec8c");
        assert_eq!(TemplateId::of("foobar").to_string(), "85944171f73967e8");
    }

    #[test]
    fn display_round_trips() {
        let id = TemplateId::of("Invalid user <*> from <*>");
        assert_eq!(TemplateId::parse(&id.to_string()), Some(id));
        assert_eq!(TemplateId::parse("xyz"), None);
    }
}
