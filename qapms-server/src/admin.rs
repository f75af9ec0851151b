//! Administration shared by the command line (`qapms-server users …`, `tokens …`) and the
//! API, so both enforce the same rules: name and role checks, argon2id hashing, sessions
//! revoked when a password changes or a user is disabled, tokens shown once and stored hashed.

use chrono::Utc;
use qapms_core::model::{Role, User, UserId};
use qapms_core::store::{ApiTokenRecord, Store};
use uuid::Uuid;

use crate::ApiError;
use crate::auth;

/// Sign-in names are short and plain, so they are safe in logs, URLs and cookies.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(
            ApiError::invalid("a user name is 1 to 64 letters, digits, `.`, `_`, `-` or `@`")
                .with_details(serde_json::json!({ "field": "name" })),
        )
    }
}

pub fn parse_role(role: &str) -> Result<Role, ApiError> {
    role.parse::<Role>().map_err(|_| {
        ApiError::invalid(format!(
            "unknown role `{role}`; use qa, pm, po, tech_lead, qa_manager or admin"
        ))
        .with_details(serde_json::json!({ "field": "role" }))
    })
}

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub email: Option<String>,
    pub team: Option<String>,
    /// `None` adds a user who cannot sign in until a password is set.
    pub password: Option<String>,
}

/// Adds a user; the password (if any) is hashed first, so a weak one adds nothing.
pub async fn add_user(store: &dyn Store, new: NewUser) -> Result<User, ApiError> {
    check_name(&new.name)?;
    let hash = match new.password {
        Some(password) => Some(auth::hash_password(password).await?),
        None => None,
    };
    let mut user = User::new(new.name, new.role);
    user.email = new.email.filter(|e| !e.trim().is_empty());
    store.create_user(&user).await?;
    if let Some(hash) = &hash {
        store.set_user_password_hash(&user.id, Some(hash)).await?;
    }
    if let Some(team) = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        store.set_user_team(&user.id, Some(team)).await?;
    }
    Ok(user)
}

/// Sets a password and signs the user out everywhere.
pub async fn set_password(
    store: &dyn Store,
    id: &UserId,
    password: String,
) -> Result<(), ApiError> {
    let hash = auth::hash_password(password).await?;
    store.set_user_password_hash(id, Some(&hash)).await?;
    store.revoke_user_sessions(id, Utc::now()).await?;
    Ok(())
}

/// Disables or enables a user; disabling signs them out everywhere.
pub async fn set_disabled(store: &dyn Store, id: &UserId, disabled: bool) -> Result<(), ApiError> {
    store.set_user_disabled(id, disabled).await?;
    if disabled {
        store.revoke_user_sessions(id, Utc::now()).await?;
    }
    Ok(())
}

/// Creates and stores an API token; returns the secret (shown once) and its record.
pub async fn create_token(
    store: &dyn Store,
    user: &UserId,
    name: &str,
    expires_in_days: Option<u32>,
) -> Result<(String, ApiTokenRecord), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::invalid("a token name is 1 to 64 characters")
            .with_details(serde_json::json!({ "field": "name" })));
    }
    if expires_in_days.is_some_and(|d| d == 0 || d > 3650) {
        return Err(
            ApiError::invalid("expiresInDays must be between 1 and 3650")
                .with_details(serde_json::json!({ "field": "expiresInDays" })),
        );
    }
    let (token, hash) = auth::new_api_token();
    let now = Utc::now();
    let record = ApiTokenRecord {
        id: Uuid::now_v7(),
        user_id: *user,
        name: name.to_owned(),
        token_hash: hash,
        prefix: token.chars().take(12).collect(),
        created_at: now,
        expires_at: expires_in_days.map(|d| now + chrono::Duration::days(i64::from(d))),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_api_token(&record).await?;
    tracing::info!(token = %record.id, name = %record.name, "API token created");
    Ok((token, record))
}
