//! Loading `qapms.yaml`: fixtures for each kind of problem, profiles, interpolation, discovery.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use qapms_core::config::{
    self, ConfigErrors, Diagnostic, Env, JiraAuth, LoadOptions, LogLevel, Severity, SplunkMode,
    StepAction, TlsVerify,
};
use qapms_core::secrets::SecretValue;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn env() -> Env {
    Env::from_pairs([
        ("QAPMS_CONFIG_DIR", "/tmp/qapms-test/config"),
        ("QAPMS_DATA_DIR", "/tmp/qapms-test/data"),
        ("JIRA_API_TOKEN", "jira-secret-token"),
        ("TESTMO_TOKEN", "testmo-secret"),
        ("GRAFANA_TOKEN", "glsa_secret"),
        ("PGPASSWORD", "pg-secret"),
        ("SPLUNK_TOKEN", "splunk-secret"),
    ])
}

fn errors_of(name: &str, env: &Env) -> ConfigErrors {
    match config::load_str(&fixture(name), name, None, env) {
        Ok(_) => panic!("{name} should not load"),
        Err(errors) => errors,
    }
}

fn find<'a>(errors: &'a ConfigErrors, key_path: &str) -> &'a Diagnostic {
    errors
        .diagnostics
        .iter()
        .find(|d| d.key_path == key_path)
        .unwrap_or_else(|| panic!("no diagnostic for {key_path}:\n{errors}"))
}

#[test]
fn valid_fixture_loads_with_secrets_interpolated() {
    let loaded = config::load_str(&fixture("valid.yaml"), "qapms.yaml", None, &env()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.profile, None);
    let c = &loaded.config;
    let jira = c.integrations.jira.as_ref().unwrap();
    assert_eq!(jira.base_url, "https://acme.atlassian.net");
    assert_eq!(
        jira.auth,
        JiraAuth::Basic {
            email: "qa-bot@acme.io".into(),
            api_token: SecretValue::new("jira-secret-token"),
        }
    );
    assert_eq!(jira.projects.len(), 2);
    assert_eq!(jira.timeout.unwrap().0.as_secs(), 10);
    assert_eq!(c.integrations.testmo.as_ref().unwrap().projects, [1, 4]);
    assert_eq!(c.workflows["verify_ticket"].steps.len(), 3);
    assert_eq!(
        c.workflows["verify_ticket"].steps[1]
            .estimate
            .unwrap()
            .0
            .as_secs(),
        5400
    );
    let StepAction::JiraComment { body } = &c.workflows["verify_ticket"].steps[2].actions[1] else {
        panic!("expected a comment action");
    };
    // `$5` is literal, `$${` escapes.
    assert!(
        body.ends_with("Cost: $5 per run, literal ${NOT_A_VAR}"),
        "{body}"
    );
    assert_eq!(c.users.len(), 3);
    assert_eq!(c.logging.retention_days, 45);
    assert_eq!(c.store.url, None);
    assert_eq!(
        c.store.resolved_url(&loaded.paths),
        "sqlite:///tmp/qapms-test/data/qapms.db"
    );
    // Debug output never shows a credential.
    let debug = format!("{c:?}");
    assert!(!debug.contains("jira-secret-token"));
    assert!(!debug.contains("glsa_secret"));
}

#[test]
fn profiles_overlay_the_base() {
    let text = fixture("valid.yaml");
    let dev = config::load_str(&text, "qapms.yaml", Some("dev"), &env()).unwrap();
    assert_eq!(dev.profile.as_deref(), Some("dev"));
    assert_eq!(dev.config.logging.level, LogLevel::Debug);
    // Merged, not replaced: the base's other logging keys survive.
    assert_eq!(dev.config.logging.retention_days, 45);
    let jira = dev.config.integrations.jira.as_ref().unwrap();
    assert_eq!(jira.projects.len(), 1);
    assert_eq!(jira.base_url, "https://acme.atlassian.net");

    // Selected through QAPMS_PROFILE; prod's variables are interpolated only now.
    let mut prod_env = env();
    prod_env.set("QAPMS_PROFILE", "prod");
    let prod = config::load_str(&text, "qapms.yaml", None, &prod_env).unwrap();
    assert_eq!(prod.profile.as_deref(), Some("prod"));
    let splunk = prod.config.integrations.splunk.as_ref().unwrap();
    assert_eq!(splunk.mode, SplunkMode::Rest);
    assert_eq!(splunk.templates.len(), 2);
    assert_eq!(
        prod.config.store.url.as_deref(),
        Some("postgres://qapms:pg-secret@db.acme.internal:5432/qapms")
    );
}

