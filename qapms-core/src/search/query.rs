//! The query language, parsed by hand so every error can say where it is.
//!
//! ```text
//! token reset password            all words must match (BM25 ranks them)
//! "token refresh"                 a phrase
//! auth*                           a prefix
//! -flaky                          not this word (also -"a phrase", -source:junit)
//! source:testmo project:PAY       filters on a field; values are case-insensitive
//! status:"In Progress"            a quoted filter value
//! title:login                     a word that must be in the title
//! ```
//!
//! The parser never panics and never allocates without bound: input longer than
//! [`MAX_QUERY_CHARS`] or with more than [`MAX_CLAUSES`] clauses is rejected, and control
//! characters are treated as spaces (a pasted tab or newline is not an error). Positions in
//! errors are 1-based character columns, which is what an editor or a terminal caret shows.

use crate::{Error, Result};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2000;
/// Most clauses (words, phrases, filters) in one query.
pub const MAX_CLAUSES: usize = 64;

/// The fields a `name:value` clause may name, and what each means.
pub(crate) const FIELDS: &[(&str, FilterField)] = &[
    ("source", FilterField::Source),
    ("type", FilterField::DocType),
    ("project", FilterField::Project),
    ("status", FilterField::Status),
    ("tag", FilterField::Tag),
    ("label", FilterField::Tag),
    ("component", FilterField::Tag),
    ("ticket", FilterField::Ticket),
    ("key", FilterField::Key),
    ("title", FilterField::Title),
];

/// What a `name:value` clause filters on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterField {
    Source,
    DocType,
    Project,
    Status,
    /// Tags, Jira labels and components.
    Tag,
    /// A ticket key the document links to.
    Ticket,
    Key,
    /// Text that must be in the title (analysed like free text, not an exact value).
    Title,
}

/// One parsed clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    /// A free word; `prefix` when it ended with `*`.
    Word {
        text: String,
        prefix: bool,
    },
    Phrase(String),
    Filter {
        field: FilterField,
        value: String,
        prefix: bool,
    },
    /// Any one of these filters (`SearchRequest::sources` with several sources: a hit from
    /// either system matches). The query syntax has no OR; only callers build this.
    AnyOf(Vec<Clause>),
}

/// A clause and whether it was negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) negated: bool,
    pub(crate) clause: Clause,
}

/// A parsed query: the clauses, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedQuery {
    pub(crate) parts: Vec<Part>,
}

impl ParsedQuery {
    /// The free words and phrases (not negated), for fuzzy fallbacks and id matching.
    pub(crate) fn positive_text(&self) -> Vec<&str> {
        self.parts
            .iter()
            .filter(|p| !p.negated)
            .filter_map(|p| match &p.clause {
                Clause::Word { text, .. } | Clause::Phrase(text) => Some(text.as_str()),
                Clause::Filter { .. } | Clause::AnyOf(_) => None,
            })
            .collect()
    }
}

fn syntax_error(column: usize, message: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!("query syntax error at column {column}: {message}"))
        .with_context("column", column.to_string())
}

/// Checks a query's syntax without running it (an editor validating as the user types). The
/// error names the column of the problem.
///
/// ```
/// use qapms_core::search::query::check;
/// assert!(check(r#"token "refresh flow" source:testmo"#).is_ok());
/// assert!(check(r#"token "refresh"#).unwrap_err().to_string().contains("column 7"));
/// ```
pub fn check(input: &str) -> Result<()> {
    parse(input).map(|_| ())
}

/// Parses a query. An empty (or all-space) query parses to no clauses.
pub(crate) fn parse(input: &str) -> Result<ParsedQuery> {
    let count = input.chars().count();
    if count > MAX_QUERY_CHARS {
        return Err(Error::invalid_input(format!(
            "the query is {count} characters long; the limit is {MAX_QUERY_CHARS}"
        )));
    }
    let chars = sanitise(input);
    let mut parser = Parser { chars, pos: 0 };
    let mut parts = Vec::new();
    loop {
        parser.skip_spaces();
        if parser.at_end() {
            break;
        }
        let start = parser.column();
        if parts.len() == MAX_CLAUSES {
            return Err(syntax_error(
                start,
                format_args!("too many clauses; the limit is {MAX_CLAUSES}"),
            ));
        }
        let part = parser.part()?;
        if let Some(part) = part {
            parts.push(part);
        }
    }
    Ok(ParsedQuery { parts })
}

