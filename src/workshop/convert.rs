//! The proto form of the Workshop's rows.

use super::store::workshops::{Progress, Workshop};
use super::store::{build_packs, members, sessions, steps};
use crate::proto::workshop as pb;
use crate::proto::{json_object_to_struct, timestamp};

pub fn workshop_to_proto(w: Workshop, progress: &Progress) -> pb::WorkshopInfo {
    let etag = w.etag();
    pb::WorkshopInfo {
        id: w.id.to_string(),
        owner_id: w.owner_id,
        title: w.title,
        original_idea: w.original_idea,
        status: w.status.to_proto().into(),
        org_id: w.org_id.unwrap_or_default(),
        template_id: w.template_id.unwrap_or_default(),
        visibility: w.visibility.to_proto().into(),
        current_step_id: progress.current_step_id.clone().unwrap_or_default(),
        completed_step_count: progress.completed,
        total_step_count: progress.total,
        etag,
        create_time: Some(timestamp(w.created_at)),
        update_time: Some(timestamp(w.updated_at)),
    }
}

pub fn step_to_proto(step: steps::Step) -> pb::WorkshopStep {
    pb::WorkshopStep {
        workshop_id: step.workshop_id.to_string(),
        step_id: step.step_id,
        position: step.position,
        name: step.name,
        status: step.status.to_proto().into(),
        skipped: step.skipped,
        output: match step.output {
            Some(serde_json::Value::Object(map)) => Some(json_object_to_struct(map)),
            _ => None,
        },
        start_time: step.started_at.map(timestamp),
        complete_time: step.completed_at.map(timestamp),
        update_time: Some(timestamp(step.updated_at)),
        etag: crate::etag::of(step.updated_at),
    }
}

pub fn member_to_proto(m: members::Member) -> pb::Member {
    pb::Member {
        etag: m.etag(),
        workshop_id: m.parent_id.to_string(),
        user_id: m.user_id,
        role: m.role.as_str().to_owned(),
        create_time: Some(timestamp(m.created_at)),
        update_time: Some(timestamp(m.updated_at)),
    }
}

pub fn session_to_proto(s: sessions::Session) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        workshop_id: s.workshop_id.to_string(),
        user_id: s.user_id,
        start_time: Some(timestamp(s.started_at)),
        last_activity_time: Some(timestamp(s.last_activity_at)),
        end_time: s.ended_at.map(timestamp),
    }
}

pub fn pack_to_proto(p: build_packs::BuildPack) -> pb::BuildPack {
    pb::BuildPack {
        id: p.id.to_string(),
        workshop_id: p.workshop_id.to_string(),
        format: p.format.to_proto().into(),
        status: p.status.to_proto().into(),
        sha256: p.sha256.unwrap_or_default(),
        size_bytes: p.size_bytes.unwrap_or_default(),
        failure_reason: p.failure_reason.unwrap_or_default(),
        created_by: p.created_by,
        create_time: Some(timestamp(p.created_at)),
        finish_time: p.finished_at.map(timestamp),
    }
}
