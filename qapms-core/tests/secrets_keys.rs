//! Master-key sources (environment, key file, keychain fall-through), the key file itself, and
//! atomic writes.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use qapms_core::ErrorKind;
use qapms_core::config::Env;
use qapms_core::secrets::{
    KeyFileParams, KeyLookup, KeySource, MasterKey, init_key_file, init_key_file_with_params,
    key_file_path, load_master_key, rewrap_key_file, write_atomically,
};
use secrecy::{ExposeSecret as _, SecretString};

const PASSPHRASE: &str = "correct horse battery staple";

fn cheap_key_file(dir: &Path) -> MasterKey {
    let (key, path) = init_key_file_with_params(
        dir,
        &SecretString::from(PASSPHRASE),
        false,
        KeyFileParams::insecure_for_tests(),
    )
    .expect("key file created");
    assert_eq!(path, key_file_path(dir));
    key
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn load(env: &Env, dir: &Path) -> qapms_core::Result<(MasterKey, KeySource)> {
    load_master_key(&KeyLookup {
        env,
        config_dir: dir,
        passphrase: None,
    })
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn env_key_in_base64_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let b64 = key.to_encoded();
    let hex = to_hex(&STANDARD.decode(b64.expose_secret()).unwrap());
    for encoded in [b64.expose_secret(), hex.as_str()] {
        let env = Env::from_pairs([("QAPMS_MASTER_KEY", encoded)]);
        let (loaded, source) = load(&env, dir.path()).unwrap();
        assert_eq!(source, KeySource::Env);
        assert_eq!(loaded.key_id(), key.key_id());
    }
}

#[test]
fn malformed_env_key_is_an_error_not_a_fall_through() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());
    let env = Env::from_pairs([
        ("QAPMS_MASTER_KEY", "definitely-not-a-key"),
        ("QAPMS_KEY_PASSPHRASE", PASSPHRASE),
    ]);
    let err = load(&env, dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert_eq!(err.context_value("source"), Some("QAPMS_MASTER_KEY"));
    assert!(!err.to_string().contains("definitely-not-a-key"), "{err}");
}

#[test]
fn env_key_wins_over_key_file() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());
    let key = MasterKey::generate();
    let env = Env::from_pairs([("QAPMS_MASTER_KEY", key.to_encoded().expose_secret())]);
    let (loaded, source) = load(&env, dir.path()).unwrap();
    assert_eq!(source, KeySource::Env);
    assert_eq!(loaded.key_id(), key.key_id());
}

#[test]
fn key_file_round_trip_with_env_passphrase_or_callback() {
    let dir = tempfile::tempdir().unwrap();
    let key = cheap_key_file(dir.path());
    let path = key_file_path(dir.path());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", PASSPHRASE)]);
    let (loaded, source) = load(&env, dir.path()).unwrap();
    assert_eq!(source, KeySource::KeyFile(path.clone()));
    assert_eq!(loaded.key_id(), key.key_id());

    let ask = || Ok(SecretString::from(PASSPHRASE));
    let (loaded, source) = load_master_key(&KeyLookup {
        env: &Env::empty(),
        config_dir: dir.path(),
        passphrase: Some(&ask),
    })
    .unwrap();
    assert_eq!(source, KeySource::KeyFile(path));
    assert_eq!(loaded.key_id(), key.key_id());
}

#[test]
fn wrong_or_missing_passphrase_is_clear() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());

    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", "wrong")]);
    let err = load(&env, dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert!(err.message().contains("wrong passphrase"), "{err}");
    assert!(err.context_value("file").is_some());

    let err = load(&Env::empty(), dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    assert!(err.message().contains("QAPMS_KEY_PASSPHRASE"), "{err}");

    let failing = || Err(qapms_core::Error::secret("prompt cancelled"));
    let err = load_master_key(&KeyLookup {
        env: &Env::empty(),
        config_dir: dir.path(),
        passphrase: Some(&failing),
    })
    .unwrap_err();
    assert!(err.message().contains("prompt cancelled"));
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());
    let path = key_file_path(dir.path());
    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", PASSPHRASE)]);
    for loose in [0o644, 0o640, 0o604, 0o620] {
        set_mode(&path, loose);
        let err = load(&env, dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Secret);
        assert!(err.message().contains("chmod 600"), "{err}");
    }
    set_mode(&path, 0o400);
    load(&env, dir.path()).unwrap();
}

