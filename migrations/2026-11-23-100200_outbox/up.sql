-- The transactional outbox: a write stores its rows and an event here in one
-- transaction; workers drain it (FOR UPDATE SKIP LOCKED) and apply the slow
-- or contended work. Processed events are deleted, so the table stays small.

CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    -- Not an enumeration with a CHECK on purpose: a worker that meets a kind
    -- it does not know (written by a newer binary) parks the event instead of
    -- the insert failing.
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,99}$'),
    -- The id of the row the event is about (a skill, a version, a workshop…).
    aggregate_id uuid NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Not before this time: set in the future for backoff and for leases.
    available_at timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text,
    -- Set when the event was parked after too many attempts (or could not be
    -- understood); such events wait for an operator to retry them.
    dead_at      timestamptz
);

-- The claim query: due, live events in order.
CREATE INDEX outbox_due_idx ON outbox (available_at, id) WHERE dead_at IS NULL;
CREATE INDEX outbox_dead_idx ON outbox (dead_at, id) WHERE dead_at IS NOT NULL;