#[test]
fn unselected_profiles_need_not_have_their_variables() {
    let mut dev_env = env();
    dev_env = Env::from_pairs(
        [
            "QAPMS_CONFIG_DIR",
            "QAPMS_DATA_DIR",
            "JIRA_API_TOKEN",
            "TESTMO_TOKEN",
            "GRAFANA_TOKEN",
        ]
        .map(|k| (k, dev_env.get(k).unwrap().to_owned())),
    );
    config::load_str(&fixture("valid.yaml"), "qapms.yaml", Some("dev"), &dev_env).unwrap();
    let errors =
        config::load_str(&fixture("valid.yaml"), "qapms.yaml", Some("prod"), &dev_env).unwrap_err();
    assert_eq!(errors.errors().count(), 2, "{errors}");
    assert!(errors.to_string().contains("`PGPASSWORD` is not set"));
}

#[test]
fn unknown_profile_lists_the_known_ones() {
    let errors =
        config::load_str(&fixture("valid.yaml"), "qapms.yaml", Some("stagin"), &env()).unwrap_err();
    let d = find(&errors, "profiles");
    assert!(
        d.message.contains("known profiles: dev, staging, prod"),
        "{d}"
    );
    assert_eq!(d.suggestion.as_deref(), Some("staging"));
    assert_eq!(d.line, 89);
}

#[test]
fn profile_overlays_are_validated_even_when_not_selected() {
    let text = "profiles:\n  prod:\n    logging:\n      levle: debug\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    let d = find(&errors, "profiles.prod.logging.levle");
    assert_eq!((d.line, d.column), (4, 7));
    assert_eq!(d.suggestion.as_deref(), Some("level"));
}

#[test]
fn unknown_key_gets_a_suggestion_and_position() {
    let errors = errors_of("unknown_key.yaml", &env());
    let d = find(&errors, "integrations.jira.base_ur");
    assert_eq!((d.line, d.column), (3, 5));
    assert_eq!((d.end_line, d.end_column), (3, 12));
    assert_eq!(d.suggestion.as_deref(), Some("base_url"));
    assert_eq!(
        d.to_string(),
        "unknown_key.yaml:3:5: error: integrations.jira.base_ur: unknown key `base_ur` (did you mean `base_url`?)"
    );
    // The required key it was meant to be is reported missing, at the parent key.
    let missing = find(&errors, "integrations.jira.base_url");
    assert_eq!((missing.line, missing.column), (2, 3));
}

#[test]
fn wrong_types_and_ranges_are_all_reported() {
    let errors = errors_of("wrong_types.yaml", &env());
    let text = errors.to_string();
    let d = find(&errors, "integrations.testmo.projects[1]");
    assert_eq!((d.line, d.column), (5, 19));
    assert!(d.message.contains("expected an integer"), "{d}");
    let d = find(&errors, "integrations.testmo.rate_limit.requests");
    assert!(d.message.contains("remove the quotes"), "{d}");
    let d = find(&errors, "logging.retention_days");
    assert!(d.message.contains("at least 30"), "{d}");
    let d = find(&errors, "logging.level");
    assert!(
        d.message
            .contains("expected one of: trace, debug, info, warn, error"),
        "{d}"
    );
    let d = find(&errors, "search.embeddings.hybrid_weight");
    assert!(d.message.contains("at most 1"), "{d}");
    assert_eq!(errors.errors().count(), 5, "{text}");
}

#[test]
fn bad_enum_value_suggests_the_closest() {
    let text = "integrations:\n  jira:\n    base_url: https://jira.acme.io\n    deployment: data_centre\n    auth: {method: pta, token: x}\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    let d = find(&errors, "integrations.jira.deployment");
    assert_eq!(d.suggestion.as_deref(), Some("data_center"));
    assert_eq!((d.line, d.column), (4, 17));
    let d = find(&errors, "integrations.jira.auth.method");
    assert_eq!(d.suggestion.as_deref(), Some("pat"));
    assert!(
        d.message
            .contains("basic, pat, oauth_client_credentials, oauth_pkce")
    );
}

