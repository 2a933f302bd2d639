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
