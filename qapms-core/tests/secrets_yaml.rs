//! `encrypt_in_yaml` and `rotate_yaml`: only the secret's bytes change; comments, order,
//! quoting and everything else stay byte for byte.

use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::secrets::{MasterKey, decrypt, encrypt, encrypt_in_yaml, rotate_yaml};
use secrecy::ExposeSecret as _;

const CONFIG: &str = r#"# qapms configuration
version: 1   # schema version

integrations:
  jira:
    base_url: https://example.atlassian.net   # cloud
    auth:
      email: qa@example.com
      # from https://id.atlassian.com/manage-profile/security/api-tokens
      api_token: "tok-123 with \"escapes\""   # double quoted
  testmo:
    token: 'it''s single quoted'
  splunk: {url: "https://splunk.local", token: flow-token}
  grafana:
    token: plain-token
servers:
  - name: a
    token: seq-token
  - [nested, in-seq-secret]
anchors:
  shared: &shared anchored-secret
  alias: *shared
  literal: |
    block secret
  empty:
profiles:
  prod:
    integrations:
      jira:
        auth:
          api_token: prod-token # prod only
"#;

/// `after` must equal `before` with exactly `old_token` (as written, quotes included) replaced
/// by one `enc:v1:` token in the same quoting; returns that token without quotes.
fn replaced_token(before: &str, after: &str, old_token: &str) -> String {
    let at = before.find(old_token).expect("old token in the original");
    assert_eq!(
        &after[..at],
        &before[..at],
        "bytes before the value changed"
    );
    let tail = &before[at + old_token.len()..];
    assert!(after.ends_with(tail), "bytes after the value changed");
    let middle = &after[at..after.len() - tail.len()];
    let quote = old_token.chars().next().filter(|c| *c == '"' || *c == '\'');
    let inner = match quote {
        Some(q) => middle
            .strip_prefix(q)
            .and_then(|m| m.strip_suffix(q))
            .expect("quoting kept"),
        None => middle,
    };
    assert!(inner.starts_with("enc:v1:"), "{middle}");
    assert!(
        inner["enc:v1:".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)),
        "{middle}"
    );
    inner.to_owned()
}

fn as_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).expect("valid YAML")
}

#[test]
fn encrypts_each_scalar_style_and_location_in_place() {
    let key = MasterKey::generate();
    let cases = [
        (
            "integrations.jira.auth.api_token",
            r#""tok-123 with \"escapes\"""#,
            r#"tok-123 with "escapes""#,
        ),
        (
            "integrations.testmo.token",
            "'it''s single quoted'",
            "it's single quoted",
        ),
        ("integrations.splunk.token", "flow-token", "flow-token"),
        ("integrations.grafana.token", "plain-token", "plain-token"),
        ("servers.0.token", "seq-token", "seq-token"),
        ("servers.1.1", "in-seq-secret", "in-seq-secret"),
        ("anchors.shared", "anchored-secret", "anchored-secret"),
        (
            "profiles.prod.integrations.jira.auth.api_token",
            "prod-token",
            "prod-token",
        ),
    ];
    for (path, written, plain) in cases {
        let out = encrypt_in_yaml(CONFIG, path, &key).unwrap();
        let token = replaced_token(CONFIG, &out, written);
        assert_eq!(
            decrypt(&token, &key, path).unwrap().expose_secret(),
            plain,
            "{path}"
        );

        // The document still parses, and only that value differs.
        let mut expected = as_json(CONFIG);
        let pointer = format!("/{}", path.replace('.', "/"));
        *expected.pointer_mut(&pointer).unwrap() = token.clone().into();
        if path == "anchors.shared" {
            // The alias follows its anchor.
            expected["anchors"]["alias"] = token.into();
        }
        assert_eq!(as_json(&out), expected, "{path}");
    }
}

#[test]
fn encrypt_errors_name_the_path() {
    let key = MasterKey::generate();
    let cases = [
        (
            "integrations.jira.auth.password",
            ErrorKind::NotFound,
            "has no `password`",
        ),
        ("nope.deeper", ErrorKind::NotFound, "not found"),
        ("integrations.jira", ErrorKind::InvalidInput, "mapping"),
        ("servers", ErrorKind::InvalidInput, "sequence"),
        ("anchors.alias", ErrorKind::InvalidInput, "alias"),
        ("anchors.literal", ErrorKind::InvalidInput, "block scalar"),
        ("anchors.empty", ErrorKind::InvalidInput, "empty"),
        ("servers.7.token", ErrorKind::NotFound, "not found"),
        ("", ErrorKind::InvalidInput, "dotted"),
        ("a..b", ErrorKind::InvalidInput, "dotted"),
    ];
    for (path, kind, needle) in cases {
        let err = encrypt_in_yaml(CONFIG, path, &key).unwrap_err();
        assert_eq!(err.kind(), kind, "{path}: {err}");
        assert!(err.message().contains(needle), "{path}: {err}");
        assert_eq!(err.context_value("key"), Some(path));
    }

    let once = encrypt_in_yaml(CONFIG, "integrations.grafana.token", &key).unwrap();
    let err = encrypt_in_yaml(&once, "integrations.grafana.token", &key).unwrap_err();
    assert!(err.message().contains("already encrypted"), "{err}");

    let err = encrypt_in_yaml("a: [unclosed\n", "a", &key).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);

    let err = encrypt_in_yaml("a: 1\na: 2\n", "a", &key).unwrap_err();
    assert!(err.message().contains("more than once"), "{err}");
}