#[test]
fn missing_env_var_names_position_key_and_variable() {
    let errors = errors_of("missing_env.yaml", &Env::empty());
    assert_eq!(errors.errors().count(), 1, "{errors}");
    let d = find(&errors, "integrations.grafana.token");
    assert_eq!((d.line, d.column), (4, 12));
    assert!(d.message.contains("`GRAFANA_TOKEN` is not set"));

    // With the variable set, defaults fill the rest and `org_id` is typed after interpolation.
    let loaded = config::load_str(
        &fixture("missing_env.yaml"),
        "missing_env.yaml",
        None,
        &Env::from_pairs([("GRAFANA_TOKEN", "t"), ("GRAFANA_ORG", "7")]),
    )
    .unwrap();
    let grafana = loaded.config.integrations.grafana.unwrap();
    assert_eq!(grafana.base_url, "https://grafana.acme.io");
    assert_eq!(grafana.org_id, Some(7));
}

#[test]
fn yaml11_booleans_warn_or_fail() {
    let errors = errors_of("yaml11_bools.yaml", &env());
    // `enabled` accepts only booleans: errors.
    let d = find(&errors, "integrations.splunk.enabled");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!((d.line, d.column), (4, 14));
    assert!(d.message.contains("accepts only a boolean"), "{d}");
    assert_eq!(d.suggestion.as_deref(), Some("true"));
    let d = find(&errors, "patterns.anomaly.enabled");
    assert_eq!(d.suggestion.as_deref(), Some("false"));
    // `verify_tls` also accepts a CA bundle path: a warning, and the value stays text.
    let d = find(&errors, "integrations.splunk.verify_tls");
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!((d.line, d.column), (3, 17));

    let loaded = config::load_str(
        "integrations:\n  splunk:\n    verify_tls: yes\n",
        "qapms.yaml",
        None,
        &env(),
    )
    .unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.config.integrations.splunk.unwrap().verify_tls,
        TlsVerify::CaBundle(PathBuf::from("yes"))
    );
}

#[test]
fn interpolation_defaults_and_escapes() {
    let text = "logging:\n  dir: ${LOG_ROOT:-/var/log}/qapms\nworkflows:\n  w:\n    steps:\n      - name: s\n        description: \"$${HOME} stays, $HOME too\"\n        estimate: ${EST:-30m}\n";
    let loaded = config::load_str(text, "qapms.yaml", None, &env()).unwrap();
    assert_eq!(
        loaded.config.logging.dir.as_deref(),
        Some(Path::new("/var/log/qapms"))
    );
    assert_eq!(loaded.paths.log_dir, PathBuf::from("/var/log/qapms"));
    let step = &loaded.config.workflows["w"].steps[0];
    assert_eq!(
        step.description.as_deref(),
        Some("${HOME} stays, $HOME too")
    );
    assert_eq!(step.estimate.unwrap().0.as_secs(), 1800);
}

#[test]
fn cross_field_rules() {
    let errors = errors_of("semantic.yaml", &env());
    let d = find(&errors, "integrations.jira.auth.method");
    assert!(d.message.contains("Data Center"), "{d}");
    let d = find(&errors, "workflows.smoke.steps[0].actions[0].template");
    assert_eq!(d.suggestion.as_deref(), Some("errors_by_ticket"));
    assert_eq!(d.line, 13);
    let d = find(&errors, "workflows.smoke.steps[1].name");
    assert_eq!(d.line, 14);
    let d = find(&errors, "users[1].email");
    assert_eq!(d.line, 17);
}

