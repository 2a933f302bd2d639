-- Secrets every replica must share, created by the first server that needs
-- one (e.g. the HMAC key that signs page tokens). Readable only by whoever
-- can read the database already.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
