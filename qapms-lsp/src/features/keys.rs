//! The ticket key recogniser.
//!
//! Atlassian's extension matches anything shaped like `X-123` anywhere, dates and identifiers
//! included, and sends every match to every Jira site. Here a key is only recognised when:
//! - its project is one of the configured (or synced) project keys, so `UTF-8`, `SHA-256` and
//!   `ISO-8601` never match unless someone has a project called that;
//! - it stands in a comment, a string or prose ([`regions`](super::regions));
//! - it is a word of its own: not glued to letters, digits, `_`, `-`, `.` or `/` on the left
//!   (`my_PAY-12`, `v2.PAY-3`, `2024-PAY-1`), nor on the right to letters, digits or `_`
//!   (`PAY-12a`, `PAY-12_x`), nor followed by `-digit` or `.digit`, which is how dates and
//!   versions continue (`DEC-12-2024`, `REL-1.2`);
//! - its number has no leading zero (Jira never writes one; `MAY-01` is a date).

use std::collections::BTreeSet;
use std::ops::Range;

use super::regions::Region;

/// Longest project key Jira allows (10 by default, up to 255 when raised; 30 is generous and
/// keeps the scan bounded).
const MAX_PROJECT_LEN: usize = 30;
/// Longest issue number recognised (Jira's are `i64`, but 12 digits is far beyond any site).
const MAX_NUMBER_LEN: usize = 12;

/// The project keys to recognise, upper case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projects(BTreeSet<String>);

impl Projects {
    pub fn new<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self(
            keys.into_iter()
                .map(|k| k.as_ref().trim().to_ascii_uppercase())
                .filter(|k| is_project_key(k))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, project: &str) -> bool {
        self.0.contains(project)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Whether `key` could be a Jira project key: a letter, then letters, digits or `_`.
fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && key.len() <= MAX_PROJECT_LEN
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// One recognised key: where it is (byte offsets) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub range: Range<usize>,
    pub key: String,
}

impl KeyRef {
    pub fn project(&self) -> &str {
        self.key.split_once('-').map_or("", |(p, _)| p)
    }
}

/// Every key in `regions` of `text`, in document order.
pub fn find_keys(text: &str, regions: &[Region], projects: &Projects) -> Vec<KeyRef> {
    let mut out = Vec::new();
    if projects.is_empty() {
        return out;
    }
    for region in regions {
        let Some(slice) = text.get(region.range.clone()) else {
            continue;
        };
        scan(text, region.range.start, slice, projects, &mut out);
    }
    out
}

/// Scans `slice` (which starts at `base` in `text`); neighbours are looked up in `text` so a
/// key at a region's edge still sees the character beyond it.
fn scan(text: &str, base: usize, slice: &str, projects: &Projects, out: &mut Vec<KeyRef>) {
    let bytes = text.as_bytes();
    let end = base + slice.len();
    let mut i = base;
    while i < end {
        let b = bytes[i];
        if !b.is_ascii_uppercase() || (i > 0 && glued_left(bytes[i - 1])) {
            i += 1;
            continue;
        }
        match key_at(bytes, i, end) {
            Some(len) => {
                let key = &text[i..i + len];
                let project = key.split_once('-').map_or("", |(p, _)| p);
                if projects.contains(project) {
                    out.push(KeyRef {
                        range: i..i + len,
                        key: key.to_owned(),
                    });
                }
                i += len;
            }
            None => {
                // Skip the rest of this word: a key never starts inside one.
                i += 1;
                while i < end && is_word(bytes[i]) {
                    i += 1;
                }
            }
        }
    }
}

/// The length of a well-formed, free-standing key starting at `i`, if there is one.
fn key_at(bytes: &[u8], i: usize, end: usize) -> Option<usize> {
    let mut j = i;
    while j < end
        && (bytes[j].is_ascii_uppercase() || bytes[j].is_ascii_digit() || bytes[j] == b'_')
    {
        j += 1;
    }
    let project_len = j - i;
    if project_len == 0 || project_len > MAX_PROJECT_LEN || bytes.get(j) != Some(&b'-') {
        return None;
    }
    let digits_start = j + 1;
    let mut k = digits_start;
    while k < end && bytes[k].is_ascii_digit() {
        k += 1;
    }
    let digits = k - digits_start;
    if digits == 0 || digits > MAX_NUMBER_LEN || bytes[digits_start] == b'0' {
        return None;
    }
    match bytes.get(k) {
        Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => return None,
        Some(b'-' | b'.' | b':' | b'/') if bytes.get(k + 1).is_some_and(u8::is_ascii_digit) => {
            return None;
        }
        _ => {}
    }
    Some(k - i)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn glued_left(b: u8) -> bool {
    // `@` is not glue: Gherkin tags (`@PAY-12`) are how scenarios cite tickets.
    is_word(b) || matches!(b, b'-' | b'.' | b'/' | b'$') || b >= 0x80
}

/// The key whose range holds byte `offset` (its end included, where the cursor sits after it).
pub fn key_at_offset(keys: &[KeyRef], offset: usize) -> Option<&KeyRef> {
    keys.iter()
        .find(|k| k.range.start <= offset && offset <= k.range.end)
}

/// A partly typed key ending at `offset` (for completion): the project and the digits so far.
/// `PAY-` and `PAY-1` qualify; so does a bare project prefix `PA` when `allow_prefix` is set
/// (inside a `ticket("…")` string).
pub fn partial_key_before(
    text: &str,
    offset: usize,
    projects: &Projects,
    allow_prefix: bool,
) -> Option<(usize, String)> {
    let before = text.get(..offset)?;
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let word = &before[start..];
    if word.is_empty() && !allow_prefix {
        return None;
    }
    if before[..start]
        .chars()
        .next_back()
        .is_some_and(glued_left_char)
    {
        return None;
    }
    match word.split_once('-') {
        Some((project, digits)) => (projects.contains(project)
            && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (start, word.to_owned())),
        None => {
            let upper = word.to_ascii_uppercase();
            (allow_prefix && projects.iter().any(|p| p.starts_with(&upper)))
                .then(|| (start, word.to_owned()))
        }
    }
}

fn glued_left_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '$')
}

