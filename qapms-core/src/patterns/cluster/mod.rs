//! Failure clustering: which failed attempts share a cause.
//!
//! # Design
//!
//! A failure's cluster is the pair of
//! - its **message template**: the failure's headline (the exception line, or the first line
//!   of a plain message) mined by the one [`TemplateMiner`] with its built-in masking of numbers,
//!   ids, paths and the like, so `timeout after 5003 ms` and `timeout after 4991 ms` agree;
//! - its **stack fingerprint** ([`trace`]): the exception type plus the top frames of the
//!   project's own code, so the same message raised from two places is two clusters, and a trace
//!   that passes through the same library frames for unrelated reasons is not merged.
//!
//! The cluster id ([`ClusterKey`]) is a content hash of the template text and the stack
//! fingerprint: Python, the language server and the dashboard compute the same id from the same
//! failure, and the store's `patterns.id` for the cluster is derived from it
//! ([`ClusterKey::pattern_id`]), so the same cluster has the same row on every machine.
//!
//! A [`Clusterer`] is fed failures in the order they ran and assigns each one a cluster when it
//! is finished: the miner's templates can widen as messages arrive (`refused on port 5432`, then
//! `refused on port <*>`), and an id taken before the template settled would name a template
//! that no longer exists. Memory is one small record per failure plus the miner's bounded state.

mod link;
pub mod trace;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Builder;

use crate::model::PatternId;
use crate::patterns::templates::{ClusterId, MinerConfig, TemplateId, TemplateMiner};

pub use link::{
    KnownIssueRule, LinkSource, MARKER_PREFIX, TicketLink, TicketLinker, TicketSummary, marker_for,
    summary_similarity,
};
pub use trace::{Frame, Language, StackSignature, TraceOptions, parse_trace};

/// The `patterns.kind` of a failure cluster.
pub const CLUSTER_KIND: &str = "failure_cluster";

/// The stable id of a failure cluster: a hash of its template and stack fingerprint, shown as
/// 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct ClusterKey(u64);

impl ClusterKey {
    /// The key of a template and an optional stack fingerprint.
    pub fn of(template: &str, stack: Option<TemplateId>) -> Self {
        let mut text = String::with_capacity(template.len() + 20);
        text.push_str(template);
        text.push('\u{1f}');
        if let Some(stack) = stack {
            text.push_str(&stack.to_string());
        }
        Self(TemplateId::of(&text).as_u64())
    }

