//! The `enc:v1:` envelope and `SecretValue`: round trips, and every way a value can be broken
//! (wrong key, any flipped byte, any truncation, bad base64, other versions) giving a
//! `Secret` error that names the key path and never the plaintext.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use qapms_core::ErrorKind;
use qapms_core::secrets::{MasterKey, SecretValue, decrypt, encrypt};
use secrecy::ExposeSecret as _;

const PATH: &str = "integrations.jira.auth.api_token";
const PLAIN: &str = "tok-4f9a-very-secret";

fn assert_secret_error(result: qapms_core::Result<secrecy::SecretString>, what: &str) {
    match result {
        Ok(_) => panic!("{what}: decrypted instead of failing"),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::Secret, "{what}: {err}");
            assert_eq!(err.context_value("key"), Some(PATH), "{what}: {err}");
            assert!(!err.to_string().contains(PLAIN), "{what}: {err}");
            assert!(!format!("{err:?}").contains(PLAIN), "{what}: {err:?}");
        }
    }
}

fn envelope(token: &str) -> Vec<u8> {
    STANDARD
        .decode(token.strip_prefix("enc:v1:").expect("an enc:v1 token"))
        .expect("valid base64")
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn token(envelope: &[u8]) -> String {
    format!("enc:v1:{}", STANDARD.encode(envelope))
}

#[test]
fn round_trip_and_fresh_nonce_each_time() {
    let key = MasterKey::generate();
    let a = encrypt(PLAIN, &key);
    let b = encrypt(PLAIN, &key);
    assert!(a.starts_with("enc:v1:"));
    assert_ne!(a, b, "same plaintext must not give the same token");
    assert_eq!(decrypt(&a, &key, PATH).unwrap().expose_secret(), PLAIN);
    assert_eq!(decrypt(&b, &key, PATH).unwrap().expose_secret(), PLAIN);
    assert_eq!(
        decrypt(&encrypt("", &key), &key, PATH)
            .unwrap()
            .expose_secret(),
        ""
    );
}

#[test]
fn wrong_key_names_both_key_ids() {
    let key = MasterKey::generate();
    let other = MasterKey::generate();
    let result = decrypt(&encrypt(PLAIN, &key), &other, PATH);
    let err = result.as_ref().map(|_| ()).unwrap_err();
    assert!(err.message().contains(&key.key_id()), "{err}");
    assert!(err.message().contains(&other.key_id()), "{err}");
    assert_secret_error(result, "wrong key");
}

#[test]
fn every_flipped_envelope_byte_is_rejected() {
    let key = MasterKey::generate();
    let good = envelope(&encrypt(PLAIN, &key));
    for i in 0..good.len() {
        for bit in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            assert_secret_error(
                decrypt(&token(&bad), &key, PATH),
                &format!("byte {i} ^ {bit:#x}"),
            );
        }
    }
}