#[cfg(test)]
mod tests {
    use super::super::regions::{Language, RegionKind, regions};
    use super::*;
    use proptest::prelude::*;

    fn prose(text: &str) -> Vec<Region> {
        vec![Region {
            kind: RegionKind::Prose,
            range: 0..text.len(),
        }]
    }

    fn keys(text: &str) -> Vec<String> {
        let projects = Projects::new(["PAY", "QA", "DEC", "UTF"]);
        find_keys(text, &prose(text), &projects)
            .into_iter()
            .map(|k| k.key)
            .collect()
    }

    #[test]
    fn finds_configured_keys_only() {
        assert_eq!(
            keys("see PAY-12 and QA-3, not OPS-4"),
            vec!["PAY-12", "QA-3"]
        );
        assert_eq!(
            keys("(PAY-1) [PAY-2]: \"PAY-3\" PAY-4."),
            vec!["PAY-1", "PAY-2", "PAY-3", "PAY-4"]
        );
    }

    #[test]
    fn never_in_dates_versions_or_identifiers() {
        assert!(keys("DEC-12-2024 DEC-01 2024-DEC-12 DEC-5.1 DEC-10:30").is_empty());
        assert!(keys("my_PAY-12 PAY-12a PAY-12_x xPAY-1 v2.PAY-3 /PAY-4 $PAY-5").is_empty());
        assert_eq!(keys("@PAY-6 @smoke"), vec!["PAY-6"]);
        assert!(keys("PAY-0 PAY- PAY-x pay-12").is_empty());
        assert!(keys("éPAY-1").is_empty());
    }

    #[test]
    fn standards_are_not_keys_unless_configured() {
        let text = "UTF-8 SHA-256 ISO-8601";
        let projects = Projects::new(["PAY"]);
        assert!(find_keys(text, &prose(text), &projects).is_empty());
    }

    #[test]
    fn only_inside_comments_and_strings_in_code() {
        let text = "PAY_12 = PAY-1  # PAY-2\nx = 'PAY-3'\n";
        let projects = Projects::new(["PAY"]);
        let found: Vec<_> = find_keys(text, &regions(text, Language::Python), &projects)
            .into_iter()
            .map(|k| k.key)
            .collect();
        assert_eq!(found, vec!["PAY-2", "PAY-3"]);
    }

    #[test]
    fn partial_keys_for_completion() {
        let projects = Projects::new(["PAY"]);
        assert_eq!(
            partial_key_before("# PAY-1", 7, &projects, false),
            Some((2, "PAY-1".to_owned()))
        );
        assert_eq!(
            partial_key_before("# PAY-", 6, &projects, false),
            Some((2, "PAY-".to_owned()))
        );
        assert_eq!(partial_key_before("# PA", 4, &projects, false), None);
        assert_eq!(
            partial_key_before("ticket(\"PA", 10, &projects, true),
            Some((8, "PA".to_owned()))
        );
        assert_eq!(partial_key_before("x_PAY-1", 7, &projects, false), None);
        assert_eq!(partial_key_before("é", 1, &projects, false), None);
    }

    proptest! {
        #[test]
        fn never_panics_and_ranges_hold_the_key(text in "\\PC{0,200}", lang in 0usize..8) {
            let language = [
                Language::Python, Language::CLike, Language::Json, Language::Yaml,
                Language::Markdown, Language::Gherkin, Language::PlainText, Language::Other,
            ][lang];
            let projects = Projects::new(["PAY", "A", "QA1"]);
            let regions = regions(&text, language);
            for r in &regions {
                prop_assert!(text.get(r.range.clone()).is_some());
            }
            for k in find_keys(&text, &regions, &projects) {
                prop_assert_eq!(text.get(k.range.clone()), Some(k.key.as_str()));
                prop_assert!(projects.contains(k.project()));
            }
            for offset in 0..=text.len() + 2 {
                let _ = partial_key_before(&text, offset, &projects, offset % 2 == 0);
            }
        }

        #[test]
        fn a_free_standing_key_is_always_found(
            before in "[ a-z(\\[\"',;]{0,5}",
            n in 1u32..1_000_000,
            after in "[ ,;)\\]\"'!?]{0,5}",
        ) {
            let key = format!("PAY-{n}");
            let text = format!("{before} {key}{after}");
            prop_assert_eq!(keys(&text), vec![key]);
        }
    }
}
