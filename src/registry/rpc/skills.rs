//! Skills: CreateSkill, GetSkill, ListSkills, UpdateSkill, DeleteSkill.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field, gathered};
use crate::error::{ApiError, ApiResult, Violations};
use crate::pagination;
use crate::proto::registry as pb;
use crate::registry::convert::skill_to_proto;
use crate::registry::fields::{self, BoundedText, Category, DESCRIPTION_MAX, NAME_MAX, Slug};
use crate::registry::store::listing::{self, SkillFilter, SkillOrder};
use crate::registry::store::skills::{self, NewSkill, SkillChanges, SkillRef};
use crate::state::AppState;

/// CreateSkill: a new skill, idempotent by request id.
pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateSkillRequest,
) -> ApiResult<pb::CreateSkillResponse> {
    let (slug, name, description, category, hours_saved, request_id) = (
        field("slug", Slug::parse(&req.slug)),
        field("name", BoundedText::parse(&req.name, NAME_MAX)),
        field(
            "description",
            BoundedText::parse(&req.description, DESCRIPTION_MAX),
        ),
        field("category", Category::from_proto(req.category)),
        field(
            "hours_saved",
            fields::hours_saved(req.hours_saved.unwrap_or(1)),
        ),
        field(
            "request_id",
            crate::idempotency::request_id(&req.request_id),
        ),
    )
        .all()?;
    let new = NewSkill::new(
        slug,
        name,
        description,
        category,
        hours_saved,
        &user,
        request_id,
    );
    let mut conn = state.conn().await?;
    let skill = new.save(&mut conn).await?;
    Ok(pb::CreateSkillResponse {
        skill: Some(skill_to_proto(skill)),
    })
}

/// GetSkill: one skill by id or slug.
pub async fn get(state: &AppState, req: pb::GetSkillRequest) -> ApiResult<pb::GetSkillResponse> {
    let skill_ref = skill_ref(req.selector)?;
    let mut conn = state.conn().await?;
    let skill = skills::find(&mut conn, &skill_ref).await?;
    Ok(pb::GetSkillResponse {
        skill: Some(skill_to_proto(skill)),
    })
}

/// ListSkills: filtered, searched and ordered, a keyset page at a time.
pub async fn list(
    state: &AppState,
    req: pb::ListSkillsRequest,
) -> ApiResult<pb::ListSkillsResponse> {
    let category = match req.category {
        0 => Ok(None),
        value => field("category", Category::from_proto(value).map(Some)),
    };
    let author_id = match req.author_id.as_str() {
        "" => Ok(None),
        raw => field(
            "author_id",
            UserId::parse(raw)
                .map(|user| Some(user.as_str().to_owned()))
                .map_err(str::to_owned),
        ),
    };
    let query = field("query", crate::text::search_query(&req.query));
    let searching = matches!(query, Ok(Some(_)));
    let (_, category, author_id, query, order) = (
        field("page_size", pagination::checked_page_size(req.page_size)),
        category,
        author_id,
        query,
        field("order_by", skill_order(req.order_by, searching)),
    )
        .all()?;
    let filter = SkillFilter {
        category,
        author_id,
        query,
    };
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &[
            "skills",
            order.name(),
            filter.category.map(Category::as_db).unwrap_or_default(),
            filter.author_id.as_deref().unwrap_or_default(),
            filter.query.as_deref().unwrap_or_default(),
        ],
    )?;
    let mut conn = state.conn().await?;
    let rows = listing::list(&mut conn, &filter, order, page.after(), page.limit()).await?;
    let (skills, next_page_token) = page.finish(rows, listing::RankedSkill::key, |row| {
        skill_to_proto(row.skill)
    });
    Ok(pb::ListSkillsResponse {
        skills,
        next_page_token,
    })
}

/// UpdateSkill: the masked fields, if the etag still matches.
pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateSkillRequest,
) -> ApiResult<pb::UpdateSkillResponse> {
    let skill = req.skill.unwrap_or_default();
    let mut violations = Violations::new();
    let changes = skill_changes(&skill, req.update_mask.as_ref(), &mut violations);
    let (id, changes) = (
        field("skill.id", crate::ids::id(&skill.id)),
        gathered(violations, changes),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let updated = conn
        .transaction(async |conn| skills::update(conn, id, &user, &skill.etag, changes).await)
        .await?;
    Ok(pb::UpdateSkillResponse {
        skill: Some(skill_to_proto(updated)),
    })
}

/// DeleteSkill: the skill, its versions, ratings and usage; its content
/// is deleted by the worker once nothing references it.
pub async fn delete(
    state: &AppState,
    user: UserId,
    req: pb::DeleteSkillRequest,
) -> ApiResult<pb::DeleteSkillResponse> {
    let id = crate::ids::id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| skills::delete(conn, id, &user, &req.etag).await)
        .await?;
    Ok(pb::DeleteSkillResponse {})
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
    for path in crate::field_mask::paths(mask, UPDATABLE_PATHS, violations) {
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
                changes.category =
                    violations.check("skill.category", Category::from_proto(skill.category));
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
