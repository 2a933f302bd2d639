-- Workshop: design-thinking workshops, their members, the ten fixed steps
-- (reference data seeded below), step progress, work sessions and build packs.

CREATE TABLE step_definitions (
    id              text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9_]{0,49}$'),
    -- Deferred so a corrective upsert may swap two positions in one statement.
    position        integer NOT NULL CHECK (position >= 1)
        CONSTRAINT step_definitions_position_key UNIQUE DEFERRABLE INITIALLY DEFERRED,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description     text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 2000),
    prompt_template text NOT NULL CHECK (char_length(prompt_template) BETWEEN 1 AND 20000),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workshops (
    id                 uuid PRIMARY KEY,
    owner_id           text NOT NULL CHECK (char_length(owner_id) BETWEEN 1 AND 200),
    title              text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    original_idea      text NOT NULL CHECK (char_length(original_idea) BETWEEN 1 AND 4000),
    status             text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'active', 'paused', 'completed')),
    org_id             text CHECK (char_length(org_id) BETWEEN 1 AND 100),
    template_id        text CHECK (char_length(template_id) BETWEEN 1 AND 100),
    visibility         text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'shared')),
    -- SHA-256 (hex) of the share token: the token itself is shown once and
    -- never stored, so a leaked table does not leak access.
    share_token_sha256 text CHECK (share_token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workshops_share_token_key UNIQUE (share_token_sha256),
    CONSTRAINT workshops_shared_has_token
        CHECK ((visibility = 'shared') = (share_token_sha256 IS NOT NULL))
);

-- The per-plan cap counts a user's owned workshops.
CREATE INDEX workshops_owner_idx ON workshops (owner_id);

CREATE TABLE workshop_members (
    workshop_id uuid NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    user_id     text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
    -- Text, not an enumeration: owner, editor and viewer have powers; any
    -- other role reads only.
    role        text NOT NULL CHECK (role ~ '^[a-z0-9_-]{1,50}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workshop_id, user_id)
);

-- ListWorkshops: the workshops a user is a member of.
CREATE INDEX workshop_members_user_idx ON workshop_members (user_id, workshop_id);

CREATE TABLE workshop_steps (
    workshop_id  uuid NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    step_id      text NOT NULL REFERENCES step_definitions (id) ON DELETE RESTRICT,
    status       text NOT NULL DEFAULT 'not_started'
        CHECK (status IN ('not_started', 'in_progress', 'complete')),
    skipped      boolean NOT NULL DEFAULT false,
    -- Overwritten on every edit; no revision history by design.
    output       jsonb CHECK (output IS NULL OR jsonb_typeof(output) = 'object'),
    started_at   timestamptz,
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workshop_id, step_id),
    CONSTRAINT workshop_steps_completed_at
        CHECK ((status = 'complete') = (completed_at IS NOT NULL)),
    CONSTRAINT workshop_steps_skipped_is_complete CHECK (NOT skipped OR status = 'complete')
);

CREATE INDEX workshop_steps_step_idx ON workshop_steps (step_id);

CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    workshop_id      uuid NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    user_id          text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
    started_at       timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    CONSTRAINT sessions_activity_order CHECK (last_activity_at >= started_at),
    CONSTRAINT sessions_end_order CHECK (ended_at IS NULL OR ended_at >= started_at)
);

-- ListSessions, newest first; also serves the workshop foreign key.
CREATE INDEX sessions_workshop_idx ON sessions (workshop_id, started_at DESC, id DESC);
-- "The user's open session in this workshop", looked up on every step change.
CREATE INDEX sessions_open_idx ON sessions (workshop_id, user_id) WHERE ended_at IS NULL;

CREATE TABLE build_packs (
    id             uuid PRIMARY KEY,
    workshop_id    uuid NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    format         text NOT NULL CHECK (format IN ('markdown', 'json', 'pdf')),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'ready', 'failed')),
    object_key     text CHECK (char_length(object_key) BETWEEN 1 AND 1024),
    sha256         text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes     bigint CHECK (size_bytes >= 0),
    failure_reason text CHECK (char_length(failure_reason) <= 2000),
    created_by     text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 200),
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    CONSTRAINT build_packs_ready_has_content CHECK (
        (status = 'ready') = (object_key IS NOT NULL AND sha256 IS NOT NULL AND size_bytes IS NOT NULL)
    ),
    CONSTRAINT build_packs_failed_has_reason CHECK ((status = 'failed') = (failure_reason IS NOT NULL)),
    CONSTRAINT build_packs_finished CHECK ((status = 'pending') = (finished_at IS NULL))
);

-- ListBuildPacks, newest first; also serves the workshop foreign key.
CREATE INDEX build_packs_workshop_idx ON build_packs (workshop_id, created_at DESC, id DESC);

-- The ten steps, upserted so that re-running (or a later corrective
-- migration) updates the text instead of failing or duplicating rows.
INSERT INTO step_definitions (id, position, name, description, prompt_template) VALUES
    ('empathize', 1, 'Empathize',
     'Understand the people who have the problem: who they are, what they do, what hurts.',
     'Describe the people affected by "{{original_idea}}": their goals, their current workarounds and their frustrations.'),
    ('define', 2, 'Define',
     'State the problem worth solving as one clear, user-centred problem statement.',
     'From the empathy findings, write one problem statement: "<user> needs <need> because <insight>".'),
    ('ideate', 3, 'Ideate',
     'Generate many possible solutions before choosing any.',
     'List at least ten different ways to solve the problem statement, including unusual ones.'),
    ('prototype', 4, 'Prototype',
     'Sketch the most promising ideas cheaply enough to throw away.',
     'Pick the strongest ideas and describe the smallest prototype that would show whether each works.'),
    ('test', 5, 'Test',
     'Put the prototypes in front of users and learn what holds up.',
     'Describe how to test each prototype with real users, what to observe and what result would change the plan.'),
    ('prioritize', 6, 'Prioritize',
     'Decide what to build first from what the tests taught.',
     'Rank the candidate features by value and effort and name what is in and out of the first release.'),
    ('architect', 7, 'Architect',
     'Outline the system that delivers the chosen scope.',
     'Describe the components, data and integrations the first release needs, and the main risks.'),
    ('spec', 8, 'Spec',
     'Write the specification a team can build from.',
     'Write the functional requirements, acceptance criteria and non-functional constraints.'),
    ('story', 9, 'Story',
     'Break the specification into user stories.',
     'Write user stories ("As a <user> I want <goal> so that <benefit>") with acceptance criteria.'),
    ('pack', 10, 'Pack',
     'Assemble everything into a build pack to hand over.',
     'Summarise the workshop into a build pack: problem, solution, scope, architecture, spec and stories.')
ON CONFLICT (id) DO UPDATE SET
    position        = EXCLUDED.position,
    name            = EXCLUDED.name,
    description     = EXCLUDED.description,
    prompt_template = EXCLUDED.prompt_template,
    updated_at      = now();
