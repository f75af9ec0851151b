//! Templates: the built-in ones, the configured ones, and how `extends` chains resolve.
//!
//! A template names its steps; `extends: other` puts `other`'s resolved steps first. Configured
//! templates (in `qapms.yaml` or the files it names) override built-ins of the same name, so a
//! team can reshape `verify_ticket` without renaming it. A chain that comes back to itself is a
//! cycle; configuration validation reports it with its position, and resolution refuses it too,
//! so an unchecked map (a test, an API caller) cannot loop.
//!
//! The built-ins are YAML files embedded in the crate and parsed on first use.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;

use crate::config::{WorkflowStep, WorkflowTemplate};
use crate::{Error, Result};

/// `(name, YAML)` of every built-in template.
const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("verify_ticket", include_str!("builtin/verify_ticket.yaml")),
    (
        "regression_pass",
        include_str!("builtin/regression_pass.yaml"),
    ),
    (
        "exploratory_session",
        include_str!("builtin/exploratory_session.yaml"),
    ),
    ("reproduce_bug", include_str!("builtin/reproduce_bug.yaml")),
    (
        "release_smoke_test",
        include_str!("builtin/release_smoke_test.yaml"),
    ),
];

/// The built-ins, parsed. A file that does not parse is a bug in qapms caught by the unit test
/// below; at run time it is left out (and logged) rather than taking the process down.
static BUILTINS: LazyLock<BTreeMap<String, WorkflowTemplate>> = LazyLock::new(|| {
    BUILTIN_SOURCES
        .iter()
        .filter_map(
            |(name, text)| match serde_saphyr::from_str::<WorkflowTemplate>(text) {
                Ok(t) => Some(((*name).to_owned(), t)),
                Err(e) => {
                    tracing::error!(template = name, error = %e, "built-in template does not parse");
                    None
                }
            },
        )
        .collect()
});

/// The names of the built-in templates, for validation and listings.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN_SOURCES.iter().map(|(name, _)| *name)
}

/// The built-in templates, parsed.
pub fn builtins() -> &'static BTreeMap<String, WorkflowTemplate> {
    &BUILTINS
}

/// A template with its `extends` chain flattened: what a workflow is started from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedTemplate {
    pub name: String,
    pub description: Option<String>,
    pub time_box_secs: Option<u64>,
    /// `true` when no configured template of this name exists.
    pub builtin: bool,
    #[serde(skip)]
    pub steps: Vec<WorkflowStep>,
}

/// Every template available: the configured ones over the built-ins.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    configured: BTreeMap<String, WorkflowTemplate>,
}

impl Catalog {
    /// The catalog for a configuration's `workflows` (files already merged by the loader).
    pub fn new(configured: &BTreeMap<String, WorkflowTemplate>) -> Self {
        Self {
            configured: configured.clone(),
        }
    }

    fn raw(&self, name: &str) -> Option<(&WorkflowTemplate, bool)> {
        self.configured
            .get(name)
            .map(|t| (t, false))
            .or_else(|| BUILTINS.get(name).map(|t| (t, true)))
    }