#[test]
fn unknown_placeholders_in_action_texts_are_warned_about() {
    let text = "integrations:\n  jira:\n    base_url: https://acme.atlassian.net\n    auth: {method: basic, email: a@acme.io, api_token: t}\n  grafana:\n    base_url: https://grafana.acme.io\n    token: g\nworkflows:\n  w:\n    steps:\n      - name: s\n        actions:\n          - {kind: jira_comment, body: \"{tikcet} done: {outcome}. {code}x{code}\"}\n          - {kind: grafana_annotation, text: \"{ticket}\", tags: [qa, \"{stpe}\"]}\n";
    let loaded = config::load_str(text, "qapms.yaml", None, &env()).unwrap();
    let warnings: Vec<&Diagnostic> = loaded.warnings.iter().collect();
    let at = |path: &str| -> Vec<&Diagnostic> {
        warnings
            .iter()
            .copied()
            .filter(|d| d.key_path == path)
            .collect()
    };
    let body = at("workflows.w.steps[0].actions[0].body");
    // `{tikcet}`, and `{code}` once; `{outcome}` is a placeholder.
    assert_eq!(body.len(), 2, "{warnings:?}");
    assert!(
        body[0].message.contains("`{tikcet}` is not a placeholder"),
        "{}",
        body[0]
    );
    assert!(body[0].message.contains("{ticket}, {title}"), "{}", body[0]);
    assert_eq!(body[0].suggestion.as_deref(), Some("{ticket}"));
    assert_eq!(body[0].line, 13);
    assert_eq!(body[1].suggestion, None);
    let tag = at("workflows.w.steps[0].actions[1].tags[1]");
    assert_eq!(tag.len(), 1, "{warnings:?}");
    assert_eq!(tag[0].suggestion.as_deref(), Some("{step}"));
    assert!(at("workflows.w.steps[0].actions[1].text").is_empty());
}

#[test]
fn a_splunk_action_whose_template_needs_an_unfillable_parameter_is_an_error() {
    let text = "integrations:\n  splunk:\n    templates:\n      by_ticket: {spl: \"index=app {ticket} {step}\"}\n      by_host: {spl: \"index=app host={host}\"}\nworkflows:\n  w:\n    steps:\n      - name: s\n        actions:\n          - {kind: splunk_search, template: by_ticket}\n          - {kind: splunk_search, template: by_host}\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    let d = find(&errors, "workflows.w.steps[0].actions[1].template");
    assert!(
        d.message
            .contains("takes `host`, which a step action cannot fill (it fills ticket, template, step, workflow)"),
        "{d}"
    );
    assert_eq!(d.line, 12);
    assert_eq!(errors.errors().count(), 1, "{errors}");
}

#[test]
fn workflow_durations_and_evidence_are_checked() {
    let text = "workflows:\n  w:\n    steps:\n      - name: a\n        estimate: 30 minutes\n        evidence: [notes, screenshots]\n      - name: b\n        estimate: 1h1h\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    let d = find(&errors, "workflows.w.steps[0].estimate");
    assert!(d.message.contains("invalid duration `30 minutes`"), "{d}");
    let d = find(&errors, "workflows.w.steps[0].evidence[1]");
    assert!(
        d.message
            .contains("notes, links, attachments, test_results")
    );
    let d = find(&errors, "workflows.w.steps[1].estimate");
    assert!(d.message.contains("largest to smallest"), "{d}");
}

#[test]
fn secrets_never_reach_messages() {
    let text = "integrations:\n  jira:\n    base_url: https://jira.acme.io\n    deployment: data_center\n    auth: ${JIRA_API_TOKEN}\n  testmo:\n    base_url: https://x.testmo.net\n    token: [\"${TESTMO_TOKEN}\"]\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    let shown = errors.to_string();
    assert!(errors.errors().count() >= 2, "{shown}");
    assert!(!shown.contains("jira-secret-token"), "{shown}");
    assert!(!shown.contains("testmo-secret"), "{shown}");
}

