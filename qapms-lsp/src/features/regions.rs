//! Where ticket keys may appear: the comment, string and prose regions of a document.
//!
//! A key is only a reference when a person wrote it as text, in a comment, a string, a Markdown
//! paragraph or a YAML value; `PAY-12` as part of code (`PAY - 12`, an identifier) is not. The
//! scanner here is a small lexer per family of languages that finds those regions without
//! parsing the language: it must be fast on 10,000-line files, never fail on half-typed code,
//! and it only needs to know where comments and strings start and end.
//!
//! Offsets are byte offsets into the text and always fall on character boundaries (every
//! delimiter the lexers look for is ASCII).

use std::ops::Range;

/// What kind of text a region is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    Comment,
    String,
    /// The whole document is text (Markdown, YAML, Gherkin, plain text).
    Prose,
}

/// One region of text where keys may be recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub kind: RegionKind,
    pub range: Range<usize>,
}

/// The language families the lexers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    /// Java, Kotlin, JavaScript, TypeScript, C#, Go, Rust: `//` and `/* */` comments.
    CLike,
    Json,
    Yaml,
    Markdown,
    Gherkin,
    PlainText,
    /// A language we know nothing about: no keys are recognised.
    Other,
}

impl Language {
    /// The language of a document, from the client's language id, else from the file name.
    pub fn detect(language_id: &str, path: &str) -> Self {
        match language_id {
            "python" => return Self::Python,
            "java" | "kotlin" | "javascript" | "typescript" | "javascriptreact"
            | "typescriptreact" | "csharp" | "go" | "rust" | "scala" | "groovy" => {
                return Self::CLike;
            }
            "json" | "jsonc" => return Self::Json,
            "yaml" => return Self::Yaml,
            "markdown" => return Self::Markdown,
            "feature" | "gherkin" | "cucumber" => return Self::Gherkin,
            "plaintext" => return Self::PlainText,
            _ => {}
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        match ext.to_ascii_lowercase().as_str() {
            "py" | "pyi" => Self::Python,
            "java" | "kt" | "kts" | "js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx"
            | "cs" | "go" | "rs" | "scala" | "groovy" => Self::CLike,
            "json" => Self::Json,
            "yaml" | "yml" => Self::Yaml,
            "md" | "markdown" => Self::Markdown,
            "feature" => Self::Gherkin,
            "txt" => Self::PlainText,
            _ => Self::Other,
        }
    }
}

/// The regions of `text` where keys may be recognised, in document order.
pub fn regions(text: &str, language: Language) -> Vec<Region> {
    match language {
        Language::Python => lex(text, &PYTHON),
        Language::CLike => lex(text, &C_LIKE),
        Language::Json => lex(text, &JSON),
        Language::Yaml | Language::Markdown | Language::Gherkin | Language::PlainText => {
            vec![Region {
                kind: RegionKind::Prose,
                range: 0..text.len(),
            }]
        }
        Language::Other => Vec::new(),
    }
}

/// Only the comments: a TODO becomes a ticket only from a comment.
pub fn comments(text: &str, language: Language) -> Vec<Range<usize>> {
    let syntax = match language {
        Language::Python => &PYTHON,
        Language::CLike => &C_LIKE,
        Language::Yaml | Language::Gherkin => &HASH_ONLY,
        _ => return Vec::new(),
    };
    lex(text, syntax)
        .into_iter()
        .filter(|r| r.kind == RegionKind::Comment)
        .map(|r| r.range)
        .collect()
}

struct Syntax {
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    /// Quote characters; Python's are also recognised tripled.
    quotes: &'static [u8],
    triple_quotes: bool,
    /// Strings may span lines (JavaScript template literals, Python triple quotes).
    multiline_quote: Option<u8>,
}

const PYTHON: Syntax = Syntax {
    line_comments: &["#"],
    block_comment: None,
    quotes: b"'\"",
    triple_quotes: true,
    multiline_quote: None,
};
const C_LIKE: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: b"'\"`",
    triple_quotes: false,
    multiline_quote: Some(b'`'),
};
const JSON: Syntax = Syntax {
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: b"\"",
    triple_quotes: false,
    multiline_quote: None,
};
const HASH_ONLY: Syntax = Syntax {
    line_comments: &["#"],
    block_comment: None,
    quotes: b"",
    triple_quotes: false,
    multiline_quote: None,
};

