-- Dashboard server: teams, sessions, API tokens and sign-in attempts (qapms-server).
--
-- Secrets are never stored: a session or an API token is kept as the SHA-256 of its random
-- value (hex), so a copy of the database cannot be replayed as a live credential.
-- Job leases need no table here: they are session-level advisory locks
-- (pg_try_advisory_lock), released by the server when the holding connection ends.

-- Leads and managers see their team's data; a user has at most one team.
ALTER TABLE users ADD COLUMN team TEXT COLLATE "C" CHECK (team IS NULL OR length(trim(team)) > 0);
CREATE INDEX users_team ON users (team) WHERE team IS NOT NULL;

CREATE TABLE sessions (
    token_hash   TEXT    NOT NULL PRIMARY KEY,
    user_id      UUID    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The synchronizer token cookie-authenticated writes must echo (CSRF).
    csrf_token   TEXT    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    ip           TEXT,
    user_agent   TEXT,
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           UUID    NOT NULL PRIMARY KEY,
    user_id      UUID    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    COLLATE "C" NOT NULL CHECK (length(trim(name)) > 0),
    token_hash   TEXT    NOT NULL UNIQUE,
    -- The first characters of the token, so a user can tell tokens apart in a list.
    prefix       TEXT    NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    UNIQUE (user_id, name)
);

-- Every sign-in attempt, for rate limiting per user name and per client address.
CREATE TABLE login_attempts (
    id           UUID    NOT NULL PRIMARY KEY,
    user_name    TEXT    NOT NULL,
    ip           TEXT    NOT NULL,
    succeeded    BOOLEAN NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (user_name, attempted_at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, attempted_at);
