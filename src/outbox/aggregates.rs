//! The effects that live in the database: a skill's `total_uses` and its
//! rating aggregates. They are applied in the transaction that claimed the
//! events and deletes them, so each event takes effect exactly once even if
//! the worker dies midway.
//!
//! Both lock the affected skills first, in id order, so workers that touch
//! overlapping skills never deadlock; and both update each skill once per
//! batch however many events it had, so a hot skill costs one row lock per
//! batch instead of one per use.

use std::collections::BTreeMap;

use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Locks the skills with these ids (those that still exist), in id order.
/// `FOR NO KEY UPDATE` is the lock the UPDATE itself takes: unlike
/// `FOR UPDATE` it does not conflict with the key-share locks that every
/// RecordUsage and RateSkill insert takes on its skill through the foreign
/// key, so the worker never queues behind (or in front of) the writers.
async fn lock_skills(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT id FROM skills WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind::<Array<SqlUuid>, _>(ids)
        .execute(conn)
        .await
        .map(drop)
}

/// Adds `uses` to each skill's `total_uses`, one UPDATE for the batch. A
/// skill deleted meanwhile simply matches no row.
pub async fn add_uses(
    conn: &mut AsyncPgConnection,
    uses: &BTreeMap<Uuid, i64>,
) -> diesel::QueryResult<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = uses.keys().copied().collect();
    let counts: Vec<i64> = uses.values().copied().collect();
    lock_skills(conn, &ids).await?;
    diesel::sql_query(
        "UPDATE skills SET total_uses = total_uses + d.uses \
         FROM (SELECT unnest($1::uuid[]) AS id, unnest($2::bigint[]) AS uses) AS d \
         WHERE skills.id = d.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<BigInt>, _>(&counts)
    .execute(conn)
    .await
    .map(drop)
}

/// Recomputes `rating_count` and `average_rating` (stars x100, rounded half
/// up: `round` on numeric rounds halves away from zero) of each skill from
/// its ratings.
pub async fn recompute_ratings(
    conn: &mut AsyncPgConnection,
    skills: &[Uuid],
) -> diesel::QueryResult<()> {
    if skills.is_empty() {
        return Ok(());
    }
    let mut ids = skills.to_vec();
    ids.sort_unstable();
    ids.dedup();
    lock_skills(conn, &ids).await?;
    diesel::sql_query(
        "UPDATE skills SET rating_count = agg.ratings, average_rating = agg.average \
         FROM ( \
           SELECT ids.id, count(r.skill_id)::int AS ratings, \
                  COALESCE(round(avg(r.stars) * 100), 0)::int AS average \
           FROM unnest($1::uuid[]) AS ids(id) \
           LEFT JOIN ratings r ON r.skill_id = ids.id \
           GROUP BY ids.id \
         ) AS agg \
         WHERE skills.id = agg.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .execute(conn)
    .await
    .map(drop)
}
