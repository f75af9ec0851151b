//! Store URL handling: the scheme, redaction, and qapms's own `schema` parameter.
//!
//! Written by hand rather than with a URL parser: `SQLite` URLs (`sqlite::memory:`,
//! `sqlite:relative.db`) are not valid URLs to most parsers, and redaction must work on any
//! input, even a malformed one, because it runs exactly when something has gone wrong.

/// The scheme before the first `:`, lower-cased, if it looks like one.
pub(super) fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // A Windows path such as `C:\data` is not a scheme; one letter never is.
    (valid && scheme.len() > 1).then_some(scheme)
}

/// Query parameters whose values are secrets.
fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "sslpassword",
        "key",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// The URL with any password (in the user info or in a query parameter) replaced by `***`.
///
/// Safe to call on anything: text that is not a URL comes back with everything between `://`
/// and the last `@` of the authority masked, if there is an `@`.
pub fn redact_url(url: &str) -> String {
    let (without_fragment, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let (base, query) = match without_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (without_fragment, None),
    };
    let mut out = String::with_capacity(url.len());
    match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            out.push_str(scheme);
            out.push_str("://");
            // The last `@` ends the user info: a password may itself contain `@`.
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret_param(name) => {
                    out.push_str(name);
                    out.push_str("=***");
                }
                _ => out.push_str(pair),
            }
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Takes qapms's `schema=<name>` parameter out of a `PostgreSQL` URL (sqlx does not know it).
///
/// Returns the URL without it and the schema name, validated as a plain identifier so it can be
/// quoted into `CREATE SCHEMA` and `search_path` safely.
#[cfg_attr(
    not(feature = "postgres"),
    expect(dead_code, reason = "used by the PostgreSQL backend")
)]
pub(super) fn take_schema_param(url: &str) -> crate::Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("schema", value)) => schema = Some(value.to_owned()),
            _ => kept.push(pair),
        }
    }
    if let Some(name) = &schema {
        validate_schema_name(name)?;
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, schema))
}

fn validate_schema_name(name: &str) -> crate::Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        // PostgreSQL truncates identifiers beyond 63 bytes; refuse rather than surprise.
        && name.len() <= 63;
    if valid {
        Ok(())
    } else {
        Err(crate::Error::config(format!(
            "invalid `schema` in the store URL: `{name}`; use lower-case letters, digits and `_`, \
             starting with a letter or `_`, at most 63 characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://qa:s3cr3t@db.example:5432/qapms?sslmode=require"),
            "postgres://qa:***@db.example:5432/qapms?sslmode=require"
        );
        assert_eq!(
            redact_url("postgresql://qa:p@ss@w0rd@db/x"),
            "postgresql://qa:***@db/x"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=qa&password=hunter2&schema=t1"),
            "postgres://db/x?user=qa&password=***&schema=t1"
        );
        assert_eq!(redact_url("postgres://qa@db/x"), "postgres://qa@db/x");
        assert_eq!(
            redact_url("sqlite:///home/qa/.local/share/qapms/qapms.db"),
            "sqlite:///home/qa/.local/share/qapms/qapms.db"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        for odd in ["", "://", "@", "a://:@", "x://u:p@", "?password", "#"] {
            assert!(!redact_url(odd).contains("p@"), "{odd}");
        }
    }

    #[test]
    fn schemes_are_recognised() {
        assert_eq!(scheme("sqlite::memory:"), Some("sqlite"));
        assert_eq!(scheme("postgres://x"), Some("postgres"));
        assert_eq!(scheme("mysql://x"), Some("mysql"));
        assert_eq!(scheme("C:\\data\\qapms.db"), None);
        assert_eq!(scheme("/tmp/qapms.db"), None);
    }

    #[test]
    fn schema_parameter_is_taken_out_and_validated() {
        let (url, schema) =
            take_schema_param("postgres://h/db?schema=t_1&sslmode=disable").unwrap();
        assert_eq!(url, "postgres://h/db?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("t_1"));
        let (url, schema) = take_schema_param("postgres://h/db?schema=abc").unwrap();
        assert_eq!(
            (url.as_str(), schema.as_deref()),
            ("postgres://h/db", Some("abc"))
        );
        assert_eq!(take_schema_param("postgres://h/db").unwrap().1, None);
        for bad in ["A", "1a", "a-b", "a\"b", ""] {
            let url = format!("postgres://h/db?schema={bad}");
            assert_eq!(
                take_schema_param(&url).unwrap_err().kind(),
                crate::ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
