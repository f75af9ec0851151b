//! Users and their personas.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{UserId, utc_now};

/// The persona a user signs in as; it picks their dashboard and what they may change.
///
/// The same type is read from `users:` in `qapms.yaml` and stored in the `users` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Qa,
    Pm,
    Po,
    TechLead,
    QaManager,
    Admin,
}

text_enum!(Role, "role", {
    Qa => "qa",
    Pm => "pm",
    Po => "po",
    TechLead => "tech_lead",
    QaManager => "qa_manager",
    Admin => "admin",
});

/// A qapms user. The password hash is deliberately not a field: it is read and written through
/// its own store calls, so a `User` can be logged or serialised without leaking it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: UserId,
    /// The sign-in name, unique in the store.
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new enabled user with a fresh id, created now.
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        let now = utc_now();
        Self {
            id: UserId::new(),
            name: name.into(),
            email: None,
            role,
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_have_one_text_form() {
        for role in Role::ALL {
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
        }
        let err = "boss".parse::<Role>().unwrap_err();
        assert!(err.message().contains("tech_lead"), "{err}");
    }
}
