-- Team-wide dashboard rollups: dashboard_facts without the user dimension.
--
-- A 90-day page over the whole team (no team filter: the QA Manager, PM and Tech Lead views)
-- summed ~60,000 per-user rows per panel with 100 QAs; these rows are ~25 times fewer. They are
-- written by the same statements as dashboard_facts, in the same transactions, and rebuilt with
-- them, so the two always agree: summing dashboard_facts over users gives this table.
CREATE TABLE dashboard_team_facts (
    day      BIGINT  NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('time', 'result', 'verified')),
    project  TEXT    NOT NULL,
    activity TEXT    NOT NULL,
    step     TEXT    NOT NULL,
    test_id  UUID    NOT NULL,
    n        BIGINT  NOT NULL DEFAULT 0,
    passed   BIGINT  NOT NULL DEFAULT 0,
    failed   BIGINT  NOT NULL DEFAULT 0,
    amount   BIGINT  NOT NULL DEFAULT 0,
    estimate BIGINT  NOT NULL DEFAULT 0,
    tracked  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, day, project, activity, step, test_id)
);

INSERT INTO dashboard_team_facts (day, kind, project, activity, step, test_id, n, passed, failed,
                                  amount, estimate, tracked)
SELECT day, kind, project, activity, step, test_id, SUM(n), SUM(passed), SUM(failed), SUM(amount),
       SUM(estimate), SUM(tracked)
FROM dashboard_facts
GROUP BY day, kind, project, activity, step, test_id;
