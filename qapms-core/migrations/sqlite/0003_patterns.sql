-- Failure clusters, their Jira links, and alert states (issue 5).
--
-- Alerts move new -> acknowledged -> resolved, and may be muted; 0001 called a fresh alert
-- 'open'. A recurring alert updates its one row (dedup by kind and fingerprint), so the pair is
-- unique; a resolved alert that recurs is reopened in place.
UPDATE alerts SET state = 'new' WHERE state = 'open';
ALTER TABLE alerts ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN state_changed_at INTEGER;
ALTER TABLE alerts ADD COLUMN resolved_at INTEGER;
ALTER TABLE alerts ADD COLUMN muted_until INTEGER;
DROP INDEX alerts_kind_fingerprint;
CREATE UNIQUE INDEX alerts_kind_fingerprint ON alerts (kind, fingerprint);
CREATE INDEX alerts_seen ON alerts (last_seen);

-- SQLite cannot add a CHECK to an existing table; triggers enforce the same rule.
CREATE TRIGGER alerts_state_insert BEFORE INSERT ON alerts
WHEN NEW.state NOT IN ('new', 'acknowledged', 'resolved', 'muted')
BEGIN
    SELECT RAISE(ABORT, 'alerts.state must be new, acknowledged, resolved or muted');
END;
CREATE TRIGGER alerts_state_update BEFORE UPDATE OF state ON alerts
WHEN NEW.state NOT IN ('new', 'acknowledged', 'resolved', 'muted')
BEGIN
    SELECT RAISE(ABORT, 'alerts.state must be new, acknowledged, resolved or muted');
END;

CREATE INDEX patterns_kind_seen ON patterns (kind, last_seen);

-- The Jira issue a failure cluster is filed as: found by the `qapms-cluster:<id>` marker on the
-- ticket, by a similar summary, or named by a known-issue rule in the config. Tickets are a
-- cache, so the key carries no foreign key (as in workflows and time_entries).
CREATE TABLE pattern_links (
    pattern_id BLOB    NOT NULL REFERENCES patterns (id) ON DELETE CASCADE,
    issue_key  TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('marker', 'summary', 'rule')),
    score      REAL    NOT NULL CHECK (score >= 0 AND score <= 1),
    linked_at  INTEGER NOT NULL,
    PRIMARY KEY (pattern_id, issue_key)
) STRICT;
CREATE INDEX pattern_links_issue ON pattern_links (issue_key);

-- The analysis streams failed attempts in key order; a partial index holds just those, so the
-- scan reads the failures and not every stored result.
CREATE INDEX test_results_failed ON test_results (run_id, test_id, attempt)
    WHERE status IN ('failed', 'error');
