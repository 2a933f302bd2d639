//! The proto form of the Signals rows.

use super::fields::{Frequency, Severity};
use super::store::links::{LinkedSignal, PersonaLink, ProjectLink};
use super::store::projects::Project;
use super::store::signals::Signal;
use super::store::workspaces::Workspace;
use crate::membership::Member;
use crate::proto::signals as pb;
use crate::proto::{json_object_to_struct, timestamp};

pub fn workspace_to_proto(w: Workspace) -> pb::Workspace {
    let etag = w.etag();
    pb::Workspace {
        id: w.id.to_string(),
        name: w.name,
        created_by: w.created_by,
        embedding_dimension: w.embedding_dimension.unwrap_or_default(),
        etag,
        create_time: Some(timestamp(w.created_at)),
        update_time: Some(timestamp(w.updated_at)),
    }
}

pub fn member_to_proto(m: Member) -> pb::WorkspaceMember {
    pb::WorkspaceMember {
        etag: m.etag(),
        workspace_id: m.parent_id.to_string(),
        user_id: m.user_id,
        role: m.role.as_str().to_owned(),
        create_time: Some(timestamp(m.created_at)),
        update_time: Some(timestamp(m.updated_at)),
    }
}

pub fn project_to_proto(p: Project) -> pb::Project {
    let etag = p.etag();
    pb::Project {
        id: p.id.to_string(),
        workspace_id: p.workspace_id.to_string(),
        name: p.name,
        description: p.description,
        status: p.status.to_proto().into(),
        signal_count: p.signal_count,
        critical_count: p.critical_count,
        high_count: p.high_count,
        medium_count: p.medium_count,
        low_count: p.low_count,
        etag,
        create_time: Some(timestamp(p.created_at)),
        update_time: Some(timestamp(p.updated_at)),
    }
}

pub fn signal_to_proto(s: Signal) -> pb::Signal {
    let etag = s.etag();
    pb::Signal {
        id: s.id.to_string(),
        workspace_id: s.workspace_id.to_string(),
        verbatim: s.verbatim,
        interpretation: s.interpretation,
        severity: s
            .severity
            .map_or(pb::Severity::Unspecified, Severity::to_proto)
            .into(),
        frequency: s
            .frequency
            .map_or(pb::Frequency::Unspecified, Frequency::to_proto)
            .into(),
        user_segment: s.user_segment,
        source: s.source.to_proto().into(),
        source_ref: s.source_ref.unwrap_or_default(),
        source_metadata: object_to_struct(s.source_metadata),
        status: s.status.to_proto().into(),
        embedding: s.embedding.unwrap_or_default(),
        embedding_dimension: s.embedding_dimension.unwrap_or_default(),
        ai_classification: s.ai_classification.and_then(object_to_struct),
        inbox_item_id: s.inbox_item_id.unwrap_or_default(),
        etag,
        create_time: Some(timestamp(s.created_at)),
        update_time: Some(timestamp(s.updated_at)),
        process_time: s.processed_at.map(timestamp),
    }
}

pub fn project_link_to_proto(l: ProjectLink) -> pb::ProjectLink {
    pb::ProjectLink {
        signal_id: l.signal_id.to_string(),
        project_id: l.project_id.to_string(),
        linked_by: l.linked_by,
        link_reason: l.link_reason,
        confidence: l.confidence,
        link_time: Some(timestamp(l.linked_at)),
    }
}

pub fn persona_link_to_proto(l: PersonaLink) -> pb::PersonaLink {
    pb::PersonaLink {
        signal_id: l.signal_id.to_string(),
        persona_id: l.persona_id,
        linked_by: l.linked_by,
        link_reason: l.link_reason,
        confidence: l.confidence,
        link_time: Some(timestamp(l.linked_at)),
    }
}

pub fn linked_signal_to_proto(l: LinkedSignal) -> pb::LinkedSignal {
    pb::LinkedSignal {
        signal: Some(signal_to_proto(l.signal)),
        link_time: Some(timestamp(l.linked_at)),
        link_reason: l.link_reason,
        confidence: l.confidence,
    }
}

/// A stored JSON object as a Struct (the CHECK constraints guarantee an
/// object; anything else would be dropped, not invented).
fn object_to_struct(value: serde_json::Value) -> Option<prost_types::Struct> {
    match value {
        serde_json::Value::Object(map) => Some(json_object_to_struct(map)),
        _ => None,
    }
}
