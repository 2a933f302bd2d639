//! The proto form of the registry's rows.

use super::store::ratings::Rating;
use super::store::skills::Skill;
use super::store::usage::Usage;
use super::store::versions::{Verdict, VersionView};
use crate::proto::registry as pb;
use crate::proto::timestamp;

/// The proto form of a skill.
pub fn skill_to_proto(skill: Skill) -> pb::Skill {
    let etag = skill.etag();
    pb::Skill {
        id: skill.id.to_string(),
        slug: skill.slug,
        name: skill.name,
        description: skill.description,
        category: skill.category.to_proto().into(),
        author_id: skill.author_id,
        published_version: skill.published_version.and_then(|v| u32::try_from(v).ok()),
        draft_version: skill.draft_version.and_then(|v| u32::try_from(v).ok()),
        hours_saved: skill.hours_saved,
        total_uses: skill.total_uses,
        rating_count: skill.rating_count,
        average_rating_x100: skill.average_rating,
        etag,
        create_time: Some(timestamp(skill.created_at)),
        update_time: Some(timestamp(skill.updated_at)),
    }
}

/// The proto form of a rating.
pub fn rating_to_proto(rating: Rating) -> pb::Rating {
    pb::Rating {
        skill_id: rating.skill_id.to_string(),
        user_id: rating.user_id,
        stars: i32::from(rating.stars),
        comment: rating.comment.unwrap_or_default(),
        hours_saved_estimate: rating.hours_saved_estimate,
        create_time: Some(timestamp(rating.created_at)),
        update_time: Some(timestamp(rating.updated_at)),
    }
}

/// The proto form of a recorded use.
pub fn usage_to_proto(usage: Usage) -> pb::UsageEvent {
    pb::UsageEvent {
        id: usage.id.to_string(),
        skill_id: usage.skill_id.to_string(),
        version: usage.version.and_then(|v| u32::try_from(v).ok()),
        user_id: usage.user_id,
        tool_name: usage.tool_name,
        request_id: usage.request_id.unwrap_or_default(),
        create_time: Some(timestamp(usage.created_at)),
    }
}

/// The proto form of a version.
pub fn version_to_proto(view: VersionView) -> pb::SkillVersion {
    let VersionView {
        version,
        verification,
    } = view;
    let (state, found_sha256, verify_time) = match verification {
        None => (pb::VerificationState::Pending, String::new(), None),
        Some(v) => {
            let state = match v.state {
                Verdict::Verified => pb::VerificationState::Verified,
                Verdict::Mismatch => pb::VerificationState::Mismatch,
                Verdict::Missing => pb::VerificationState::Missing,
            };
            (
                state,
                v.found_sha256.unwrap_or_default(),
                Some(timestamp(v.verified_at)),
            )
        }
    };
    let metadata = match version.metadata {
        serde_json::Value::Object(map) => Some(crate::proto::json_object_to_struct(map)),
        _ => None,
    };
    pb::SkillVersion {
        skill_id: version.skill_id.to_string(),
        version: u32::try_from(version.version).unwrap_or_default(),
        sha256: version.sha256,
        content_type: version.content_type,
        size_bytes: version.size_bytes,
        name: version.name,
        description: version.description,
        metadata,
        created_by: version.created_by,
        create_time: Some(timestamp(version.created_at)),
        verification_state: state.into(),
        found_sha256,
        verify_time,
    }
}