#[test]
fn init_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let first = cheap_key_file(dir.path());
    let pass = SecretString::from(PASSPHRASE);
    let err = init_key_file_with_params(
        dir.path(),
        &pass,
        false,
        KeyFileParams::insecure_for_tests(),
    )
    .unwrap_err();
    assert!(err.message().contains("already exists"), "{err}");
    let (second, _) =
        init_key_file_with_params(dir.path(), &pass, true, KeyFileParams::insecure_for_tests())
            .unwrap();
    assert_ne!(first.key_id(), second.key_id());
    let err = init_key_file_with_params(
        &dir.path().join("other"),
        &SecretString::from(""),
        false,
        KeyFileParams::insecure_for_tests(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn production_params_work() {
    // One run with the real (OWASP) cost, to prove the defaults are accepted end to end.
    let dir = tempfile::tempdir().unwrap();
    let (key, path) = init_key_file(dir.path(), &SecretString::from(PASSPHRASE), false).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["kdf"]["algorithm"], "argon2id");
    assert_eq!(doc["kdf"]["memory_kib"], KeyFileParams::OWASP.memory_kib());
    assert!(KeyFileParams::OWASP.memory_kib() >= 19 * 1024);
    assert!(KeyFileParams::OWASP.iterations() >= 2);
    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", PASSPHRASE)]);
    assert_eq!(load(&env, dir.path()).unwrap().0.key_id(), key.key_id());
}

#[test]
fn rewrap_stores_a_new_key_and_keeps_params() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());
    let path = key_file_path(dir.path());
    let new_key = MasterKey::generate();
    rewrap_key_file(&path, &new_key, &SecretString::from("new passphrase")).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        doc["kdf"]["memory_kib"],
        KeyFileParams::insecure_for_tests().memory_kib()
    );
    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", "new passphrase")]);
    assert_eq!(load(&env, dir.path()).unwrap().0.key_id(), new_key.key_id());
}

#[test]
fn edited_key_file_fields_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    cheap_key_file(dir.path());
    let path = key_file_path(dir.path());
    let original: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let env = Env::from_pairs([("QAPMS_KEY_PASSPHRASE", PASSPHRASE)]);
    let edits: [(&str, &str, serde_json::Value); 6] = [
        ("kdf", "memory_kib", 128.into()),
        ("kdf", "iterations", 2.into()),
        ("kdf", "salt", STANDARD.encode([7u8; 16]).into()),
        ("", "key_id", "0011223344556677".into()),
        ("", "nonce", "short".into()),
        ("", "format", "something-else".into()),
    ];
    for (section, field, value) in edits {
        let mut doc = original.clone();
        if section.is_empty() {
            doc[field] = value;
        } else {
            doc[section][field] = value;
        }
        write_atomically(&path, &serde_json::to_vec(&doc).unwrap()).unwrap();
        let err = load(&env, dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Secret, "{field}: {err}");
    }
    write_atomically(&path, b"not json at all").unwrap();
    let err = load(&env, dir.path()).unwrap_err();
    assert!(err.message().contains("damaged"), "{err}");
}

#[test]
fn nothing_configured_lists_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&Env::empty(), dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Secret);
    let msg = err.message();
    assert!(msg.contains("QAPMS_MASTER_KEY"), "{msg}");
    assert!(
        msg.contains(&key_file_path(dir.path()).display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("keychain"), "{msg}");
    assert!(msg.contains("QAPMS_KEY_PASSPHRASE"), "{msg}");
    // An empty variable counts as unset.
    let env = Env::from_pairs([("QAPMS_MASTER_KEY", "")]);
    assert!(
        load(&env, dir.path())
            .unwrap_err()
            .message()
            .contains("no master key")
    );
}

