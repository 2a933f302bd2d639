-- Wake outbox workers as soon as events commit: a statement-level trigger
-- sends one notification per inserting statement (PostgreSQL delivers it at
-- commit and folds duplicates within a transaction). Workers still poll, so
-- a lost notification only delays work until the next poll.
CREATE FUNCTION outbox_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('atelier_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
