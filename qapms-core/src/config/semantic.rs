//! Checks that involve more than one field, run on the typed [`Config`] once it is well-formed.
//!
//! The schema says what each key may hold; these rules say which combinations make sense (a
//! personal access token on Jira Cloud does not, a workflow action naming a Splunk template that
//! does not exist does not). They read the typed values and ask the tree for the span of the key
//! they blame, so their diagnostics are positioned like any other.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::diagnostic::{Diagnostic, Severity};
use super::tree::{Node, Span, Value, push_index, push_key};
use super::types::{
    Config, Integrations, JiraAuth, JiraDeployment, SplunkMode, StepAction, WorkflowTemplate,
};
use super::validate::{closest, diagnostic};
use crate::workflow::{builtin_names, placeholders};

/// A step in a key path.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

use Seg::{Index, Key};

struct Checker<'t, 'a> {
    root: &'t Node<'a>,
    file: &'t str,
    out: Vec<Diagnostic>,
}

impl Checker<'_, '_> {
    /// Reports at the node `segs` names, or at the deepest part of it that exists.
    fn at(
        &mut self,
        severity: Severity,
        segs: &[Seg<'_>],
        message: String,
        suggestion: Option<String>,
    ) {
        let mut path = String::new();
        let mut node = Some(self.root);
        let mut span: Span = self.root.span;
        for seg in segs {
            match *seg {
                Key(k) => {
                    push_key(&mut path, k);
                    let entry = node.and_then(|n| n.get(k));
                    if let Some(e) = entry {
                        span = e.value.span;
                        // A key with an empty value has a zero-width value span; the key reads better.
                        if matches!(&e.value.value, Value::Scalar(s) if s.text.is_empty()) {
                            span = e.key_span;
                        }
                    }
                    node = entry.map(|e| &e.value);
                }
                Index(i) => {
                    push_index(&mut path, i);
                    let item = node.and_then(|n| match &n.value {
                        Value::Seq(items) => items.get(i),
                        _ => None,
                    });
                    if let Some(item) = item {
                        span = item.span;
                    }
                    node = item;
                }
            }
        }
        self.out.push(diagnostic(
            self.file, severity, span, &path, message, suggestion,
        ));
    }

    fn error(&mut self, segs: &[Seg<'_>], message: impl Into<String>) {
        self.at(Severity::Error, segs, message.into(), None);
    }

    fn warn(&mut self, segs: &[Seg<'_>], message: impl Into<String>) {
        self.at(Severity::Warning, segs, message.into(), None);
    }
}

pub(crate) fn check(config: &Config, root: &Node<'_>, file: &str) -> Vec<Diagnostic> {
    let mut c = Checker {
        root,
        file,
        out: Vec::new(),
    };
    jira(config, &mut c);
    splunk_and_postman(config, &mut c);
    workflows(config, &mut c);
    users(config, &mut c);
    store_and_search(config, &mut c);
    known_issues(config, &mut c);
    c.out
}

fn jira(config: &Config, c: &mut Checker<'_, '_>) {
    let Some(jira) = &config.integrations.jira else {
        return;
    };
    let method = [Key("integrations"), Key("jira"), Key("auth"), Key("method")];
    match (&jira.auth, jira.deployment) {
        (JiraAuth::Pat { .. }, JiraDeployment::Cloud) => c.error(
            &method,
            "personal access tokens are a Jira Data Center feature; on Jira Cloud use `basic` (email and API token) or `oauth_client_credentials`, or set `deployment: data_center`",
        ),
        (JiraAuth::Basic { .. }, JiraDeployment::DataCenter) => c.error(
            &method,
            "`basic` (email and API token) is for Jira Cloud; on Data Center use `pat` or `oauth_pkce`",
        ),
        (JiraAuth::OauthClientCredentials { .. }, JiraDeployment::DataCenter) => c.error(
            &method,
            "Jira Data Center has no client-credentials grant; use `oauth_pkce` or `pat`",
        ),
        (
            JiraAuth::OauthPkce {
                client_secret: None,
                ..
            },
            JiraDeployment::Cloud,
        ) => c.error(
            &[Key("integrations"), Key("jira"), Key("auth"), Key("client_secret")],
            "Jira Cloud OAuth 2.0 (3LO) apps are confidential clients: set `client_secret` (from the app's settings in the Atlassian developer console)",
        ),
        _ => {}
    }
    if let (JiraAuth::OauthPkce { scopes, .. }, JiraDeployment::Cloud) =
        (&jira.auth, jira.deployment)
    {
        let at = [Key("integrations"), Key("jira"), Key("auth"), Key("scopes")];
        if scopes.is_empty() {
            c.error(
                &at,
                "Jira Cloud needs the scopes to ask for, e.g. `[read:jira-work, write:jira-work, read:jira-user, offline_access]`",
            );
        } else if !scopes.iter().any(|s| s == "offline_access") {
            c.warn(
                &at,
                "without `offline_access` Jira Cloud gives no refresh token: you would have to sign in again every hour",
            );
        }
    }
    let cloud_host = jira.base_url.contains(".atlassian.net");
    if cloud_host && jira.deployment == JiraDeployment::DataCenter {
        c.warn(
            &[Key("integrations"), Key("jira"), Key("deployment")],
            "`base_url` is an atlassian.net site, which is Jira Cloud; did you mean `deployment: cloud`?",
        );
    }
    let mut seen = HashSet::new();
    for (i, key) in jira.projects.iter().enumerate() {
        if !seen.insert(&key.0) {
            c.warn(
                &[Key("integrations"), Key("jira"), Key("projects"), Index(i)],
                format!("project `{}` is listed twice", key.0),
            );
        }
    }
}

fn splunk_and_postman(config: &Config, c: &mut Checker<'_, '_>) {
    if let Some(splunk) = &config.integrations.splunk
        && splunk.mode == SplunkMode::Rest
    {
        let mode = [Key("integrations"), Key("splunk"), Key("mode")];
        if splunk.base_url.is_none() {
            c.error(&mode, "`mode: rest` needs `base_url` (the management port, e.g. https://splunk.acme.internal:8089)");
        }
        if splunk.auth.is_none() {
            c.error(
                &mode,
                "`mode: rest` needs `auth` (`method: token`, `method: login` or `method: basic`)",
            );
        }
    }
    if let Some(postman) = &config.integrations.postman
        && postman.enabled
    {
        let at = [Key("integrations"), Key("postman")];
        if postman.api_key.is_none() && postman.collection_files.is_empty() {
            c.warn(
                &at,
                "postman has neither `api_key` nor `collection_files`, so there is nothing to read",
            );
        }
        if postman.api_key.is_none() && postman.workspace.is_some() {
            c.warn(
                &[Key("integrations"), Key("postman"), Key("workspace")],
                "`workspace` is only used with the Postman API; set `api_key` too",
            );
        }
    }
}

fn workflows(config: &Config, c: &mut Checker<'_, '_>) {
    templates_checks(
        &config.workflows,
        &config.integrations,
        &[Key("workflows")],
        c,
    );
    // With template files, `extends` may name a template defined in one of them; the loader
    // checks those references once every file is merged (`check_extends`).
    let known = known_names(&config.workflows);
    extends(
        &config.workflows,
        &config.workflows,
        &known,
        !config.workflow_files.is_empty(),
        false,
        &[Key("workflows")],
        c,
    );
}

/// Checks the templates of one source (the main file's `workflows`, or a template file whose
/// root is the mapping of templates, `prefix` then being empty).
pub(crate) fn check_template_file(
    templates: &BTreeMap<String, WorkflowTemplate>,
    integrations: &Integrations,
    root: &Node<'_>,
    file: &str,
) -> Vec<Diagnostic> {
    let mut c = Checker {
        root,
        file,
        out: Vec::new(),
    };
    templates_checks(templates, integrations, &[], &mut c);
    c.out
}

/// The `extends` checks of one source against every template known once files are merged:
/// an unknown parent and, when `cycles`, a chain that comes back to where it started.
pub(crate) fn check_extends(
    templates: &BTreeMap<String, WorkflowTemplate>,
    all: &BTreeMap<String, WorkflowTemplate>,
    root: &Node<'_>,
    file: &str,
    in_workflows_key: bool,
    cycles: bool,
) -> Vec<Diagnostic> {
    let mut c = Checker {
        root,
        file,
        out: Vec::new(),
    };
    let known = known_names(all);
    let prefix: &[Seg<'_>] = if in_workflows_key {
        &[Key("workflows")]
    } else {
        &[]
    };
    extends(templates, all, &known, false, !cycles, prefix, &mut c);
    c.out
}

fn extends<'a>(
    templates: &'a BTreeMap<String, WorkflowTemplate>,
    all: &'a BTreeMap<String, WorkflowTemplate>,
    known: &HashSet<&'a str>,
    defer_unknown: bool,
    skip_cycles: bool,
    prefix: &[Seg<'a>],
    c: &mut Checker<'_, '_>,
) {
    for (name, template) in templates {
        let Some(parent) = &template.extends else {
            continue;
        };
        let mut at = prefix.to_vec();
        at.extend([Key(name), Key("extends")]);
        if !known.contains(parent.as_str()) {
            if !defer_unknown {
                let suggestion = closest(parent, known.iter().copied());
                c.at(
                    Severity::Error,
                    &at,
                    format!("`extends` names no known workflow template: `{parent}` is neither configured nor built in"),
                    suggestion,
                );
            }
            continue;
        }
        if skip_cycles {
            continue;
        }
        // Follow the chain; a cycle through `name` is reported at `name`.
        let mut path: Vec<&str> = vec![name.as_str()];
        let mut next = Some(parent.as_str());
        while let Some(n) = next {
            if n == name {
                path.push(n);
                c.error(
                    &at,
                    format!(
                        "workflow templates extend each other in a cycle: {}",
                        path.join(" -> ")
                    ),
                );
                break;
            }
            if path.contains(&n) {
                break;
            }
            path.push(n);
            next = all.get(n).and_then(|t| t.extends.as_deref());
        }
    }
}

/// Configured names plus the built-in ones.
fn known_names(all: &BTreeMap<String, WorkflowTemplate>) -> HashSet<&str> {
    let mut known: HashSet<&str> = all.keys().map(String::as_str).collect();
    for name in builtin_names() {
        known.insert(name);
    }
    known
}

fn templates_checks<'a>(
    templates: &'a BTreeMap<String, WorkflowTemplate>,
    integrations: &'a Integrations,
    prefix: &[Seg<'a>],
    c: &mut Checker<'_, '_>,
) {
    let splunk_templates: Vec<&str> = integrations
        .splunk
        .as_ref()
        .map(|s| s.templates.keys().map(String::as_str).collect())
        .unwrap_or_default();
    for (name, workflow) in templates {
        let mut step_names: HashMap<&str, usize> = HashMap::new();
        for (si, step) in workflow.steps.iter().enumerate() {
            let mut step_at = prefix.to_vec();
            step_at.extend([Key(name), Key("steps"), Index(si)]);
            if let Some(first) = step_names.insert(step.name.as_str(), si) {
                let mut segs = step_at.clone();
                segs.push(Key("name"));
                c.error(
                    &segs,
                    format!("step name `{}` is already used by step {first}", step.name),
                );
            }
            for (ai, action) in step.actions.iter().enumerate() {
                let mut segs = step_at.clone();
                segs.extend([Key("actions"), Index(ai)]);
                unknown_placeholders(action, &segs, c);
                let needs = match action {
                    StepAction::JiraTransition { .. }
                    | StepAction::JiraComment { .. }
                    | StepAction::JiraWorklog { .. }
                    | StepAction::JiraCreateIssue { .. } => {
                        integrations.jira.is_none().then_some("jira")
                    }
                    StepAction::TestmoRun { .. } | StepAction::TestmoSearch { .. } => {
                        integrations.testmo.is_none().then_some("testmo")
                    }
                    StepAction::GrafanaAnnotation { .. } => {
                        integrations.grafana.is_none().then_some("grafana")
                    }
                    StepAction::SplunkSearch { .. } => {
                        integrations.splunk.is_none().then_some("splunk")
                    }
                    StepAction::PostmanSearch { .. } => {
                        integrations.postman.is_none().then_some("postman")
                    }
                    StepAction::OpenUrl { .. } => None,
                };
                if let Some(integration) = needs {
                    let mut at = segs.clone();
                    at.push(Key("kind"));
                    c.warn(
                        &at,
                        format!("this action needs `integrations.{integration}`, which is not configured; it will be skipped"),
                    );
                    continue;
                }
                if let StepAction::SplunkSearch { template } = action {
                    segs.push(Key("template"));
                    if splunk_templates.contains(&template.as_str()) {
                        #[cfg(feature = "splunk")]
                        if let Some(splunk) = &integrations.splunk {
                            splunk_parameters(splunk, template, &segs, c);
                        }
                    } else {
                        let suggestion = closest(template, splunk_templates.iter().copied());
                        c.at(
                            Severity::Error,
                            &segs,
                            format!("no Splunk template named `{template}` in `integrations.splunk.templates`"),
                            suggestion,
                        );
                    }
                }
            }
        }
    }
}

/// Warns about each `{name}` in the action's texts that is not a placeholder: it would reach
/// Jira or Grafana as written, which is nearly always a typo (`{tikcet}`). A warning, not an
/// error, because braces have other uses there, such as Jira's `{code}`.
fn unknown_placeholders(action: &StepAction, segs: &[Seg<'_>], c: &mut Checker<'_, '_>) {
    for (key, index, text) in action.texts() {
        let mut at = segs.to_vec();
        at.push(Key(key));
        at.extend(index.map(Index));
        let mut warned: Vec<&str> = Vec::new();
        for name in placeholders::names_in(&text) {
            if placeholders::is_placeholder(name) || warned.contains(&name) {
                continue;
            }
            warned.push(name);
            let known = placeholders::PLACEHOLDERS.map(|(p, _)| p);
            let suggestion = closest(name, known.iter().copied()).map(|p| format!("{{{p}}}"));
            c.at(
                Severity::Warning,
                &at,
                format!(
                    "`{{{name}}}` is not a placeholder, so it is kept as written; the placeholders are {}",
                    known.map(|p| format!("{{{p}}}")).join(", ")
                ),
                suggestion,
            );
        }
    }
}

/// A `splunk_search` action fills its template's parameters from the workflow; a parameter
/// it cannot fill would fail the action every time, so it is an error here.
#[cfg(feature = "splunk")]
fn splunk_parameters(
    splunk: &super::types::SplunkConfig,
    template: &str,
    segs: &[Seg<'_>],
    c: &mut Checker<'_, '_>,
) {
    let templates = crate::integrations::splunk::SplTemplates::from_config(splunk);
    let Ok(parameters) = templates.parameters(template) else {
        return;
    };
    let fills = placeholders::SPLUNK_PARAMETERS;
    for p in parameters {
        if !fills.contains(&p.as_str()) {
            c.error(
                segs,
                format!(
                    "Splunk template `{template}` takes `{p}`, which a step action cannot fill (it fills {})",
                    fills.join(", ")
                ),
            );
        }
    }
}

fn users(config: &Config, c: &mut Checker<'_, '_>) {
    let mut emails: HashMap<String, usize> = HashMap::new();
    for (i, user) in config.users.iter().enumerate() {
        if let Some(first) = emails.insert(user.email.to_ascii_lowercase(), i) {
            c.error(
                &[Key("users"), Index(i), Key("email")],
                format!("`{}` is already used by users[{first}]", user.email),
            );
        }
    }
}

fn store_and_search(config: &Config, c: &mut Checker<'_, '_>) {
    if let Some(url) = &config.store.url {
        let scheme = url.split_once(':').map_or("", |(s, _)| s);
        if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
            // The URL may hold a password: name the scheme rule, not the URL.
            c.error(
                &[Key("store"), Key("url")],
                "the store URL must start with `sqlite:` or `postgres://`",
            );
        }
    }
    if let Some(emb) = &config.search.embeddings
        && emb.api_key.is_some()
        && emb.endpoint.starts_with("http://")
        && !is_loopback(&emb.endpoint)
    {
        c.warn(
            &[Key("search"), Key("embeddings"), Key("endpoint")],
            "the API key would be sent over plain HTTP; use https:// (plain HTTP is fine only for localhost)",
        );
    }
}

fn is_loopback(url: &str) -> bool {
    ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

/// Each known-issue rule names a valid issue key and exactly one of a regex that compiles and a
/// template, so a typo is reported at its line and column instead of silently never matching.
fn known_issues(config: &Config, c: &mut Checker<'_, '_>) {
    for (i, rule) in config.patterns.known_issues.iter().enumerate() {
        let at = [Key("patterns"), Key("known_issues"), Index(i)];
        if let Err(e) = crate::model::IssueKey::parse(&rule.issue) {
            c.error(&[at[0], at[1], at[2], Key("issue")], e.message().to_owned());
        }
        match (&rule.pattern, &rule.template) {
            (Some(pattern), None) => {
                if let Err(e) = regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                {
                    let why = e.to_string();
                    let last = why.lines().last().unwrap_or("invalid regex").trim();
                    c.error(
                        &[at[0], at[1], at[2], Key("pattern")],
                        format!("the pattern is not a valid regex: {last}"),
                    );
                }
            }
            (None, Some(_)) => {}
            _ => c.error(
                &at,
                "a known issue needs exactly one of `pattern` (a regex) and `template`",
            ),
        }
    }
}
