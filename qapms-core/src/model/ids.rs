//! Typed ids: `UUIDv7` newtypes for what qapms mints, and [`IssueKey`] for Jira's own key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Result};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered (`UUIDv7`) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID, such as one read back from the store or a request.
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Uuid::parse_str(s).map(Self).map_err(|e| {
                    Error::invalid_input(format!("`{s}` is not a valid {}", $what)).with_source(e)
                })
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// The stable id of a test, whatever each system calls it (see `test_identities`).
    TestId,
    "test id"
);
uuid_id!(
    /// One test run (a pytest session, a `JUnit` report, a Testmo run).
    RunId,
    "run id"
);
uuid_id!(
    /// One workflow instance.
    WorkflowId,
    "workflow id"
);
uuid_id!(
    /// A qapms user (a dashboard account and the owner of time entries).
    UserId,
    "user id"
);
uuid_id!(
    /// One append-only time entry.
    TimeEntryId,
    "time entry id"
);
uuid_id!(
    /// A detected pattern, such as a failure cluster.
    PatternId,
    "pattern id"
);

/// A Jira issue key such as `PAY-12`: a project key, a dash and a positive number.
///
/// The project key starts with a letter and holds letters, digits and `_`. Jira compares keys
/// without regard to case, so lower-case input is accepted and upper-cased: `pay-12` is `PAY-12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IssueKey {
    key: String,
    dash: usize,
    number: u64,
}

impl IssueKey {
    /// Parses and normalises a key; the error says what is wrong with it.
    pub fn parse(input: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid_input(format!("`{input}` is not an issue key: {why}"));
        let key = input.trim().to_ascii_uppercase();
        let Some(dash) = key.rfind('-') else {
            return Err(bad("expected PROJECT-NUMBER, such as PAY-12"));
        };
        let (project, number) = (&key[..dash], &key[dash + 1..]);
        let mut chars = project.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
            return Err(bad("the project key must start with a letter"));
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("the project key may hold only letters, digits and `_`"));
        }
        if number.is_empty()
            || !number.bytes().all(|b| b.is_ascii_digit())
            || number.starts_with('0')
        {
            return Err(bad("the issue number must be a positive number"));
        }
        let number = number
            .parse()
            .map_err(|_| bad("the issue number is too large"))?;
        Ok(Self { key, dash, number })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The project key, such as `PAY`.
    pub fn project(&self) -> &str {
        &self.key[..self.dash]
    }

    /// The issue number within its project, such as `12`.
    pub fn number(&self) -> u64 {
        self.number
    }
}

impl fmt::Display for IssueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

impl FromStr for IssueKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IssueKey {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<IssueKey> for String {
    fn from(key: IssueKey) -> Self {
        key.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_keys_parse_and_normalise() {
        let key = IssueKey::parse(" pay-12 ").unwrap();
        assert_eq!(key.as_str(), "PAY-12");
        assert_eq!(key.project(), "PAY");
        assert_eq!(key.number(), 12);
        assert_eq!(IssueKey::parse("A_B2-7").unwrap().project(), "A_B2");
    }

    #[test]
    fn bad_issue_keys_say_why() {
        for bad in [
            "",
            "PAY",
            "PAY-",
            "PAY-0",
            "PAY-012",
            "1PAY-3",
            "PA Y-3",
            "PAY-1x",
            "-3",
            "PAY-99999999999999999999",
        ] {
            let err = IssueKey::parse(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = RunId::new();
        assert_eq!(id.to_string().parse::<RunId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<RunId>(&json).unwrap(), id);
        let key: IssueKey = serde_json::from_str("\"pay-3\"").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"PAY-3\"");
        assert!(serde_json::from_str::<IssueKey>("\"nope\"").is_err());
        assert!("not-a-uuid".parse::<UserId>().is_err());
    }
}