#[test]
fn many_errors_are_all_reported_in_file_order() {
    let mut text = String::from("workflows:\n");
    for i in 0..300 {
        write!(
            text,
            "  w{i}:\n    steps:\n      - name: s\n        estimate: soon\n        evidnce: [notes]\n"
        )
        .unwrap();
    }
    let errors = config::load_str(&text, "big.yaml", None, &env()).unwrap_err();
    assert_eq!(errors.errors().count(), 600);
    let lines: Vec<usize> = errors.diagnostics.iter().map(|d| d.line).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(errors.to_string().lines().count(), 600);
    assert_eq!(errors.diagnostics[0].line, 5);
    assert_eq!(
        errors.diagnostics[1].suggestion.as_deref(),
        Some("evidence")
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let errors =
        config::load_str("logging:\n  level: [debug\n", "qapms.yaml", None, &env()).unwrap_err();
    assert_eq!(errors.diagnostics.len(), 1);
    let d = &errors.diagnostics[0];
    assert!(d.message.starts_with("invalid YAML"), "{d}");
    assert!(d.line >= 2, "{d}");
}

#[test]
fn config_errors_convert_to_the_core_error() {
    let errors = errors_of("unknown_key.yaml", &env());
    let err: qapms_core::Error = errors.into();
    assert_eq!(err.kind(), qapms_core::ErrorKind::Config);
    assert_eq!(err.context_value("file"), Some("unknown_key.yaml"));
    assert_eq!(err.context_value("line"), Some("2"));
    assert_eq!(err.context_value("key"), Some("integrations.jira.base_url"));
}

#[test]
fn empty_file_means_defaults() {
    for text in ["", "# just a comment\n", "---\n"] {
        let loaded = config::load_str(text, "qapms.yaml", None, &env()).unwrap();
        assert_eq!(loaded.config, config::Config::default());
    }
}

fn options(cwd: &Path, env: Env) -> LoadOptions {
    LoadOptions {
        path: None,
        profile: None,
        cwd: cwd.to_path_buf(),
        env,
    }
}

#[test]
fn discovery_walks_up_from_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/c");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::write(
        dir.path().join("a/qapms.yaml"),
        "logging: {level: warn, dir: logs}\n",
    )
    .unwrap();
    assert_eq!(
        config::discover(&nested, &Env::empty()),
        Some(dir.path().join("a/qapms.yaml"))
    );
    let loaded = config::load(&options(&nested, env())).unwrap();
    assert_eq!(loaded.path, Some(dir.path().join("a/qapms.yaml")));
    assert_eq!(loaded.config.logging.level, LogLevel::Warn);
    // Relative paths are relative to the file, not the working directory.
    assert_eq!(loaded.paths.log_dir, dir.path().join("a/logs"));
}

#[test]
fn qapms_config_and_explicit_path_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qapms.yaml"), "logging: {level: warn}\n").unwrap();
    std::fs::write(dir.path().join("other.yaml"), "logging: {level: error}\n").unwrap();
    let mut e = env();
    e.set("QAPMS_CONFIG", "other.yaml");
    assert_eq!(
        config::discover(dir.path(), &e),
        Some(dir.path().join("other.yaml"))
    );
    let loaded = config::load(&options(dir.path(), e.clone())).unwrap();
    assert_eq!(loaded.config.logging.level, LogLevel::Error);

    let mut opts = options(dir.path(), e);
    opts.path = Some(PathBuf::from("qapms.yaml"));
    assert_eq!(
        config::load(&opts).unwrap().config.logging.level,
        LogLevel::Warn
    );

    // A QAPMS_CONFIG that points nowhere is an error, not a silent fallback.
    let mut e = env();
    e.set("QAPMS_CONFIG", "missing.yaml");
    let errors = config::load(&options(dir.path(), e)).unwrap_err();
    assert!(errors.to_string().contains("does not exist"), "{errors}");
}

#[test]
fn no_file_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = config::load(&options(dir.path(), env())).unwrap();
    assert_eq!(loaded.path, None);
    assert_eq!(loaded.config, config::Config::default());
    assert!(loaded.config.integrations.jira.is_none());
    assert_eq!(loaded.paths.data_dir, PathBuf::from("/tmp/qapms-test/data"));
    assert_eq!(
        loaded.config.store.resolved_url(&loaded.paths),
        "sqlite:///tmp/qapms-test/data/qapms.db"
    );
}

#[test]
fn unquoted_interpolation_in_flow_gets_a_hint() {
    let text = "integrations:\n  grafana: {base_url: https://g.acme.io, token: ${T}}\n";
    let errors = config::load_str(text, "qapms.yaml", None, &env()).unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("quote values that use `${...}`"),
        "{errors}"
    );
}
