//! pytest: `test_*` functions at module level or in `Test*` classes (nested classes too),
//! with their decorators. A `skip`, `skipif` or `xfail` marker, or a `pytest.skip(…)` /
//! `pytest.xfail(…)` call in the body, is recorded with its full text (to the closing
//! parenthesis, across lines) so its reason can be checked.

use std::ops::Range;

use super::{Framework, TestItem, lines};

struct Open {
    indent: usize,
    name: String,
}

pub(super) fn parse(text: &str) -> Vec<TestItem> {
    let mut items: Vec<TestItem> = Vec::new();
    let mut classes: Vec<Open> = Vec::new();
    let mut pending_skips: Vec<Range<usize>> = Vec::new();
    // The test whose body we are in, and its indentation, for `pytest.skip(…)` calls.
    let mut current: Option<(usize, usize)> = None;
    // The end of a decorator that spans lines: its continuation lines are part of it.
    let mut resume_at = 0;
    for (start, line) in lines(text) {
        if start < resume_at {
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        while classes.last().is_some_and(|c| c.indent >= indent) {
            classes.pop();
        }
        if let Some((index, body_indent)) = current {
            if indent > body_indent {
                if let Some(at) = find_call(trimmed, &["pytest.skip(", "pytest.xfail("]) {
                    let from = start + indent + at;
                    if let Some(item) = items.get_mut(index) {
                        item.skips.push(from..call_end(text, from));
                    }
                }
                continue;
            }
            current = None;
        }
        if trimmed.starts_with('@') {
            let from = start + indent;
            let end = call_end(text, from);
            if is_skip_marker(trimmed) {
                pending_skips.push(from..end);
            }
            resume_at = end;
            continue;
        }
        if let Some(name) = declared(trimmed, "class ") {
            let name_start = start + indent + "class ".len();
            if name.starts_with("Test") {
                let mut path: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
                path.push(name.to_owned());
                items.push(TestItem {
                    framework: Framework::Pytest,
                    path,
                    name_range: name_start..name_start + name.len(),
                    line_range: start..start + line.len(),
                    is_group: true,
                    skips: std::mem::take(&mut pending_skips),
                });
            }
            classes.push(Open {
                indent,
                name: name.to_owned(),
            });
            pending_skips.clear();
            continue;
        }
        let def = declared(trimmed, "def ")
            .map(|n| (n, "def ".len()))
            .or_else(|| declared(trimmed, "async def ").map(|n| (n, "async def ".len())));
        if let Some((name, keyword_len)) = def {
            let in_test_class = classes.iter().all(|c| c.name.starts_with("Test"));
            if name.starts_with("test") && in_test_class {
                let name_start = start + indent + keyword_len;
                let mut path: Vec<String> = classes.iter().map(|c| c.name.clone()).collect();
                path.push(name.to_owned());
                items.push(TestItem {
                    framework: Framework::Pytest,
                    path,
                    name_range: name_start..name_start + name.len(),
                    line_range: start..start + line.len(),
                    is_group: false,
                    skips: std::mem::take(&mut pending_skips),
                });
                current = Some((items.len() - 1, indent));
            }
            pending_skips.clear();
            continue;
        }
        pending_skips.clear();
    }
    items
}

/// The name declared by `class Name…` or `def name(…`.
fn declared<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(keyword)?;
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

fn is_skip_marker(decorator: &str) -> bool {
    [
        "mark.skip",
        "mark.skipif",
        "mark.xfail",
        "unittest.skip",
        "@skip",
        "@xfail",
    ]
    .iter()
    .any(|m| decorator.contains(m))
}

fn find_call(line: &str, calls: &[&str]) -> Option<usize> {
    calls.iter().filter_map(|c| line.find(c)).min()
}

/// Where a call that starts at `from` ends: after its balanced closing parenthesis (strings
/// skipped), or at the end of the line when it has none; capped at 4 KiB.
pub(super) fn call_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    if !text.is_char_boundary(from) {
        return from.min(text.len());
    }
    let limit = (from + 4096).min(bytes.len());
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = from;
    let mut seen_paren = false;
    while i < limit {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => {
                    depth += 1;
                    seen_paren = true;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && seen_paren {
                        return i + 1;
                    }
                }
                b'\n' if !seen_paren => return i,
                _ => {}
            },
        }
        i += 1;
    }
    // Unbalanced: stop at the end of the first line.
    text.get(from..)
        .and_then(|rest| rest.find('\n'))
        .map_or(text.len(), |n| from + n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_functions_classes_and_skip_reasons() {
        let text = "\
import pytest

def helper():
    pass

@pytest.mark.skip(
    reason=\"PAY-12 (broken)\",
)
def test_refund(client):
    pass

class TestLogin:
    @pytest.mark.xfail(reason='PAY-3')
    async def test_ok(self):
        pytest.skip(\"see PAY-4\")

    def helper(self):
        pass

    class TestNested:
        def test_deep(self):
            pass

def test_after():
    pass
";
        let items = parse(text);
        let paths: Vec<String> = items.iter().map(|i| i.path.join("::")).collect();
        assert_eq!(
            paths,
            vec![
                "test_refund",
                "TestLogin",
                "TestLogin::test_ok",
                "TestLogin::TestNested",
                "TestLogin::TestNested::test_deep",
                "test_after"
            ]
        );
        assert_eq!(&text[items[0].name_range.clone()], "test_refund");
        let skip = &text[items[0].skips[0].clone()];
        assert!(
            skip.starts_with("@pytest.mark.skip(") && skip.ends_with(')'),
            "{skip}"
        );
        assert!(skip.contains("PAY-12"));
        assert_eq!(items[2].skips.len(), 2);
        assert_eq!(
            &text[items[2].skips[1].clone()],
            "pytest.skip(\"see PAY-4\")"
        );
        assert!(items[5].skips.is_empty());
    }

    #[test]
    fn functions_in_non_test_classes_are_not_tests() {
        let items = parse("class Helper:\n    def test_like(self):\n        pass\n");
        assert!(items.is_empty());
    }
}
