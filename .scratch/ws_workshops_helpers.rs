/// The changes an UpdateWorkshop request asks for, and the power they need
/// (status and visibility are the owners').
fn workshop_changes(
    input: &pb::WorkshopInfo,
    mask: Option<prost_types::FieldMask>,
) -> ApiResult<(workshops::Changes, Power)> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(ApiError::invalid_field(
            "update_mask",
            "must name the fields to change: title, original_idea, status, visibility",
        ));
    }
    let mut changes = workshops::Changes::default();
    let mut needed = Power::Edit;
    let mut violations = Violations::new();
    for path in &paths {
        match path.as_str() {
            "title" => {
                changes.title = violations.check(
                    "workshop.title",
                    fields::required_text(&input.title, TITLE_MAX),
                );
            }
            "original_idea" => {
                changes.original_idea = violations.check(
                    "workshop.original_idea",
                    fields::required_text(&input.original_idea, IDEA_MAX),
                );
            }
            "status" => {
                needed = Power::Own;
                match fields::Status::from_proto(input.status) {
                    Ok(Some(status)) => changes.status = Some(status),
                    Ok(None) => violations.add("workshop.status", "is required when masked"),
                    Err(why) => violations.add("workshop.status", why),
                }
            }
            "visibility" => {
                needed = Power::Own;
                match pb::Visibility::try_from(input.visibility) {
                    Ok(pb::Visibility::Private) => changes.make_private = true,
                    Ok(pb::Visibility::Shared) => violations.add(
                        "workshop.visibility",
                        "can only be set to PRIVATE here; share with ShareWorkshop, which issues the token",
                    ),
                    _ => violations.add("workshop.visibility", "must be PRIVATE"),
                }
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} cannot be updated; paths: title, original_idea, status, visibility",
                    crate::text::quote(other)
                ),
            ),
        }
    }
    violations.finish()?;
    Ok((changes, needed))
}
