//! Workflow template files: `workflow_files:` in `qapms.yaml` names YAML files that each hold a
//! mapping of template name to template, the same shape as `workflows:`.
//!
//! Each file goes through the same pipeline as the main file (spanned tree, `${VAR}`
//! interpolation, schema validation, the template checks), so its diagnostics name the file,
//! line and column. Once every file is read, `extends` references are checked across all of
//! them and the main file (a template may extend one from another file), and the templates are
//! merged into `Config::workflows`. A name defined twice is an error at the second definition.

use std::collections::BTreeMap;
use std::path::Path;

use super::diagnostic::{ConfigErrors, Diagnostic, Severity};
use super::env::Env;
use super::interpolate;
use super::schema::COMPILED;
use super::semantic;
use super::tree::{self, Node};
use super::types::WorkflowTemplate;
use super::validate::{Validator, diagnostic};
use super::{Loaded, errors};

/// Reads the files `loaded.config.workflow_files` names (relative to `base_dir`), checks them,
/// and merges their templates into `loaded.config.workflows`. Warnings join
/// `loaded.warnings`; any error fails the load with every diagnostic found.
#[expect(
    clippy::too_many_lines,
    reason = "read, parse, type, merge, then the cross-file checks, in that order"
)]
pub(super) fn merge(
    loaded: &mut Loaded,
    main_text: &str,
    main_file: &str,
    base_dir: &Path,
    env: &Env,
) -> Result<(), ConfigErrors> {
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut sources: Vec<(String, String)> = Vec::new();
    for (i, path) in loaded.config.workflow_files.iter().enumerate() {
        let path = base_dir.join(path);
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push((name, text)),
            Err(e) => {
                // Blame the list entry in the main file.
                let main = tree::parse(main_text);
                let span = main
                    .root
                    .as_ref()
                    .and_then(|r| r.get("workflow_files"))
                    .and_then(|e| match &e.value.value {
                        tree::Value::Seq(items) => items.get(i).map(|n| n.span),
                        _ => None,
                    })
                    .unwrap_or_default();
                diags.push(diagnostic(
                    main_file,
                    Severity::Error,
                    span,
                    &format!("workflow_files[{i}]"),
                    format!("cannot read the workflow template file {name}: {e}"),
                    None,
                ));
            }
        }
    }
    let schema = &*COMPILED;
    let Some(shape) = schema.child(schema.root, "workflows") else {
        return Ok(());
    };
    // Parse and type every file first; the trees live as long as their texts.
    let mut parsed: Vec<(&str, Node<'_>, BTreeMap<String, WorkflowTemplate>)> = Vec::new();
    for (file, text) in &sources {
        let result = tree::parse(text);
        for e in result.errors {
            diags.push(diagnostic(
                file,
                Severity::Error,
                e.span,
                &e.key_path,
                e.message,
                None,
            ));
        }
        let Some(mut root) = result.root else {
            continue;
        };
        let mut interp = Vec::new();
        interpolate::interpolate_tree(&mut root, env, text, &mut String::new(), &mut interp);
        for e in interp {
            diags.push(diagnostic(
                file,
                Severity::Error,
                e.span,
                &e.key_path,
                e.message,
                None,
            ));
        }
        let mut v = Validator::new(schema, file, false);
        let json = v.check(&root, shape, &mut String::new(), None);
        let failed = v.diags.iter().any(Diagnostic::is_error);
        diags.extend(v.diags);
        if failed {
            continue;
        }
        match serde_json::from_value::<BTreeMap<String, WorkflowTemplate>>(json) {
            Ok(templates) => {
                diags.extend(semantic::check_template_file(
                    &templates,
                    &loaded.config.integrations,
                    &root,
                    file,
                ));
                parsed.push((file.as_str(), root, templates));
            }
            Err(e) => diags.push(diagnostic(
                file,
                Severity::Error,
                root.span,
                "",
                format!(
                    "internal error: the validated template file does not fit the types ({:?} error); please report this",
                    e.classify()
                ),
                None,
            )),
        }
    }
    // Merge, refusing a name defined twice.
    let mut all = loaded.config.workflows.clone();
    let mut origin: BTreeMap<String, String> = all
        .keys()
        .map(|k| (k.clone(), main_file.to_owned()))
        .collect();
    for (file, root, templates) in &parsed {
        for (name, template) in templates {
            if let Some(first) = origin.get(name) {
                let span = root.get(name).map_or(root.span, |e| e.key_span);
                diags.push(diagnostic(
                    file,
                    Severity::Error,
                    span,
                    name,
                    format!("workflow template `{name}` is already defined in {first}"),
                    None,
                ));
                continue;
            }
            origin.insert(name.clone(), (*file).to_owned());
            all.insert(name.clone(), template.clone());
        }
    }
    // `extends` across everything: the main file's references (its own cycles were checked
    // with it), then each file's, cycles included.
    let main_tree = tree::parse(main_text);
    if let Some(main_root) = &main_tree.root {
        diags.extend(semantic::check_extends(
            &loaded.config.workflows,
            &all,
            main_root,
            main_file,
            true,
            false,
        ));
    }
    for (file, root, templates) in &parsed {
        diags.extend(semantic::check_extends(
            templates, &all, root, file, false, true,
        ));
    }
    if diags.iter().any(Diagnostic::is_error) {
        let mut everything = std::mem::take(&mut loaded.warnings);
        everything.extend(diags);
        return Err(errors(everything));
    }
    loaded.warnings.extend(diags);
    loaded.config.workflows = all;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{Env, LoadOptions, load};

    fn write(dir: &std::path::Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn options(dir: &std::path::Path) -> LoadOptions {
        LoadOptions {
            path: Some(dir.join("qapms.yaml")),
            profile: None,
            cwd: dir.to_path_buf(),
            env: Env::empty(),
        }
    }

    #[test]
    fn templates_from_files_merge_and_may_extend_each_other() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "qapms.yaml",
            "workflow_files: [flows/team.yaml]\nworkflows:\n  mine:\n    extends: team_base\n    steps:\n      - name: last\n",
        );
        std::fs::create_dir(dir.path().join("flows")).unwrap();
        write(
            dir.path(),
            "flows/team.yaml",
            "team_base:\n  extends: verify_ticket\n  steps:\n    - name: extra\n      estimate: 5m\n",
        );
        let loaded = load(&options(dir.path())).unwrap();
        assert!(loaded.config.workflows.contains_key("team_base"));
        let catalog = crate::workflow::Catalog::new(&loaded.config.workflows);
        let steps: Vec<String> = catalog
            .resolve("mine")
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(steps, ["understand", "test", "report", "extra", "last"]);
    }

    #[test]
    fn cycles_unknown_parents_and_bad_actions_in_files_have_positions() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "qapms.yaml",
            "workflow_files: [a.yaml, missing.yaml]\nworkflows:\n  top:\n    extends: nowhere\n    steps:\n      - name: s\n",
        );
        write(
            dir.path(),
            "a.yaml",
            "one:\n  extends: two\n  steps:\n    - name: x\ntwo:\n  extends: one\n  steps:\n    - name: y\n      actions:\n        - kind: splunk_serch\n",
        );
        let err = load(&options(dir.path())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("missing.yaml"), "{text}");
        // The unknown action kind, in a.yaml at its line.
        let action = err
            .diagnostics
            .iter()
            .find(|d| d.file.ends_with("a.yaml") && d.line == 10)
            .unwrap_or_else(|| panic!("{text}"));
        assert!(action.message.contains("splunk"), "{text}");
        // The unknown parent in the main file, line 4.
        assert!(
            err.diagnostics
                .iter()
                .any(|d| d.file.ends_with("qapms.yaml")
                    && d.line == 4
                    && d.message.contains("nowhere")),
            "{text}"
        );
        // The schema error stops a.yaml before the cycle check; fix it and see the cycle.
        write(
            dir.path(),
            "a.yaml",
            "one:\n  extends: two\n  steps:\n    - name: x\ntwo:\n  extends: one\n  steps:\n    - name: y\n",
        );
        write(dir.path(), "qapms.yaml", "workflow_files: [a.yaml]\n");
        let err = load(&options(dir.path())).unwrap_err();
        let cycle: Vec<_> = err
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("cycle"))
            .map(|d| (d.line, d.column))
            .collect();
        assert_eq!(cycle, [(2, 12), (6, 12)], "{err}");
    }

    #[test]
    fn the_main_file_reports_cycles_and_unknown_parents_with_suggestions() {
        let text = "workflows:\n  a:\n    extends: b\n    steps: [{name: x}]\n  b:\n    extends: a\n    steps: [{name: y}]\n  c:\n    extends: verify_tiket\n    steps: [{name: z}]\n";
        let err = crate::config::load_str(text, "qapms.yaml", None, &Env::empty()).unwrap_err();
        let found: Vec<_> = err
            .diagnostics
            .iter()
            .map(|d| (d.line, d.column, d.suggestion.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (3, 14, None),
                (6, 14, None),
                (9, 14, Some("verify_ticket".to_owned()))
            ],
            "{err}"
        );
        assert!(err.to_string().contains("a -> b -> a"), "{err}");
    }
}
