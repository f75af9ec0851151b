//! Stable test identity: the keys a reported test is known by, and the Jira keys it links to.
//!
//! A test keeps one [`TestId`](crate::model::TestId) whatever reports it. The store's identity
//! map does the resolving; this module decides which keys a `JUnit` test case carries:
//! - always `junit:<classname>::<name>` (just `<name>` without a class), the key every `JUnit`
//!   producer agrees on;
//! - for pytest reports, first the pytest node id (`tests/test_pay.py::TestLogin::test_ok`), so
//!   results from the pytest plugin and from `--junitxml` land on the same test. pytest's
//!   `xunit1` family writes the `file` attribute and the node id is exact; the default `xunit2`
//!   family does not, and the node id is rebuilt from the dotted class name: leading segments
//!   that are not `Test…` classes are the module path.
//!
//! Later sources add theirs (a Testmo case id, a Postman request id) to the same map.
//!
//! Jira links come from a test case's properties (`ticket`, `jira`, `issue`, … with one or more
//! keys) and from naming conventions in the test name: `[PAY-12]`, `PAY-12`, or `test_PAY_12_x`.
//! Words that look like keys but are standards (`UTF-8`, `SHA-256`, `HTTP_2`) are ignored; with
//! a project list (from the Jira configuration) only those projects are linked.
//!
//! Rename detection (a new key whose history continues an old one) is not done here yet: the
//! identity table already keeps closed rows, so it can be added without a schema change.

use std::sync::LazyLock;

use regex::Regex;

use super::junit::JunitCase;
use crate::model::{ExternalKey, IssueKey, TestSource};

/// Property names whose value names linked Jira issues.
const TICKET_PROPERTIES: &[&str] = &[
    "ticket",
    "tickets",
    "jira",
    "jira_key",
    "jira_keys",
    "issue",
    "issues",
    "issue_key",
    "requirement",
    "story",
];

/// Key-shaped words that are standards, not Jira projects.
const NOT_PROJECTS: &[&str] = &[
    "UTF", "UCS", "ISO", "SHA", "MD", "HTTP", "HTTPS", "TLS", "SSL", "IPV", "RFC", "CVE", "X",
    "ES", "ECMA", "AES", "RSA", "CRC", "BASE", "WIN", "PY", "V",
];

static KEY: LazyLock<Regex> = LazyLock::new(|| {
    // A project key, `-` or `_`, a number, not glued to more letters or digits on either side.
    #[expect(
        clippy::unwrap_used,
        reason = "a constant pattern, checked by the unit tests"
    )]
    Regex::new(r"(?:^|[^A-Za-z0-9])([A-Z][A-Z0-9]{0,9})([-_])([1-9][0-9]{0,8})(?:[^0-9]|$)")
        .unwrap()
});

/// How tests are linked to Jira.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRules {
    /// Jira project keys to link to; empty accepts any key-shaped name that is not a standard.
    pub projects: Vec<String>,
}

impl LinkRules {
    fn accepts(&self, project: &str) -> bool {
        if self.projects.is_empty() {
            !NOT_PROJECTS.contains(&project)
        } else {
            self.projects
                .iter()
                .any(|p| p.eq_ignore_ascii_case(project))
        }
    }
}

/// The `JUnit` key: `classname::name`, or the name alone.
pub fn junit_key(case: &JunitCase) -> String {
    match case.classname.as_deref().filter(|c| !c.is_empty()) {
        Some(class) => format!("{class}::{}", case.name),
        None => case.name.clone(),
    }
}

