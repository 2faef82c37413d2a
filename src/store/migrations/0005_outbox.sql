-- The delivery outbox: one row per (alert, sink), written in the same
-- transaction as the alert; the delivery worker moves it along
-- pending → delivered | failed (permanent refusal) | dead (gave up at max_age).
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    alert_id        TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    sink            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    queued_at       INTEGER NOT NULL,       -- reset by `alerts retry`; max_age counts from here
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    UNIQUE (alert_id, sink)
);
CREATE INDEX outbox_due ON outbox (sink, state, next_attempt_at);
CREATE INDEX outbox_state ON outbox (state);

-- A sink that told us to stop (410 Gone, archived channel, deleted webhook)
-- is paused until an operator retries.
CREATE TABLE sink_state (
    sink        TEXT PRIMARY KEY,
    paused_at   INTEGER,
    reason      TEXT
);
