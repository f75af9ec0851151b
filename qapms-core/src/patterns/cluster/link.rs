//! Linking clusters to Jira: known-issue rules from the config, and the cached tickets.
//!
//! A cluster is linked to a ticket, most certain first, by
//! 1. a **rule** in `patterns.known_issues` (a regex over the cluster's template, example
//!    message and exception, or a template with `<*>` wildcards), which also marks the
//!    cluster's failures as expected;
//! 2. a **marker**: the text `qapms-cluster:<id>` in the ticket's labels or anywhere in its raw
//!    JSON (a label, a line in the description), which is how a bug filed from qapms names its
//!    cluster;
//! 3. a **similar summary**: the Jaccard similarity of the words of the ticket's summary and
//!    the fixed (unmasked) words of the template, at or above a threshold. Candidates come from
//!    an inverted index of summary words, so the cost grows with the words shared, not with
//!    clusters × tickets.

use std::collections::{HashMap, HashSet};

use regex::{Regex, RegexBuilder};
use serde::Serialize;

use super::{ClusterKey, ClusterShape};
use crate::model::{IssueKey, Ticket};
use crate::patterns::templates::WILDCARD;
use crate::{Error, Result};

/// The marker a ticket carries to name its cluster.
pub const MARKER_PREFIX: &str = "qapms-cluster:";

/// The marker text for a cluster, to put on a ticket (as a label or in its description).
pub fn marker_for(key: ClusterKey) -> String {
    format!("{MARKER_PREFIX}{key}")
}

/// Largest compiled size of a known-issue regex, so a config cannot make matching explode.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How a cluster was linked to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    Rule,
    Marker,
    Summary,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Marker => "marker",
            Self::Summary => "summary",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "rule" => Some(Self::Rule),
            "marker" => Some(Self::Marker),
            "summary" => Some(Self::Summary),
            _ => None,
        }
    }
}

/// A cluster's link to a Jira issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketLink {
    pub issue: IssueKey,
    pub source: LinkSource,
    /// 1 for rules and markers; the similarity for summaries.
    pub score: f64,
}

#[derive(Debug, Clone)]
enum Matcher {
    Regex(Regex),
    Template(Regex),
}

/// A compiled `patterns.known_issues` entry.
#[derive(Debug, Clone)]
pub struct KnownIssueRule {
    issue: IssueKey,
    matcher: Matcher,
}

impl KnownIssueRule {
    /// A rule matching a regex against the cluster's template, example and exception.
    pub fn regex(issue: IssueKey, pattern: &str) -> Result<Self> {
        let regex = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                Error::config(format!("invalid known-issue regex: {e}"))
                    .with_context("issue", issue.as_str())
            })?;
        Ok(Self {
            issue,
            matcher: Matcher::Regex(regex),
        })
    }

    /// A rule matching a template: literal text with `<*>` standing for any text. It matches a
    /// cluster's template or its example message, in full.
    pub fn template(issue: IssueKey, template: &str) -> Result<Self> {
        let mut pattern = String::from("^");
        for (i, part) in template.trim().split(WILDCARD).enumerate() {
            if i > 0 {
                pattern.push_str(".*?");
            }
            pattern.push_str(&regex::escape(part));
        }
        pattern.push('$');
        let regex = RegexBuilder::new(&pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                Error::config(format!("known-issue template is too large: {e}"))
                    .with_context("issue", issue.as_str())
            })?;
        Ok(Self {
            issue,
            matcher: Matcher::Template(regex),
        })
    }

    /// Compiles a configured entry; exactly one of `pattern` and `template` must be given.
    pub fn from_config(issue: &str, pattern: Option<&str>, template: Option<&str>) -> Result<Self> {
        let issue = IssueKey::parse(issue)?;
        match (pattern, template) {
            (Some(p), None) => Self::regex(issue, p),
            (None, Some(t)) => Self::template(issue, t),
            _ => Err(Error::config(
                "a known issue needs exactly one of `pattern` (a regex) and `template`",
            )
            .with_context("issue", issue.as_str())),
        }
    }

    pub fn issue(&self) -> &IssueKey {
        &self.issue
    }

    /// Whether the rule matches the cluster.
    pub fn matches(&self, shape: &ClusterShape) -> bool {
        match &self.matcher {
            Matcher::Regex(re) => {
                re.is_match(&shape.template)
                    || re.is_match(&shape.example)
                    || shape.exception.as_deref().is_some_and(|e| re.is_match(e))
            }
            Matcher::Template(re) => re.is_match(&shape.template) || re.is_match(&shape.example),
        }
    }
}

