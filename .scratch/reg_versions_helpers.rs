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
