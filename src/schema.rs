// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    build_packs (id) {
        id -> Uuid,
        workshop_id -> Uuid,
        format -> Text,
        status -> Text,
        object_key -> Nullable<Text>,
        sha256 -> Nullable<Text>,
        size_bytes -> Nullable<Int8>,
        failure_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        kind -> Text,
        aggregate_id -> Uuid,
        payload -> Jsonb,
        created_at -> Timestamptz,
        available_at -> Timestamptz,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        dead_at -> Nullable<Timestamptz>,
        trace_parent -> Nullable<Text>,
    }
}

diesel::table! {
    ratings (skill_id, user_id) {
        skill_id -> Uuid,
        user_id -> Text,
        stars -> Int2,
        comment -> Nullable<Text>,
        hours_saved_estimate -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        workshop_id -> Uuid,
        user_id -> Text,
        started_at -> Timestamptz,
        last_activity_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    skill_version_verifications (version_id) {
        version_id -> Uuid,
        state -> Text,
        found_sha256 -> Nullable<Text>,
        verified_at -> Timestamptz,
    }
}

diesel::table! {
    skill_versions (id) {
        id -> Uuid,
        skill_id -> Uuid,
        version -> Int4,
        object_key -> Text,
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        name -> Text,
        description -> Text,
        metadata -> Jsonb,
        created_by -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    skills (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        description -> Text,
        category -> Text,
        author_id -> Text,
        published_version -> Nullable<Int4>,
        draft_version -> Nullable<Int4>,
        hours_saved -> Int4,
        total_uses -> Int8,
        rating_count -> Int4,
        average_rating -> Int4,
        create_request_id -> Nullable<Text>,
        search_document -> Nullable<Tsvector>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    step_definitions (id) {
        id -> Text,
        position -> Int4,
        name -> Text,
        description -> Text,
        prompt_template -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    usage_events (id) {
        id -> Uuid,
        skill_id -> Uuid,
        version -> Nullable<Int4>,
        user_id -> Text,
        tool_name -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workshop_members (workshop_id, user_id) {
        workshop_id -> Uuid,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workshop_steps (workshop_id, step_id) {
        workshop_id -> Uuid,
        step_id -> Text,
        status -> Text,
        skipped -> Bool,
        output -> Nullable<Jsonb>,
        started_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workshops (id) {
        id -> Uuid,
        owner_id -> Text,
        title -> Text,
        original_idea -> Text,
        status -> Text,
        org_id -> Nullable<Text>,
        template_id -> Nullable<Text>,
        visibility -> Text,
        share_token_sha256 -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(build_packs -> workshops (workshop_id));
diesel::joinable!(ratings -> skills (skill_id));
diesel::joinable!(sessions -> workshops (workshop_id));
diesel::joinable!(skill_version_verifications -> skill_versions (version_id));
diesel::joinable!(usage_events -> skills (skill_id));
diesel::joinable!(workshop_members -> workshops (workshop_id));
diesel::joinable!(workshop_steps -> step_definitions (step_id));
diesel::joinable!(workshop_steps -> workshops (workshop_id));

diesel::table! {
    content_scrub (singleton) {
        singleton -> Bool,
        cursor_version_id -> Nullable<Uuid>,
        pass_started_at -> Nullable<Timestamptz>,
        pass_versions -> Int8,
        pass_bytes -> Int8,
        pass_damaged -> Int8,
        last_pass_finished_at -> Nullable<Timestamptz>,
        last_pass_versions -> Int8,
        last_pass_damaged -> Int8,
        swept_objects -> Int8,
        lease_holder -> Nullable<Uuid>,
        leased_until -> Timestamptz,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        secret -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        created_by -> Text,
        embedding_dimension -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workspace_members (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    projects (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        description -> Text,
        status -> Text,
        signal_count -> Int8,
        critical_count -> Int8,
        high_count -> Int8,
        medium_count -> Int8,
        low_count -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    signals (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        verbatim -> Text,
        interpretation -> Text,
        severity -> Nullable<Text>,
        frequency -> Nullable<Text>,
        user_segment -> Text,
        source -> Text,
        source_ref -> Nullable<Text>,
        source_metadata -> Jsonb,
        status -> Text,
        embedding -> Nullable<Array<Float4>>,
        embedding_dimension -> Nullable<Int4>,
        ai_classification -> Nullable<Jsonb>,
        inbox_item_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
        search_document -> Nullable<Tsvector>,
    }
}

diesel::table! {
    signal_projects (signal_id, project_id) {
        workspace_id -> Uuid,
        signal_id -> Uuid,
        project_id -> Uuid,
        linked_at -> Timestamptz,
        linked_by -> Text,
        link_reason -> Text,
        confidence -> Nullable<Float8>,
    }
}

diesel::table! {
    signal_personas (signal_id, persona_id) {
        workspace_id -> Uuid,
        signal_id -> Uuid,
        persona_id -> Text,
        linked_at -> Timestamptz,
        linked_by -> Text,
        link_reason -> Text,
        confidence -> Nullable<Float8>,
    }
}

diesel::table! {
    request_ids (user_id, method, request_id) {
        user_id -> Text,
        method -> Text,
        request_id -> Text,
        resource -> Text,
        fingerprint -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(projects -> workspaces (workspace_id));
diesel::joinable!(signals -> workspaces (workspace_id));
diesel::joinable!(workspace_members -> workspaces (workspace_id));

diesel::allow_tables_to_appear_in_same_query!(
    build_packs,
    content_scrub,
    outbox,
    projects,
    ratings,
    request_ids,
    server_secrets,
    sessions,
    signal_personas,
    signal_projects,
    signals,
    skill_version_verifications,
    skill_versions,
    skills,
    step_definitions,
    usage_events,
    workshop_members,
    workshop_steps,
    workshops,
    workspace_members,
    workspaces,
);
