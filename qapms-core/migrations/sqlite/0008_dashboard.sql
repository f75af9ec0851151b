-- Dashboard rollups (issue 9 §5): daily aggregates the persona pages read instead of raw rows.
--
-- One row per UTC day (days since 1970-01-01) × kind × user × project × activity × step × test.
-- Columns that do not apply to a kind hold the empty string or the nil UUID, so every row has
-- a full primary key. The rows are kept up to date inside the transactions that write time
-- entries, test results and workflow completions (deltas added with ON CONFLICT), and can be
-- rebuilt from the raw tables at any time; both give the same rows.
--
-- kind 'time':     n entries, amount seconds tracked; activity = workflow template or '',
--                  step = workflow step or ''.
-- kind 'result':   n attempts, passed, failed, amount = duration in ms; test_id set.
-- kind 'verified': n workflows completed that day, amount = cycle seconds (started to
--                  completed), estimate = estimated seconds of the steps, tracked = seconds
--                  tracked on the workflow; activity = template.
CREATE TABLE dashboard_facts (
    day      INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('time', 'result', 'verified')),
    user_id  BLOB    NOT NULL,
    project  TEXT    NOT NULL,
    activity TEXT    NOT NULL,
    step     TEXT    NOT NULL,
    test_id  BLOB    NOT NULL,
    n        INTEGER NOT NULL DEFAULT 0,
    passed   INTEGER NOT NULL DEFAULT 0,
    failed   INTEGER NOT NULL DEFAULT 0,
    amount   INTEGER NOT NULL DEFAULT 0,
    estimate INTEGER NOT NULL DEFAULT 0,
    tracked  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, user_id, project, activity, step, test_id)
) STRICT;
CREATE INDEX dashboard_facts_kind_day ON dashboard_facts (kind, day);