    /// Parses the 16-hex-digit form.
    pub fn parse(text: &str) -> Option<Self> {
        TemplateId::parse(text).map(|id| Self(id.as_u64()))
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The store id of the cluster's `patterns` row: the first 16 bytes of
    /// `SHA-256("failure_cluster:" + key)`, as a version-8 (custom) UUID.
    pub fn pattern_id(self) -> PatternId {
        let digest = Sha256::digest(format!("{CLUSTER_KIND}:{self}").as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        PatternId::from_uuid(Builder::from_custom_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl From<ClusterKey> for String {
    fn from(key: ClusterKey) -> Self {
        key.to_string()
    }
}

/// What a cluster looks like, independent of where it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterShape {
    pub key: ClusterKey,
    /// The message template, with `<*>` for the masked parts.
    pub template: String,
    /// The template's own id (the miner's content hash).
    pub template_id: TemplateId,
    /// The exception type, when the trace named one.
    pub exception: Option<String>,
    /// The stack fingerprint, when the trace had an exception or frames.
    pub stack_fingerprint: Option<TemplateId>,
    /// The own frames the fingerprint was made of, innermost first.
    pub frames: Vec<Frame>,
    /// One headline of the cluster, as a reader would see it.
    pub example: String,
}

/// Per failure: the miner's cluster and the stack fingerprint.
#[derive(Debug, Clone, Copy)]
struct Assigned {
    miner: ClusterId,
    stack: Option<TemplateId>,
}

/// Streams failures into clusters; see the module documentation.
#[derive(Debug)]
pub struct Clusterer {
    miner: TemplateMiner,
    trace: TraceOptions,
    failures: Vec<Assigned>,
    /// The latest template of each miner cluster, by `ClusterId` (numbered from 0).
    templates: Vec<Option<(TemplateId, String)>>,
    /// The exception and frames behind each stack fingerprint, plus one example headline.
    stacks: HashMap<TemplateId, (Option<String>, Vec<Frame>)>,
    examples: HashMap<ClusterId, String>,
    truncated: u64,
}

impl Clusterer {
    pub fn new(miner: MinerConfig, trace: TraceOptions) -> Self {
        Self {
            miner: TemplateMiner::new(miner),
            trace,
            failures: Vec::new(),
            templates: Vec::new(),
            stacks: HashMap::new(),
            examples: HashMap::new(),
            truncated: 0,
        }
    }

    /// Adds one failure message (message and trace); returns its index.
    pub fn add(&mut self, message: &str) -> usize {
        let sig = parse_trace(message, &self.trace);
        self.truncated += u64::from(sig.truncated);
        let stack = sig.fingerprint();
        if let Some(fp) = stack {
            self.stacks
                .entry(fp)
                .or_insert_with(|| (sig.exception.clone(), sig.frames.clone()));
        }
        let m = self.miner.add(&sig.headline);
        let miner = m.cluster;
        let slot = usize::try_from(miner.as_u64()).unwrap_or(usize::MAX);
        if m.is_new
            || m.previous_id.is_some()
            || self.templates.get(slot).is_none_or(Option::is_none)
        {
            let entry = (m.template_id, m.template.to_owned());
            if slot >= self.templates.len() && slot < usize::MAX {
                self.templates.resize(slot + 1, None);
            }
            if let Some(t) = self.templates.get_mut(slot) {
                *t = Some(entry);
            }
        }
        self.examples
            .entry(miner)
            .or_insert_with(|| trace::clip(&sig.headline, 512).to_owned());
        self.failures.push(Assigned { miner, stack });
        self.failures.len() - 1
    }

    /// Failures added so far.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// Messages a size limit cut.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    /// The cluster of every failure, in the order added, and the shape of every cluster.
    pub fn finish(self) -> (Vec<ClusterKey>, HashMap<ClusterKey, ClusterShape>) {
        let mut shapes: HashMap<ClusterKey, ClusterShape> = HashMap::new();
        let mut keys = Vec::with_capacity(self.failures.len());
        for failure in &self.failures {
            let slot = usize::try_from(failure.miner.as_u64()).unwrap_or(usize::MAX);
            let (template_id, template) = self
                .templates
                .get(slot)
                .and_then(Option::as_ref)
                .map_or_else(|| (TemplateId::of(""), ""), |(id, t)| (*id, t.as_str()));
            let key = ClusterKey::of(template, failure.stack);
            keys.push(key);
            shapes.entry(key).or_insert_with(|| {
                let (exception, frames) = failure
                    .stack
                    .and_then(|fp| self.stacks.get(&fp).cloned())
                    .unwrap_or_default();
                ClusterShape {
                    key,
                    template: template.to_owned(),
                    template_id,
                    exception,
                    stack_fingerprint: failure.stack,
                    frames,
                    example: self
                        .examples
                        .get(&failure.miner)
                        .cloned()
                        .unwrap_or_default(),
                }
            });
        }
        (keys, shapes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clusterer() -> Clusterer {
        Clusterer::new(MinerConfig::default(), TraceOptions::default())
    }

    #[test]
    fn same_cause_same_cluster_different_frames_split() {
        let mut c = clusterer();
        let at = |n: u32, f: &str| {
            format!(
                "java.net.ConnectException: Connection refused to 10.0.0.{n}:5432\n\
                 \tat com.acme.db.Pool.{f}(Pool.java:{n})\n\tat java.base/java.net.Socket.connect(Socket.java:1)"
            )
        };
        c.add(&at(1, "open"));
        c.add(&at(2, "open"));
        c.add(&at(3, "reconnect"));
        let (keys, shapes) = c.finish();
        assert_eq!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_eq!(shapes.len(), 2);
        let shape = &shapes[&keys[0]];
        assert_eq!(
            shape.template,
            "java.net.ConnectException: Connection refused to <*>:<*>"
        );
        assert_eq!(
            shape.exception.as_deref(),
            Some("java.net.ConnectException")
        );
        assert_eq!(shape.frames[0].key, "com.acme.db.Pool.open");
    }

    #[test]
    fn ids_are_content_hashes_across_clusterers() {
        let run = |messages: &[&str]| {
            let mut c = clusterer();
            for m in messages {
                c.add(m);
            }
            c.finish().0
        };
        let a = run(&["timeout after 5003 ms", "timeout after 4991 ms"]);
        let b = run(&["timeout after 17 ms", "timeout after 18 ms"]);
        assert_eq!(a[0], b[0]);
        assert_eq!(a[0], ClusterKey::of("timeout after <*> ms", None));
        assert_eq!(a[0].pattern_id(), b[1].pattern_id());
        assert_eq!(ClusterKey::parse(&a[0].to_string()), Some(a[0]));
    }

    #[test]
    fn a_widened_template_reassigns_earlier_failures() {
        let mut c = clusterer();
        c.add("login failed for user alice in tenant acme");
        c.add("login failed for user bob in tenant acme");
        let (keys, shapes) = c.finish();
        assert_eq!(keys[0], keys[1]);
        assert_eq!(
            shapes[&keys[0]].template,
            "login failed for user <*> in tenant acme"
        );
    }

    #[test]
    fn pattern_ids_are_fixed() {
        // Changing how ids are derived orphans every stored cluster; this must never change.
        let key = ClusterKey::of("timeout after <*> ms", None);
        assert_eq!(key.to_string().len(), 16);
        assert_eq!(key.pattern_id(), key.pattern_id());
        assert_eq!(key.pattern_id().as_uuid().get_version_num(), 8);
    }
}
