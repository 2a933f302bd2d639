//! Ratings: RateSkill, ListRatings.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field, optional};
use crate::error::ApiResult;
use crate::idempotency::RetryKey;
use crate::proto::registry as pb;
use crate::registry::convert::rating_to_proto;
use crate::registry::fields;
use crate::registry::store::ratings::{self, NewRating};
use crate::registry::store::skills::{self, SkillRef};
use crate::state::AppState;

/// RateSkill: creates or replaces the caller's rating of a skill.
pub async fn rate(
    state: &AppState,
    user: UserId,
    req: pb::RateSkillRequest,
) -> ApiResult<pb::RateSkillResponse> {
    let (skill_id, stars, comment, hours, request_id) = (
        field("skill_id", crate::ids::id(&req.skill_id)),
        field("stars", fields::stars(req.stars)),
        field("comment", fields::comment(&req.comment)),
        optional(
            "hours_saved_estimate",
            req.hours_saved_estimate,
            fields::hours_saved,
        ),
        field(
            "request_id",
            crate::idempotency::request_id(&req.request_id),
        ),
    )
        .all()?;
    let retry = RetryKey::new(
        "RateSkill",
        &user,
        request_id,
        &pb::RateSkillRequest {
            request_id: String::new(),
            ..req
        },
    );
    let mut conn = state.conn().await?;
    let rating = conn
        .transaction(async |conn| {
            skills::find(conn, &SkillRef::Id(skill_id)).await?;
            // A retry answers with the caller's rating as it is now: the
            // first call's, unless they have rated again since.
            if retry.first::<Uuid>(conn).await?.is_some() {
                return Ok(ratings::find(conn, skill_id, &user).await?);
            }
            let rating = NewRating::new(skill_id, &user, stars, comment, hours)
                .save(conn)
                .await?;
            retry.record(conn, skill_id).await?;
            ApiResult::Ok(rating)
        })
        .await?;
    Ok(pb::RateSkillResponse {
        rating: Some(rating_to_proto(rating)),
    })
}

/// ListRatings: a skill's ratings, most recently changed first.
pub async fn list(
    state: &AppState,
    req: pb::ListRatingsRequest,
) -> ApiResult<pb::ListRatingsResponse> {
    let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
    let page =
        state
            .page_tokens
            .request(&req.page_token, req.page_size, &["ratings", &req.skill_id])?;
    let mut conn = state.conn().await?;
    skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
    let rows = ratings::list(&mut conn, skill_id, page.limit(), page.after()).await?;
    let (ratings, next_page_token) = page.finish(rows, ratings::key_of, rating_to_proto);
    Ok(pb::ListRatingsResponse {
        ratings,
        next_page_token,
    })
}