/// The pytest node id of a test case from a pytest report.
pub fn pytest_node_id(case: &JunitCase) -> Option<String> {
    if !case.pytest {
        return None;
    }
    let classname = case.classname.as_deref().unwrap_or_default();
    let segments: Vec<&str> = classname.split('.').filter(|s| !s.is_empty()).collect();
    let (path, classes) = match case.file.as_deref().filter(|f| {
        std::path::Path::new(f)
            .extension()
            .is_some_and(|e| e == "py")
    }) {
        Some(file) => {
            let module = file.trim_end_matches(".py").replace(['/', '\\'], ".");
            let module_len = module.split('.').filter(|s| !s.is_empty()).count();
            let classes = segments.get(module_len..).unwrap_or_default().to_vec();
            (file.replace('\\', "/"), classes)
        }
        None => {
            let split = segments
                .iter()
                .position(|s| s.starts_with("Test"))
                .unwrap_or(segments.len());
            if split == 0 {
                return None;
            }
            (
                format!("{}.py", segments[..split].join("/")),
                segments[split..].to_vec(),
            )
        }
    };
    let mut id = path;
    for class in classes {
        id.push_str("::");
        id.push_str(class);
    }
    id.push_str("::");
    id.push_str(&case.name);
    Some(id)
}

/// Every key a test case is known by, canonical first.
pub fn keys_for(case: &JunitCase) -> Vec<ExternalKey> {
    let mut keys = Vec::with_capacity(2);
    if let Some(node) = pytest_node_id(case) {
        keys.push(ExternalKey::new(TestSource::Pytest, node));
    }
    keys.push(ExternalKey::new(TestSource::Junit, junit_key(case)));
    keys
}

/// The Jira keys a test case links to, in first-seen order without repeats.
pub fn ticket_keys(case: &JunitCase, rules: &LinkRules) -> Vec<IssueKey> {
    let mut out: Vec<IssueKey> = Vec::new();
    let mut add = |key: IssueKey| {
        if rules.accepts(key.project()) && !out.contains(&key) {
            out.push(key);
        }
    };
    for (name, value) in &case.properties {
        if TICKET_PROPERTIES.contains(&name.to_ascii_lowercase().as_str()) {
            for part in value.split([',', ' ', ';']).filter(|p| !p.is_empty()) {
                if let Ok(key) = IssueKey::parse(part) {
                    add(key);
                }
            }
        }
    }
    for found in KEY.captures_iter(&case.name) {
        let (Some(project), Some(number)) = (found.get(1), found.get(3)) else {
            continue;
        };
        if let Ok(key) = IssueKey::parse(&format!("{}-{}", project.as_str(), number.as_str())) {
            add(key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, classname: Option<&str>, file: Option<&str>, pytest: bool) -> JunitCase {
        JunitCase {
            name: name.to_owned(),
            classname: classname.map(str::to_owned),
            file: file.map(str::to_owned),
            pytest,
            ..JunitCase::default()
        }
    }

    #[test]
    fn pytest_node_ids_with_and_without_the_file_attribute() {
        let with_file = case(
            "test_ok[a-1]",
            Some("tests.test_pay.TestLogin"),
            Some("tests/test_pay.py"),
            true,
        );
        assert_eq!(
            pytest_node_id(&with_file).as_deref(),
            Some("tests/test_pay.py::TestLogin::test_ok[a-1]")
        );
        let without = case("test_ok", Some("tests.test_pay.TestLogin"), None, true);
        assert_eq!(
            pytest_node_id(&without).as_deref(),
            Some("tests/test_pay.py::TestLogin::test_ok")
        );
        let function = case("test_ok", Some("tests.test_pay"), None, true);
        assert_eq!(
            pytest_node_id(&function).as_deref(),
            Some("tests/test_pay.py::test_ok")
        );
        assert_eq!(pytest_node_id(&case("t", Some("a.B"), None, false)), None);
    }

    #[test]
    fn tickets_from_names_and_properties() {
        let rules = LinkRules::default();
        let mut c = case(
            "test_PAY_12_login [CORE-7] handles UTF-8",
            None,
            None,
            false,
        );
        c.properties
            .push(("ticket".to_owned(), "PAY-12, OPS-3".to_owned()));
        let keys: Vec<String> = ticket_keys(&c, &rules)
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        assert_eq!(keys, ["PAY-12", "OPS-3", "CORE-7"]);
        let only_pay = LinkRules {
            projects: vec!["PAY".to_owned()],
        };
        assert_eq!(ticket_keys(&c, &only_pay).len(), 1);
    }
}
