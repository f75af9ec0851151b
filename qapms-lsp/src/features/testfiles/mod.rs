//! Tests declared in a file: pytest functions and classes, `JUnit` methods, Playwright and Jest
//! `test`/`it` calls, Gherkin scenarios.
//!
//! Each parser is a forgiving line or token scanner, not a compiler front-end: a test file is
//! usually half-edited while the user types, and the server must still find the tests around
//! the broken part. Parsers never fail; what they cannot read they skip.
//!
//! A [`TestItem`] carries the qualified name the framework's reports use, so the workspace can
//! map it to the store's stable test id through the identity map (see [`TestItem::keys`]).

mod gherkin;
mod jest;
mod junit;
mod pytest;

use std::ops::Range;

use qapms_core::model::{ExternalKey, TestSource};

use super::regions::{Language, regions};

/// Which framework a test belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Pytest,
    Junit,
    /// Playwright or Jest (or Vitest, Mocha: the same `describe`/`test`/`it` shape).
    Jest,
    Gherkin,
}

/// A test, or a group of tests (a pytest class, a `describe`, a Gherkin feature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestItem {
    pub framework: Framework,
    /// Enclosing groups then the test's own name: `["TestLogin", "test_ok"]`.
    pub path: Vec<String>,
    /// Where the name is written (byte offsets).
    pub name_range: Range<usize>,
    /// The whole declaration line, where a code lens goes (byte offsets).
    pub line_range: Range<usize>,
    /// A group rather than a single test.
    pub is_group: bool,
    /// Skip or expected-failure markers with their text (decorators, `@Disabled(…)`,
    /// `test.skip(…)`), whose reasons may cite tickets.
    pub skips: Vec<Range<usize>>,
}

impl TestItem {
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    /// The identity keys reports give this test, most specific first. `rel_path` is the file's
    /// path relative to the workspace root, with `/` separators.
    pub fn keys(&self, rel_path: &str, package: Option<&str>) -> Vec<ExternalKey> {
        let joined = self.path.join("::");
        match self.framework {
            Framework::Pytest => {
                let mut keys = vec![ExternalKey::new(
                    TestSource::Pytest,
                    format!("{rel_path}::{joined}"),
                )];
                // `--junitxml` (xunit2) names the class `tests.test_pay.TestLogin`.
                let module = rel_path.trim_end_matches(".py").replace('/', ".");
                let (groups, name) = self.path.split_at(self.path.len().saturating_sub(1));
                let mut class = module;
                for g in groups {
                    class.push('.');
                    class.push_str(g);
                }
                if let Some(name) = name.first() {
                    keys.push(ExternalKey::new(
                        TestSource::Junit,
                        format!("{class}::{name}"),
                    ));
                }
                keys
            }
            Framework::Junit => {
                let (groups, name) = self.path.split_at(self.path.len().saturating_sub(1));
                let mut class = package.map(str::to_owned).unwrap_or_default();
                // Nested classes are reported as `Outer$Inner`.
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        class.push('$');
                    } else if !class.is_empty() {
                        class.push('.');
                    }
                    class.push_str(g);
                }
                name.first()
                    .map(|n| vec![ExternalKey::new(TestSource::Junit, format!("{class}::{n}"))])
                    .unwrap_or_default()
            }
            Framework::Jest => {
                // Playwright's and jest-junit's reporters: the file as the class, the titles
                // joined by " › " (Playwright) or by a space (jest-junit) as the name.
                let arrow = self.path.join(" › ");
                let spaced = self.path.join(" ");
                vec![
                    ExternalKey::new(TestSource::Junit, format!("{rel_path}::{arrow}")),
                    ExternalKey::new(TestSource::Junit, format!("{rel_path}::{spaced}")),
                    ExternalKey::new(TestSource::Junit, arrow),
                ]
            }
            Framework::Gherkin => {
                vec![ExternalKey::new(TestSource::Junit, joined)]
            }
        }
    }
}

/// What a test file declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestFile {
    pub items: Vec<TestItem>,
    /// The Java package, for `JUnit` class names.
    pub package: Option<String>,
}

