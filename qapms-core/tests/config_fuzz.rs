//! The loader never panics, whatever it is given: random bytes, YAML-ish noise, and every
//! truncation and line-level mutation of a valid file.

use std::path::Path;

use proptest::prelude::*;
use qapms_core::config::{self, Env};

fn valid() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn env() -> Env {
    Env::from_pairs([
        ("QAPMS_CONFIG_DIR", "/tmp/qapms-fuzz/config"),
        ("QAPMS_DATA_DIR", "/tmp/qapms-fuzz/data"),
        ("JIRA_API_TOKEN", "t"),
        ("TESTMO_TOKEN", "t"),
    ])
}

/// Loads and, on failure, checks the promise every error makes: a position inside the text.
fn load_checked(text: &str, profile: Option<&str>) {
    if let Err(errors) = config::load_str(text, "fuzz.yaml", profile, &env()) {
        assert!(errors.errors().count() >= 1);
        // YAML (like LSP) breaks lines at `\n`, `\r\n` and a lone `\r`, and YAML 1.1 also at
        // NEL, LS and PS; `str::lines` knows only `\n`, so count the breaks the parser sees.
        let mut chars = text.chars().peekable();
        let mut breaks = 0;
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => breaks += 1,
                _ => {}
            }
        }
        let lines = breaks + 2;
        for d in &errors.diagnostics {
            assert!(
                d.line >= 1 && d.line <= lines,
                "line {} of {lines}: {d}",
                d.line
            );
            assert!(d.column >= 1, "{d}");
        }
    }
}

#[test]
fn every_truncation_of_a_valid_file_loads_or_fails_cleanly() {
    let text = valid();
    for (i, _) in text.char_indices() {
        load_checked(&text[..i], None);
    }
    load_checked(&text, Some("prod"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        load_checked(&String::from_utf8_lossy(&bytes), None);
    }

    #[test]
    fn yaml_like_noise_never_panics(text in "[a-z_:\\-\\[\\]{}, \n\t'\"#&*!|>$0-9.~?%@`]{0,300}") {
        load_checked(&text, Some("dev"));
    }

    #[test]
    fn line_mutations_of_a_valid_file_never_panic(
        ops in proptest::collection::vec((0usize..200, 0u8..4, "[ a-z:\\[\\]{}${}\\-]{0,12}"), 1..8)
    ) {
        let mut lines: Vec<String> = valid().lines().map(str::to_owned).collect();
        for (at, op, junk) in ops {
            let i = at % lines.len().max(1);
            match op {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                2 => lines[i].push_str(&junk),
                _ => lines[i] = format!("  {}", lines[i]),
            }
            if lines.is_empty() {
                lines.push(String::new());
            }
        }
        load_checked(&lines.join("\n"), Some("prod"));
    }
}