#[test]
fn write_atomically_replaces_keeps_mode_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qapms.yaml");
    fs::write(&path, "old: 1\n").unwrap();
    #[cfg(unix)]
    set_mode(&path, 0o640);
    write_atomically(&path, b"new: 2\n").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "new: 2\n");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o640);

    let fresh = dir.path().join("fresh.yaml");
    write_atomically(&fresh, b"a: 1\n").unwrap();
    assert_eq!(fs::read_to_string(&fresh).unwrap(), "a: 1\n");

    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let err = write_atomically(&dir.path().join("missing/dir/file"), b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
}

#[cfg(unix)]
#[test]
fn write_atomically_through_a_symlink_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.yaml");
    let link = dir.path().join("link.yaml");
    fs::write(&real, "old\n").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_atomically(&link, b"new\n").unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
}

#[test]
fn debug_and_display_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let key = cheap_key_file(dir.path());
    let key_b64 = key.to_encoded().expose_secret().to_owned();
    let key_hex: String = to_hex(&STANDARD.decode(&key_b64).unwrap());
    let plain = "hunter2-plaintext";
    let token = qapms_core::secrets::encrypt(plain, &key);
    let env = Env::from_pairs([
        ("QAPMS_MASTER_KEY", key_b64.as_str()),
        ("QAPMS_KEY_PASSPHRASE", PASSPHRASE),
    ]);
    let ask = || Ok(SecretString::from(PASSPHRASE));
    let lookup = KeyLookup {
        env: &env,
        config_dir: dir.path(),
        passphrase: Some(&ask),
    };

    let mut shown = vec![
        format!("{key:?}"),
        format!("{:?}", key.to_encoded()),
        format!("{:?}", qapms_core::secrets::SecretValue::new(plain)),
        format!("{:?}", qapms_core::secrets::SecretValue::new(token.clone())),
        format!("{lookup:?}"),
        format!("{:?}", SecretString::from(PASSPHRASE)),
        format!("{:?}", KeyFileParams::OWASP),
        format!("{}", KeySource::Keychain),
        format!("{:?}", KeySource::KeyFile(key_file_path(dir.path()))),
    ];
    let other = MasterKey::generate();
    let failures = [
        qapms_core::secrets::decrypt(&token, &other, "a.b").err(),
        qapms_core::secrets::decrypt(&token[..30], &key, "a.b").err(),
        qapms_core::secrets::SecretValue::new(token.clone())
            .reveal(None, "a.b")
            .err(),
        MasterKey::from_encoded(&key_b64[..20]).err(),
        load(
            &Env::from_pairs([("QAPMS_KEY_PASSPHRASE", "nope")]),
            dir.path(),
        )
        .err(),
        load(
            &Env::from_pairs([("QAPMS_MASTER_KEY", &key_hex[..40])]),
            dir.path(),
        )
        .err(),
        qapms_core::secrets::encrypt_in_yaml(&format!("a:\n  b: {token}\n"), "a.b", &key).err(),
        qapms_core::secrets::rotate_yaml(
            &format!("a:\n  b: {token}\n"),
            &other,
            &MasterKey::generate(),
        )
        .err(),
    ];
    for (i, err) in failures.into_iter().enumerate() {
        let err = err.unwrap_or_else(|| panic!("case {i} should fail"));
        shown.push(err.to_string());
        shown.push(format!("{err:?}"));
    }
    for text in &shown {
        for secret in [plain, PASSPHRASE, key_b64.as_str(), key_hex.as_str()] {
            assert!(!text.contains(secret), "{text:?} shows a secret");
        }
    }
}
