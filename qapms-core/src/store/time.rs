//! [`DbTime`]: one Rust type for timestamps, stored natively by each backend.
//!
//! `PostgreSQL` stores `TIMESTAMPTZ`. `SQLite` has no time type, and sqlx would store RFC 3339 text
//! whose fractional part varies in length, which sorts wrongly; so `SQLite` columns hold integer
//! microseconds since the Unix epoch. Both keep microseconds, so a value reads back equal from
//! either backend.

use chrono::{DateTime, Utc};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use sqlx::{Database, Decode, Encode, Type, encode::IsNull, error::BoxDynError};

/// A UTC timestamp as a store column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DbTime(pub(super) DateTime<Utc>);

impl From<DbTime> for DateTime<Utc> {
    fn from(t: DbTime) -> Self {
        t.0
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{BoxDynError, Database, DateTime, DbTime, Decode, Encode, IsNull, Type};
    use sqlx::Sqlite;

    impl Type<Sqlite> for DbTime {
        fn type_info() -> <Sqlite as Database>::TypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for DbTime {
        fn encode_by_ref(
            &self,
            buf: &mut <Sqlite as Database>::ArgumentBuffer,
        ) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<Sqlite>>::encode(self.0.timestamp_micros(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for DbTime {
        fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            let micros = <i64 as Decode<Sqlite>>::decode(value)?;
            DateTime::from_timestamp_micros(micros)
                .map(DbTime)
                .ok_or_else(|| format!("timestamp out of range: {micros} µs").into())
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::{BoxDynError, Database, DateTime, DbTime, Decode, Encode, IsNull, Type, Utc};
    use sqlx::Postgres;

    impl Type<Postgres> for DbTime {
        fn type_info() -> <Postgres as Database>::TypeInfo {
            <DateTime<Utc> as Type<Postgres>>::type_info()
        }

        fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
            <DateTime<Utc> as Type<Postgres>>::compatible(ty)
        }
    }

    impl Encode<'_, Postgres> for DbTime {
        fn encode_by_ref(
            &self,
            buf: &mut <Postgres as Database>::ArgumentBuffer,
        ) -> Result<IsNull, BoxDynError> {
            <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for DbTime {
        fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            <DateTime<Utc> as Decode<Postgres>>::decode(value).map(DbTime)
        }
    }
}
