fn member_input(workshop_id: &str, user_id: &str, role: &str) -> ApiResult<(Uuid, UserId, String)> {
    let mut violations = Violations::new();
    let id = violations.check("workshop_id", crate::ids::id(workshop_id));
    let member = violations.check("user_id", UserId::parse(user_id).map_err(str::to_owned));
    let role = violations.check("role", fields::role(role));
    violations.finish()?;
    match (id, member, role) {
        (Some(id), Some(member), Some(role)) => Ok((id, member, role)),
        _ => Err(ApiError::internal("a checked field is missing")),
    }
}
