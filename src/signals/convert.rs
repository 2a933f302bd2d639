//! The proto form of the Signals rows.

use super::store::projects::Project;
use super::store::workspaces::Workspace;
use crate::membership::Member;
use crate::proto::signals as pb;
use crate::proto::timestamp;

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
