//! Usage: each recorded use of a skill is a row and, per skill, a
//! `usage.recorded` outbox event in the same transaction; the worker turns
//! the events into the skill's `total_uses`. An idempotency key makes a
//! retried record a no-op that returns the first record.
//!
//! For benchmarks only, [`UsageCounters::Synchronous`] updates
//! `total_uses` here instead, inside the caller's transaction: the naive
//! design whose row-lock queue the outbox exists to avoid.

use crate::db::rows::SingleRow as _;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::skills::{self, SkillRef};
use crate::auth::UserId;
use crate::config::UsageCounters;
use crate::outbox::NewEvent;
use crate::registry::error::{RegistryError, RegistryResult};
use crate::registry::events::UsageRecorded;
use crate::resources;
use crate::schema::{skill_versions, skills as skills_table, usage_events};

/// A stored use.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = usage_events, check_for_backend(diesel::pg::Pg))]
pub struct Usage {
    pub id: Uuid,
    pub skill_id: Uuid,
    pub version: Option<i32>,
    pub user_id: String,
    pub tool_name: String,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One use to record, validated.
#[derive(Debug, Clone)]
pub struct UsageInput {
    /// The skill, by id or slug.
    pub skill: SkillRef,
    /// The version used, if the caller named one.
    pub version: Option<i32>,
    /// The tool that used it (may be empty).
    pub tool_name: String,
    /// The caller's idempotency key.
    pub request_id: Option<String>,
    /// Where this input sits in the request, for error details (`""` for
    /// RecordUsage, `usages[3].` for BatchRecordUsage).
    pub field_prefix: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = usage_events, check_for_backend(diesel::pg::Pg))]
struct NewUsage {
    id: Uuid,
    skill_id: Uuid,
    version: Option<i32>,
    user_id: String,
    tool_name: String,
    request_id: Option<String>,
}

/// Records `inputs` for `user`, all or nothing (the caller runs this in one
/// transaction), and returns the records in input order: for an input whose
/// idempotency key was seen before, the earlier record.
pub async fn record(
    conn: &mut AsyncPgConnection,
    counters: UsageCounters,
    user: &UserId,
    inputs: &[UsageInput],
) -> RegistryResult<Vec<Usage>> {
    let rows = resolve(conn, user, inputs).await?;
    let inserted: Vec<Usage> = diesel::insert_into(usage_events::table)
        .values(&rows)
        .on_conflict((usage_events::user_id, usage_events::request_id))
        .filter_target(usage_events::request_id.is_not_null())
        .do_nothing()
        .returning(Usage::as_returning())
        .get_results(conn)
        .await?;

    // Counting only the uses that were new; in id order, so concurrent
    // synchronous updates lock skills in one order.
    let mut uses_per_skill: BTreeMap<Uuid, i64> = BTreeMap::new();
    for usage in &inserted {
        *uses_per_skill.entry(usage.skill_id).or_default() += 1;
    }
    match counters {
        UsageCounters::Outbox => enqueue_uses(conn, uses_per_skill).await?,
        UsageCounters::Synchronous => add_uses_now(conn, uses_per_skill).await?,
    }

    let mut by_id: HashMap<Uuid, Usage> = inserted.into_iter().map(|u| (u.id, u)).collect();
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let record = match by_id.remove(&row.id) {
            Some(usage) => usage,
            // Not inserted: its key was used before (earlier, or earlier
            // in this same batch).
            None => usage_events::table
                .filter(usage_events::user_id.eq(&row.user_id))
                .filter(usage_events::request_id.eq(&row.request_id))
                .select(Usage::as_select())
                .load(conn)
                .await
                .single()?,
        };
        records.push(record);
    }
    Ok(records)
}

/// Records one use and its outbox event in a single statement, in
/// autocommit — one round trip instead of five (BEGIN, skill lookup, usage
/// insert, event insert, COMMIT), which is what RecordUsage's throughput is
/// made of (+30% in the hot-row benchmark). The skill lookup, the version
/// check, the idempotency conflict and the event are CTEs of one statement,
/// so it is as atomic as the transaction it replaces.
///
/// Returns `None` when nothing was recorded — the skill or version does not
/// exist, or the idempotency key was used before; the caller then runs
/// [`record`] in a transaction, which says which (or finds the earlier
/// record). Only the common case takes this path, and only in the outbox
/// design: the synchronous baseline stays the naive transaction it stands
/// for.
pub async fn try_record_one(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    input: &UsageInput,
) -> RegistryResult<Option<Usage>> {
    let (skill_id, slug) = match &input.skill {
        SkillRef::Id(id) => (Some(*id), None),
        SkillRef::Slug(slug) => (None, Some(slug.as_str().to_owned())),
    };
    let statement = RecordOne {
        skill_id,
        slug,
        usage_id: Uuid::now_v7(),
        version: input.version,
        user_id: user.as_str().to_owned(),
        tool_name: input.tool_name.clone(),
        request_id: input.request_id.clone(),
        event_id: Uuid::now_v7(),
        trace_parent: crate::telemetry::trace_context::current_traceparent(),
    };
    Ok(statement.load(conn).await.single().optional()?)
}

