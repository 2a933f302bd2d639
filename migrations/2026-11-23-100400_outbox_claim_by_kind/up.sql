-- The worker claims usage events and every other kind with separate
-- queries: usage events are applied in bulk inside PostgreSQL (one
-- statement deletes a batch and sums it per skill), the others one by one
-- in Rust. Each query gets an index holding only its rows, so neither
-- scans past the other's backlog (a queue of 200,000 usage events must
-- not slow down finding the one verification job behind them).
CREATE INDEX outbox_usage_due_idx ON outbox (available_at, id)
    WHERE dead_at IS NULL AND kind = 'usage.recorded';
CREATE INDEX outbox_other_due_idx ON outbox (available_at, id)
    WHERE dead_at IS NULL AND kind <> 'usage.recorded';
DROP INDEX outbox_due_idx;