/// The text with every `enc:v1:` token replaced by a placeholder.
fn skeleton(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("enc:v1:") {
        out.push_str(&rest[..at]);
        out.push_str("<TOKEN>");
        let after = &rest[at + "enc:v1:".len()..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=".contains(c)))
            .unwrap_or(after.len());
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

fn encrypted_config(key: &MasterKey) -> String {
    let mut text = CONFIG.to_owned();
    for path in [
        "integrations.jira.auth.api_token",
        "integrations.testmo.token",
        "integrations.splunk.token",
        "servers.0.token",
        "profiles.prod.integrations.jira.auth.api_token",
    ] {
        text = encrypt_in_yaml(&text, path, key).expect("encrypts");
    }
    text
}

#[test]
fn rotate_changes_only_tokens() {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let before = encrypted_config(&old);
    let (after, count) = rotate_yaml(&before, &old, &new).unwrap();
    assert_eq!(count, 5);
    assert_eq!(skeleton(&after), skeleton(&before));

    let plain_before = as_json(&before);
    let plain_after = as_json(&after);
    for pointer in [
        "/integrations/jira/auth/api_token",
        "/integrations/testmo/token",
        "/integrations/splunk/token",
        "/servers/0/token",
        "/profiles/prod/integrations/jira/auth/api_token",
    ] {
        let a = plain_before.pointer(pointer).unwrap().as_str().unwrap();
        let b = plain_after.pointer(pointer).unwrap().as_str().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            decrypt(a, &old, pointer).unwrap().expose_secret(),
            decrypt(b, &new, pointer).unwrap().expose_secret()
        );
        assert!(decrypt(b, &old, pointer).is_err());
    }

    // Run again with the same keys: the values already under the new key are left alone.
    let (again, count) = rotate_yaml(&after, &old, &new).unwrap();
    assert_eq!((again.as_str(), count), (after.as_str(), 0));

    // Without any secrets the text is returned unchanged.
    assert_eq!(
        rotate_yaml("a: 1 # c\n", &old, &new).unwrap(),
        ("a: 1 # c\n".to_owned(), 0)
    );
}

#[test]
fn rotate_aborts_on_any_bad_value_and_names_it() {
    let old = MasterKey::generate();
    let new = MasterKey::generate();
    let text = encrypted_config(&old);

    let stranger = encrypt("x", &MasterKey::generate());
    let with_stranger = text.replace("flow-token", &stranger);
    let foreign = format!("{with_stranger}extra: {stranger}\n");
    let err = rotate_yaml(&foreign, &old, &new).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert_eq!(err.context_value("key"), Some("extra"));

    let at = text.find("enc:v1:").unwrap() + 20;
    let mut tampered = text.clone();
    let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    let err = rotate_yaml(&tampered, &old, &new).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert_eq!(
        err.context_value("key"),
        Some("integrations.jira.auth.api_token")
    );

    let err = rotate_yaml(&text, &MasterKey::generate(), &new).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);

    let block = format!("a: |\n  {}\n", encrypt("x", &old));
    let err = rotate_yaml(&block, &old, &new).unwrap_err();
    assert!(err.message().contains("block scalar"), "{err}");
}

#[test]
fn crlf_and_documents_are_preserved() {
    let key = MasterKey::generate();
    let text = "# c\r\na:\r\n  b: secret # keep\r\n  c: other\r\n";
    let out = encrypt_in_yaml(text, "a.b", &key).unwrap();
    replaced_token(text, &out, "secret");
    assert!(out.ends_with("# keep\r\n  c: other\r\n"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_string_survives_encrypt_in_yaml(plain in "\\PC*") {
        // A JSON string is a valid YAML double-quoted scalar.
        let key = MasterKey::generate();
        let text = format!("# head\nauth:\n  token: {}  # tail\nnext: 1\n", serde_json::to_string(&plain).unwrap());
        let out = encrypt_in_yaml(&text, "auth.token", &key).unwrap();
        let value = as_json(&out);
        let token = value["auth"]["token"].as_str().unwrap();
        let opened = decrypt(token, &key, "auth.token").unwrap();
        prop_assert_eq!(opened.expose_secret(), plain.as_str());
        prop_assert!(out.starts_with("# head\nauth:\n  token: \"enc:v1:"));
        prop_assert!(out.ends_with("\"  # tail\nnext: 1\n"));
    }

    #[test]
    fn random_text_never_panics(text in any::<String>(), path in "[a-z0-9.]{0,12}") {
        let key = MasterKey::generate();
        let _ = encrypt_in_yaml(&text, &path, &key);
        let _ = rotate_yaml(&text, &key, &MasterKey::generate());
    }

    #[test]
    fn yaml_like_text_never_panics(
        lines in proptest::collection::vec(
            "( {0,4})([a-z]{1,3}: ?)?(-|\\[|\\]|\\{|\\}|'|\"|&a |\\*a|\\||>|#|enc:v1:[A-Za-z0-9+/=]{0,12}|[a-z ]{0,6}){0,3}",
            0..12,
        ),
        path in "[a-z]{1,3}(\\.[a-z0-9]{1,3}){0,2}",
    ) {
        let text = lines.join("\n");
        let key = MasterKey::generate();
        if let Ok(out) = encrypt_in_yaml(&text, &path, &key) {
            prop_assert_ne!(&out, &text);
        }
        let _ = rotate_yaml(&text, &key, &MasterKey::generate());
    }
}
