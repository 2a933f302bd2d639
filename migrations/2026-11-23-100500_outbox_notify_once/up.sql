-- NOTIFY takes a database-wide lock when its transaction commits and holds
-- it through the commit's WAL flush, so every transaction that notifies
-- commits alone: no group commit. With one notification per RecordUsage,
-- the outbox serialized on that lock much as the naive design serializes
-- on a skill's row lock (measured: 4.7x the naive design; goal 20x).
--
-- Now only one of the transactions inserting events at the same moment
-- notifies: the one that wins a transaction-scoped try-lock; the others
-- skip NOTIFY and commit together. Workers still wake for every burst (the
-- winner's notification arrives when it commits), and still poll, so an
-- event whose transaction committed just after the winner's is picked up by
-- the next notification or, when traffic stops right there, the next poll.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF pg_try_advisory_xact_lock(hashtextextended('atelier outbox notify ' || current_schema(), 0)) THEN
        PERFORM pg_notify('atelier_outbox', '');
    END IF;
    RETURN NULL;
END;
$$;
