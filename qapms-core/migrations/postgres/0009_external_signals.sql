-- External signals (qapms-core/src/patterns/classify): timestamped signs of trouble outside
-- the tests, such as Grafana annotations tagged as incidents, which failure classification
-- reads to call a failure cluster systemic. Written by the sync in the same transaction as its
-- cursor; keyed by the source's own id, so a signal read twice is stored once.
CREATE TABLE external_signals (
    source      TEXT             NOT NULL CHECK (length(trim(source)) > 0),
    signal_key  TEXT             NOT NULL CHECK (length(trim(signal_key)) > 0),
    at          TIMESTAMPTZ      NOT NULL,
    name        TEXT             NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    recorded_at TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (source, signal_key)
);
CREATE INDEX external_signals_at ON external_signals (at);