/// The parts of a cached ticket the linker reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSummary {
    pub key: IssueKey,
    pub summary: String,
    /// Labels and the raw JSON, searched for markers.
    pub marker_text: String,
}

impl From<&Ticket> for TicketSummary {
    fn from(t: &Ticket) -> Self {
        let mut marker_text = t.labels.join(" ");
        marker_text.push(' ');
        if t.raw.as_str().contains(MARKER_PREFIX) {
            marker_text.push_str(t.raw.as_str());
        }
        Self {
            key: t.key.clone(),
            summary: t.summary.clone(),
            marker_text,
        }
    }
}

/// Lower-case words of two or more letters or digits, without the wildcard.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// The Jaccard similarity of the words of a template (its fixed parts) and of a summary.
pub fn summary_similarity(template: &str, summary: &str) -> f64 {
    let a = words(&template.replace(WILDCARD, " "));
    let b = words(summary);
    jaccard(&a, &b)
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// Links clusters to cached tickets (markers and summaries) and to known-issue rules.
#[derive(Debug, Clone, Default)]
pub struct TicketLinker {
    rules: Vec<KnownIssueRule>,
    markers: HashMap<ClusterKey, IssueKey>,
    summaries: Vec<(IssueKey, HashSet<String>)>,
    index: HashMap<String, Vec<usize>>,
    threshold: f64,
}

impl TicketLinker {
    /// A linker over the given tickets; `threshold` is the least summary similarity, in `(0, 1]`.
    pub fn new(rules: Vec<KnownIssueRule>, tickets: &[TicketSummary], threshold: f64) -> Self {
        let mut markers = HashMap::new();
        let mut summaries = Vec::with_capacity(tickets.len());
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for ticket in tickets {
            for (at, _) in ticket.marker_text.match_indices(MARKER_PREFIX) {
                let rest = &ticket.marker_text[at + MARKER_PREFIX.len()..];
                let hex: String = rest.chars().take(16).collect();
                if let Some(key) = ClusterKey::parse(&hex) {
                    markers.entry(key).or_insert_with(|| ticket.key.clone());
                }
            }
            let w = words(&ticket.summary);
            for word in &w {
                index.entry(word.clone()).or_default().push(summaries.len());
            }
            summaries.push((ticket.key.clone(), w));
        }
        Self {
            rules,
            markers,
            summaries,
            index,
            threshold: if threshold > 0.0 && threshold <= 1.0 {
                threshold
            } else {
                0.5
            },
        }
    }

    /// The first known-issue rule that matches the cluster.
    pub fn known_issue(&self, shape: &ClusterShape) -> Option<&IssueKey> {
        self.rules
            .iter()
            .find(|r| r.matches(shape))
            .map(KnownIssueRule::issue)
    }

    /// The best link for the cluster, most certain source first.
    pub fn link(&self, shape: &ClusterShape) -> Option<TicketLink> {
        if let Some(issue) = self.known_issue(shape) {
            return Some(TicketLink {
                issue: issue.clone(),
                source: LinkSource::Rule,
                score: 1.0,
            });
        }
        if let Some(issue) = self.markers.get(&shape.key) {
            return Some(TicketLink {
                issue: issue.clone(),
                source: LinkSource::Marker,
                score: 1.0,
            });
        }
        let mine = words(&shape.template.replace(WILDCARD, " "));
        let mut seen: HashSet<usize> = HashSet::new();
        let mut best: Option<(f64, usize)> = None;
        for word in &mine {
            for &i in self.index.get(word).into_iter().flatten() {
                if !seen.insert(i) {
                    continue;
                }
                let score = jaccard(&mine, &self.summaries[i].1);
                let better = best.is_none_or(|(s, j)| {
                    score
                        .total_cmp(&s)
                        .then_with(|| self.summaries[i].0.cmp(&self.summaries[j].0))
                        == std::cmp::Ordering::Greater
                });
                if score >= self.threshold && better {
                    best = Some((score, i));
                }
            }
        }
        best.map(|(score, i)| TicketLink {
            issue: self.summaries[i].0.clone(),
            source: LinkSource::Summary,
            score,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::templates::TemplateId;

    fn shape(template: &str, example: &str) -> ClusterShape {
        ClusterShape {
            key: ClusterKey::of(template, None),
            template: template.to_owned(),
            template_id: TemplateId::of(template),
            exception: Some("requests.exceptions.ConnectionError".into()),
            stack_fingerprint: None,
            frames: Vec::new(),
            example: example.to_owned(),
        }
    }

    fn key(k: &str) -> IssueKey {
        IssueKey::parse(k).unwrap()
    }

    fn ticket(k: &str, summary: &str, marker_text: &str) -> TicketSummary {
        TicketSummary {
            key: key(k),
            summary: summary.into(),
            marker_text: marker_text.into(),
        }
    }

    #[test]
    fn rules_by_regex_and_template() {
        let s = shape(
            "Connection refused to <*> after <*> retries",
            "Connection refused to 10.0.0.1:5432 after 3 retries",
        );
        let by_regex = KnownIssueRule::regex(key("OPS-7"), r"refused to 10\.0\.0\.\d+").unwrap();
        assert!(by_regex.matches(&s));
        let by_exception = KnownIssueRule::regex(key("OPS-8"), "^requests\\.").unwrap();
        assert!(by_exception.matches(&s));
        let by_template =
            KnownIssueRule::template(key("OPS-9"), "Connection refused to <*> after <*> retries")
                .unwrap();
        assert!(by_template.matches(&s));
        let wider = KnownIssueRule::template(key("OPS-9"), "Connection refused <*>").unwrap();
        assert!(wider.matches(&s));
        let other = KnownIssueRule::template(key("OPS-9"), "Connection reset <*>").unwrap();
        assert!(!other.matches(&s));
        // Template text is literal: regex syntax in it has no meaning.
        let literal = KnownIssueRule::template(key("OPS-9"), "Connection refused to .*").unwrap();
        assert!(!literal.matches(&s));
    }

    #[test]
    fn bad_rules_fail_with_config_errors() {
        let err = KnownIssueRule::from_config("OPS-1", Some("(unclosed"), None).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(KnownIssueRule::from_config("OPS-1", None, None).is_err());
        assert!(KnownIssueRule::from_config("OPS-1", Some("a"), Some("b")).is_err());
        assert!(KnownIssueRule::from_config("not a key", Some("a"), None).is_err());
    }

    #[test]
    fn links_by_rule_then_marker_then_summary() {
        let s = shape("Payment gateway timeout after <*> ms", "x");
        let marker = marker_for(s.key);
        let tickets = vec![
            ticket("PAY-1", "Payment gateway timeout after deploy", ""),
            ticket("PAY-2", "Something else", &format!("flaky {marker}")),
        ];
        let linker = TicketLinker::new(Vec::new(), &tickets, 0.5);
        let link = linker.link(&s).unwrap();
        assert_eq!(
            (link.issue.as_str(), link.source),
            ("PAY-2", LinkSource::Marker)
        );

        let linker = TicketLinker::new(Vec::new(), &tickets[..1], 0.5);
        let link = linker.link(&s).unwrap();
        assert_eq!(
            (link.issue.as_str(), link.source),
            ("PAY-1", LinkSource::Summary)
        );
        assert!(link.score >= 0.5 && link.score < 1.0);

        let rule = KnownIssueRule::regex(key("OPS-3"), "gateway timeout").unwrap();
        let linker = TicketLinker::new(vec![rule], &tickets, 0.5);
        assert_eq!(linker.link(&s).unwrap().source, LinkSource::Rule);
        assert_eq!(linker.known_issue(&s).map(IssueKey::as_str), Some("OPS-3"));
    }

    #[test]
    fn dissimilar_summaries_do_not_link() {
        let s = shape("Payment gateway timeout after <*> ms", "x");
        let tickets = vec![ticket("PAY-1", "Login page shows a blank gateway", "")];
        let linker = TicketLinker::new(Vec::new(), &tickets, 0.5);
        assert_eq!(linker.link(&s), None);
        assert!(summary_similarity("a <*> b", "") < f64::EPSILON);
    }
}
