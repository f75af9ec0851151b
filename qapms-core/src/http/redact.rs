//! Redaction of what the HTTP layer logs.
//!
//! URLs are logged at DEBUG, so query parameters that commonly carry credentials (`token`,
//! `api_key`, `signature`, ...) are blanked here, before the text reaches the log writer. Bodies
//! are logged only at TRACE and go through the process-wide [`crate::logging::Redactor`] as well,
//! which knows every configured secret by value.

use url::Url;

use crate::logging::REDACTED;

/// Query parameter names (lower-case) whose values are never logged.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "password",
    "secret",
    "client_secret",
    "signature",
    "sig",
    "code",
    "auth",
];

/// The URL with user info removed and credential-like query values replaced by `[REDACTED]`.
pub fn redact_url(url: &Url) -> String {
    let mut url = url.clone();
    // Setting these cannot fail for the http(s) URLs this client builds; ignore the error kind.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_PARAMS.contains(&lower.as_str())
                    || lower.ends_with("token")
                    || lower.ends_with("secret");
                let value = if secret {
                    REDACTED.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_and_user_info_are_blanked() {
        let url =
            Url::parse("https://bob:pw@x.test/a?jql=project%3DPAY&access_token=abc123&apiKey=k9")
                .unwrap();
        let shown = redact_url(&url);
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(!shown.contains("k9"), "{shown}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("jql=project%3DPAY"), "{shown}");
    }
}
