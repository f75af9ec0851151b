-- Result facts are kept team-wide only.
--
-- A test result has no user, so each per-user 'result' row (user = the nil UUID) repeated its
-- dashboard_team_facts row: one row per test and day, about a fifth of a store after a large
-- import, written on every import and never read (totals of results read the team table).
DELETE FROM dashboard_facts WHERE kind = 'result';
