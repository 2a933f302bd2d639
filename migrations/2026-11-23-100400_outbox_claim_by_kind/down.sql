CREATE INDEX outbox_due_idx ON outbox (available_at, id) WHERE dead_at IS NULL;
DROP INDEX outbox_other_due_idx;
DROP INDEX outbox_usage_due_idx;
