-- Idempotency keys of the creates a retry could duplicate (AIP-155):
-- CreateWorkshop, CreateBuildPack, AddMember, AddWorkspaceMember,
-- RateSkill, CreateSkillVersion and UploadSkillVersion. The first request
-- with a key records what it created, in its own transaction; a retry with
-- the same key finds the row and answers with that resource instead of
-- creating another. CreateSkill and RecordUsage keep their keys on their
-- own rows (skills.create_request_id, usage_events.request_id).
CREATE TABLE request_ids (
    user_id     text NOT NULL,
    -- The RPC's name, e.g. CreateWorkshop: one key may be reused per RPC.
    method      text NOT NULL CHECK (char_length(method) BETWEEN 1 AND 100),
    request_id  text NOT NULL CHECK (char_length(request_id) BETWEEN 1 AND 100),
    -- What the first request created, as the RPC names it (an id, or a
    -- version number).
    resource    text NOT NULL,
    -- SHA-256 of the first request without its request_id: a retry must
    -- send the same request.
    fingerprint bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, method, request_id)
);
-- Keys are kept at least a day; the content scrub prunes older ones.
CREATE INDEX request_ids_created_at ON request_ids (created_at);
