//! The skill counters the outbox worker maintains in the database: usage
//! (`total_uses`) and rating aggregates. They are applied in the transaction
//! that claims their events and deletes them, so each event takes effect
//! exactly once even if the worker dies midway.
//!
//! Both lock the affected skills first, in id order, so workers that touch
//! overlapping skills never deadlock; and both update each skill once per
//! batch however many events it had, so a hot skill costs one row lock per
//! batch instead of one per use.

use std::collections::BTreeMap;

use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A batch of usage events, applied inside PostgreSQL.
#[derive(Debug, Default)]
pub struct UsageClaim {
    /// Events claimed (applied or malformed).
    pub claimed: usize,
    /// Events applied (and deleted).
    pub applied: i64,
    /// Uses to add per skill.
    pub uses: BTreeMap<Uuid, i64>,
    /// Events whose payload is not a positive count, still locked, to park.
    pub malformed: Vec<Uuid>,
    /// A traceparent of a request that caused the uses, per skill that has
    /// one (a sample: one link per skill is enough to find a cause).
    pub causes: Vec<String>,
}

/// One row of the usage claim: a skill's sum, or a malformed event.
#[derive(Debug, diesel::QueryableByName)]
struct UsageClaimRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    skill_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    uses: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    events: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    malformed: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    cause: Option<String>,
}

/// Claims up to a batch of due usage events and deletes the well-formed
/// ones in one statement, returning their uses summed per skill (at most
/// one row per skill, however many events) and the ids of malformed ones.
/// Shipping every event to Rust instead made the drain three times slower.
/// The count must be a plain positive integer of at most nine digits, so
/// the cast cannot fail and a batch's sum cannot overflow; anything else
/// (a missing count too: hence the COALESCE) is malformed.
pub async fn claim_usage(
    conn: &mut AsyncPgConnection,
    batch_size: u32,
) -> diesel::QueryResult<UsageClaim> {
    let rows: Vec<UsageClaimRow> = diesel::sql_query(
        "WITH claimed AS ( \
           SELECT id, COALESCE(payload->>'uses' ~ '^[1-9][0-9]{0,8}$', false) AS well_formed \
           FROM outbox \
           WHERE dead_at IS NULL AND kind = 'usage.recorded' AND available_at <= now() \
           ORDER BY available_at, id \
           LIMIT $1 \
           FOR UPDATE SKIP LOCKED \
         ), applied AS ( \
           DELETE FROM outbox o USING claimed c WHERE o.id = c.id AND c.well_formed \
           RETURNING o.aggregate_id, (o.payload->>'uses')::bigint AS uses, o.trace_parent \
         ) \
         SELECT aggregate_id AS skill_id, sum(uses)::bigint AS uses, count(*) AS events, \
                NULL::uuid AS malformed, min(trace_parent) AS cause \
         FROM applied GROUP BY aggregate_id \
         UNION ALL \
         SELECT NULL, NULL, NULL, id, NULL FROM claimed WHERE NOT well_formed",
    )
    .bind::<BigInt, _>(i64::from(batch_size))
    .load(conn)
    .await?;
    let mut claim = UsageClaim::default();
    for row in rows {
        match (row.skill_id, row.uses, row.events, row.malformed) {
            (Some(skill), Some(uses), Some(events), None) => {
                claim.uses.insert(skill, uses);
                claim.applied += events;
                claim.claimed += usize::try_from(events).unwrap_or(0);
                claim.causes.extend(row.cause);
            }
            (_, _, _, Some(id)) => {
                claim.malformed.push(id);
                claim.claimed += 1;
            }
            _ => {}
        }
    }
    Ok(claim)
}

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