    /// Every template name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .configured
            .keys()
            .chain(BUILTINS.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Resolves `name`, following `extends`. An unknown name is [`ErrorKind::NotFound`] (with
    /// the closest known name); a cycle or a duplicated step name is
    /// [`ErrorKind::InvalidInput`].
    ///
    /// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
    /// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
    pub fn resolve(&self, name: &str) -> Result<ResolvedTemplate> {
        let Some((top, builtin)) = self.raw(name) else {
            let names = self.names();
            let mut err = Error::not_found(format!("no workflow template named `{name}`"))
                .with_context("known", names.join(", "));
            if let Some(near) = closest_name(name, &names) {
                err = err.with_context("did you mean", near);
            }
            return Err(err);
        };
        // Walk the chain up to its root, refusing to revisit a template.
        let mut chain: Vec<(&str, &WorkflowTemplate)> = vec![(name, top)];
        let mut next = top.extends.as_deref();
        while let Some(parent) = next {
            if chain.iter().any(|(n, _)| *n == parent) {
                let path: Vec<&str> = chain.iter().map(|(n, _)| *n).chain([parent]).collect();
                return Err(Error::invalid_input(format!(
                    "workflow template `{name}` extends itself: {}",
                    path.join(" -> ")
                )));
            }
            let Some((t, _)) = self.raw(parent) else {
                return Err(Error::not_found(format!(
                    "workflow template `{}` extends `{parent}`, which does not exist",
                    chain.last().map_or(name, |(n, _)| *n)
                )));
            };
            chain.push((parent, t));
            next = t.extends.as_deref();
        }
        let mut steps: Vec<WorkflowStep> = Vec::new();
        for (tname, t) in chain.iter().rev() {
            for step in &t.steps {
                if steps.iter().any(|s| s.name == step.name) {
                    return Err(Error::invalid_input(format!(
                        "workflow template `{name}`: step `{}` (from `{tname}`) is defined twice in its extends chain",
                        step.name
                    )));
                }
                steps.push(step.clone());
            }
        }
        // The nearest template that sets them wins.
        let description = chain.iter().find_map(|(_, t)| t.description.clone());
        let time_box_secs = chain
            .iter()
            .find_map(|(_, t)| t.time_box)
            .map(|d| d.0.as_secs());
        Ok(ResolvedTemplate {
            name: name.to_owned(),
            description,
            time_box_secs,
            builtin,
            steps,
        })
    }
}

fn closest_name(word: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(word, n), n))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EvidenceKind, StepAction};

    #[test]
    fn every_builtin_parses_and_resolves() {
        for (name, text) in BUILTIN_SOURCES {
            let parsed: WorkflowTemplate = serde_saphyr::from_str(text).unwrap();
            assert!(!parsed.steps.is_empty(), "{name}");
        }
        assert_eq!(BUILTINS.len(), BUILTIN_SOURCES.len());
        let catalog = Catalog::default();
        for name in builtin_names() {
            let t = catalog.resolve(name).unwrap();
            assert!(t.builtin);
            assert!(t.steps.iter().all(|s| s.estimate.is_some()), "{name}");
        }
        let exploratory = catalog.resolve("exploratory_session").unwrap();
        assert_eq!(exploratory.time_box_secs, Some(90 * 60));
        assert_eq!(exploratory.steps[0].name, "charter");
        assert!(exploratory.steps[1].evidence.contains(&EvidenceKind::Notes));
        let bug = catalog.resolve("reproduce_bug").unwrap();
        assert!(matches!(
            bug.steps.last().unwrap().actions[0],
            StepAction::JiraCreateIssue { ref issue_type, .. } if issue_type == "Bug"
        ));
    }

    fn template(extends: Option<&str>, steps: &[&str]) -> WorkflowTemplate {
        WorkflowTemplate {
            description: None,
            extends: extends.map(str::to_owned),
            time_box: None,
            steps: steps
                .iter()
                .map(|n| WorkflowStep {
                    name: (*n).to_owned(),
                    description: None,
                    checklist: Vec::new(),
                    estimate: None,
                    evidence: Vec::new(),
                    actions: Vec::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn extends_puts_the_parent_steps_first_and_configured_overrides_builtin() {
        let mut map = BTreeMap::new();
        map.insert("base".to_owned(), template(None, &["a", "b"]));
        map.insert("child".to_owned(), template(Some("base"), &["c"]));
        map.insert("verify_ticket".to_owned(), template(None, &["only"]));
        let catalog = Catalog::new(&map);
        let names: Vec<String> = catalog
            .resolve("child")
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let v = catalog.resolve("verify_ticket").unwrap();
        assert!(!v.builtin);
        assert_eq!(v.steps.len(), 1);
        // A configured template may extend a built-in.
        map.insert(
            "mine".to_owned(),
            template(Some("release_smoke_test"), &["extra"]),
        );
        let t = Catalog::new(&map).resolve("mine").unwrap();
        assert_eq!(t.steps.last().unwrap().name, "extra");
        assert_eq!(t.steps.len(), 5);
    }

    #[test]
    fn cycles_unknown_parents_and_duplicate_steps_are_refused() {
        let mut map = BTreeMap::new();
        map.insert("a".to_owned(), template(Some("b"), &["x"]));
        map.insert("b".to_owned(), template(Some("a"), &["y"]));
        map.insert("c".to_owned(), template(Some("nope"), &["z"]));
        map.insert("d".to_owned(), template(Some("e"), &["same"]));
        map.insert("e".to_owned(), template(None, &["same"]));
        let catalog = Catalog::new(&map);
        let err = catalog.resolve("a").unwrap_err();
        assert!(err.message().contains("a -> b -> a"), "{err}");
        assert_eq!(
            catalog.resolve("c").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert!(
            catalog
                .resolve("d")
                .unwrap_err()
                .message()
                .contains("twice")
        );
        let err = catalog.resolve("verify_tiket").unwrap_err();
        assert!(err.to_string().contains("verify_ticket"), "{err}");
    }
}
