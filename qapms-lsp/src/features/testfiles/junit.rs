//! `JUnit` 4 and 5 (Java and Kotlin): methods annotated `@Test`, `@ParameterizedTest`,
//! `@RepeatedTest`, `@TestFactory` or `@TestTemplate`, inside (possibly nested) classes, with
//! the file's package. `@Disabled(…)` and `@Ignore(…)` are skip markers.
//!
//! Braces are counted on a copy of the text whose comments and strings are blanked out, so a
//! `}` in a string never closes a class.

use std::ops::Range;

use super::pytest::call_end;
use super::{Framework, TestFile, TestItem, blank_comments_and_strings, lines};

const TEST_ANNOTATIONS: &[&str] = &[
    "@Test",
    "@ParameterizedTest",
    "@RepeatedTest",
    "@TestFactory",
    "@TestTemplate",
];
const SKIP_ANNOTATIONS: &[&str] = &["@Disabled", "@Ignore"];

pub(super) fn parse(text: &str) -> TestFile {
    let code = blank_comments_and_strings(text);
    let mut file = TestFile::default();
    // (class name, brace depth inside its body)
    let mut classes: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_test = false;
    let mut pending_skips: Vec<Range<usize>> = Vec::new();
    for (start, code_line) in lines(&code) {
        let trimmed = code_line.trim_start();
        let indent = code_line.len() - trimmed.len();
        if let Some(rest) = trimmed.strip_prefix("package ") {
            let name = rest.trim_end_matches(';').trim();
            if !name.is_empty() {
                file.package = Some(name.to_owned());
            }
        }
        let mut rest = trimmed;
        // Annotations may share a line with the declaration: `@Test void ok() {`.
        while rest.starts_with('@') {
            let word_end = rest[1..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .map_or(rest.len(), |i| i + 1);
            let word = &rest[..word_end];
            let at = start + indent + (trimmed.len() - rest.len());
            if TEST_ANNOTATIONS.contains(&word) || word.ends_with(".Test") {
                pending_test = true;
            } else if SKIP_ANNOTATIONS.contains(&word) {
                pending_skips.push(at..call_end(text, at));
            }
            let mut after = &rest[word_end..];
            if after.starts_with('(') {
                let end = call_end(&code, at + word_end) - (at + word_end);
                after = after.get(end.min(after.len())..).unwrap_or("");
            }
            rest = after.trim_start();
        }
        if let Some((name, _)) = class_name(rest) {
            classes.push((name.to_owned(), depth + 1));
            pending_skips.clear();
        } else if pending_test
            && let Some((offset, len)) = method_name(rest)
            && let Some(name) = {
                let name_start = start + code_line.len() - rest.len() + offset;
                text.get(name_start..name_start + len)
                    .map(|n| (name_start, n))
            }
        {
            let (name_start, name) = name;
            let mut path: Vec<String> = classes.iter().map(|(n, _)| n.clone()).collect();
            path.push(name.to_owned());
            file.items.push(TestItem {
                framework: Framework::Junit,
                path,
                name_range: name_start..name_start + name.len(),
                line_range: start..start + code_line.len(),
                is_group: false,
                skips: std::mem::take(&mut pending_skips),
            });
            pending_test = false;
        }
        for b in code_line.bytes() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    while classes.last().is_some_and(|(_, d)| *d > depth) {
                        classes.pop();
                    }
                }
                _ => {}
            }
        }
    }
    file
}

/// The name in `class Name`, `interface Name`, `object Name` (with modifiers before it).
fn class_name(line: &str) -> Option<(&str, usize)> {
    for keyword in ["class ", "interface ", "enum ", "record ", "object "] {
        let mut search = 0;
        while let Some(found) = line[search..].find(keyword) {
            let at = search + found;
            let boundary = at == 0 || line.as_bytes()[at - 1] == b' ';
            if boundary {
                let after = at + keyword.len();
                let rest = &line[after..];
                let trimmed = rest.trim_start();
                let offset = after + rest.len() - trimmed.len();
                let end = trimmed
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(trimmed.len());
                if end > 0 {
                    return Some((&trimmed[..end], offset));
                }
            }
            search = at + keyword.len();
        }
    }
    None
}

/// Where the method name is in `line` (offset, length): before the first `(` (Java) or after
/// `fun ` (Kotlin, where a backticked name's text is blanked in the code copy and read from
/// the original by the caller).
fn method_name(line: &str) -> Option<(usize, usize)> {
    if let Some(at) = line.find("fun ") {
        let after = at + 4;
        let rest = &line[after..];
        if let Some(inner) = rest.strip_prefix('`') {
            let end = inner.find('`')?;
            return Some((after + 1, end));
        }
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
        return (end > 0).then_some((after, end));
    }
    let paren = line.find('(')?;
    let before = line[..paren].trim_end();
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let name = &before[start..];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()))
        .then_some((start, name.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_annotated_methods_in_nested_classes() {
        let text = "\
package com.acme.pay;

import org.junit.jupiter.api.*;

class RefundTest {
    @Test
    void refundsInFull() {
        String s = \"}\"; // }
    }

    @Disabled(\"PAY-12 flaky on CI\")
    @Test
    public void partialRefund() throws Exception {}

    @Nested
    class WhenExpired {
        @ParameterizedTest @ValueSource(ints = {1, 2})
        void rejects(int n) {}
    }

    void helper() {}

    @Test void last() {}
}
";
        let file = parse(text);
        assert_eq!(file.package.as_deref(), Some("com.acme.pay"));
        let paths: Vec<String> = file.items.iter().map(|i| i.path.join("$")).collect();
        assert_eq!(
            paths,
            vec![
                "RefundTest$refundsInFull",
                "RefundTest$partialRefund",
                "RefundTest$WhenExpired$rejects",
                "RefundTest$last"
            ]
        );
        assert_eq!(&text[file.items[1].name_range.clone()], "partialRefund");
        assert_eq!(
            &text[file.items[1].skips[0].clone()],
            "@Disabled(\"PAY-12 flaky on CI\")"
        );
        let keys = file.items[2].keys("x", file.package.as_deref());
        assert_eq!(keys[0].key, "com.acme.pay.RefundTest$WhenExpired::rejects");
    }

    #[test]
    fn kotlin_backtick_names() {
        let file = parse("class A {\n  @Test\n  fun `does a thing`() {}\n}\n");
        assert_eq!(file.items[0].path, vec!["A", "does a thing"]);
    }
}
