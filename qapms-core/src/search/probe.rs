//! A look at the index directory that changes nothing, for `qapms doctor`.

use std::path::Path;

use super::{RebuildReason, SearchIndex};

impl SearchIndex {
    /// `None` when `dir` holds an index of the current schema version, else why the next
    /// [`SearchIndex::open`] will rebuild it. Unlike `open`, this never writes to `dir`.
    pub fn probe(dir: &Path) -> Option<RebuildReason> {
        super::index::check_dir(dir)
    }
}
