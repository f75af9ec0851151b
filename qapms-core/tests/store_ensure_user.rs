//! `store::ensure_user`: get-or-create by name, on `SQLite` and `PostgreSQL`, including two
//! callers racing to create the same user.

#![expect(clippy::unwrap_used, reason = "a panic in a test is a failed test")]

mod common;

use qapms_core::ErrorKind;
use qapms_core::model::Role;
use qapms_core::store::ensure_user;

use common::TestStore;

async fn the_first_call_creates_and_later_calls_read(t: &TestStore) {
    let s = t.store.as_ref();
    let first = ensure_user(s, "ada", Role::Qa).await.unwrap();
    let again = ensure_user(s, "ada", Role::Admin).await.unwrap();
    assert_eq!(first, again, "an existing user keeps its id and role");
    assert_eq!(again.role, Role::Qa);
    assert_eq!(s.list_users().await.unwrap().len(), 1);
    assert_eq!(
        ensure_user(s, "  ", Role::Qa).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

async fn racing_creators_end_with_one_user(t: &TestStore) {
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = t.store.clone();
        tasks.push(tokio::spawn(async move {
            ensure_user(store.as_ref(), "grace", Role::Qa).await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every caller got the same user");
    assert_eq!(t.store.list_users().await.unwrap().len(), 1);
}

for_each_backend!(
    the_first_call_creates_and_later_calls_read,
    racing_creators_end_with_one_user,
);
