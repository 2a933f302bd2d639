//! ListSkills: filters, full-text search and four orders, paged by keyset.
//!
//! Hand-written SQL, because the DSL cannot say ranked full-text search or
//! row-value keyset comparisons. There is one static statement per order;
//! every value is a bound parameter, and absent filters are bound as NULL
//! (`$n IS NULL OR …`), which PostgreSQL folds away when it plans the
//! statement for its actual parameters. Each order has an index that serves
//! it (see migrations and `every_list_query_is_served_by_an_index`).

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{
    BigInt, Bool, Float, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::skills::Skill;
use crate::keyset::KeyTime;
use crate::registry::error::RegistryResult;
use crate::registry::fields::Category;

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillOrder {
    /// Best full-text match first (needs a query).
    Relevance,
    /// Most used first.
    MostUsed,
    /// Best rated first, then most rated.
    TopRated,
    /// Newest first.
    Newest,
}

impl SkillOrder {
    /// A stable name, part of page tokens.
    pub fn name(self) -> &'static str {
        match self {
            Self::Relevance => "relevance",
            Self::MostUsed => "most_used",
            Self::TopRated => "top_rated",
            Self::Newest => "newest",
        }
    }
}

/// What to list.
#[derive(Debug, Clone)]
pub struct SkillFilter {
    /// Only this category.
    pub category: Option<Category>,
    /// Only this author.
    pub author_id: Option<String>,
    /// Full-text query in web search syntax.
    pub query: Option<String>,
}

/// The sort key of the last row of a page: enough to continue after it in
/// any order (unused parts are zero). A page token whose rank is not a
/// finite number or whose time is out of range does not decode.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SkillKey {
    /// Relevance rank.
    #[serde(deserialize_with = "crate::keyset::finite_f32")]
    pub rank: f32,
    /// total_uses.
    pub uses: i64,
    /// average_rating (x100).
    pub avg: i32,
    /// rating_count.
    pub count: i32,
    /// created_at.
    pub created: KeyTime,
    /// The id, which breaks every tie.
    pub id: Uuid,
}

/// A skill with its relevance rank (0 when not searching).
#[derive(Debug, QueryableByName)]
pub struct RankedSkill {
    #[diesel(embed)]
    pub skill: Skill,
    #[diesel(sql_type = Float)]
    pub rank: f32,
}

impl RankedSkill {
    /// The key to continue after this row.
    pub fn key(&self) -> SkillKey {
        SkillKey {
            rank: self.rank,
            uses: self.skill.total_uses,
            avg: self.skill.average_rating,
            count: self.skill.rating_count,
            created: KeyTime::of(self.skill.created_at),
            id: self.skill.id,
        }
    }
}

/// The statement for one order. Parameters: $1 query, $2 category,
/// $3 author, $4 whether a cursor follows, $5 rank, $6 uses, $7 average,
/// $8 count, $9 created, $10 id, $11 limit.
macro_rules! list_statement {
    ($rank:literal, $cursor:literal, $order:literal) => {
        concat!(
            "SELECT id, slug, name, description, category, author_id, published_version, draft_version, \
             hours_saved, total_uses, rating_count, average_rating, created_at, updated_at, ",
            $rank,
            " AS rank FROM skills \
             WHERE ($1::text IS NULL OR search_document @@ websearch_to_tsquery('english', $1)) \
             AND ($2::text IS NULL OR category = $2) \
             AND ($3::text IS NULL OR author_id = $3) \
             AND (NOT $4 OR ",
            $cursor,
            ") ORDER BY ",
            $order,
            " LIMIT $11"
        )
    };
}

/// The SQL of a listing in `order` (public for the query-plan test).
pub fn statement(order: SkillOrder) -> &'static str {
    match order {
        SkillOrder::Relevance => list_statement!(
            "ts_rank_cd(search_document, websearch_to_tsquery('english', $1))",
            "(ts_rank_cd(search_document, websearch_to_tsquery('english', $1)), id) < ($5, $10)",
            "rank DESC, id DESC"
        ),
        SkillOrder::MostUsed => list_statement!(
            "0::real",
            "(total_uses, id) < ($6, $10)",
            "total_uses DESC, id DESC"
        ),
        SkillOrder::TopRated => list_statement!(
            "0::real",
            "(average_rating, rating_count, id) < ($7, $8, $10)",
            "average_rating DESC, rating_count DESC, id DESC"
        ),
        SkillOrder::Newest => list_statement!(
            "0::real",
            "(created_at, id) < ($9, $10)",
            "created_at DESC, id DESC"
        ),
    }
}

/// Up to `limit` skills matching `filter` in `order`, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &SkillFilter,
    order: SkillOrder,
    after: Option<SkillKey>,
    limit: i64,
) -> RegistryResult<Vec<RankedSkill>> {
    Ok(bound(statement(order).to_owned(), filter, after, limit)
        .load(conn)
        .await?)
}

/// The query plan PostgreSQL picks for a listing, one line per row of
/// `EXPLAIN` (for checking that an index serves every listing).
pub async fn explain(
    conn: &mut AsyncPgConnection,
    filter: &SkillFilter,
    order: SkillOrder,
    after: Option<SkillKey>,
) -> RegistryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let sql = format!("EXPLAIN {}", statement(order));
    let lines: Vec<PlanLine> = bound(sql, filter, after, 50).load(conn).await?;
    Ok(lines.into_iter().map(|l| l.line).collect())
}

/// `sql` (a listing statement) with every parameter bound.
fn bound(
    sql: String,
    filter: &SkillFilter,
    after: Option<SkillKey>,
    limit: i64,
) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let cursor = after.unwrap_or(SkillKey {
        rank: 0.0,
        uses: 0,
        avg: 0,
        count: 0,
        created: KeyTime::of(chrono::DateTime::UNIX_EPOCH),
        id: Uuid::nil(),
    });
    let created = cursor.created.at();
    diesel::sql_query(sql)
        .into_boxed()
        .bind::<Nullable<Text>, _>(filter.query.clone())
        .bind::<Nullable<Text>, _>(filter.category)
        .bind::<Nullable<Text>, _>(filter.author_id.clone())
        .bind::<Bool, _>(after.is_some())
        .bind::<Float, _>(cursor.rank)
        .bind::<BigInt, _>(cursor.uses)
        .bind::<Integer, _>(cursor.avg)
        .bind::<Integer, _>(cursor.count)
        .bind::<Timestamptz, _>(created)
        .bind::<SqlUuid, _>(cursor.id)
        .bind::<BigInt, _>(limit)
}
