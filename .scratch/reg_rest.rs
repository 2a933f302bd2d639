

/// The skill id and version number a request names.
fn version_ref(skill_id: &str, version: u32) -> ApiResult<(uuid::Uuid, i32)> {
    let mut violations = Violations::new();
    let skill_id = violations.check("skill_id", crate::ids::id(skill_id));
    let version = violations.check("version", fields::version(version));
    violations.finish()?;
    skill_id
        .zip(version)
        .ok_or_else(|| ApiError::internal("a checked field is missing"))
}

/// The order a ListSkills request asks for.
fn skill_order(value: i32, searching: bool) -> Result<SkillOrder, String> {
    match pb::SkillOrder::try_from(value) {
        Ok(pb::SkillOrder::Unspecified) if searching => Ok(SkillOrder::Relevance),
        Ok(pb::SkillOrder::Unspecified) => Ok(SkillOrder::Newest),
        Ok(pb::SkillOrder::Relevance) if searching => Ok(SkillOrder::Relevance),
        Ok(pb::SkillOrder::Relevance) => Err("RELEVANCE needs a query".to_owned()),
        Ok(pb::SkillOrder::MostUsed) => Ok(SkillOrder::MostUsed),
        Ok(pb::SkillOrder::TopRated) => Ok(SkillOrder::TopRated),
        Ok(pb::SkillOrder::Newest) => Ok(SkillOrder::Newest),
        Err(_) => Err(format!("{value} is not a known order")),
    }
}

/// Most usages one BatchRecordUsage may carry.
pub const MAX_BATCH_USAGES: usize = 500;

/// Parses one RecordUsage request (alone, or entry `prefix` of a batch).
fn usage_input(
    req: pb::RecordUsageRequest,
    prefix: &str,
    violations: &mut Violations,
) -> Option<UsageInput> {
    use pb::record_usage_request::Skill as Which;
    let skill = match req.skill {
        Some(Which::SkillId(raw)) => violations.check(
            &format!("{prefix}skill_id"),
            crate::ids::id(&raw).map(SkillRef::Id),
        ),
        Some(Which::SkillSlug(raw)) => violations.check(
            &format!("{prefix}skill_slug"),
            Slug::parse(&raw).map(SkillRef::Slug),
        ),
        None => {
            violations.add(
                format!("{prefix}skill"),
                "set either skill_id or skill_slug",
            );
            None
        }
    };
    let version = match req.version {
        Some(version) => violations
            .check(&format!("{prefix}version"), fields::version(version))
            .map(Some),
        None => Some(None),
    };
    let tool_name = violations.check(
        &format!("{prefix}tool_name"),
        fields::tool_name(&req.tool_name),
    );
    let request_id = violations.check(
        &format!("{prefix}request_id"),
        fields::request_id(&req.request_id),
    );
    Some(UsageInput {
        skill: skill?,
        version: version?,
        tool_name: tool_name?,
        request_id: request_id?,
        field_prefix: prefix.to_owned(),
    })
}

/// The skill a `GetSkill` selector names.
fn skill_ref(selector: Option<pb::get_skill_request::Selector>) -> ApiResult<SkillRef> {
    use pb::get_skill_request::Selector;
    match selector {
        Some(Selector::Id(raw)) => crate::ids::id_field("id", &raw).map(SkillRef::Id),
        Some(Selector::Slug(raw)) => Slug::parse(&raw)
            .map(SkillRef::Slug)
            .map_err(|problem| ApiError::invalid_field("slug", problem)),
        None => Err(ApiError::invalid_field("selector", "set either id or slug")),
    }
}

/// The mask paths UpdateSkill accepts.
const UPDATABLE_PATHS: &[&str] = &["name", "description", "category", "hours_saved"];
/// Fields of Skill that exist but cannot be changed through UpdateSkill.
const IMMUTABLE_PATHS: &[&str] = &[
    "id",
    "slug",
    "author_id",
    "published_version",
    "draft_version",
    "total_uses",
    "rating_count",
    "average_rating_x100",
    "etag",
    "create_time",
    "update_time",
];

