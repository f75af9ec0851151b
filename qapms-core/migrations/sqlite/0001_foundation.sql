-- qapms store schema for SQLite (DESIGN §3).
--
-- Conventions, shared with the PostgreSQL schema so both backends answer the same queries:
-- * ids are UUIDs stored as 16-byte BLOBs (UUIDv7, minted by qapms), except where the external
--   key is the identity (tickets.key);
-- * timestamps are INTEGER microseconds since the Unix epoch, UTC. Text timestamps would sort
--   wrongly when the fractional part varies in length ("…:00Z" > "…:00.5Z"), which breaks
--   period queries;
-- * enums are TEXT with a CHECK listing the values; lists and payloads are JSON text;
-- * tables are STRICT, so a value of the wrong type is an error, not a silent conversion.

CREATE TABLE users (
    id            BLOB    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    email         TEXT,
    role          TEXT    NOT NULL
                  CHECK (role IN ('qa', 'pm', 'po', 'tech_lead', 'qa_manager', 'admin')),
    password_hash TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tickets (
    key             TEXT    NOT NULL PRIMARY KEY,
    project         TEXT    NOT NULL,
    number          INTEGER NOT NULL,
    summary         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    status_category TEXT    NOT NULL
                    CHECK (status_category IN ('to_do', 'in_progress', 'done', 'unknown')),
    issue_type      TEXT    NOT NULL,
    priority        TEXT,
    assignee        TEXT,
    labels          TEXT    NOT NULL DEFAULT '[]',
    components      TEXT    NOT NULL DEFAULT '[]',
    fix_versions    TEXT    NOT NULL DEFAULT '[]',
    updated         INTEGER NOT NULL,
    url             TEXT,
    raw             TEXT    NOT NULL DEFAULT '{}',
    synced_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX tickets_project_status ON tickets (project, status);
CREATE INDEX tickets_project_category ON tickets (project, status_category);
CREATE INDEX tickets_updated ON tickets (updated);

CREATE TABLE test_cases (
    id          BLOB    NOT NULL PRIMARY KEY,
    source      TEXT    NOT NULL CHECK (source IN ('testmo', 'postman', 'pytest', 'junit')),
    external_id TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    folder_path TEXT,
    tags        TEXT    NOT NULL DEFAULT '[]',
    ticket_keys TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (source, external_id)
) STRICT;

-- Each system's name for a test. A rename closes the current row (valid_to) and adds a new one
-- pointing back at it (previous_id), so history is kept and old results still resolve.
CREATE TABLE test_identities (
    id          BLOB    NOT NULL PRIMARY KEY,
    test_id     BLOB    NOT NULL REFERENCES test_cases (id) ON DELETE CASCADE,
    system      TEXT    NOT NULL CHECK (system IN ('testmo', 'postman', 'pytest', 'junit')),
    external_key TEXT   NOT NULL,
    valid_from  INTEGER NOT NULL,
    valid_to    INTEGER,
    previous_id BLOB    REFERENCES test_identities (id),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
) STRICT;
CREATE UNIQUE INDEX test_identities_current ON test_identities (system, external_key)
    WHERE valid_to IS NULL;
CREATE INDEX test_identities_test ON test_identities (test_id);

CREATE TABLE test_runs (
    id          BLOB    NOT NULL PRIMARY KEY,
    source      TEXT    NOT NULL CHECK (source IN ('testmo', 'postman', 'pytest', 'junit')),
    name        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    environment TEXT,
    revision    TEXT,
    url         TEXT,
    CHECK (finished_at IS NULL OR finished_at >= started_at)
) STRICT;
CREATE INDEX test_runs_started ON test_runs (started_at);

-- Patterns come before results: a result may name its failure cluster.
CREATE TABLE patterns (
    id          BLOB    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL DEFAULT 'info',
    state       TEXT    NOT NULL DEFAULT 'open',
    occurrences INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    evidence    TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (kind, fingerprint)
) STRICT;

CREATE TABLE test_results (
    run_id            BLOB    NOT NULL REFERENCES test_runs (id) ON DELETE CASCADE,
    test_id           BLOB    NOT NULL REFERENCES test_cases (id),
    attempt           INTEGER NOT NULL CHECK (attempt >= 1),
    status            TEXT    NOT NULL CHECK (status IN ('passed', 'failed', 'error', 'skipped',
                              'blocked', 'expected_failure', 'unexpected_pass')),
    duration_ms       INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
    message           TEXT,
    trace_fingerprint TEXT,
    cluster_id        BLOB    REFERENCES patterns (id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, test_id, attempt)
) STRICT;
-- Results by run use the primary key; results by test (flakiness, history) use this one.
CREATE INDEX test_results_test ON test_results (test_id, run_id);
CREATE INDEX test_results_fingerprint ON test_results (trace_fingerprint)
    WHERE trace_fingerprint IS NOT NULL;
CREATE INDEX test_results_cluster ON test_results (cluster_id) WHERE cluster_id IS NOT NULL;

-- Workflows and time entries name tickets by key without a foreign key: tickets are a cache of
-- Jira that may be pruned or not yet synced, and work must be recordable either way.
CREATE TABLE workflows (
    id           BLOB    NOT NULL PRIMARY KEY,
    template     TEXT    NOT NULL,
    ticket_key   TEXT,
    owner_id     BLOB    REFERENCES users (id),
    state        TEXT    NOT NULL,
    -- Bumped on every update; writers compare it to detect a concurrent change.
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    notes        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    completed_at INTEGER
) STRICT;
CREATE INDEX workflows_ticket ON workflows (ticket_key);
CREATE INDEX workflows_owner_state ON workflows (owner_id, state);

CREATE TABLE workflow_steps (
    id           BLOB    NOT NULL PRIMARY KEY,
    workflow_id  BLOB    NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL CHECK (position >= 0),
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    started_at   INTEGER,
    completed_at INTEGER,
    notes        TEXT,
    evidence     TEXT    NOT NULL DEFAULT '[]',
    UNIQUE (workflow_id, position)
) STRICT;

CREATE TABLE time_entries (
    id                  BLOB    NOT NULL PRIMARY KEY,
    user_id             BLOB    NOT NULL REFERENCES users (id),
    ticket_key          TEXT,
    workflow_id         BLOB    REFERENCES workflows (id),
    step                TEXT,
    started_at          INTEGER NOT NULL,
    ended_at            INTEGER NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('timer', 'manual', 'import')),
    note                TEXT,
    corrects            BLOB    REFERENCES time_entries (id),
    exported_worklog_id TEXT,
    recorded_at         INTEGER NOT NULL,
    CHECK (ended_at >= started_at)
) STRICT;
CREATE INDEX time_entries_user_period ON time_entries (user_id, started_at);
CREATE INDEX time_entries_ticket_period ON time_entries (ticket_key, started_at);
CREATE INDEX time_entries_period ON time_entries (started_at);
CREATE INDEX time_entries_corrects ON time_entries (corrects) WHERE corrects IS NOT NULL;

-- Append-only: recorded fields never change and rows are never deleted. The one permitted
-- update sets exported_worklog_id once, when the entry is exported to Jira.
CREATE TRIGGER time_entries_append_only_update
BEFORE UPDATE ON time_entries
WHEN NEW.id IS NOT OLD.id
  OR NEW.user_id IS NOT OLD.user_id
  OR NEW.ticket_key IS NOT OLD.ticket_key
  OR NEW.workflow_id IS NOT OLD.workflow_id
  OR NEW.step IS NOT OLD.step
  OR NEW.started_at IS NOT OLD.started_at
  OR NEW.ended_at IS NOT OLD.ended_at
  OR NEW.source IS NOT OLD.source
  OR NEW.note IS NOT OLD.note
  OR NEW.corrects IS NOT OLD.corrects
  OR NEW.recorded_at IS NOT OLD.recorded_at
  OR (OLD.exported_worklog_id IS NOT NULL
      AND NEW.exported_worklog_id IS NOT OLD.exported_worklog_id)
BEGIN
    SELECT RAISE(ABORT, 'time_entries is append-only: record a correction instead');
END;

CREATE TRIGGER time_entries_append_only_delete
BEFORE DELETE ON time_entries
BEGIN
    SELECT RAISE(ABORT, 'time_entries is append-only: record a correction instead');
END;

CREATE TABLE alerts (
    id              BLOB    NOT NULL PRIMARY KEY,
    pattern_id      BLOB    REFERENCES patterns (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'open',
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    evidence        TEXT    NOT NULL DEFAULT '{}',
    acknowledged_by BLOB    REFERENCES users (id),
    acknowledged_at INTEGER
) STRICT;
CREATE INDEX alerts_state_seen ON alerts (state, last_seen);
CREATE INDEX alerts_kind_fingerprint ON alerts (kind, fingerprint);

-- What the search index is built from; the tantivy index itself is derived and rebuildable.
CREATE TABLE search_documents (
    id         BLOB    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    source_key TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    url        TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (kind, source_key)
) STRICT;
CREATE INDEX search_documents_updated ON search_documents (updated_at);

CREATE TABLE embeddings (
    document_id BLOB    NOT NULL REFERENCES search_documents (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    dimensions  INTEGER NOT NULL CHECK (dimensions > 0),
    vector      BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (document_id, model)
) STRICT;

-- Per-integration key/value state: sync cursors and encrypted credentials (enc:v1: envelopes,
-- never plaintext).
CREATE TABLE integration_state (
    integration TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('cursor', 'credential')),
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (integration, kind, name)
) STRICT;

-- Health checks over time, for the integrations page and alerting.
CREATE TABLE integration_health (
    id          BLOB    NOT NULL PRIMARY KEY,
    integration TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL,
    healthy     INTEGER NOT NULL CHECK (healthy IN (0, 1)),
    latency_ms  INTEGER,
    message     TEXT
) STRICT;
CREATE INDEX integration_health_recent ON integration_health (integration, checked_at);