#[test]
fn every_changed_token_character_is_rejected() {
    let key = MasterKey::generate();
    let good = encrypt(PLAIN, &key);
    for (i, c) in good.char_indices() {
        for replacement in ['A', 'z', '+', '=', ':', ' '] {
            if replacement == c {
                continue;
            }
            let mut bad = good.clone();
            bad.replace_range(i..=i, &replacement.to_string());
            assert_secret_error(
                decrypt(&bad, &key, PATH),
                &format!("char {i} -> {replacement}"),
            );
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let key = MasterKey::generate();
    let good = encrypt(PLAIN, &key);
    for len in 0..good.len() {
        assert_secret_error(
            decrypt(&good[..len], &key, PATH),
            &format!("token cut at {len}"),
        );
    }
    let bytes = envelope(&good);
    for len in 0..bytes.len() {
        assert_secret_error(
            decrypt(&token(&bytes[..len]), &key, PATH),
            &format!("envelope cut at {len}"),
        );
    }
}

#[test]
fn bad_base64_and_other_versions_are_explained() {
    let key = MasterKey::generate();
    let body = encrypt(PLAIN, &key)["enc:v1:".len()..].to_owned();

    let result = decrypt("enc:v1:not*base64!", &key, PATH);
    assert!(result.as_ref().err().unwrap().message().contains("base64"));
    assert_secret_error(result, "bad base64");

    let result = decrypt(&format!("enc:v2:{body}"), &key, PATH);
    assert!(result.as_ref().err().unwrap().message().contains("enc:v1:"));
    assert_secret_error(result, "v2");

    for prefix in ["ENC:v1:", "enc:V1:", "enc:v1", "enc;v1:", ""] {
        assert_secret_error(decrypt(&format!("{prefix}{body}"), &key, PATH), prefix);
    }
}

#[test]
fn changing_the_key_id_in_the_envelope_fails() {
    let key = MasterKey::generate();
    let mut bytes = envelope(&encrypt(PLAIN, &key));
    // Put another key's id in: decryption must still fail, because the id is associated data.
    let other = MasterKey::generate();
    let other_bytes = envelope(&encrypt("x", &other));
    bytes[..8].copy_from_slice(&other_bytes[..8]);
    assert_secret_error(
        decrypt(&token(&bytes), &other, PATH),
        "key id swapped, other key",
    );
    assert_secret_error(
        decrypt(&token(&bytes), &key, PATH),
        "key id swapped, right key",
    );
}

#[test]
fn secret_value_reveals_plain_and_encrypted() {
    let key = MasterKey::generate();
    let plain = SecretValue::new(PLAIN);
    assert!(!plain.is_encrypted());
    assert_eq!(plain.reveal(None, PATH).unwrap().expose_secret(), PLAIN);

    let sealed = SecretValue::new(encrypt(PLAIN, &key));
    assert!(sealed.is_encrypted());
    assert_eq!(
        sealed.reveal(Some(&key), PATH).unwrap().expose_secret(),
        PLAIN
    );
    let err = sealed.reveal(None, PATH).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert_eq!(err.context_value("key"), Some(PATH));
    assert!(err.message().contains("no master key"), "{err}");
    assert_secret_error(
        sealed.reveal(Some(&MasterKey::generate()), PATH),
        "reveal wrong key",
    );
}

#[test]
fn secret_value_serde_and_schema() {
    let value: SecretValue = serde_json::from_str("\"abc\"").unwrap();
    assert_eq!(value, SecretValue::new("abc"));
    assert_eq!(serde_json::to_string(&value).unwrap(), "\"abc\"");
    assert_eq!(format!("{value:?}"), "[REDACTED]");

    let schema = serde_json::to_value(schemars::schema_for!(SecretValue)).unwrap();
    assert_eq!(schema["type"], "string");
    assert!(schema["description"].as_str().unwrap().contains("enc:v1:"));
}

#[test]
fn master_key_encodings() {
    let key = MasterKey::generate();
    let b64 = key.to_encoded();
    let bytes = STANDARD.decode(b64.expose_secret()).unwrap();
    let hex = to_hex(&bytes);
    let from_hex = MasterKey::from_encoded(&hex).unwrap();
    let from_upper_hex = MasterKey::from_encoded(&hex.to_uppercase()).unwrap();
    let from_b64 = MasterKey::from_encoded(&format!("  {}\n", b64.expose_secret())).unwrap();
    assert_eq!(from_hex.key_id(), key.key_id());
    assert_eq!(from_upper_hex.key_id(), key.key_id());
    assert_eq!(from_b64.key_id(), key.key_id());

    for bad in [
        "",
        "zz",
        "not base64 at all!",
        &hex[..62],
        &format!("{hex}00"),
    ] {
        let err = MasterKey::from_encoded(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Secret);
        if !bad.is_empty() {
            assert!(!err.to_string().contains(bad), "{err}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn round_trip_for_any_string(plain in any::<String>()) {
        let key = MasterKey::generate();
        let token = encrypt(&plain, &key);
        let opened = decrypt(&token, &key, PATH).unwrap();
        prop_assert_eq!(opened.expose_secret(), plain.as_str());
    }

    #[test]
    fn decrypt_never_panics_on_strings(input in any::<String>()) {
        let key = MasterKey::generate();
        let _ = decrypt(&input, &key, PATH);
        let _ = decrypt(&format!("enc:v1:{input}"), &key, PATH);
    }

    #[test]
    fn decrypt_never_panics_on_envelope_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let key = MasterKey::generate();
        prop_assert!(decrypt(&token(&bytes), &key, PATH).is_err());
    }

    #[test]
    fn from_encoded_never_panics(input in any::<String>()) {
        let _ = MasterKey::from_encoded(&input);
    }
}
