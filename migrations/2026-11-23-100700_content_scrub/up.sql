-- The content scrub: one row, shared by every replica, saying where the
-- background re-verification of stored content is, and who holds it. A
-- replica scrubs only while it holds the lease, so passes never overlap.
CREATE TABLE content_scrub (
    singleton             boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- The last version checked in the pass under way (versions are visited
    -- in id order; no foreign key: a deleted version is only a position).
    cursor_version_id     uuid,
    pass_started_at       timestamptz,
    pass_versions         bigint NOT NULL DEFAULT 0 CHECK (pass_versions >= 0),
    pass_bytes            bigint NOT NULL DEFAULT 0 CHECK (pass_bytes >= 0),
    pass_damaged          bigint NOT NULL DEFAULT 0 CHECK (pass_damaged >= 0),
    last_pass_finished_at timestamptz,
    last_pass_versions    bigint NOT NULL DEFAULT 0 CHECK (last_pass_versions >= 0),
    last_pass_damaged     bigint NOT NULL DEFAULT 0 CHECK (last_pass_damaged >= 0),
    swept_objects         bigint NOT NULL DEFAULT 0 CHECK (swept_objects >= 0),
    lease_holder          uuid,
    leased_until          timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO content_scrub DEFAULT VALUES ON CONFLICT DO NOTHING;
