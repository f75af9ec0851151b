//! Manual mode: named SPL templates rendered into ready-to-paste searches.
//!
//! A template is SPL with `{name}` placeholders (`{{` and `}}` are literal braces; a brace not
//! followed by a name, as in a regex `\d{3}`, is left alone). Every value is inserted as an SPL
//! string: outside quotes it is wrapped in `"..."`, inside a quoted string of the template it
//! is inserted in place; either way `\` and `"` are escaped, so a value holding quotes, spaces
//! or pipes stays one string and cannot end it. Line breaks and other control characters are
//! refused, since a pasted search must stay one search. A missing parameter is an error that
//! names it, and so is a parameter the template does not use (it is usually a typo).
//!
//! The time range comes from the caller or else from the template's `earliest`/`latest`.
//! For a search that starts with a search term, the rendered text carries it as
//! `earliest=... latest=...` so the pasted search runs over the intended window whatever the
//! time picker says; a search that starts with a generating command (`| tstats ...`) cannot
//! take them inline, so they are returned for the time picker (or the REST call) instead.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{SplunkConfig, SplunkTemplate};
use crate::integrations::TimeRange;
use crate::{Error, Result};

/// The configured templates; see the module notes.
#[derive(Debug, Clone, Default)]
pub struct SplTemplates {
    templates: BTreeMap<String, SplunkTemplate>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedSearch {
    pub template: String,
    /// The SPL with parameters filled in, without the time range.
    pub spl: String,
    pub earliest: Option<String>,
    pub latest: Option<String>,
    /// What to paste into the search bar: the SPL with the time range inline where SPL allows.
    pub pasteable: String,
    /// Whether `pasteable` carries the time range; if not, set it in the time picker.
    pub time_inline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Param { name: &'a str, quoted: bool },
}

/// Splits a template into text and placeholders, tracking whether each placeholder sits
/// inside a double-quoted SPL string.
fn pieces(spl: &str) -> Vec<Piece<'_>> {
    let bytes = spl.as_bytes();
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 2,
            b'"' => {
                in_quotes = !in_quotes;
                i += 1;
            }
            c @ (b'{' | b'}') if bytes.get(i + 1) == Some(&c) => {
                out.push(Piece::Text(&spl[start..i]));
                out.push(Piece::Brace(c as char));
                i += 2;
                start = i;
            }
            b'{' => {
                let name_len = spl[i + 1..]
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    .count();
                let name = &spl[i + 1..i + 1 + name_len];
                let closes = bytes.get(i + 1 + name_len) == Some(&b'}');
                let valid = name
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
                if closes && valid {
                    out.push(Piece::Text(&spl[start..i]));
                    out.push(Piece::Param {
                        name,
                        quoted: in_quotes,
                    });
                    i += name_len + 2;
                    start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.push(Piece::Text(&spl[start.min(spl.len())..]));
    out
}

/// `value` as the inside of an SPL string: backslashes and quotes escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A time modifier as SPL takes it unquoted: `-24h@h`, `now`, `0`, an epoch or ISO instant.
fn check_time(which: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@+-:._/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "`{value}` is not a Splunk time for `{which}`; use a time modifier such as -24h, -7d@d or now"
        )))
    }
}

impl SplTemplates {
    pub fn new(templates: BTreeMap<String, SplunkTemplate>) -> Self {
        Self { templates }
    }

    /// The templates of `integrations.splunk.templates`.
    ///
    /// ```no_run
    /// # fn run(config: &qapms_core::config::SplunkConfig) {
    /// use qapms_core::integrations::splunk::SplTemplates;
    /// let templates = SplTemplates::from_config(config);
    /// # }
    /// ```
    pub fn from_config(config: &SplunkConfig) -> Self {
        Self::new(config.templates.clone())
    }

