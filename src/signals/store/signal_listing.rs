//! ListSignals: filters, full-text search and two orders, paged by keyset.
//!
//! Hand-written SQL like the skill listing: one static statement per order,
//! every value a bound parameter, absent filters bound as NULL (folded away
//! when PostgreSQL plans for the actual parameters). An index serves every
//! filter, order and cursor (`signals_listing` test).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Float, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::signals::Signal;
use crate::keyset::KeyTime;
use crate::signals::error::SignalsResult;
use crate::signals::fields::{Severity, SignalStatus, Source};

/// The order of a signal listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalOrder {
    /// Newest first.
    Newest,
    /// Best full-text match first (needs a query).
    Relevance,
}

impl SignalOrder {
    /// A stable name, part of page tokens.
    pub fn name(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Relevance => "relevance",
        }
    }
}

/// What to list; every filter set must hold.
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    pub status: Option<SignalStatus>,
    pub source: Option<Source>,
    pub severity: Option<Severity>,
    pub project_id: Option<Uuid>,
    pub persona_id: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub query: Option<String>,
}

/// Where a page of signals continues: after the row with this rank (0 in
/// newest order), creation time and id.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SignalKey {
    #[serde(deserialize_with = "crate::keyset::finite_f32")]
    pub rank: f32,
    pub created: KeyTime,
    pub id: Uuid,
}

/// A signal with its relevance rank (0 when not searching).
#[derive(Debug, QueryableByName)]
pub struct RankedSignal {
    #[diesel(embed)]
    pub signal: Signal,
    #[diesel(sql_type = Float)]
    pub rank: f32,
}

impl RankedSignal {
    /// The key to continue after this row.
    pub fn key(&self) -> SignalKey {
        SignalKey {
            rank: self.rank,
            created: KeyTime::of(self.signal.created_at),
            id: self.signal.id,
        }
    }
}

/// The statement of one order. Parameters: $1 workspace, $2 status,
/// $3 source, $4 severity, $5 project, $6 persona, $7 created at or after,
/// $8 created before, $9 query, $10 whether a cursor follows, $11 rank,
/// $12 created, $13 id, $14 limit. Absent filters are NULL, which
/// PostgreSQL folds away when it plans for the actual parameters.
macro_rules! signal_statement {
    ($rank:literal, $cursor:literal, $order:literal) => {
        concat!(
            "SELECT s.id, s.workspace_id, s.verbatim, s.interpretation, s.severity, s.frequency, \
                    s.user_segment, s.source, s.source_ref, s.source_metadata, s.status, \
                    s.embedding, s.embedding_dimension, s.ai_classification, s.inbox_item_id, \
                    s.created_at, s.updated_at, s.processed_at, ",
            $rank,
            " AS rank FROM signals s \
             WHERE s.workspace_id = $1 \
               AND ($2::text IS NULL OR s.status = $2) \
               AND ($3::text IS NULL OR s.source = $3) \
               AND ($4::text IS NULL OR s.severity = $4) \
               AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM signal_projects l \
                    WHERE l.workspace_id = s.workspace_id AND l.signal_id = s.id AND l.project_id = $5)) \
               AND ($6::text IS NULL OR EXISTS (SELECT 1 FROM signal_personas p \
                    WHERE p.workspace_id = s.workspace_id AND p.signal_id = s.id AND p.persona_id = $6)) \
               AND ($7::timestamptz IS NULL OR s.created_at >= $7) \
               AND ($8::timestamptz IS NULL OR s.created_at < $8) \
               AND ($9::text IS NULL OR s.search_document @@ websearch_to_tsquery('english', $9)) \
               AND (NOT $10 OR ",
            $cursor,
            ") ORDER BY ",
            $order,
            " LIMIT $14"
        )
    };
}

/// The SQL of a listing in `order` (public for the query-plan test).
pub fn statement(order: SignalOrder) -> &'static str {
    match order {
        SignalOrder::Newest => signal_statement!(
            "0::real",
            "(s.created_at, s.id) < ($12, $13)",
            "s.created_at DESC, s.id DESC"
        ),
        SignalOrder::Relevance => signal_statement!(
            "ts_rank_cd(s.search_document, websearch_to_tsquery('english', $9))",
            "(ts_rank_cd(s.search_document, websearch_to_tsquery('english', $9)), s.id) < ($11, $13)",
            "rank DESC, s.id DESC"
        ),
    }
}

/// Up to `limit` signals of `workspace` matching `filter` in `order`,
/// after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    filter: &SignalFilter,
    order: SignalOrder,
    after: Option<SignalKey>,
    limit: i64,
) -> SignalsResult<Vec<RankedSignal>> {
    Ok(bound(statement(order), workspace, filter, after, limit)
        .load(conn)
        .await?)
}

/// The query plan PostgreSQL picks for a listing, one line per row of
/// `EXPLAIN` (for checking that an index serves every listing).
pub async fn explain(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    filter: &SignalFilter,
    order: SignalOrder,
    after: Option<SignalKey>,
) -> SignalsResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let sql = format!("EXPLAIN {}", statement(order));
    let lines: Vec<PlanLine> = bound(&sql, workspace, filter, after, 50).load(conn).await?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}

/// `sql` (a listing statement) with every parameter bound.
fn bound(
    sql: &str,
    workspace: Uuid,
    filter: &SignalFilter,
    after: Option<SignalKey>,
    limit: i64,
) -> diesel::query_builder::BoxedSqlQuery<'static, diesel::pg::Pg, diesel::query_builder::SqlQuery>
{
    let cursor = after.unwrap_or(SignalKey {
        rank: 0.0,
        created: KeyTime::of(DateTime::UNIX_EPOCH),
        id: Uuid::nil(),
    });
    diesel::sql_query(sql.to_owned())
        .into_boxed()
        .bind::<SqlUuid, _>(workspace)
        .bind::<Nullable<Text>, _>(filter.status)
        .bind::<Nullable<Text>, _>(filter.source)
        .bind::<Nullable<Text>, _>(filter.severity)
        .bind::<Nullable<SqlUuid>, _>(filter.project_id)
        .bind::<Nullable<Text>, _>(filter.persona_id.clone())
        .bind::<Nullable<Timestamptz>, _>(filter.created_after)
        .bind::<Nullable<Timestamptz>, _>(filter.created_before)
        .bind::<Nullable<Text>, _>(filter.query.clone())
        .bind::<Bool, _>(after.is_some())
        .bind::<Float, _>(cursor.rank)
        .bind::<Timestamptz, _>(cursor.created.at())
        .bind::<SqlUuid, _>(cursor.id)
        .bind::<BigInt, _>(limit)
}
