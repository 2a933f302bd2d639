-- The W3C traceparent of the request that enqueued an event, so the worker
-- that applies it can link its span to that request. NULL for events of
-- untraced callers (and for every event written before this migration).
-- A traceparent is 55 characters; the bound keeps a client's header from
-- growing a row.
ALTER TABLE outbox
    ADD COLUMN trace_parent text
        CONSTRAINT outbox_trace_parent_length CHECK (length(trace_parent) <= 55);
