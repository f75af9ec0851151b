//! Gherkin feature files: the `Feature:` and its `Scenario:`, `Scenario Outline:`,
//! `Scenario Template:` and `Example:` blocks (with `Rule:` as a group between them). Tags on
//! the lines above (`@PAY-12 @smoke`) stay in the text, where the key recogniser finds them;
//! `@skip`, `@ignore`, `@wip` and `@disabled` tags are skip markers.

use super::{Framework, TestItem, lines};

const FEATURE: &[&str] = &["Feature:", "Ability:", "Business Need:"];
const RULE: &[&str] = &["Rule:"];
const SCENARIO: &[&str] = &[
    "Scenario Outline:",
    "Scenario Template:",
    "Scenario:",
    "Example:",
];
const SKIP_TAGS: &[&str] = &["@skip", "@ignore", "@wip", "@disabled", "@pending"];

pub(super) fn parse(text: &str) -> Vec<TestItem> {
    let mut items = Vec::new();
    let mut feature: Option<String> = None;
    let mut rule: Option<String> = None;
    let mut skips = Vec::new();
    for (start, line) in lines(text) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('@') {
            let mut offset = start + indent;
            for tag in trimmed.split_whitespace() {
                let at = trimmed[offset - start - indent..]
                    .find(tag)
                    .map_or(offset, |p| offset + p);
                if SKIP_TAGS.iter().any(|s| tag.eq_ignore_ascii_case(s)) {
                    skips.push(at..at + tag.len());
                }
                offset = at + tag.len();
            }
            continue;
        }
        let (kind, keyword) = if let Some(k) = FEATURE.iter().find(|k| trimmed.starts_with(**k)) {
            (0, *k)
        } else if let Some(k) = RULE.iter().find(|k| trimmed.starts_with(**k)) {
            (1, *k)
        } else if let Some(k) = SCENARIO.iter().find(|k| trimmed.starts_with(**k)) {
            (2, *k)
        } else {
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                skips.clear();
            }
            continue;
        };
        let after = &trimmed[keyword.len()..];
        let title = after.trim();
        let name_start = start + indent + keyword.len() + (after.len() - after.trim_start().len());
        let mut path = Vec::new();
        match kind {
            0 => {
                feature = Some(title.to_owned());
                rule = None;
            }
            1 => {
                rule = Some(title.to_owned());
                path.extend(feature.clone());
            }
            _ => {
                path.extend(feature.clone());
                path.extend(rule.clone());
            }
        }
        path.push(title.to_owned());
        items.push(TestItem {
            framework: Framework::Gherkin,
            path,
            name_range: name_start..name_start + title.len(),
            line_range: start..start + line.len(),
            is_group: kind < 2,
            skips: std::mem::take(&mut skips),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_rules_and_scenarios() {
        let text = "\
@payments
Feature: Refunds
  # a comment
  @PAY-12 @skip
  Scenario: Full refund
    Given an order

  Rule: Expired orders
    Scenario Outline: Rejected <n>
      Examples:
";
        let items = parse(text);
        let paths: Vec<String> = items.iter().map(|i| i.path.join("::")).collect();
        assert_eq!(
            paths,
            vec![
                "Refunds",
                "Refunds::Full refund",
                "Refunds::Expired orders",
                "Refunds::Expired orders::Rejected <n>"
            ]
        );
        assert_eq!(&text[items[1].name_range.clone()], "Full refund");
        assert_eq!(&text[items[1].skips[0].clone()], "@skip");
        assert!(items[0].skips.is_empty());
    }
}
