-- SkillRegistry: skills, their immutable versions, verification results,
-- ratings and usage. See DESIGN.md "Data model".

CREATE TABLE skills (
    id                uuid PRIMARY KEY,
    slug              text NOT NULL
        CONSTRAINT skills_slug_format
        CHECK (char_length(slug) BETWEEN 3 AND 64 AND slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description       text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 4000),
    category          text NOT NULL CHECK (category IN ('prompt', 'workflow', 'agent', 'mcp')),
    author_id         text NOT NULL CHECK (char_length(author_id) BETWEEN 1 AND 200),
    published_version integer,
    draft_version     integer,
    hours_saved       integer NOT NULL DEFAULT 1 CHECK (hours_saved BETWEEN 0 AND 10000),
    -- Denormalized aggregates, maintained by the outbox worker.
    total_uses        bigint NOT NULL DEFAULT 0 CHECK (total_uses >= 0),
    rating_count      integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    -- Stars x100 (425 = 4.25), so no floating point ever touches a rating.
    average_rating    integer NOT NULL DEFAULT 0 CHECK (average_rating BETWEEN 0 AND 500),
    -- The creator's idempotency key: a retried CreateSkill finds this row.
    create_request_id text CHECK (char_length(create_request_id) BETWEEN 1 AND 100),
    search_document   tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
    ) STORED,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT skills_slug_key UNIQUE (slug)
);

CREATE UNIQUE INDEX skills_create_request_key
    ON skills (author_id, create_request_id) WHERE create_request_id IS NOT NULL;
CREATE INDEX skills_search_idx ON skills USING gin (search_document);
-- One index per list order; the id breaks ties so keyset pagination is exact.
CREATE INDEX skills_newest_idx ON skills (created_at DESC, id DESC);
CREATE INDEX skills_most_used_idx ON skills (total_uses DESC, id DESC);
CREATE INDEX skills_top_rated_idx ON skills (average_rating DESC, rating_count DESC, id DESC);
CREATE INDEX skills_author_idx ON skills (author_id, created_at DESC, id DESC);
CREATE INDEX skills_category_idx ON skills (category, created_at DESC, id DESC);

CREATE TABLE skill_versions (
    id           uuid PRIMARY KEY,
    skill_id     uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version >= 1),
    object_key   text NOT NULL CHECK (char_length(object_key) BETWEEN 1 AND 1024),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL CHECK (char_length(content_type) BETWEEN 1 AND 200),
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description  text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 4000),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object'),
    created_by   text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Also the target of the same-skill foreign keys below.
    CONSTRAINT skill_versions_skill_version_key UNIQUE (skill_id, version)
);

-- Content addressing: "is this object still referenced by another version?"
CREATE INDEX skill_versions_sha256_idx ON skill_versions (sha256);

-- History cannot be rewritten: the database itself refuses to change a
-- version row. (Rows still go away with their skill: DELETE is allowed.)
CREATE FUNCTION skill_versions_refuse_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'skill_versions rows are immutable (version % of skill %)', OLD.version, OLD.skill_id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER skill_versions_immutable
    BEFORE UPDATE ON skill_versions
    FOR EACH ROW EXECUTE FUNCTION skill_versions_refuse_update();

-- The published and draft pointers must name a version *of the same skill*:
-- a composite key over (skill id, version number) says so in the database.
-- MATCH SIMPLE (the default) lets a NULL pointer mean "none".
ALTER TABLE skills
    ADD CONSTRAINT skills_published_version_fkey
        FOREIGN KEY (id, published_version) REFERENCES skill_versions (skill_id, version)
        ON DELETE NO ACTION,
    ADD CONSTRAINT skills_draft_version_fkey
        FOREIGN KEY (id, draft_version) REFERENCES skill_versions (skill_id, version)
        ON DELETE NO ACTION;
CREATE INDEX skills_published_version_idx ON skills (id, published_version);
CREATE INDEX skills_draft_version_idx ON skills (id, draft_version);

-- Results of the asynchronous SHA-256 verification live beside the immutable
-- version row. No row means "not verified yet".
CREATE TABLE skill_version_verifications (
    version_id   uuid PRIMARY KEY REFERENCES skill_versions (id) ON DELETE CASCADE,
    state        text NOT NULL CHECK (state IN ('verified', 'mismatch', 'missing')),
    -- The hash actually found, for a mismatch.
    found_sha256 text CHECK (found_sha256 ~ '^[0-9a-f]{64}$'),
    verified_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT skill_version_verifications_found_hash
        CHECK ((state = 'mismatch') = (found_sha256 IS NOT NULL))
);

CREATE TABLE ratings (
    skill_id             uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    user_id              text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
    stars                smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment              text CHECK (char_length(comment) <= 2000),
    hours_saved_estimate integer CHECK (hours_saved_estimate BETWEEN 0 AND 10000),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (skill_id, user_id)
);

-- ListRatings: a skill's ratings, most recently changed first.
CREATE INDEX ratings_skill_updated_idx ON ratings (skill_id, updated_at DESC, user_id DESC);

CREATE TABLE usage_events (
    id         uuid PRIMARY KEY,
    skill_id   uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    version    integer,
    user_id    text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
    tool_name  text NOT NULL DEFAULT '' CHECK (char_length(tool_name) <= 100),
    -- The caller's idempotency key: a retried RecordUsage finds this row.
    request_id text CHECK (char_length(request_id) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT usage_events_version_fkey
        FOREIGN KEY (skill_id, version) REFERENCES skill_versions (skill_id, version)
        ON DELETE CASCADE
);

-- Serves both foreign keys (skill_id alone is its leading column).
CREATE INDEX usage_events_skill_version_idx ON usage_events (skill_id, version);
CREATE UNIQUE INDEX usage_events_request_key
    ON usage_events (user_id, request_id) WHERE request_id IS NOT NULL;
