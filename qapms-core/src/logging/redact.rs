//! Secret redaction for everything the logging pipeline writes.
//!
//! Redaction runs on formatted output, not on individual fields, so it cannot be bypassed by a
//! `?debug` of a struct, a span field or an error chain. Two nets catch secrets, in this order:
//!
//! 1. **Known secrets.** Front-ends register every value they decrypt from the config with
//!    [`Redactor::add`]. One Aho-Corasick automaton finds all of them, together with the forms
//!    they take once formatted: JSON-escaped, `Debug`-escaped, JSON-escaped `Debug` (a `?field`
//!    in JSON output) and percent-encoded (a password inside a URL). Values shorter than
//!    [`MIN_SECRET_LEN`] bytes are ignored: a two-letter "secret" would blank out ordinary words
//!    all over the log, and the config layer rejects such weak secrets anyway.
//! 2. **Secret shapes,** whatever their value: `Authorization`, `Proxy-Authorization`,
//!    `X-API-Key` and cookie headers, `Bearer`/`Basic` credentials, `password=`, `token=`,
//!    `secret=`, `api_key=` and similar keys in query strings, logfmt, `Debug` and JSON, the
//!    password in URL userinfo, PEM private keys, and `enc:v1:` envelopes.
//!
//! `enc:v1:` envelopes are AES-256-GCM ciphertext, so logging one does not reveal the secret by
//! itself. They are redacted anyway (keeping the `enc:v1:` prefix, so a reader still sees that a
//! ciphertext was involved): logs live for at least 30 days and are shipped to places (Splunk,
//! support tickets) with wider access than the config file, and a later leak of the master key
//! would turn every such log into a secret store. The ciphertext has no diagnostic value.
//!
//! The common case is a line with nothing to redact, and it must stay cheap: one automaton scan
//! for known secrets, then one case-insensitive scan for trigger words (`auth`, `token`, `://`,
//! ...) that picks which shape rules can possibly match. A line with no trigger runs no regex
//! and returns [`Cow::Borrowed`], without allocating.
//!
//! The shape rules favour over-redaction: `secret: file not found` in prose loses `file`. A
//! redacted word costs a moment of reading; a leaked token costs a rotation.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Captures, Regex};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// What every redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Registered secrets shorter than this (in bytes) are ignored; see the module notes.
pub const MIN_SECRET_LEN: usize = 4;

/// A cheap, thread-safe handle on the set of secrets to keep out of the logs.
///
/// Clones share one set: a secret added through any clone is redacted by every writer that holds
/// another, so front-ends can install logging first and register secrets as they decrypt them.
#[derive(Clone, Default)]
pub struct Redactor {
    // The set is swapped whole on `add` (rare) so `redact` (every log line) only clones an `Arc`
    // under the read lock and never holds the lock while scanning.
    known: Arc<RwLock<Arc<KnownSecrets>>>,
}

impl Redactor {
    /// A redactor with the built-in shape rules and no known secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret so that it, and its escaped and encoded forms, never reach a log.
    ///
    /// Values shorter than [`MIN_SECRET_LEN`] bytes are ignored (see the module notes).
    /// Registering the same value twice is harmless.
    pub fn add(&self, secret: &SecretString) {
        let value = secret.expose_secret();
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut guard = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if guard.needles.iter().any(|n| n.as_str() == value) {
            return;
        }
        let mut needles: Vec<Zeroizing<String>> = guard
            .needles
            .iter()
            .map(|n| Zeroizing::new(n.as_str().to_owned()))
            .collect();
        for variant in variants(value) {
            if !needles.iter().any(|n| n.as_str() == variant.as_str()) {
                needles.push(variant);
            }
        }
        *guard = Arc::new(KnownSecrets::build(needles, guard.count + 1));
    }

    /// How many distinct secrets are registered.
    pub fn len(&self) -> usize {
        self.snapshot().count
    }

