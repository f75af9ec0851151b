//! Rich text for comments and descriptions, from one Markdown-ish input.
//!
//! QAs write comments once; Cloud wants Atlassian Document Format (JSON), Data Center wants
//! wiki markup. The input subset is deliberately small and predictable: paragraphs separated by
//! blank lines, `- `/`* ` bullet and `1. ` numbered lists, fenced code blocks, and inline
//! `**bold**`, `` `code` `` and `[text](url)`. Anything else is kept as plain text, never
//! dropped.

use serde_json::{Value, json};

enum Block {
    Paragraph(Vec<String>),
    Bullets(Vec<String>),
    Numbered(Vec<String>),
    Code(Option<String>, Vec<String>),
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_end();
        if trimmed.trim().is_empty() {
            continue;
        }
        if let Some(lang) = trimmed.trim_start().strip_prefix("```") {
            let lang = (!lang.trim().is_empty()).then(|| lang.trim().to_owned());
            let mut code = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                code.push(inner.to_owned());
            }
            out.push(Block::Code(lang, code));
        } else if let Some(item) = bullet(trimmed) {
            let mut items = vec![item.to_owned()];
            while let Some(item) = lines.peek().and_then(|l| bullet(l.trim_end())) {
                items.push(item.to_owned());
                lines.next();
            }
            out.push(Block::Bullets(items));
        } else if let Some(item) = numbered(trimmed) {
            let mut items = vec![item.to_owned()];
            while let Some(item) = lines.peek().and_then(|l| numbered(l.trim_end())) {
                items.push(item.to_owned());
                lines.next();
            }
            out.push(Block::Numbered(items));
        } else {
            let mut para = vec![trimmed.to_owned()];
            while let Some(next) = lines.peek() {
                let next = next.trim_end();
                if next.trim().is_empty()
                    || bullet(next).is_some()
                    || numbered(next).is_some()
                    || next.trim_start().starts_with("```")
                {
                    break;
                }
                para.push(next.to_owned());
                lines.next();
            }
            out.push(Block::Paragraph(para));
        }
    }
    out
}

fn bullet(line: &str) -> Option<&str> {
    let t = line.trim_start();
    t.strip_prefix("- ").or_else(|| t.strip_prefix("* "))
}

fn numbered(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    t[digits..].strip_prefix(". ")
}

enum Inline {
    Text(String),
    Bold(String),
    Code(String),
    Link(String, String),
}

fn inlines(text: &str) -> Vec<Inline> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let parsed = if let Some(after) = rest.strip_prefix("**") {
            after
                .find("**")
                .map(|end| (Inline::Bold(after[..end].to_owned()), &after[end + 2..]))
        } else if let Some(after) = rest.strip_prefix('`') {
            after
                .find('`')
                .map(|end| (Inline::Code(after[..end].to_owned()), &after[end + 1..]))
        } else if let Some(after) = rest.strip_prefix('[') {
            after.find("](").and_then(|mid| {
                let url_part = &after[mid + 2..];
                url_part.find(')').map(|end| {
                    (
                        Inline::Link(after[..mid].to_owned(), url_part[..end].to_owned()),
                        &url_part[end + 1..],
                    )
                })
            })
        } else {
            None
        };
        match parsed {
            Some((inline, next)) => {
                if !plain.is_empty() {
                    out.push(Inline::Text(std::mem::take(&mut plain)));
                }
                out.push(inline);
                rest = next;
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        out.push(Inline::Text(plain));
    }
    out
}

fn adf_inline(text: &str) -> Vec<Value> {
    inlines(text)
        .into_iter()
        .filter(|i| !matches!(i, Inline::Text(t) | Inline::Bold(t) | Inline::Code(t) if t.is_empty()))
        .map(|inline| match inline {
            Inline::Text(t) => json!({"type": "text", "text": t}),
            Inline::Bold(t) => json!({"type": "text", "text": t, "marks": [{"type": "strong"}]}),
            Inline::Code(t) => json!({"type": "text", "text": t, "marks": [{"type": "code"}]}),
            Inline::Link(t, href) => {
                let shown = if t.is_empty() { href.clone() } else { t };
                json!({"type": "text", "text": shown, "marks": [{"type": "link", "attrs": {"href": href}}]})
            }
        })
        .collect()
}

