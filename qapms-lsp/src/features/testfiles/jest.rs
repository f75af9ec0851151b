//! Playwright, Jest, Vitest and Mocha: `describe(…)`, `test(…)` and `it(…)` calls with a
//! literal title, including `test.describe`, `.only`, `.skip` and `.fixme` chains and Jasmine's
//! `fdescribe`/`xit`. Nesting follows the parentheses of the `describe` call, counted on a copy
//! of the text with comments and strings blanked out; titles are read from the original.

use super::{Framework, TestItem, blank_comments_and_strings, line_around};

const GROUPS: &[&str] = &["describe", "context", "suite", "fdescribe", "xdescribe"];
const TESTS: &[&str] = &["test", "it", "specify", "fit", "xit", "xtest"];

#[expect(
    clippy::too_many_lines,
    reason = "one scanner loop; split up, its state would be threaded through every piece"
)]
pub(super) fn parse(text: &str) -> Vec<TestItem> {
    let code = blank_comments_and_strings(text);
    let bytes = code.as_bytes();
    let mut items = Vec::new();
    // (title, paren depth of the call's own parenthesis)
    let mut groups: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'(' => {
                depth += 1;
                i += 1;
                continue;
            }
            b')' => {
                while groups.last().is_some_and(|(_, d)| *d >= depth) {
                    groups.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        let starts_word =
            is_ident(b) && (i == 0 || !(is_ident(bytes[i - 1]) || bytes[i - 1] == b'.'));
        if !starts_word {
            i += 1;
            continue;
        }
        let (chain, after) = read_chain(bytes, i);
        let Some(first) = chain.first().copied() else {
            i += 1;
            continue;
        };
        let is_group = GROUPS.contains(&first) || chain.contains(&"describe");
        let is_test = !is_group && TESTS.contains(&first);
        let modifiers_ok = chain[1..].iter().all(|m| {
            matches!(
                *m,
                "only"
                    | "skip"
                    | "fixme"
                    | "fail"
                    | "slow"
                    | "describe"
                    | "serial"
                    | "parallel"
                    | "todo"
                    | "concurrent"
            )
        });
        let call = skip_spaces(bytes, after);
        if !(is_group || is_test) || !modifiers_ok || bytes.get(call) != Some(&b'(') {
            i = after.max(i + 1);
            continue;
        }
        let quote_at = skip_spaces(bytes, call + 1);
        let Some(&quote) = bytes
            .get(quote_at)
            .filter(|q| matches!(q, b'\'' | b'"' | b'`'))
        else {
            i = after.max(i + 1);
            continue;
        };
        let Some(close) = bytes[quote_at + 1..]
            .iter()
            .position(|&c| c == quote)
            .map(|p| quote_at + 1 + p)
        else {
            i = after.max(i + 1);
            continue;
        };
        let Some(title) = text.get(quote_at + 1..close) else {
            i = after.max(i + 1);
            continue;
        };
        let skipped = chain
            .iter()
            .any(|m| matches!(*m, "skip" | "fixme" | "todo"))
            || first.starts_with('x');
        let mut path: Vec<String> = groups.iter().map(|(t, _)| t.clone()).collect();
        path.push(title.to_owned());
        let line = line_around(text, i);
        items.push(TestItem {
            framework: Framework::Jest,
            path,
            name_range: quote_at + 1..close,
            line_range: line.clone(),
            is_group,
            skips: if skipped {
                std::iter::once(i..line.end.max(i)).collect()
            } else {
                Vec::new()
            },
        });
        if is_group {
            groups.push((title.to_owned(), depth + 1));
        }
        // Continue at the call's parenthesis so the depth counts it.
        i = call;
    }
    items
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// `test.describe.only` as `["test", "describe", "only"]`, and the offset after it.
fn read_chain(bytes: &[u8], start: usize) -> (Vec<&str>, usize) {
    let mut parts = Vec::new();
    let mut i = start;
    loop {
        let word_start = i;
        while bytes.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        if let Some(word) = bytes
            .get(word_start..i)
            .and_then(|w| std::str::from_utf8(w).ok())
            && !word.is_empty()
        {
            parts.push(word);
        } else {
            break;
        }
        if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).copied().is_some_and(is_ident) {
            i += 1;
        } else {
            break;
        }
        if parts.len() > 4 {
            break;
        }
    }
    (parts, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_describe_and_test_titles_with_nesting() {
        let text = "\
import { test, expect } from '@playwright/test';

test.describe('checkout', () => {
  test('pays by card', async ({ page }) => {
    await page.goto('/x(');
  });
  test.skip(\"refund PAY-12\", async () => {});
  describe(`nested`, function () {
    it('works', () => {});
  });
});

test('top level', () => {});
const tested = notatest('x');
";
        let items = parse(text);
        let paths: Vec<String> = items.iter().map(|i| i.path.join(" › ")).collect();
        assert_eq!(
            paths,
            vec![
                "checkout",
                "checkout › pays by card",
                "checkout › refund PAY-12",
                "checkout › nested",
                "checkout › nested › works",
                "top level"
            ]
        );
        assert!(items[0].is_group && !items[1].is_group);
        assert_eq!(&text[items[1].name_range.clone()], "pays by card");
        assert!(items[1].skips.is_empty());
        assert_eq!(items[2].skips.len(), 1);
    }
}