/// Finds the tests in `text`. `path` decides the framework where the language does not.
pub fn parse(text: &str, language: Language, path: &str) -> TestFile {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let name = name.as_str();
    match language {
        Language::Python if is_pytest_file(name) => TestFile {
            items: pytest::parse(text),
            package: None,
        },
        Language::Gherkin => TestFile {
            items: gherkin::parse(text),
            package: None,
        },
        Language::CLike if has_extension(name, &["java", "kt"]) => junit::parse(text),
        Language::CLike if is_js_test_file(name) => TestFile {
            items: jest::parse(text),
            package: None,
        },
        _ => TestFile::default(),
    }
}

fn has_extension(name: &str, extensions: &[&str]) -> bool {
    std::path::Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_pytest_file(name: &str) -> bool {
    let stem = name.strip_suffix(".py").unwrap_or(name);
    has_extension(name, &["py"]) && (stem.starts_with("test_") || stem.ends_with("_test"))
}

fn is_js_test_file(name: &str) -> bool {
    [".spec.", ".test.", ".e2e."]
        .iter()
        .any(|m| name.contains(m))
}

/// The byte range of the line holding `offset`, without its line break.
pub(crate) fn line_around(text: &str, offset: usize) -> Range<usize> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    start..end.max(start)
}

/// Iterates over lines with their byte offset.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |line| {
        let start = offset;
        offset += line.len();
        (start, line.trim_end_matches(['\n', '\r']))
    })
}

/// `text` with comment and string contents replaced by spaces (line breaks and length kept).
pub(crate) fn blank_comments_and_strings(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for region in regions(text, Language::CLike) {
        for b in bytes.get_mut(region.range).into_iter().flatten() {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only ASCII bytes of whole characters were replaced, or whole multi-byte characters'
    // bytes (regions start and end on character boundaries), so this stays valid UTF-8.
    // Should that ever not hold, the original text (same offsets) is the safe fallback.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_owned())
}

/// The test or group whose declaration line or name holds `offset`.
pub fn item_at(file: &TestFile, offset: usize) -> Option<&TestItem> {
    file.items
        .iter()
        .rev()
        .find(|t| t.line_range.start <= offset && offset <= t.line_range.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(file: &TestFile, text: &str) -> Result<(), TestCaseError> {
        for item in &file.items {
            prop_assert!(text.get(item.name_range.clone()).is_some());
            prop_assert!(text.get(item.line_range.clone()).is_some());
            for s in &item.skips {
                prop_assert!(text.get(s.clone()).is_some());
            }
            prop_assert!(!item.path.is_empty());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parsers_never_panic_on_arbitrary_text(text in "\\PC{0,300}") {
            for (lang, path) in [
                (Language::Python, "tests/test_x.py"),
                (Language::CLike, "src/test/java/LoginTest.java"),
                (Language::CLike, "e2e/login.spec.ts"),
                (Language::Gherkin, "features/login.feature"),
            ] {
                let file = parse(&text, lang, path);
                check(&file, &text)?;
                for item in &file.items {
                    let _ = item.keys("a/b.py", file.package.as_deref());
                }
            }
        }

        #[test]
        fn parsers_never_panic_on_test_shaped_text(
            parts in proptest::collection::vec(prop_oneof![
                Just("def test_a(x):\n".to_owned()), Just("class TestA:\n".to_owned()),
                Just("    @pytest.mark.skip(reason=\"PAY-1\"\n".to_owned()),
                Just("  async def test_b(".to_owned()), Just("@Test\n".to_owned()),
                Just("void name() {".to_owned()), Just("}".to_owned()), Just("{".to_owned()),
                Just("class A {".to_owned()), Just("test('t', () => {".to_owned()),
                Just("describe(\"d\", ".to_owned()), Just("});\n".to_owned()),
                Just("test.skip(`x".to_owned()), Just("Feature: f\n".to_owned()),
                Just("  Scenario: s\n".to_owned()), Just("@tag @PAY-1\n".to_owned()),
                Just("package a.b;\n".to_owned()), Just("'".to_owned()), Just("\"".to_owned()),
                Just("/*".to_owned()), Just("é😀".to_owned()), Just("\r\n".to_owned()),
                "\\PC{0,8}",
            ], 0..40)
        ) {
            let text: String = parts.concat();
            for (lang, path) in [
                (Language::Python, "tests/test_x.py"),
                (Language::CLike, "src/test/java/LoginTest.java"),
                (Language::CLike, "e2e/login.spec.ts"),
                (Language::Gherkin, "features/login.feature"),
            ] {
                check(&parse(&text, lang, path), &text)?;
            }
        }
    }
}