    /// The template names, sorted.
    ///
    /// ```no_run
    /// # fn run(templates: qapms_core::integrations::splunk::SplTemplates) {
    /// for name in templates.names() {
    ///     tracing::info!("{name}");
    /// }
    /// # }
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    fn template(&self, name: &str) -> Result<&SplunkTemplate> {
        self.templates.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            let closest = known
                .iter()
                .map(|k| (strsim::jaro_winkler(k, name), *k))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, k)| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            Error::invalid_input(format!(
                "there is no Splunk template `{name}` in integrations.splunk.templates{closest} (known: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })
    }

    /// The parameters a template takes, in order of first use.
    ///
    /// ```no_run
    /// # fn run(templates: qapms_core::integrations::splunk::SplTemplates) -> qapms_core::Result<()> {
    /// let params = templates.parameters("errors_by_host")?;
    /// # Ok(()) }
    /// ```
    pub fn parameters(&self, name: &str) -> Result<Vec<String>> {
        let template = self.template(name)?;
        let mut seen = BTreeSet::new();
        Ok(pieces(&template.spl)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Param { name, .. } if seen.insert(name) => Some(name.to_owned()),
                _ => None,
            })
            .collect())
    }

    /// Renders template `name` with `params` over `range` (empty parts of `range` fall back
    /// to the template's own `earliest`/`latest`).
    ///
    /// ```no_run
    /// # fn run(templates: qapms_core::integrations::splunk::SplTemplates) -> qapms_core::Result<()> {
    /// use std::collections::BTreeMap;
    /// use qapms_core::integrations::TimeRange;
    ///
    /// let params = BTreeMap::from([("ticket".to_owned(), "PAY-12".to_owned())]);
    /// let search = templates.render("errors_for_ticket", &params, &TimeRange::default())?;
    /// tracing::info!("{}", search.pasteable);
    /// # Ok(()) }
    /// ```
    pub fn render(
        &self,
        name: &str,
        params: &BTreeMap<String, String>,
        range: &TimeRange,
    ) -> Result<RenderedSearch> {
        let template = self.template(name)?;
        let pieces = pieces(&template.spl);
        let used: BTreeSet<&str> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Param { name, .. } => Some(*name),
                _ => None,
            })
            .collect();
        let missing: Vec<&str> = used
            .iter()
            .copied()
            .filter(|p| !params.contains_key(*p))
            .collect();
        if !missing.is_empty() {
            return Err(Error::invalid_input(format!(
                "Splunk template `{name}` needs parameter{} {}; pass {}",
                if missing.len() == 1 { "" } else { "s" },
                missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                missing
                    .iter()
                    .map(|m| format!("{m}=VALUE"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
            .with_context("parameter", missing[0].to_owned()));
        }
        if let Some(extra) = params.keys().find(|k| !used.contains(k.as_str())) {
            return Err(Error::invalid_input(format!(
                "Splunk template `{name}` has no parameter `{extra}` (it takes: {})",
                if used.is_empty() {
                    "none".to_owned()
                } else {
                    used.iter().copied().collect::<Vec<_>>().join(", ")
                }
            ))
            .with_context("parameter", extra.clone()));
        }
        let mut spl = String::with_capacity(template.spl.len());
        for piece in &pieces {
            match piece {
                Piece::Text(text) => spl.push_str(text),
                Piece::Brace(c) => spl.push(*c),
                Piece::Param {
                    name: param,
                    quoted,
                } => {
                    let value = &params[*param];
                    if value.chars().any(|c| c.is_control() && c != '\t') {
                        return Err(Error::invalid_input(format!(
                            "parameter `{param}` of Splunk template `{name}` holds a line break or control character; a search value must be one line"
                        ))
                        .with_context("parameter", (*param).to_owned()));
                    }
                    if *quoted {
                        spl.push_str(&escape(value));
                    } else {
                        spl.push('"');
                        spl.push_str(&escape(value));
                        spl.push('"');
                    }
                }
            }
        }
        let (earliest, latest, pasteable, time_inline) = with_time(&spl, template, range)?;
        Ok(RenderedSearch {
            template: name.to_owned(),
            spl,
            earliest,
            latest,
            pasteable,
            time_inline,
        })
    }
}

/// The time range to use and the pasteable text carrying it, where SPL allows it inline.
fn with_time(
    spl: &str,
    template: &SplunkTemplate,
    range: &TimeRange,
) -> Result<(Option<String>, Option<String>, String, bool)> {
    let earliest = range.earliest.clone().or_else(|| template.earliest.clone());
    let latest = range.latest.clone().or_else(|| template.latest.clone());
    if let Some(e) = &earliest {
        check_time("earliest", e)?;
    }
    if let Some(l) = &latest {
        check_time("latest", l)?;
    }
    let trimmed = spl.trim_start();
    let generating = trimmed.starts_with('|');
    let time_terms: Vec<String> = [("earliest", &earliest), ("latest", &latest)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    let (pasteable, time_inline) = if generating || time_terms.is_empty() {
        (spl.to_owned(), time_terms.is_empty())
    } else {
        let terms = time_terms.join(" ");
        let lower = trimmed.to_ascii_lowercase();
        let text = if lower.starts_with("search ") {
            format!("search {terms} {}", trimmed["search ".len()..].trim_start())
        } else {
            format!("{terms} {trimmed}")
        };
        (text, true)
    };
    Ok((earliest, latest, pasteable, time_inline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_know_quotes_and_braces() {
        let p = pieces(r#"a {x} "b {y} \" {z}" {{lit}} \d{3}"#);
        let params: Vec<_> = p
            .iter()
            .filter_map(|p| match p {
                Piece::Param { name, quoted } => Some((*name, *quoted)),
                _ => None,
            })
            .collect();
        assert_eq!(params, vec![("x", false), ("y", true), ("z", true)]);
    }
}
