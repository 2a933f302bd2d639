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
