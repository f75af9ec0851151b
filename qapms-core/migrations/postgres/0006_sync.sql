-- Sync state (qapms-core/src/sync): one row per integration and scope (a Jira project, a
-- Testmo project, a Postman collection, a collection file), and one row per upstream item a
-- scope has written, so a later sync can tell renames (same upstream id, new local key) and
-- deletions (an id the source no longer lists) from new items. Both are written in the same
-- transaction as the rows they describe, so a crash never leaves them out of step.
CREATE TABLE sync_scopes (
    integration TEXT    NOT NULL CHECK (length(trim(integration)) > 0),
    scope       TEXT    NOT NULL CHECK (length(trim(scope)) > 0),
    -- Integration-specific resume point, e.g. the newest `updated` seen (RFC 3339).
    cursor      TEXT,
    -- What the scope's contents were last time (a collection's updatedAt, a file's hash).
    fingerprint TEXT,
    -- When the last complete listing (deletion check) finished.
    full_at     TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration, scope)
);

CREATE TABLE sync_items (
    integration TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    -- The source's own stable id (a Jira issue id, a Testmo case id, a Postman item id).
    item_id     TEXT    NOT NULL,
    -- What it is stored as: a ticket key, a test case's external id, a search document key.
    local_key   TEXT    NOT NULL,
    fingerprint TEXT,
    seen_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (integration, scope, item_id),
    FOREIGN KEY (integration, scope) REFERENCES sync_scopes (integration, scope) ON DELETE CASCADE
);
CREATE INDEX sync_items_item ON sync_items (integration, item_id);