    /// Whether no secret is registered yet (the shape rules still apply).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns `text` with every known secret and every secret shape replaced by
    /// [`REDACTED`]. Borrows `text` unchanged, without allocating, when there is nothing to
    /// redact.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let known = self.snapshot();
        let text = known.redact(text);
        redact_shapes(text)
    }

    fn snapshot(&self) -> Arc<KnownSecrets> {
        Arc::clone(&self.known.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl fmt::Debug for Redactor {
    // Never print the needles: they are the secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish_non_exhaustive()
    }
}

/// One immutable generation of the known-secret set.
#[derive(Default)]
struct KnownSecrets {
    /// Every form of every secret; kept (zeroized on drop) so the next `add` can rebuild.
    needles: Vec<Zeroizing<String>>,
    /// `None` when there are no needles, or when the automaton could not be built (only past
    /// its size limits); then `redact` falls back to a plain search so nothing leaks.
    matcher: Option<AhoCorasick>,
    count: usize,
}

impl KnownSecrets {
    fn build(needles: Vec<Zeroizing<String>>, count: usize) -> Self {
        // Leftmost-longest so that a longer form (the JSON-escaped one) wins over its prefix.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(needles.iter().map(|n| n.as_bytes()))
            .ok();
        Self {
            needles,
            matcher,
            count,
        }
    }

    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.needles.is_empty() {
            return Cow::Borrowed(text);
        }
        if let Some(matcher) = &self.matcher {
            if !matcher.is_match(text) {
                return Cow::Borrowed(text);
            }
            let mut out = String::with_capacity(text.len());
            matcher.replace_all_with(text, &mut out, |_, _, dst| {
                dst.push_str(REDACTED);
                true
            });
            return Cow::Owned(out);
        }
        let mut text = Cow::Borrowed(text);
        for needle in &self.needles {
            if text.contains(needle.as_str()) {
                text = Cow::Owned(text.replace(needle.as_str(), REDACTED));
            }
        }
        text
    }
}

/// How many escaping layers a secret is searched through. Three covers the deepest case met in
/// practice: a JSON request body (one), logged with `?` (two), by the JSON formatter (three).
const MAX_ESCAPE_DEPTH: usize = 3;

/// The forms a secret takes once formatters have escaped or encoded it: every composition of
/// JSON and `Debug` string escaping up to [`MAX_ESCAPE_DEPTH`] layers, and percent-encoding.
/// For a secret without quotes, backslashes or control characters they are all the same
/// string, and the automaton gets one needle.
fn variants(value: &str) -> Vec<Zeroizing<String>> {
    let mut out = vec![Zeroizing::new(value.to_owned())];
    let mut layer = vec![Zeroizing::new(value.to_owned())];
    for _ in 0..MAX_ESCAPE_DEPTH {
        let mut next = Vec::new();
        for form in &layer {
            for escaped in [json_escape(form), debug_escape(form)] {
                let escaped = Zeroizing::new(escaped);
                if !out.iter().any(|o| o.as_str() == escaped.as_str()) {
                    out.push(escaped.clone());
                    next.push(escaped);
                }
            }
        }
        layer = next;
    }
    let encoded = Zeroizing::new(percent_encode(value));
    if !out.iter().any(|o| o.as_str() == encoded.as_str()) {
        out.push(encoded);
    }
    out
}

fn debug_escape(value: &str) -> String {
    let quoted = Zeroizing::new(format!("{value:?}"));
    strip_quotes(&quoted).to_owned()
}

fn strip_quotes(quoted: &str) -> &str {
    quoted
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(quoted)
}

fn json_escape(value: &str) -> String {
    // Serializing a `str` cannot fail; the fallback only keeps this free of `unwrap`.
    let quoted = serde_json::to_string(value).unwrap_or_else(|_| value.to_owned());
    strip_quotes(&quoted).to_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as URL builders do for a
/// password in userinfo.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    out
}

// --- Secret shapes -------------------------------------------------------------------------

/// One shape rule: which trigger words make it worth running, and how to rewrite a match.
struct Rule {
    triggers: &'static [&'static str],
    regex: Regex,
    apply: Apply,
}

