-- Guided workflows and time tracking (issue 4), on top of the foundation's workflows,
-- workflow_steps and time_entries tables. Same conventions as 0001 (UUID BLOBs, integer
-- microsecond timestamps, TEXT enums with CHECKs, JSON text, STRICT tables).

-- What a step was instantiated with, so a running workflow never changes under its user when
-- the template file is edited, plus the reason a step was skipped or blocked.
ALTER TABLE workflow_steps ADD COLUMN description TEXT;
ALTER TABLE workflow_steps ADD COLUMN estimate_secs INTEGER CHECK (estimate_secs IS NULL OR estimate_secs >= 0);
-- [{"text": "...", "done": false, "doneAt": null, "doneBy": null}]
ALTER TABLE workflow_steps ADD COLUMN checklist TEXT NOT NULL DEFAULT '[]';
-- ["notes", "links", ...]: the evidence the template asks for.
ALTER TABLE workflow_steps ADD COLUMN expects TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workflow_steps ADD COLUMN reason TEXT;

-- The estimate a template gives a whole workflow (a time box), and when it started.
ALTER TABLE workflows ADD COLUMN time_box_secs INTEGER CHECK (time_box_secs IS NULL OR time_box_secs > 0);
ALTER TABLE workflows ADD COLUMN started_at INTEGER;

-- Every transition, in order: who did what, when. `version` is the workflow version the
-- transition produced, so (workflow_id, version) is unique and the log has no gaps.
CREATE TABLE workflow_events (
    id          BLOB    NOT NULL PRIMARY KEY,
    workflow_id BLOB    NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    actor_id    BLOB    NOT NULL REFERENCES users (id),
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    step        INTEGER CHECK (step IS NULL OR step >= 0),
    from_state  TEXT,
    to_state    TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (workflow_id, version)
) STRICT;

-- Test runs attached to a step (the active one when the run was imported).
CREATE TABLE workflow_step_runs (
    workflow_id BLOB    NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    step        INTEGER NOT NULL CHECK (step >= 0),
    run_id      BLOB    NOT NULL REFERENCES test_runs (id) ON DELETE CASCADE,
    attached_at INTEGER NOT NULL,
    PRIMARY KEY (workflow_id, step, run_id)
) STRICT;
CREATE INDEX workflow_step_runs_run ON workflow_step_runs (run_id);

-- The running timer of each user. The primary key is what makes overlapping timers for one
-- user impossible. `last_activity_at` drives idle detection.
CREATE TABLE timers (
    user_id          BLOB    NOT NULL PRIMARY KEY REFERENCES users (id),
    id               BLOB    NOT NULL UNIQUE,
    ticket_key       TEXT,
    workflow_id      BLOB    REFERENCES workflows (id) ON DELETE CASCADE,
    step             TEXT,
    started_at       INTEGER NOT NULL,
    last_activity_at INTEGER NOT NULL,
    CHECK (last_activity_at >= started_at)
) STRICT;

-- Gaps with no activity that a stopped timer did not count. They are kept so the QA can see
-- them and turn one into a time entry (kept_entry_id) if the time was real work.
CREATE TABLE idle_periods (
    id            BLOB    NOT NULL PRIMARY KEY,
    user_id       BLOB    NOT NULL REFERENCES users (id),
    ticket_key    TEXT,
    workflow_id   BLOB    REFERENCES workflows (id) ON DELETE CASCADE,
    step          TEXT,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER NOT NULL,
    kept_entry_id BLOB    REFERENCES time_entries (id),
    recorded_at   INTEGER NOT NULL,
    CHECK (ended_at >= started_at)
) STRICT;
CREATE INDEX idle_periods_user ON idle_periods (user_id, started_at);

CREATE INDEX time_entries_workflow ON time_entries (workflow_id, step) WHERE workflow_id IS NOT NULL;

-- An entry is corrected at most once: a second correction of the same entry would fork its
-- history, so only the newest entry of a chain can be corrected.
CREATE UNIQUE INDEX time_entries_corrected_once ON time_entries (corrects) WHERE corrects IS NOT NULL;
