-- Dashboard server: teams, sessions, API tokens and sign-in attempts (qapms-server).
--
-- Secrets are never stored: a session or an API token is kept as the SHA-256 of its random
-- value (hex), so a copy of the database cannot be replayed as a live credential.

-- Leads and managers see their team's data; a user has at most one team.
ALTER TABLE users ADD COLUMN team TEXT CHECK (team IS NULL OR length(trim(team)) > 0);
CREATE INDEX users_team ON users (team) WHERE team IS NOT NULL;

CREATE TABLE sessions (
    token_hash   TEXT    NOT NULL PRIMARY KEY,
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The synchronizer token cookie-authenticated writes must echo (CSRF).
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT,
    user_agent   TEXT,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           BLOB    NOT NULL PRIMARY KEY,
    user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(trim(name)) > 0),
    token_hash   TEXT    NOT NULL UNIQUE,
    -- The first characters of the token, so a user can tell tokens apart in a list.
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    UNIQUE (user_id, name)
) STRICT;

-- Every sign-in attempt, for rate limiting per user name and per client address.
CREATE TABLE login_attempts (
    id           BLOB    NOT NULL PRIMARY KEY,
    user_name    TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    succeeded    INTEGER NOT NULL CHECK (succeeded IN (0, 1)),
    attempted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_attempts_user ON login_attempts (user_name, attempted_at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, attempted_at);