/// The changes an UpdateSkill request asks for, checking the mask and
/// every masked value.
fn skill_changes(
    skill: &pb::Skill,
    mask: Option<&prost_types::FieldMask>,
    violations: &mut Violations,
) -> SkillChanges {
    let mut changes = SkillChanges::default();
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            format!("name at least one of {}", UPDATABLE_PATHS.join(", ")),
        );
    }
    for path in paths {
        match path.as_str() {
            "name" => {
                changes.name = violations
                    .check("skill.name", BoundedText::parse(&skill.name, NAME_MAX))
                    .map(BoundedText::into_string);
            }
            "description" => {
                changes.description = violations
                    .check(
                        "skill.description",
                        BoundedText::parse(&skill.description, DESCRIPTION_MAX),
                    )
                    .map(BoundedText::into_string);
            }
            "category" => {
                changes.category = violations
                    .check("skill.category", Category::from_proto(skill.category))
                    .map(Category::as_db);
            }
            "hours_saved" => {
                changes.hours_saved =
                    violations.check("skill.hours_saved", fields::hours_saved(skill.hours_saved));
            }
            other if IMMUTABLE_PATHS.contains(&other) => {
                violations.add(
                    "update_mask",
                    format!("{other} cannot be changed with UpdateSkill"),
                );
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} is not a field of Skill; use {}",
                    crate::text::quote(other),
                    UPDATABLE_PATHS.join(", ")
                ),
            ),
        }
    }
    changes
}

/// The proto form of a skill.
pub fn skill_to_proto(skill: Skill) -> pb::Skill {
    let etag = skill.etag();
    let category = Category::from_db(&skill.category)
        .map_or(pb::SkillCategory::Unspecified, Category::to_proto);
    pb::Skill {
        id: skill.id.to_string(),
        slug: skill.slug,
        name: skill.name,
        description: skill.description,
        category: category.into(),
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
fn rating_to_proto(rating: Rating) -> pb::Rating {
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
fn usage_to_proto(usage: Usage) -> pb::UsageEvent {
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
fn version_to_proto(view: VersionView) -> pb::SkillVersion {
    let VersionView {
        version,
        verification,
    } = view;
    let (state, found_sha256, verify_time) = match verification {
        None => (pb::VerificationState::Pending, String::new(), None),
        Some(v) => {
            let state = match v.state.as_str() {
                "verified" => pb::VerificationState::Verified,
                "mismatch" => pb::VerificationState::Mismatch,
                "missing" => pb::VerificationState::Missing,
                _ => pb::VerificationState::Unspecified,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever paths a mask names, the answer is a change or an
        /// INVALID_ARGUMENT of bounded size naming `update_mask` — never a
        /// panic, never an echo of megabytes.
        #[test]
        fn any_field_mask_is_a_change_or_a_short_refusal(
            paths in proptest::collection::vec(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("description".to_owned()),
                    Just("slug".to_owned()),
                    Just("hours_saved".to_owned()),
                    "\\PC{0,3000}",
                ],
                0..200,
            ),
        ) {
            let skill = pb::Skill {
                name: "A name".to_owned(),
                description: "A description".to_owned(),
                hours_saved: 2,
                ..pb::Skill::default()
            };
            let mask = prost_types::FieldMask { paths: paths.clone() };
            let mut violations = Violations::new();
            skill_changes(&skill, Some(&mask), &mut violations);
            match violations.finish() {
                Ok(()) => prop_assert!(paths.iter().all(|p| UPDATABLE_PATHS.contains(&p.as_str()))),
                Err(error) => {
                    prop_assert_eq!(error.code, tonic::Code::InvalidArgument);
                    prop_assert!(error.violations.len() <= crate::error::MAX_VIOLATIONS + 1);
                    let size: usize = error.violations.iter().map(|v| v.description.len()).sum();
                    prop_assert!(size < 16 * 1024, "{size} bytes of violations");
                }
            }
        }
    }
}
