-- Signals: product feedback per workspace, linked to the projects it
-- informs and the personas it comes from. See DESIGN.md "Data model".

CREATE TABLE workspaces (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_by          text NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 200),
    -- The dimension of the first embedding written in the workspace; every
    -- later one must match it (vectors of different models do not compare).
    embedding_dimension integer CHECK (embedding_dimension BETWEEN 1 AND 4096),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_members (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      text NOT NULL CHECK (char_length(user_id) BETWEEN 1 AND 200),
    -- Text, as in workshop_members: owner, editor and viewer have powers;
    -- any other role reads only.
    role         text NOT NULL CHECK (role ~ '^[a-z0-9_-]{1,50}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, user_id)
);

-- ListWorkspaces: the workspaces a user is a member of.
CREATE INDEX workspace_members_user_idx ON workspace_members (user_id, workspace_id);

CREATE TABLE projects (
    id             uuid PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    description    text NOT NULL DEFAULT '' CHECK (char_length(description) <= 4000),
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    -- Denormalized counts of linked signals, recomputed by the outbox worker
    -- from signal_projects after every change that can move them.
    signal_count   bigint NOT NULL DEFAULT 0 CHECK (signal_count >= 0),
    critical_count bigint NOT NULL DEFAULT 0 CHECK (critical_count >= 0),
    high_count     bigint NOT NULL DEFAULT 0 CHECK (high_count >= 0),
    medium_count   bigint NOT NULL DEFAULT 0 CHECK (medium_count >= 0),
    low_count      bigint NOT NULL DEFAULT 0 CHECK (low_count >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_name_key UNIQUE (workspace_id, name),
    -- The target of the links' composite foreign key.
    CONSTRAINT projects_workspace_id_key UNIQUE (workspace_id, id)
);

-- ListProjects, newest first (the unique keys above serve the foreign key).
CREATE INDEX projects_workspace_idx ON projects (workspace_id, created_at DESC, id DESC);

CREATE TABLE signals (
    id                  uuid PRIMARY KEY,
    workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    verbatim            text NOT NULL CHECK (char_length(verbatim) BETWEEN 1 AND 20000),
    interpretation      text NOT NULL DEFAULT '' CHECK (char_length(interpretation) <= 20000),
    severity            text CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    frequency           text CHECK (frequency IN ('common', 'occasional', 'rare')),
    user_segment        text NOT NULL DEFAULT '' CHECK (char_length(user_segment) <= 200),
    -- Named, so adding a source is one migration line: drop it and add it
    -- again with the new word.
    source              text NOT NULL CONSTRAINT signals_source_check CHECK (source IN (
        'webhook', 'upload', 'paste', 'video', 'slack', 'pylon', 'email', 'interview', 'other'
    )),
    source_ref          text CHECK (char_length(source_ref) BETWEEN 1 AND 500),
    source_metadata     jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(source_metadata) = 'object'),
    status              text NOT NULL DEFAULT 'new'
        CHECK (status IN ('new', 'reviewed', 'linked', 'archived')),
    embedding           real[],
    embedding_dimension integer CHECK (embedding_dimension BETWEEN 1 AND 4096),
    ai_classification   jsonb CHECK (jsonb_typeof(ai_classification) = 'object'),
    inbox_item_id       text CHECK (char_length(inbox_item_id) BETWEEN 1 AND 200),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Set when an embedding or a classification is written.
    processed_at        timestamptz,
    search_document     tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, verbatim), 'A')
        || setweight(to_tsvector('english'::regconfig, interpretation), 'B')
    ) STORED,
    CONSTRAINT signals_embedding_has_dimension CHECK (
        (embedding IS NULL) = (embedding_dimension IS NULL)
        AND (embedding IS NULL
             OR (array_ndims(embedding) = 1 AND cardinality(embedding) = embedding_dimension))
    ),
    -- The target of the links' composite foreign keys.
    CONSTRAINT signals_workspace_id_key UNIQUE (workspace_id, id)
);

-- Idempotent ingestion: a source's delivery of one item is one signal.
CREATE UNIQUE INDEX signals_source_ref_key
    ON signals (workspace_id, source, source_ref) WHERE source_ref IS NOT NULL;
-- ListSignals: newest first, optionally by status or by source.
CREATE INDEX signals_newest_idx ON signals (workspace_id, created_at DESC, id DESC);
CREATE INDEX signals_status_idx ON signals (workspace_id, status, created_at DESC, id DESC);
CREATE INDEX signals_source_idx ON signals (workspace_id, source, created_at DESC, id DESC);
CREATE INDEX signals_search_idx ON signals USING gin (search_document);

CREATE TABLE signal_projects (
    workspace_id uuid NOT NULL,
    signal_id    uuid NOT NULL,
    project_id   uuid NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    linked_by    text NOT NULL CHECK (char_length(linked_by) BETWEEN 1 AND 200),
    link_reason  text NOT NULL DEFAULT '' CHECK (char_length(link_reason) <= 2000),
    confidence   double precision CHECK (confidence BETWEEN 0 AND 1),
    PRIMARY KEY (signal_id, project_id),
    -- Both ends in the link's workspace: a link across workspaces cannot
    -- exist, whatever the code does.
    FOREIGN KEY (workspace_id, signal_id) REFERENCES signals (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, id) ON DELETE CASCADE
);

-- A project's signals, newest link first; also serves the project key.
CREATE INDEX signal_projects_project_idx
    ON signal_projects (workspace_id, project_id, linked_at DESC, signal_id DESC);
CREATE INDEX signal_projects_signal_idx ON signal_projects (workspace_id, signal_id);

CREATE TABLE signal_personas (
    workspace_id uuid NOT NULL,
    signal_id    uuid NOT NULL,
    -- The caller's own persona id: plain text, no table of ours.
    persona_id   text NOT NULL CHECK (char_length(persona_id) BETWEEN 1 AND 200),
    linked_at    timestamptz NOT NULL DEFAULT now(),
    linked_by    text NOT NULL CHECK (char_length(linked_by) BETWEEN 1 AND 200),
    link_reason  text NOT NULL DEFAULT '' CHECK (char_length(link_reason) <= 2000),
    confidence   double precision CHECK (confidence BETWEEN 0 AND 1),
    PRIMARY KEY (signal_id, persona_id),
    FOREIGN KEY (workspace_id, signal_id) REFERENCES signals (workspace_id, id) ON DELETE CASCADE
);

-- A persona's signals in a workspace, newest link first; also serves the
-- signal key.
CREATE INDEX signal_personas_persona_idx
    ON signal_personas (workspace_id, persona_id, linked_at DESC, signal_id DESC);
CREATE INDEX signal_personas_signal_idx ON signal_personas (workspace_id, signal_id);
