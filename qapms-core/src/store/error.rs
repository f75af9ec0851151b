//! Turning sqlx errors into the crate's [`Error`], by what the caller can do about them.
//!
//! The message names the kind of record (`what`), never a value: values may be personal data
//! or secrets. The sqlx error is kept as the source for logs; it holds SQL and constraint names,
//! not bound values or the connection URL.

use sqlx::error::{DatabaseError, ErrorKind as DbErrorKind};

use crate::{Error, ErrorKind};

/// The marker the append-only triggers on `time_entries` put in their message (both backends).
const APPEND_ONLY_MARKER: &str = "append-only";

/// Maps a sqlx error from an operation on `what` ("user", "test run", …).
pub(super) fn db_error(what: &'static str, err: sqlx::Error) -> Error {
    let mapped = match &err {
        sqlx::Error::RowNotFound => Error::not_found(format!("{what} not found")),
        sqlx::Error::Database(db) => from_database(what, db.as_ref()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => {
            Error::store("the database cannot be reached; try again").set_temporary()
        }
        _ => Error::store(format!("store operation on {what} failed")),
    };
    mapped.with_source(err)
}

fn from_database(what: &'static str, db: &dyn DatabaseError) -> Error {
    if db.message().contains(APPEND_ONLY_MARKER) {
        return Error::invalid_input(
            "time entries are append-only: append a correction that names the entry instead",
        );
    }
    match db.kind() {
        DbErrorKind::UniqueViolation => {
            Error::new(ErrorKind::Conflict, format!("{what} already exists"))
        }
        DbErrorKind::ForeignKeyViolation => {
            Error::invalid_input(format!("{what} refers to a record that does not exist"))
        }
        DbErrorKind::NotNullViolation | DbErrorKind::CheckViolation => {
            Error::invalid_input(format!("{what} has a missing or out-of-range value"))
        }
        _ if is_transient(db.code().as_deref()) => {
            Error::store("the database is busy or restarting; try again").set_temporary()
        }
        _ => Error::store(format!("store operation on {what} failed")),
    }
}

/// Whether the database says a retry may succeed.
///
/// `PostgreSQL` codes are five-character `SQLSTATEs`; `SQLite` codes are (extended) result codes,
/// numbers below 4096, so the two cannot be confused.
fn is_transient(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if code.len() == 5 {
        // Connection exceptions, serialization failures and deadlocks, lock timeouts,
        // insufficient resources (too many connections), operator intervention (shutdown).
        return ["08", "40", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
            || code == "55P03";
    }
    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with any extended code.
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether the error is a unique-key violation, for call sites that word their own conflict.
pub(super) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes() {
        for code in [
            "40001", "40P01", "08006", "53300", "57P01", "55P03", "5", "517", "6", "262",
        ] {
            assert!(is_transient(Some(code)), "{code}");
        }
        for code in ["23505", "42P01", "19", "2067", "1811"] {
            assert!(!is_transient(Some(code)), "{code}");
        }
        assert!(!is_transient(None));
    }

    #[test]
    fn connection_failures_are_temporary_store_errors() {
        let err = db_error("user", sqlx::Error::PoolTimedOut);
        assert_eq!(err.kind(), ErrorKind::Store);
        assert!(err.is_temporary());
        let err = db_error("user", sqlx::Error::RowNotFound);
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.message(), "user not found");
    }
}