fn lex(text: &str, syntax: &Syntax) -> Vec<Region> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if let Some(start) = syntax
            .line_comments
            .iter()
            .find(|c| rest.starts_with(c.as_bytes()))
        {
            let body = i + start.len();
            let end = find_byte(bytes, body, b'\n').unwrap_or(bytes.len());
            out.push(Region {
                kind: RegionKind::Comment,
                range: body..end,
            });
            i = end;
            continue;
        }
        if let Some((open, close)) = syntax.block_comment
            && rest.starts_with(open.as_bytes())
        {
            let body = i + open.len();
            let (end, next) = match find_seq(bytes, body, close.as_bytes()) {
                Some(at) => (at, at + close.len()),
                None => (bytes.len(), bytes.len()),
            };
            out.push(Region {
                kind: RegionKind::Comment,
                range: body..end,
            });
            i = next;
            continue;
        }
        let b = bytes[i];
        if syntax.quotes.contains(&b) {
            let triple = [b, b, b];
            if syntax.triple_quotes && rest.starts_with(&triple) {
                let body = i + 3;
                let (end, next) = match find_seq(bytes, body, &triple) {
                    Some(at) => (at, at + 3),
                    None => (bytes.len(), bytes.len()),
                };
                out.push(Region {
                    kind: RegionKind::String,
                    range: body..end,
                });
                i = next;
                continue;
            }
            let multiline = syntax.multiline_quote == Some(b);
            let body = i + 1;
            let mut j = body;
            let mut closed = None;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' => j += 2,
                    b'\n' if !multiline => break,
                    c if c == b => {
                        closed = Some(j);
                        break;
                    }
                    _ => j += 1,
                }
            }
            let end = closed.unwrap_or(j.min(bytes.len()));
            out.push(Region {
                kind: RegionKind::String,
                range: body..end,
            });
            i = closed.map_or(end, |c| c + 1);
            continue;
        }
        i += 1;
    }
    out
}

fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == needle)
        .map(|p| p + from)
}

fn find_seq(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, language: Language) -> Vec<(RegionKind, &str)> {
        regions(text, language)
            .into_iter()
            .map(|r| (r.kind, &text[r.range]))
            .collect()
    }

    #[test]
    fn python_comments_and_strings() {
        let text = "x = 1  # see PAY-1\ns = 'a#b' + \"c\\\"d\"\nt = \"\"\"doc\nPAY-2\"\"\"\n";
        assert_eq!(
            texts(text, Language::Python),
            vec![
                (RegionKind::Comment, " see PAY-1"),
                (RegionKind::String, "a#b"),
                (RegionKind::String, "c\\\"d"),
                (RegionKind::String, "doc\nPAY-2"),
            ]
        );
    }

    #[test]
    fn c_like_comments_strings_and_templates() {
        let text = "// a\nconst s = `x\ny`; /* b\nc */ f('q', \"r\")";
        assert_eq!(
            texts(text, Language::CLike),
            vec![
                (RegionKind::Comment, " a"),
                (RegionKind::String, "x\ny"),
                (RegionKind::Comment, " b\nc "),
                (RegionKind::String, "q"),
                (RegionKind::String, "r"),
            ]
        );
    }

    #[test]
    fn unterminated_things_run_to_the_end_of_line_or_text() {
        assert_eq!(
            texts("'abc\nx = 1 /* open", Language::CLike),
            vec![(RegionKind::String, "abc"), (RegionKind::Comment, " open")]
        );
        assert_eq!(
            texts("s = \"\"\"never closed", Language::Python),
            vec![(RegionKind::String, "never closed")]
        );
    }

    #[test]
    fn detects_languages() {
        assert_eq!(Language::detect("python", "x"), Language::Python);
        assert_eq!(Language::detect("", "/a/login.spec.ts"), Language::CLike);
        assert_eq!(Language::detect("", "/a/b.feature"), Language::Gherkin);
        assert_eq!(Language::detect("", "/a/b.bin"), Language::Other);
    }
}