fn adf_paragraph(text: &str) -> Value {
    json!({"type": "paragraph", "content": adf_inline(text)})
}

fn adf_list(kind: &str, items: &[String]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|item| json!({"type": "listItem", "content": [adf_paragraph(item)]}))
        .collect();
    json!({"type": kind, "content": items})
}

/// Atlassian Document Format (version 1) for Jira Cloud.
pub fn to_adf(text: &str) -> Value {
    let content: Vec<Value> = blocks(text)
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => {
                // A single newline inside a paragraph is a hard break in ADF.
                let mut content = Vec::new();
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        content.push(json!({"type": "hardBreak"}));
                    }
                    content.extend(adf_inline(line));
                }
                json!({"type": "paragraph", "content": content})
            }
            Block::Bullets(items) => adf_list("bulletList", items),
            Block::Numbered(items) => adf_list("orderedList", items),
            Block::Code(lang, code) => {
                let mut node = json!({"type": "codeBlock", "content": [{"type": "text", "text": code.join("\n")}]});
                if let Some(lang) = lang {
                    node["attrs"] = json!({"language": lang});
                }
                if code.is_empty() {
                    node["content"] = json!([]);
                }
                node
            }
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

fn wiki_inline(text: &str) -> String {
    inlines(text)
        .into_iter()
        .map(|inline| match inline {
            Inline::Text(t) => t,
            Inline::Bold(t) => format!("*{t}*"),
            Inline::Code(t) => format!("{{{{{t}}}}}"),
            Inline::Link(t, href) if t.is_empty() => format!("[{href}]"),
            Inline::Link(t, href) => format!("[{t}|{href}]"),
        })
        .collect()
}

/// Jira wiki markup for Data Center.
pub fn to_wiki(text: &str) -> String {
    let parts: Vec<String> = blocks(text)
        .iter()
        .map(|block| match block {
            Block::Paragraph(lines) => lines
                .iter()
                .map(|l| wiki_inline(l))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Bullets(items) => items
                .iter()
                .map(|i| format!("* {}", wiki_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Numbered(items) => items
                .iter()
                .map(|i| format!("# {}", wiki_inline(i)))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Code(lang, code) => match lang {
                Some(lang) => format!("{{code:{lang}}}\n{}\n{{code}}", code.join("\n")),
                None => format!("{{code}}\n{}\n{{code}}", code.join("\n")),
            },
        })
        .collect();
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Checked **PAY-12** on `staging`.\nSee [the run](https://ci.test/1).\n\n- login works\n- refund fails\n\n1. open\n2. pay\n\n```json\n{\"a\": 1}\n```";

    #[test]
    fn adf_has_paragraphs_marks_lists_and_code() {
        let doc = to_adf(SAMPLE);
        let content = doc["content"].as_array().unwrap();
        let kinds: Vec<&str> = content
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["paragraph", "bulletList", "orderedList", "codeBlock"]
        );
        let para = content[0]["content"].as_array().unwrap();
        assert!(
            para.iter()
                .any(|n| n["text"] == "PAY-12" && n["marks"][0]["type"] == "strong")
        );
        assert!(
            para.iter()
                .any(|n| n["text"] == "staging" && n["marks"][0]["type"] == "code")
        );
        assert!(
            para.iter()
                .any(|n| n["marks"][0]["attrs"]["href"] == "https://ci.test/1")
        );
        assert_eq!(content[3]["attrs"]["language"], "json");
    }

    #[test]
    fn wiki_markup_matches() {
        let wiki = to_wiki(SAMPLE);
        assert!(wiki.contains("*PAY-12*"), "{wiki}");
        assert!(wiki.contains("{{staging}}"), "{wiki}");
        assert!(wiki.contains("[the run|https://ci.test/1]"), "{wiki}");
        assert!(wiki.contains("* login works\n* refund fails"), "{wiki}");
        assert!(wiki.contains("# open\n# pay"), "{wiki}");
        assert!(wiki.contains("{code:json}\n{\"a\": 1}\n{code}"), "{wiki}");
    }

    #[test]
    fn unclosed_marks_stay_text() {
        let doc = to_adf("a ** b ` c [d");
        assert_eq!(doc["content"][0]["content"][0]["text"], "a ** b ` c [d");
    }
}