/// Control characters (tabs, newlines, NUL) become spaces, and ANSI escape sequences pasted
/// from a coloured terminal (`ESC [ 31 m`) are blanked out whole, so `\x1b[31mtoken` is `token`.
fn sanitise(input: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            out.extend([' ', ' ']);
            // Parameters and intermediates, up to the final byte `@`..`~`; one space per
            // character, so error columns still match the text the user typed.
            for c in chars.by_ref() {
                out.push(' ');
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// One clause, or `None` for a token that carries nothing (a lone `-`, `AND`).
    fn part(&mut self) -> Result<Option<Part>> {
        let start = self.column();
        let mut negated = false;
        if self.peek() == Some('-') {
            negated = true;
            self.pos += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return Err(syntax_error(
                    start,
                    "`-` must be followed by a word, a phrase or a filter, with no space",
                ));
            }
        }
        if self.peek() == Some('"') {
            let phrase = self.quoted()?;
            if phrase.trim().is_empty() {
                return Err(syntax_error(start, "empty phrase `\"\"`"));
            }
            return Ok(Some(Part {
                negated,
                clause: Clause::Phrase(phrase),
            }));
        }
        let word_start = self.column();
        let word = self.bare();
        if let Some(colon) = word.find(':').filter(|&i| i > 0) {
            let name = &word[..colon];
            let rest = &word[colon + 1..];
            let field = field_named(name, word_start)?;
            let value_column = word_start + name.chars().count() + 1;
            let (value, prefix) = if rest.is_empty() {
                if self.peek() == Some('"') {
                    (self.quoted()?, false)
                } else {
                    return Err(syntax_error(
                        value_column,
                        format_args!("`{name}:` needs a value, e.g. `{name}:value`"),
                    ));
                }
            } else {
                strip_prefix_star(rest, value_column)?
            };
            if value.trim().is_empty() {
                return Err(syntax_error(
                    value_column,
                    format_args!("`{name}:` needs a value"),
                ));
            }
            return Ok(Some(Part {
                negated,
                clause: Clause::Filter {
                    field,
                    value,
                    prefix,
                },
            }));
        }
        if !negated && (word == "AND" || word == "&&") {
            // All clauses must match anyway; an explicit AND is accepted and ignored.
            return Ok(None);
        }
        if word == "OR" || word == "||" {
            return Err(syntax_error(
                word_start,
                "OR is not supported; every word must match (drop words to widen the search)",
            ));
        }
        let (text, prefix) = strip_prefix_star(&word, word_start)?;
        Ok(Some(Part {
            negated,
            clause: Clause::Word { text, prefix },
        }))
    }

    /// A run of characters up to a space or a quote.
    fn bare(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == '"' {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }

    /// A `"…"` string; `\"` and `\\` escape.
    fn quoted(&mut self) -> Result<String> {
        let start = self.column();
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(syntax_error(
                        start,
                        "this quote is never closed; add a `\"` at the end of the phrase",
                    ));
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') if matches!(self.chars.get(self.pos + 1), Some('"' | '\\')) => {
                    out.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Splits a trailing `*` off a word; a `*` anywhere else, or with nothing before it, is an
/// error (wildcards in the middle would need a full scan of the term dictionary).
fn strip_prefix_star(word: &str, column: usize) -> Result<(String, bool)> {
    let (body, prefix) = match word.strip_suffix('*') {
        Some(body) => (body, true),
        None => (word, false),
    };
    if let Some(i) = body.find('*') {
        let at = column + body[..i].chars().count();
        return Err(syntax_error(
            at,
            "`*` is only allowed at the end of a word, as a prefix (`auth*`)",
        ));
    }
    if prefix && body.chars().count() < 2 {
        return Err(syntax_error(
            column,
            "a prefix needs at least two characters before `*`",
        ));
    }
    Ok((body.to_owned(), prefix))
}

fn field_named(name: &str, column: usize) -> Result<FilterField> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, field)) = FIELDS.iter().find(|(n, _)| *n == lower) {
        return Ok(*field);
    }
    let suggestion = FIELDS
        .iter()
        .map(|(n, _)| (*n, strsim::levenshtein(n, &lower)))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(n, _)| format!("; did you mean `{n}:`?"))
        .unwrap_or_default();
    let known: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
    Err(syntax_error(
        column,
        format_args!(
            "unknown field `{name}:`{suggestion} (fields: {}; quote the word to search for it as text)",
            known.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Part {
        Part {
            negated: false,
            clause: Clause::Word {
                text: text.into(),
                prefix: false,
            },
        }
    }

    fn column_of(err: &Error) -> usize {
        err.context_value("column").unwrap().parse().unwrap()
    }

    #[test]
    fn words_phrases_prefixes_and_filters() {
        let q = parse(r#"token "refresh flow" auth* source:testmo status:"In Progress" -flaky"#)
            .unwrap();
        assert_eq!(q.parts.len(), 6);
        assert_eq!(q.parts[0], word("token"));
        assert_eq!(q.parts[1].clause, Clause::Phrase("refresh flow".into()));
        assert_eq!(
            q.parts[2].clause,
            Clause::Word {
                text: "auth".into(),
                prefix: true
            }
        );
        assert_eq!(
            q.parts[3].clause,
            Clause::Filter {
                field: FilterField::Source,
                value: "testmo".into(),
                prefix: false
            }
        );
        assert_eq!(
            q.parts[4].clause,
            Clause::Filter {
                field: FilterField::Status,
                value: "In Progress".into(),
                prefix: false
            }
        );
        assert!(q.parts[5].negated);
    }

    #[test]
    fn keys_with_hyphens_stay_one_word() {
        let q = parse("PAY-12 C1234").unwrap();
        assert_eq!(q.parts, vec![word("PAY-12"), word("C1234")]);
    }

    #[test]
    fn field_names_are_case_insensitive_and_values_keep_case() {
        let q = parse("Project:PAY").unwrap();
        assert_eq!(
            q.parts[0].clause,
            Clause::Filter {
                field: FilterField::Project,
                value: "PAY".into(),
                prefix: false
            }
        );
    }

    #[test]
    fn control_characters_are_spaces() {
        let q = parse("login\ttoken\n\u{0}reset\u{1b}").unwrap();
        assert_eq!(q.parts, vec![word("login"), word("token"), word("reset")]);
        let q = parse("\u{1b}[1;31mtoken\u{1b}[0m refresh\u{1b}[").unwrap();
        assert_eq!(q.parts, vec![word("token"), word("refresh")]);
    }

    #[test]
    fn escaped_quotes_inside_a_phrase() {
        let q = parse(r#""say \"hi\"""#).unwrap();
        assert_eq!(q.parts[0].clause, Clause::Phrase(r#"say "hi""#.into()));
    }

    #[test]
    fn and_is_accepted_or_is_explained() {
        assert_eq!(parse("a AND b").unwrap().parts.len(), 2);
        let err = parse("a OR b").unwrap_err();
        assert_eq!(column_of(&err), 3);
        assert!(err.message().contains("OR is not supported"));
    }

    #[test]
    fn unclosed_quote_points_at_the_quote() {
        let err = parse(r#"login "token refresh"#).unwrap_err();
        assert_eq!(column_of(&err), 7);
        assert!(err.message().contains("never closed"), "{err}");
    }

    #[test]
    fn unknown_field_suggests_the_closest() {
        let err = parse("login sorce:testmo").unwrap_err();
        assert_eq!(column_of(&err), 7);
        assert!(err.message().contains("did you mean `source:`"), "{err}");
    }

    #[test]
    fn empty_values_and_bad_stars_are_errors() {
        assert_eq!(column_of(&parse("status:").unwrap_err()), 8);
        assert_eq!(column_of(&parse("a au*th").unwrap_err()), 5);
        assert_eq!(column_of(&parse("x*").unwrap_err()), 1);
        assert_eq!(column_of(&parse("ok \"\"").unwrap_err()), 4);
        assert_eq!(column_of(&parse("ok - x").unwrap_err()), 4);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let err = parse("ärger \"offen").unwrap_err();
        assert_eq!(column_of(&err), 7);
    }

    #[test]
    fn limits_on_length_and_clauses() {
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert!(parse(&long).unwrap_err().message().contains("limit"));
        let many = vec!["w"; MAX_CLAUSES + 1].join(" ");
        assert!(parse(&many).unwrap_err().message().contains("too many"));
        let ok = vec!["w"; MAX_CLAUSES].join(" ");
        assert_eq!(parse(&ok).unwrap().parts.len(), MAX_CLAUSES);
    }

    #[test]
    fn empty_query_has_no_clauses() {
        assert!(parse("   ").unwrap().parts.is_empty());
        assert!(parse("-x").unwrap().parts[0].negated);
    }
}
