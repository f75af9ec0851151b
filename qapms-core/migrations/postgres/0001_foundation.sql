-- qapms store schema for PostgreSQL (DESIGN §3).
--
-- The same tables, columns, constraints and indexes as migrations/sqlite, in native types:
-- * ids are UUID (UUIDv7, minted by qapms), except where the external key is the identity
--   (tickets.key);
-- * timestamps are TIMESTAMPTZ (microsecond precision, stored as UTC);
-- * enums are TEXT with a CHECK listing the values; lists and payloads are JSONB;
-- * text columns the store sorts by use the "C" collation, so order is by code point as in
--   SQLite, whatever the database's locale.
-- Objects are created unqualified, so they land in the first schema of the search_path; the
-- store sets it when the URL has a `schema` parameter (tests use one schema each).

CREATE TABLE users (
    id            UUID    NOT NULL PRIMARY KEY,
    name          TEXT    COLLATE "C" NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    email         TEXT,
    role          TEXT    NOT NULL
                  CHECK (role IN ('qa', 'pm', 'po', 'tech_lead', 'qa_manager', 'admin')),
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE tickets (
    key             TEXT    NOT NULL PRIMARY KEY,
    project         TEXT    COLLATE "C" NOT NULL,
    number          BIGINT NOT NULL,
    summary         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    status_category TEXT    NOT NULL
                    CHECK (status_category IN ('to_do', 'in_progress', 'done', 'unknown')),
    issue_type      TEXT    NOT NULL,
    priority        TEXT,
    assignee        TEXT,
    labels          JSONB    NOT NULL DEFAULT '[]'::jsonb,
    components      JSONB    NOT NULL DEFAULT '[]'::jsonb,
    fix_versions    JSONB    NOT NULL DEFAULT '[]'::jsonb,
    updated         TIMESTAMPTZ NOT NULL,
    url             TEXT,
    raw             JSONB    NOT NULL DEFAULT '{}'::jsonb,
    synced_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX tickets_project_status ON tickets (project, status);
CREATE INDEX tickets_project_category ON tickets (project, status_category);
CREATE INDEX tickets_updated ON tickets (updated);

CREATE TABLE test_cases (
    id          UUID    NOT NULL PRIMARY KEY,
    source      TEXT    NOT NULL CHECK (source IN ('testmo', 'postman', 'pytest', 'junit')),
    external_id TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    folder_path TEXT,
    tags        JSONB    NOT NULL DEFAULT '[]'::jsonb,
    ticket_keys JSONB    NOT NULL DEFAULT '[]'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

-- Each system's name for a test. A rename closes the current row (valid_to) and adds a new one
-- pointing back at it (previous_id), so history is kept and old results still resolve.
CREATE TABLE test_identities (
    id          UUID    NOT NULL PRIMARY KEY,
    test_id     UUID    NOT NULL REFERENCES test_cases (id) ON DELETE CASCADE,
    system      TEXT    NOT NULL CHECK (system IN ('testmo', 'postman', 'pytest', 'junit')),
    external_key TEXT   NOT NULL,
    valid_from  TIMESTAMPTZ NOT NULL,
    valid_to    TIMESTAMPTZ,
    previous_id UUID    REFERENCES test_identities (id),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX test_identities_current ON test_identities (system, external_key)
    WHERE valid_to IS NULL;
CREATE INDEX test_identities_test ON test_identities (test_id);

CREATE TABLE test_runs (
    id          UUID    NOT NULL PRIMARY KEY,
    source      TEXT    NOT NULL CHECK (source IN ('testmo', 'postman', 'pytest', 'junit')),
    name        TEXT    NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    environment TEXT,
    revision    TEXT,
    url         TEXT,
    CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX test_runs_started ON test_runs (started_at);

-- Patterns come before results: a result may name its failure cluster.
CREATE TABLE patterns (
    id          UUID    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL DEFAULT 'info',
    state       TEXT    NOT NULL DEFAULT 'open',
    occurrences BIGINT NOT NULL DEFAULT 0,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    evidence    JSONB    NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (kind, fingerprint)
);

CREATE TABLE test_results (
    run_id            UUID    NOT NULL REFERENCES test_runs (id) ON DELETE CASCADE,
    test_id           UUID    NOT NULL REFERENCES test_cases (id),
    attempt           INTEGER NOT NULL CHECK (attempt >= 1),
    status            TEXT    NOT NULL CHECK (status IN ('passed', 'failed', 'error', 'skipped',
                              'blocked', 'expected_failure', 'unexpected_pass')),
    duration_ms       BIGINT CHECK (duration_ms IS NULL OR duration_ms >= 0),
    message           TEXT,
    trace_fingerprint TEXT,
    cluster_id        UUID    REFERENCES patterns (id) ON DELETE SET NULL,
    PRIMARY KEY (run_id, test_id, attempt)
);
-- Results by run use the primary key; results by test (flakiness, history) use this one.
CREATE INDEX test_results_test ON test_results (test_id, run_id);
CREATE INDEX test_results_fingerprint ON test_results (trace_fingerprint)
    WHERE trace_fingerprint IS NOT NULL;
CREATE INDEX test_results_cluster ON test_results (cluster_id) WHERE cluster_id IS NOT NULL;

-- Workflows and time entries name tickets by key without a foreign key: tickets are a cache of
-- Jira that may be pruned or not yet synced, and work must be recordable either way.
CREATE TABLE workflows (
    id           UUID    NOT NULL PRIMARY KEY,
    template     TEXT    NOT NULL,
    ticket_key   TEXT,
    owner_id     UUID    REFERENCES users (id),
    state        TEXT    NOT NULL,
    -- Bumped on every update; writers compare it to detect a concurrent change.
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    notes        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
CREATE INDEX workflows_ticket ON workflows (ticket_key);
CREATE INDEX workflows_owner_state ON workflows (owner_id, state);

CREATE TABLE workflow_steps (
    id           UUID    NOT NULL PRIMARY KEY,
    workflow_id  UUID    NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL CHECK (position >= 0),
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    started_at   TIMESTAMPTZ,
    completed_at TIMESTAMPTZ,
    notes        TEXT,
    evidence     JSONB    NOT NULL DEFAULT '[]'::jsonb,
    UNIQUE (workflow_id, position)
);

CREATE TABLE time_entries (
    id                  UUID    NOT NULL PRIMARY KEY,
    user_id             UUID    NOT NULL REFERENCES users (id),
    ticket_key          TEXT,
    workflow_id         UUID    REFERENCES workflows (id),
    step                TEXT,
    started_at          TIMESTAMPTZ NOT NULL,
    ended_at            TIMESTAMPTZ NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('timer', 'manual', 'import')),
    note                TEXT,
    corrects            UUID    REFERENCES time_entries (id),
    exported_worklog_id TEXT,
    recorded_at         TIMESTAMPTZ NOT NULL,
    CHECK (ended_at >= started_at)
);
CREATE INDEX time_entries_user_period ON time_entries (user_id, started_at);
CREATE INDEX time_entries_ticket_period ON time_entries (ticket_key, started_at);
CREATE INDEX time_entries_period ON time_entries (started_at);
CREATE INDEX time_entries_corrects ON time_entries (corrects) WHERE corrects IS NOT NULL;

-- Append-only: recorded fields never change and rows are never deleted. The one permitted
-- update sets exported_worklog_id once, when the entry is exported to Jira.
CREATE FUNCTION time_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND NEW.id IS NOT DISTINCT FROM OLD.id
       AND NEW.user_id IS NOT DISTINCT FROM OLD.user_id
       AND NEW.ticket_key IS NOT DISTINCT FROM OLD.ticket_key
       AND NEW.workflow_id IS NOT DISTINCT FROM OLD.workflow_id
       AND NEW.step IS NOT DISTINCT FROM OLD.step
       AND NEW.started_at IS NOT DISTINCT FROM OLD.started_at
       AND NEW.ended_at IS NOT DISTINCT FROM OLD.ended_at
       AND NEW.source IS NOT DISTINCT FROM OLD.source
       AND NEW.note IS NOT DISTINCT FROM OLD.note
       AND NEW.corrects IS NOT DISTINCT FROM OLD.corrects
       AND NEW.recorded_at IS NOT DISTINCT FROM OLD.recorded_at
       AND (OLD.exported_worklog_id IS NULL
            OR NEW.exported_worklog_id IS NOT DISTINCT FROM OLD.exported_worklog_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'time_entries is append-only: record a correction instead';
END
$$;

CREATE TRIGGER time_entries_append_only_update
BEFORE UPDATE ON time_entries
FOR EACH ROW EXECUTE FUNCTION time_entries_append_only();

CREATE TRIGGER time_entries_append_only_delete
BEFORE DELETE ON time_entries
FOR EACH ROW EXECUTE FUNCTION time_entries_append_only();

-- Row triggers do not fire on TRUNCATE, so it gets its own statement trigger.
CREATE TRIGGER time_entries_append_only_truncate
BEFORE TRUNCATE ON time_entries
FOR EACH STATEMENT EXECUTE FUNCTION time_entries_append_only();

CREATE TABLE alerts (
    id              UUID    NOT NULL PRIMARY KEY,
    pattern_id      UUID    REFERENCES patterns (id) ON DELETE SET NULL,
    kind            TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'open',
    first_seen      TIMESTAMPTZ NOT NULL,
    last_seen       TIMESTAMPTZ NOT NULL,
    evidence        JSONB    NOT NULL DEFAULT '{}'::jsonb,
    acknowledged_by UUID    REFERENCES users (id),
    acknowledged_at TIMESTAMPTZ
);
CREATE INDEX alerts_state_seen ON alerts (state, last_seen);
CREATE INDEX alerts_kind_fingerprint ON alerts (kind, fingerprint);

-- What the search index is built from; the tantivy index itself is derived and rebuildable.
CREATE TABLE search_documents (
    id         UUID    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL,
    source_key TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    url        TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, source_key)
);
CREATE INDEX search_documents_updated ON search_documents (updated_at);

CREATE TABLE embeddings (
    document_id UUID    NOT NULL REFERENCES search_documents (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    dimensions  INTEGER NOT NULL CHECK (dimensions > 0),
    vector      UUID    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (document_id, model)
);

-- Per-integration key/value state: sync cursors and encrypted credentials (enc:v1: envelopes,
-- never plaintext).
CREATE TABLE integration_state (
    integration TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('cursor', 'credential')),
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration, kind, name)
);

-- Health checks over time, for the integrations page and alerting.
CREATE TABLE integration_health (
    id          UUID    NOT NULL PRIMARY KEY,
    integration TEXT    NOT NULL,
    checked_at  TIMESTAMPTZ NOT NULL,
    healthy     BOOLEAN NOT NULL,
    latency_ms  BIGINT,
    message     TEXT
);
CREATE INDEX integration_health_recent ON integration_health (integration, checked_at);
