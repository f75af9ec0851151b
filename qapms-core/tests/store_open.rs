//! Opening a store: backend choice by URL scheme, errors that never show a password, `SQLite`
//! file handling and the in-memory store.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use qapms_core::ErrorKind;
use qapms_core::model::{Role, User};
use qapms_core::store::{Backend, StoreSettings, open, open_with};

#[tokio::test]
async fn unknown_schemes_are_config_errors_listing_the_supported_ones() {
    for url in [
        "mysql://qa:hunter2@db/qapms",
        "qapms.db",
        "",
        "redis://:hunter2@h",
    ] {
        let err = open(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}");
        let text = err.to_string();
        assert!(
            text.contains("sqlite:") && text.contains("postgres://"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[tokio::test]
async fn connection_failures_are_temporary_and_hide_the_password() {
    // Port 1 on localhost refuses at once.
    let url = "postgres://qa:hunter2@127.0.0.1:1/qapms?password=hunter2&schema=s";
    let err = open(url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Store, "{err}");
    assert!(err.is_temporary());
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("qa:***@127.0.0.1:1"), "{text}");

    let bad_schema = open("postgres://qa:hunter2@127.0.0.1:1/qapms?schema=Bad-Name").await;
    assert_eq!(bad_schema.unwrap_err().kind(), ErrorKind::Config);
}

#[tokio::test]
async fn settings_debug_redacts_the_url() {
    let settings = StoreSettings::new("postgresql://qa:hunter2@db/qapms");
    let debug = format!("{settings:?}");
    assert!(
        !debug.contains("hunter2") && debug.contains("qa:***@db"),
        "{debug}"
    );
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directories_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/qapms/nested/qapms.db");
    let store = open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store
        .create_user(&User::new("ada", Role::Admin))
        .await
        .unwrap();
    assert!(path.exists());
    // WAL mode keeps a -wal file next to the database while connections are open.
    assert!(path.with_file_name("qapms.db-wal").exists());
    let info = store.info().await.unwrap();
    assert_eq!(info.location, path.display().to_string());
    store.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_works_and_is_private() {
    let a = open("sqlite::memory:").await.unwrap();
    let b = open_with(&StoreSettings::new("sqlite::memory:"))
        .await
        .unwrap();
    a.create_user(&User::new("ada", Role::Qa)).await.unwrap();
    assert_eq!(a.list_users().await.unwrap().len(), 1);
    assert!(b.list_users().await.unwrap().is_empty());
    assert_eq!(a.info().await.unwrap().location, ":memory:");
}

#[tokio::test]
async fn postgres_is_picked_by_both_schemes() {
    let Some(base) = common::pg_base_url() else {
        return;
    };
    for scheme in ["postgres", "postgresql"] {
        let base = base.replacen("postgres://", &format!("{scheme}://"), 1);
        let (url, schema) = common::pg_schema_url(&base);
        let store = open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        assert!(store.info().await.unwrap().schema_version >= 1);
        store.close().await;
        common::drop_schema(&base, &schema).await.unwrap();
    }
}
