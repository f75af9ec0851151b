//! The `{placeholders}` of step action texts: which names exist, where a text names them, and
//! how a text is filled.
//!
//! A placeholder is `{` + a lowercase name + `}`. Anything else in braces (Jira wiki markup
//! such as `{code}` is the common case, or a regex's `{3}`) is kept as written, and so is an
//! unknown name: the config check warns about those (a typo such as `{tikcet}` would otherwise
//! reach Jira as written), but a comment that means `{code}` must still be possible.
//!
//! The text is filled in one pass, so a value that itself holds `{step}` (a ticket summary, a
//! user's name) is inserted as it is and never filled again.

use crate::model::Workflow;

/// Every placeholder a step action text can hold, with what it becomes.
pub const PLACEHOLDERS: [(&str, &str); 8] = [
    ("ticket", "the ticket's key"),
    ("title", "the ticket's summary"),
    ("user", "the workflow owner's name"),
    ("outcome", "how the steps went, e.g. `2 of 3 steps done`"),
    (
        "duration",
        "the time tracked on the workflow so far, e.g. `1h05m`",
    ),
    ("template", "the workflow template's name"),
    ("step", "the finished step's name"),
    ("workflow", "the workflow's id"),
];

/// The placeholders a `splunk_search` action passes to its SPL template's parameters: the
/// ones known without reading the store ([`workflow_value`]).
pub const SPLUNK_PARAMETERS: [&str; 4] = ["ticket", "template", "step", "workflow"];

/// The value of a placeholder the workflow itself holds ([`SPLUNK_PARAMETERS`]): `None` for
/// the others, and for `{ticket}` on a workflow without one.
pub fn workflow_value(workflow: &Workflow, step: &str, name: &str) -> Option<String> {
    match name {
        "ticket" => workflow.ticket.as_ref().map(ToString::to_string),
        "template" => Some(workflow.template.clone()),
        "step" => Some(step.to_owned()),
        "workflow" => Some(workflow.id.to_string()),
        _ => None,
    }
}

/// Whether `name` is a placeholder.
pub fn is_placeholder(name: &str) -> bool {
    PLACEHOLDERS.iter().any(|(known, _)| *known == name)
}

/// Each `{name}` in `text` that has the shape of a placeholder, known or not, in order.
pub fn names_in(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    scan(text, |piece| {
        if let Piece::Name(name) = piece {
            names.push(name);
        }
    });
    names
}

/// `text` with each placeholder that `value` knows replaced by its value; the rest stays.
pub fn fill(text: &str, value: &dyn Fn(&str) -> Option<String>) -> String {
    if !text.contains('{') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    scan(text, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Name(name) => match value(name) {
            Some(v) => out.push_str(&v),
            None => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        },
    });
    out
}

enum Piece<'a> {
    Text(&'a str),
    Name(&'a str),
}

fn scan<'a>(text: &'a str, mut each: impl FnMut(Piece<'a>)) {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
            .count();
        let is_name = len > 0
            && after.as_bytes().get(len) == Some(&b'}')
            && after.as_bytes()[0].is_ascii_lowercase();
        if is_name {
            each(Piece::Text(&rest[..open]));
            each(Piece::Name(&after[..len]));
            rest = &after[len + 1..];
        } else {
            // Not a placeholder: keep the brace as text and look again after it.
            each(Piece::Text(&rest[..=open]));
            rest = after;
        }
    }
    each(Piece::Text(rest));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(name: &str) -> Option<String> {
        match name {
            "ticket" => Some("PAY-1".to_owned()),
            "title" => Some("Refund {step} fails".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn names_are_found_in_order_and_other_braces_are_not_names() {
        assert_eq!(
            names_in("{ticket}: {code}x{code} {Title} {} {a-b} \\d{3} {{step}} {tikcet"),
            ["ticket", "code", "code", "step"]
        );
    }

    #[test]
    fn fill_replaces_known_names_once_and_keeps_the_rest() {
        assert_eq!(
            fill("{ticket} {title} {unknown} {3} {", &known),
            "PAY-1 Refund {step} fails {unknown} {3} {"
        );
        assert_eq!(fill("no braces", &known), "no braces");
        assert_eq!(fill("ü{ticket}ü", &known), "üPAY-1ü");
    }

    #[test]
    fn splunk_parameters_are_placeholders() {
        assert!(SPLUNK_PARAMETERS.iter().all(|p| is_placeholder(p)));
    }

    proptest::proptest! {
        #[test]
        fn fill_with_nothing_known_gives_the_text_back(text in "\\PC*") {
            proptest::prop_assert_eq!(fill(&text, &|_| None), text);
        }
    }
}
