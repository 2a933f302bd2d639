//! Ratings: one per (skill, user); rating again replaces the earlier one.
//! Every change enqueues a `rating.changed` event, from which the worker
//! recomputes the skill's rating aggregates.

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::UserId;
use crate::keyset::{self, Direction, KeyTime};
use crate::registry::error::{RegistryError, RegistryResult};
use crate::registry::events::RatingChanged;
use crate::resources;
use crate::schema::ratings;

/// A stored rating.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ratings, check_for_backend(diesel::pg::Pg))]
pub struct Rating {
    pub skill_id: Uuid,
    pub user_id: String,
    pub stars: i16,
    pub comment: Option<String>,
    pub hours_saved_estimate: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A user's rating of a skill, as RateSkill sends it (already validated).
#[derive(Debug, Insertable)]
#[diesel(table_name = ratings, check_for_backend(diesel::pg::Pg))]
pub struct NewRating {
    pub skill_id: Uuid,
    pub user_id: String,
    pub stars: i16,
    pub comment: Option<String>,
    pub hours_saved_estimate: Option<i32>,
}

impl NewRating {
    /// Stores the rating, replacing the user's earlier one, and enqueues a
    /// `rating.changed` event. The caller has checked that the skill exists.
    pub async fn save(self, conn: &mut AsyncPgConnection) -> RegistryResult<Rating> {
        let rating = diesel::insert_into(ratings::table)
            .values(&self)
            .on_conflict((ratings::skill_id, ratings::user_id))
            .do_update()
            .set((
                ratings::stars.eq(excluded(ratings::stars)),
                ratings::comment.eq(excluded(ratings::comment)),
                ratings::hours_saved_estimate.eq(excluded(ratings::hours_saved_estimate)),
                ratings::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Rating::as_returning())
            .load(conn)
            .await
            .single()?;
        crate::outbox::enqueue_one(conn, self.skill_id, &RatingChanged {}).await?;
        Ok(rating)
    }
}

impl NewRating {
    /// A rating by `user`.
    pub fn new(
        skill_id: Uuid,
        user: &UserId,
        stars: i16,
        comment: Option<String>,
        hours_saved_estimate: Option<i32>,
    ) -> Self {
        Self {
            skill_id,
            user_id: user.as_str().to_owned(),
            stars,
            comment,
            hours_saved_estimate,
        }
    }
}

/// `user`'s rating of skill `skill_id` (NOT_FOUND when they have none).
pub async fn find(
    conn: &mut AsyncPgConnection,
    skill_id: Uuid,
    user: &UserId,
) -> RegistryResult<Rating> {
    ratings::table
        .find((skill_id, user.as_str()))
        .select(Rating::as_select())
        .load(conn)
        .await
        .single_optional()?
        .ok_or_else(|| {
            RegistryError::not_found(resources::RATING, format!("of skill {skill_id} by {user}"))
        })
}

/// Where a page of ratings continues: after the rating last changed at
/// `.0` by user `.1`.
pub type RatingKey = (KeyTime, String);

/// A skill's ratings, most recently changed first, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    skill_id: Uuid,
    limit: i64,
    after: Option<RatingKey>,
) -> RegistryResult<Vec<Rating>> {
    let query = ratings::table
        .filter(ratings::skill_id.eq(skill_id))
        .select(Rating::as_select())
        .into_boxed();
    let columns = (ratings::updated_at, ratings::user_id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}

/// The page key of a rating.
pub fn key_of(rating: &Rating) -> RatingKey {
    (KeyTime::of(rating.updated_at), rating.user_id.clone())
}
