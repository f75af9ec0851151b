//! One open document at one version, with its analyses computed on first use.
//!
//! A [`Document`] never changes: an edit makes a new one. Its line index, regions, key
//! references and tests are computed lazily and at most once, so a burst of edits costs
//! nothing until someone asks, and concurrent handlers share the work.

use std::sync::{Arc, OnceLock};

use tower_lsp_server::ls_types::{Position, Range, Uri};

use crate::convert::LineIndex;
use crate::features::keys::{self, KeyRef, Projects};
use crate::features::regions::{self, Language, Region};
use crate::features::testfiles::{self, TestFile};

#[derive(Debug)]
pub(crate) struct Document {
    pub uri: Uri,
    pub version: i32,
    pub text: Arc<str>,
    pub language: Language,
    /// The file's path (from the URI), for framework detection and relative names.
    pub path: String,
    lines: OnceLock<LineIndex>,
    regions: OnceLock<Vec<Region>>,
    keys: OnceLock<Vec<KeyRef>>,
    tests: OnceLock<TestFile>,
    projects: Arc<Projects>,
}

impl Document {
    pub(crate) fn new(
        uri: Uri,
        version: i32,
        text: Arc<str>,
        language_id: &str,
        projects: Arc<Projects>,
    ) -> Self {
        let path = uri_path(&uri);
        let language = Language::detect(language_id, &path);
        Self {
            uri,
            version,
            text,
            language,
            path,
            lines: OnceLock::new(),
            regions: OnceLock::new(),
            keys: OnceLock::new(),
            tests: OnceLock::new(),
            projects,
        }
    }

    /// The same text analysed again (after the recognised projects changed).
    pub(crate) fn reanalysed(&self, projects: Arc<Projects>) -> Self {
        Self {
            uri: self.uri.clone(),
            version: self.version,
            text: self.text.clone(),
            language: self.language,
            path: self.path.clone(),
            lines: OnceLock::new(),
            regions: OnceLock::new(),
            keys: OnceLock::new(),
            tests: OnceLock::new(),
            projects,
        }
    }

    pub(crate) fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    pub(crate) fn regions(&self) -> &[Region] {
        self.regions
            .get_or_init(|| regions::regions(&self.text, self.language))
    }

    pub(crate) fn keys(&self) -> &[KeyRef] {
        self.keys
            .get_or_init(|| keys::find_keys(&self.text, self.regions(), &self.projects))
    }

    pub(crate) fn tests(&self) -> &TestFile {
        self.tests
            .get_or_init(|| testfiles::parse(&self.text, self.language, &self.path))
    }

    pub(crate) fn projects(&self) -> &Projects {
        &self.projects
    }

    pub(crate) fn projects_arc(&self) -> Arc<Projects> {
        self.projects.clone()
    }

    pub(crate) fn offset(&self, position: Position) -> usize {
        self.lines().offset(&self.text, position)
    }

    pub(crate) fn range(&self, range: std::ops::Range<usize>) -> Range {
        self.lines().range(&self.text, range)
    }

    pub(crate) fn is_config(&self) -> bool {
        let name = self.path.rsplit('/').next().unwrap_or("");
        name == "qapms.yaml" || name == "qapms.yml"
    }
}

/// The decoded file path of a URI (`file:///a%20b/x.py` → `/a b/x.py`); other schemes keep
/// their path as written.
pub(crate) fn uri_path(uri: &Uri) -> String {
    let raw = uri.path().as_str();
    percent_decode(raw)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_paths() {
        assert_eq!(percent_decode("/a%20b/%E2%9C%93.py"), "/a b/✓.py");
        assert_eq!(percent_decode("/bad%zz%2"), "/bad%zz%2");
    }
}