enum Apply {
    /// Replace each regex match with what the function returns.
    Rewrite(fn(&Captures<'_>) -> String),
    /// The regex finds where a secret starts; the function finds where it ends (which a
    /// regex without back-references cannot) and returns the new text if anything changed.
    Scan(fn(&Regex, &str) -> Option<String>),
}

/// The key names whose values are secret wherever they appear (`db_password=`, `"apiToken":`).
const SECRET_KEYS: &str = r"password|passwd|pwd|passphrase|secret|token|credentials?|api[_\-]?key|apikey|(?:access|secret|private|master|encryption|signing)[_\-]?key";

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    // The patterns are constants; a typo is a bug caught by every test run, not an input error.
    let compile = |pattern: &str| Regex::new(pattern).expect("built-in redaction pattern compiles");
    vec![
        // Header-like pairs, in plain text, `Debug` maps and (escaped) JSON. The value runs to
        // the end of the line or the closing quote, because schemes such as Digest or AWS
        // signatures carry several comma-separated secret parts. The scheme word is kept.
        Rule {
            triggers: &["auth", "cookie", "key"],
            regex: compile(
                r#"(?i)\b((?:proxy-)?authorization|x-api-key|x-auth-token|set-cookie|cookie)(\\*"?\s*[:=]\s*\\*"?\s*)((?:bearer|basic|digest|negotiate|token)\s+)?([^"\\\r\n]*[^"\\\r\n\s])"#,
            ),
            apply: Apply::Rewrite(|caps| {
                keep_or(caps, 4, |c| {
                    format!("{}{}{}{REDACTED}", &c[1], &c[2], group(c, 3))
                })
            }),
        },
        // A bearer credential outside a header. Only credential-looking tokens are redacted, so
        // that "bearer of bad news" survives; see `looks_like_credential`.
        Rule {
            triggers: &["bearer"],
            regex: compile(r"(?i)\b(bearer)(\s+)([A-Za-z0-9\-._~+/]+=*)"),
            apply: Apply::Rewrite(credential_rewrite),
        },
        // `Basic` is an ordinary English word, so outside a header only the capitalised HTTP
        // spelling followed by a credential-looking token counts.
        Rule {
            triggers: &["basic"],
            regex: compile(r"\b(Basic)(\s+)([A-Za-z0-9+/]+=*)"),
            apply: Apply::Rewrite(credential_rewrite),
        },
        // `key=value`, `key: value`, `"key":"value"`, `key: "value"` and the escaped JSON forms,
        // for any key ending in a secret word (`jira_api_token`, `DB_PASSWORD`, `clientSecret`).
        Rule {
            triggers: &["pass", "pwd", "secret", "token", "credential", "key"],
            regex: compile(&format!(
                r#"(?i)\b([a-z0-9_.\-]*?(?:{SECRET_KEYS}))(\\*"?\s*[:=]\s*)(\\*")?"#
            )),
            apply: Apply::Scan(redact_secret_values),
        },
        // The password in URL userinfo: `postgres://user:pass@host` keeps `user`.
        Rule {
            triggers: &["://"],
            regex: compile(r#"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@"\\]*:)([^\s/@"\\]+)@"#),
            apply: Apply::Rewrite(|caps| keep_or(caps, 2, |c| format!("{}{REDACTED}@", &c[1]))),
        },
        // A secrets envelope; see the module notes for why ciphertext is redacted too.
        Rule {
            triggers: &["enc:v1:"],
            regex: compile(r#"enc:v1:([^\s"\\,;]+)"#),
            apply: Apply::Rewrite(|caps| keep_or(caps, 1, |_| format!("enc:v1:{REDACTED}"))),
        },
        // A PEM private key, up to its END line (or the end of the text if it was cut).
        Rule {
            triggers: &["key"],
            regex: compile(
                r"(?s)-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            ),
            apply: Apply::Rewrite(|caps| {
                format!(
                    "-----BEGIN {0}PRIVATE KEY-----{REDACTED}-----END {0}PRIVATE KEY-----",
                    &caps[1]
                )
            }),
        },
    ]
});

/// Every trigger word of every rule, matched ASCII case-insensitively, with for each word the
/// bit mask of the rules it triggers.
static TRIGGERS: LazyLock<(AhoCorasick, Vec<u32>)> = LazyLock::new(|| {
    let mut words: Vec<&'static str> = Vec::new();
    let mut masks: Vec<u32> = Vec::new();
    for (index, rule) in RULES.iter().enumerate() {
        for word in rule.triggers {
            if let Some(pos) = words.iter().position(|w| w == word) {
                masks[pos] |= 1 << index;
            } else {
                words.push(word);
                masks.push(1 << index);
            }
        }
    }
    let matcher = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&words)
        .expect("built-in trigger words build an automaton");
    (matcher, masks)
});

fn redact_shapes(text: Cow<'_, str>) -> Cow<'_, str> {
    let (triggers, masks) = &*TRIGGERS;
    // Overlapping search so that `auth` inside `x-auth-token` does not hide `token`.
    let mut wanted = 0_u32;
    for found in triggers.find_overlapping_iter(text.as_ref()) {
        wanted |= masks[found.pattern().as_usize()];
    }
    if wanted == 0 {
        return text;
    }
    let mut text = text;
    for (index, rule) in RULES.iter().enumerate() {
        if wanted & (1 << index) == 0 {
            continue;
        }
        let replaced = match rule.apply {
            Apply::Rewrite(rewrite) => match rule.regex.replace_all(&text, rewrite) {
                Cow::Owned(owned) => Some(owned),
                Cow::Borrowed(_) => None,
            },
            Apply::Scan(scan) => scan(&rule.regex, &text),
        };
        if let Some(owned) = replaced {
            text = Cow::Owned(owned);
        }
    }
    text
}

fn group<'c>(caps: &'c Captures<'_>, index: usize) -> &'c str {
    caps.get(index).map_or("", |m| m.as_str())
}

/// Leaves the match alone when its value is empty or already redacted (so a second pass, or a
/// `SecretString`'s own `[REDACTED]` Debug, is not wrapped again); otherwise rewrites it.
fn keep_or(caps: &Captures<'_>, value: usize, rewrite: impl Fn(&Captures<'_>) -> String) -> String {
    let value = group(caps, value);
    if value.is_empty() || value.contains("[REDACTED") {
        caps[0].to_owned()
    } else {
        rewrite(caps)
    }
}

/// Replaces the value after each secret key found by `key_regex` (whose group 3, when present,
/// is the opening quote with its escaping backslashes).
fn redact_secret_values(key_regex: &Regex, text: &str) -> Option<String> {
    let mut out = String::new();
    let mut copied = 0;
    for caps in key_regex.captures_iter(text) {
        let Some(key) = caps.get(0) else { continue };
        // A key inside a value already redacted.
        if key.start() < copied {
            continue;
        }
        let start = key.end();
        let end = match caps.get(3) {
            Some(open) => quoted_value_end(text, start, open.len() - 1),
            None => unquoted_value_end(text, start),
        };
        let value = &text[start..end];
        if value.is_empty() || value.contains("[REDACTED") {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The end of a value opened by a quote escaped with `depth` backslashes (0 in plain JSON, 1
/// inside a JSON string, 3 one level deeper).
///
/// The closing quote carries the same `depth` backslashes; quotes inside the value carry more.
/// At each escaping level backslashes double and a quote gains one, so the closing delimiter
/// is the first quote preceded by `r` backslashes with `r >= depth` and
/// `r - depth` a multiple of `2 * (depth + 1)`; the `r - depth` extra backslashes are escaped
/// backslashes that belong to the value. An unterminated value runs to the end of the line.
fn quoted_value_end(text: &str, start: usize, depth: usize) -> usize {
    let bytes = text.as_bytes();
    let period = 2 * (depth + 1);
    let mut run = 0;
    for (offset, &byte) in bytes[start..].iter().enumerate() {
        match byte {
            b'\\' => run += 1,
            b'"' if run >= depth && (run - depth).is_multiple_of(period) => {
                return start + offset - depth;
            }
            b'\n' | b'\r' => return start + offset - run,
            _ => run = 0,
        }
    }
    bytes.len()
}

/// The end of an unquoted value: at whitespace or a delimiter (`&`, `,`, `;`, `"`, a closing
/// bracket). Backslashes followed by an ordinary character belong to the value; backslashes
/// before a quote are an escaped closing quote of the surrounding string and stay, so JSON
/// output remains valid.
fn unquoted_value_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let is_stop = |b: u8| b.is_ascii_whitespace() || b"&\",;)}]".contains(&b);
    let mut i = start;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'\\').count();
            match bytes.get(i + run) {
                Some(&next) if !is_stop(next) => i += run + 1,
                _ => break,
            }
        } else if is_stop(bytes[i]) {
            break;
        } else {
            i += 1;
        }
    }
    i
}

fn credential_rewrite(caps: &Captures<'_>) -> String {
    if looks_like_credential(&caps[3]) {
        format!("{}{}{REDACTED}", &caps[1], &caps[2])
    } else {
        caps[0].to_owned()
    }
}

/// Real tokens (JWTs, PATs, base64 `user:pass`) carry digits, punctuation or padding, or are
/// long; English words after "bearer" or "Basic" are short and purely alphabetic.
fn looks_like_credential(token: &str) -> bool {
    token.len() >= 20 || (token.len() >= 6 && token.bytes().any(|b| !b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor_with(secrets: &[&str]) -> Redactor {
        let redactor = Redactor::new();
        for secret in secrets {
            redactor.add(&SecretString::from(*secret));
        }
        redactor
    }

    #[track_caller]
    fn assert_redacts(input: &str, expected: &str) {
        assert_eq!(Redactor::new().redact(input), expected, "input: {input}");
    }

    #[test]
    fn shape_rules_compile() {
        assert!(!RULES.is_empty());
        assert!(RULES.len() <= 32, "the trigger mask is a u32");
        assert!(TRIGGERS.0.patterns_len() > 0);
    }

    #[test]
    fn known_secret_is_replaced_everywhere() {
        let r = redactor_with(&["s3cr3t-value"]);
        assert_eq!(
            r.redact("a s3cr3t-value b s3cr3t-value"),
            "a [REDACTED] b [REDACTED]"
        );
    }

    #[test]
    fn short_secrets_are_ignored() {
        let r = redactor_with(&["abc"]);
        assert!(r.is_empty());
        assert_eq!(r.redact("abc abc"), "abc abc");
    }

    #[test]
    fn escaped_and_encoded_forms_are_replaced() {
        let secret = r#"p"a\ss w@rd"#;
        let r = redactor_with(&[secret]);
        let json = serde_json::to_string(secret).unwrap();
        assert!(!r.redact(&json).contains("ss w"));
        assert!(!r.redact(&format!("{secret:?}")).contains("ss w"));
        let json_of_debug = serde_json::to_string(&format!("{secret:?}")).unwrap();
        assert!(!r.redact(&json_of_debug).contains("ss w"));
        assert_eq!(
            r.redact("postgres://u:p%22a%5Css%20w%40rd@h/db"),
            "postgres://u:[REDACTED]@h/db"
        );
    }

    #[test]
    fn clones_share_the_secret_set() {
        let r = Redactor::new();
        let clone = r.clone();
        r.add(&SecretString::from("shared-secret"));
        assert_eq!(clone.redact("x shared-secret"), "x [REDACTED]");
        assert_eq!(clone.len(), 1);
        r.add(&SecretString::from("shared-secret"));
        assert_eq!(clone.len(), 1);
    }

    #[test]
    fn debug_does_not_show_secrets() {
        let r = redactor_with(&["very-secret"]);
        let shown = format!("{r:?}");
        assert!(!shown.contains("very-secret"));
        assert!(shown.contains("secrets: 1"));
    }

    #[test]
    fn authorization_headers() {
        assert_redacts(
            "Authorization: Bearer abc.def.ghi",
            "Authorization: Bearer [REDACTED]",
        );
        assert_redacts(
            "proxy-authorization: Basic dXNlcjpwYXNz",
            "proxy-authorization: Basic [REDACTED]",
        );
        assert_redacts(
            r#"{"authorization": "Bearer abc", "accept": "json"}"#,
            r#"{"authorization": "Bearer [REDACTED]", "accept": "json"}"#,
        );
        assert_redacts(
            r#"{\"Authorization\":\"Token xyz\"}"#,
            r#"{\"Authorization\":\"Token [REDACTED]\"}"#,
        );
        assert_redacts("X-API-Key: PMAK-123abc", "X-API-Key: [REDACTED]");
        assert_redacts("Cookie: session=abc; other=def", "Cookie: [REDACTED]");
    }

    #[test]
    fn bearer_and_basic_outside_headers() {
        assert_redacts(
            "sent bearer eyJhbGciOi.eyJzdWIi.sig to jira",
            "sent bearer [REDACTED] to jira",
        );
        assert_redacts("Basic Zm9vOmJhcg== used", "Basic [REDACTED] used");
        // Prose survives.
        assert_redacts("the bearer of bad news", "the bearer of bad news");
        assert_redacts("Basic regression passed", "Basic regression passed");
    }

    #[test]
    fn secret_keys_in_query_strings_logfmt_debug_and_json() {
        assert_redacts(
            "GET /x?api_key=abc123&page=2",
            "GET /x?api_key=[REDACTED]&page=2",
        );
        assert_redacts(
            "token=abc password=hunter22 n=1",
            "token=[REDACTED] password=[REDACTED] n=1",
        );
        assert_redacts(
            r#"{"password":"hunter22","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        );
        assert_redacts(
            r#"Config { db_password: "hunter22", user: "bob" }"#,
            r#"Config { db_password: "[REDACTED]", user: "bob" }"#,
        );
        assert_redacts(
            r#"{"fields":{"message":"{\"clientSecret\":\"xyz\"}"}}"#,
            r#"{"fields":{"message":"{\"clientSecret\":\"[REDACTED]\"}"}}"#,
        );
        assert_redacts("JIRA_API_TOKEN: abc", "JIRA_API_TOKEN: [REDACTED]");
        // Look-alike keys are left alone.
        assert_redacts(
            "tokens=5 token_count=7 secret_ref=x",
            "tokens=5 token_count=7 secret_ref=x",
        );
    }

    #[test]
    fn quoted_values_with_escapes_are_redacted_whole() {
        assert_redacts(
            r#"{"password":"a\"b\\c","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        );
        // One escaping level deeper: a JSON body inside a JSON log line.
        assert_redacts(
            r#"{"m":"{\"password\":\"a\\\"b\\\\c\",\"user\":\"bob\"}"}"#,
            r#"{"m":"{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"}"#,
        );
        // A value ending in an escaped backslash.
        assert_redacts(
            r#"{"password":"ab\\","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        );
        // Unterminated: runs to the end of the line only.
        assert_redacts("token: \"abc\nnext", "token: \"[REDACTED]\nnext");
    }

    #[test]
    fn unquoted_values_keep_surrounding_json_valid() {
        assert_redacts(r"password=ab\cd next", "password=[REDACTED] next");
        let line = r#"{"m":"cfg \"password=abc\" ok"}"#;
        let redacted = Redactor::new().redact(line);
        assert_eq!(redacted, r#"{"m":"cfg \"password=[REDACTED]\" ok"}"#);
        serde_json::from_str::<serde_json::Value>(&redacted).unwrap();
    }

    #[test]
    fn already_redacted_values_are_not_wrapped_again() {
        assert_redacts("password=[REDACTED]", "password=[REDACTED]");
        assert_redacts(
            "password: SecretBox<str>([REDACTED])",
            "password: SecretBox<str>([REDACTED])",
        );
        let r = Redactor::new();
        let once = r.redact("Authorization: Bearer abc").into_owned();
        assert_eq!(r.redact(&once), once);
    }

    #[test]
    fn url_userinfo() {
        assert_redacts(
            "connecting to postgres://qa:hunter22@db:5432/qapms",
            "connecting to postgres://qa:[REDACTED]@db:5432/qapms",
        );
        assert_redacts("redis://:pw1234@cache", "redis://:[REDACTED]@cache");
        assert_redacts(
            "https://example.com:8443/a@b",
            "https://example.com:8443/a@b",
        );
    }

    #[test]
    fn envelopes_and_private_keys() {
        assert_redacts(
            "token_ref: enc:v1:QUJDREVGR0g=, next",
            "token_ref: enc:v1:[REDACTED], next",
        );
        assert_redacts(
            "k=-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- end",
            "k=-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY----- end",
        );
    }

    #[test]
    fn nothing_to_redact_borrows() {
        let r = redactor_with(&["s3cr3t-value"]);
        let line = "2025-01-01T00:00:00Z INFO qapms: synced 42 tickets from jira in 120ms";
        assert!(matches!(r.redact(line), Cow::Borrowed(_)));
        // A trigger word without a secret shape still borrows.
        let line = "INFO qapms: 3 tests passed, issue key QA-1";
        assert!(matches!(r.redact(line), Cow::Borrowed(_)));
    }
}