/// The statement of [`try_record_one`]. Not a `sql_query`: diesel never
/// caches those as prepared statements, and planning this one on every call
/// cost PostgreSQL more than running it (pgbench: 3,700 calls/s unprepared
/// against 6,200 prepared). Its text is fixed (one of two), so the
/// connection prepares it once and reuses it.
#[derive(Debug)]
struct RecordOne {
    skill_id: Option<Uuid>,
    slug: Option<String>,
    usage_id: Uuid,
    version: Option<i32>,
    user_id: String,
    tool_name: String,
    request_id: Option<String>,
    event_id: Uuid,
    /// The caller's trace, stored with the event (`NewEvent` does the same).
    trace_parent: Option<String>,
}

impl diesel::query_builder::QueryId for RecordOne {
    type QueryId = ();
    // Cached by its SQL text instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for RecordOne {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for RecordOne {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Integer, Nullable, Text, Uuid as SqlUuid};
        // Each parameter once, in a one-row CTE the rest refers to.
        out.push_sql("WITH p AS (SELECT ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&self.skill_id)?;
        out.push_sql("::uuid AS skill_id, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.slug)?;
        out.push_sql("::text AS slug, ");
        out.push_bind_param::<SqlUuid, _>(&self.usage_id)?;
        out.push_sql("::uuid AS usage_id, ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.version)?;
        out.push_sql("::int AS version, ");
        out.push_bind_param::<Text, _>(&self.user_id)?;
        out.push_sql("::text AS user_id, ");
        out.push_bind_param::<Text, _>(&self.tool_name)?;
        out.push_sql("::text AS tool_name, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.request_id)?;
        out.push_sql("::text AS request_id, ");
        out.push_bind_param::<SqlUuid, _>(&self.event_id)?;
        out.push_sql("::uuid AS event_id, ");
        out.push_bind_param::<Nullable<Text>, _>(&self.trace_parent)?;
        out.push_sql("::text AS trace_parent), ");
        out.push_sql(if self.skill_id.is_some() {
            "skill AS (SELECT s.id FROM skills s, p WHERE s.id = p.skill_id), "
        } else {
            "skill AS (SELECT s.id FROM skills s, p WHERE s.slug = p.slug), "
        });
        out.push_sql(
            "used AS ( \
               INSERT INTO usage_events (id, skill_id, version, user_id, tool_name, request_id) \
               SELECT p.usage_id, skill.id, p.version, p.user_id, p.tool_name, p.request_id \
               FROM skill, p \
               WHERE p.version IS NULL OR EXISTS ( \
                 SELECT 1 FROM skill_versions v WHERE v.skill_id = skill.id AND v.version = p.version) \
               ON CONFLICT (user_id, request_id) WHERE request_id IS NOT NULL DO NOTHING \
               RETURNING * \
             ), queued AS ( \
               INSERT INTO outbox (id, kind, aggregate_id, payload, trace_parent) \
               SELECT p.event_id, 'usage.recorded', used.skill_id, '{\"uses\": 1}'::jsonb, p.trace_parent \
               FROM used, p \
             ) \
             SELECT * FROM used",
        );
        Ok(())
    }
}

/// One `usage.recorded` event per skill.
async fn enqueue_uses(
    conn: &mut AsyncPgConnection,
    uses_per_skill: BTreeMap<Uuid, i64>,
) -> RegistryResult<()> {
    let events: Vec<NewEvent> = uses_per_skill
        .into_iter()
        .map(|(skill_id, uses)| NewEvent::of(skill_id, &UsageRecorded { uses }))
        .collect();
    crate::outbox::enqueue(conn, &events).await?;
    Ok(())
}

/// The benchmark baseline: the counter update in the caller's transaction.
async fn add_uses_now(
    conn: &mut AsyncPgConnection,
    uses_per_skill: BTreeMap<Uuid, i64>,
) -> RegistryResult<()> {
    for (skill_id, uses) in uses_per_skill {
        diesel::update(skills_table::table.find(skill_id))
            .set(skills_table::total_uses.eq(skills_table::total_uses + uses))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Finds each input's skill (and version), failing with the field of the
/// first that does not exist.
async fn resolve(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    inputs: &[UsageInput],
) -> RegistryResult<Vec<NewUsage>> {
    let mut rows = Vec::with_capacity(inputs.len());
    let mut skill_ids: HashMap<String, Uuid> = HashMap::new();
    for input in inputs {
        let cache_key = input.skill.to_string();
        let skill_id = match skill_ids.get(&cache_key) {
            Some(id) => *id,
            None => {
                let skill = skills::find(conn, &input.skill).await.map_err(|e| {
                    e.at_field(format!(
                        "{}{}",
                        input.field_prefix,
                        skill_field(&input.skill)
                    ))
                })?;
                skill_ids.insert(cache_key, skill.id);
                skill.id
            }
        };
        if let Some(version) = input.version {
            let exists: bool = diesel::select(diesel::dsl::exists(
                skill_versions::table
                    .filter(skill_versions::skill_id.eq(skill_id))
                    .filter(skill_versions::version.eq(version)),
            ))
            .load(conn)
            .await
            .single()?;
            if !exists {
                return Err(RegistryError::not_found(
                    resources::SKILL_VERSION,
                    format!("{version} of skill {}", input.skill),
                )
                .at_field(format!("{}version", input.field_prefix)));
            }
        }
        rows.push(NewUsage {
            id: Uuid::now_v7(),
            skill_id,
            version: input.version,
            user_id: user.as_str().to_owned(),
            tool_name: input.tool_name.clone(),
            request_id: input.request_id.clone(),
        });
    }
    Ok(rows)
}

fn skill_field(skill: &SkillRef) -> &'static str {
    match skill {
        SkillRef::Id(_) => "skill_id",
        SkillRef::Slug(_) => "skill_slug",
    }
}
