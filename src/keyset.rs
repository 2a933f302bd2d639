//! Keyset positions: where a page of a list ordered by a time and a
//! tie-breaker continues, and the one SQL condition that continues there.
//!
//! A position travels inside a signed page token (see [`crate::pagination`])
//! as `[microseconds, tie]`. Its time is a [`KeyTime`], checked while the
//! token is decoded: a time outside years 1–9999 fails the decoding like
//! any forged token (INVALID_ARGUMENT on `page_token`), so no list ever
//! sees one and no list can forget to check it.

use chrono::{DateTime, Utc};
use diesel::dsl::Desc;
use diesel::expression::{AsExpression, BoxableExpression, TypedExpressionType};
use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;
use diesel::query_dsl::methods::{FilterDsl, LimitDsl, OrderDsl};
use diesel::sql_types::{Bool, SqlType, Timestamptz};
use diesel::{Column, ExpressionMethods, Table};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Earliest and latest keyset time accepted: years 1 to 9999, well inside
/// what PostgreSQL's `timestamptz` holds.
const RANGE_MICROS: std::ops::RangeInclusive<i64> =
    -62_135_596_800_000_000..=253_402_300_799_999_999;

/// The time of a keyset position: microseconds since the epoch in a page
/// token, a `DateTime` in years 1–9999 once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTime(DateTime<Utc>);

impl KeyTime {
    /// The position time of a row last ordered by `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        Self(at)
    }

    /// The time microseconds since the epoch name, if it is in range.
    pub fn from_micros(micros: i64) -> Option<Self> {
        RANGE_MICROS
            .contains(&micros)
            .then(|| DateTime::from_timestamp_micros(micros))
            .flatten()
            .map(Self)
    }

    /// The time, to bind in a query.
    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
}

impl Serialize for KeyTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0.timestamp_micros())
    }
}

impl<'de> Deserialize<'de> for KeyTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let micros = i64::deserialize(deserializer)?;
        Self::from_micros(micros)
            .ok_or_else(|| serde::de::Error::custom("keyset time out of range"))
    }
}

/// A rank from a page token, refused unless it is a finite number (a NaN
/// or an infinity would page nowhere): `#[serde(deserialize_with)]` for
/// the rank of a relevance order.
pub fn finite_f32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
    let rank = f32::deserialize(deserializer)?;
    if rank.is_finite() {
        Ok(rank)
    } else {
        Err(serde::de::Error::custom("rank is not finite"))
    }
}

/// Which way a keyset list runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Latest first: `ORDER BY time DESC, tie DESC`.
    NewestFirst,
    /// Earliest first: `ORDER BY time, tie`.
    OldestFirst,
}

/// The rows that follow position `key` in a list of one table ordered by
/// `(time, tie)` in `direction`: the row-value comparison
/// `(time, tie) < (at, tie_value)` (or `>`), which PostgreSQL answers with
/// a range scan of an index on `(…, time, tie)`. The DSL has no row-value
/// comparison, so this writes it once, naming the columns from their
/// diesel definitions and binding both values.
pub fn rows_after<Time, Tie, Value>(
    time: Time,
    tie: Tie,
    direction: Direction,
    (at, tie_value): (KeyTime, Value),
) -> RowsAfter<Time::Table>
where
    Time: Column<SqlType = Timestamptz>,
    Time::Table: Table,
    Tie: Column<Table = Time::Table>,
    Tie::SqlType: SqlType + TypedExpressionType,
    Value: AsExpression<Tie::SqlType>,
    Value::Expression: QueryFragment<Pg> + Send + 'static,
{
    // Only the column types and names are used; the values are the columns.
    let _ = (time, tie);
    let comparison = match direction {
        Direction::NewestFirst => "<",
        Direction::OldestFirst => ">",
    };
    Box::new(
        diesel::dsl::sql::<Bool>(&format!("({}, {}) {comparison} (", Time::NAME, Tie::NAME))
            .bind::<Timestamptz, _>(at.at())
            .sql(", ")
            .bind::<Tie::SqlType, _>(tie_value)
            .sql(")"),
    )
}

/// A filter built by [`rows_after`].
pub type RowsAfter<T> = Box<dyn BoxableExpression<T, Pg, SqlType = Bool>>;

/// One page of `query` (a boxed query of one table): ordered by
/// `(time, tie)` in `direction`, at most `limit` rows, after `after`. Every
/// list keyed by a time and a tie-breaker pages through here.
pub fn page<Query, Time, Tie, Value>(
    query: Query,
    (time, tie): (Time, Tie),
    direction: Direction,
    after: Option<(KeyTime, Value)>,
    limit: i64,
) -> Query
where
    Query: OrderDsl<(Desc<Time>, Desc<Tie>), Output = Query>
        + OrderDsl<(Time, Tie), Output = Query>
        + LimitDsl<Output = Query>
        + FilterDsl<RowsAfter<Time::Table>, Output = Query>,
    Time: Column<SqlType = Timestamptz> + ExpressionMethods + Copy,
    Time::Table: Table,
    Tie: Column<Table = Time::Table> + ExpressionMethods + Copy,
    Tie::SqlType: SqlType + TypedExpressionType,
    Value: AsExpression<Tie::SqlType>,
    Value::Expression: QueryFragment<Pg> + Send + 'static,
{
    let ordered = match direction {
        Direction::NewestFirst => OrderDsl::order(query, (time.desc(), tie.desc())),
        Direction::OldestFirst => OrderDsl::order(query, (time, tie)),
    };
    let limited = LimitDsl::limit(ordered, limit);
    match after {
        Some(key) => FilterDsl::filter(limited, rows_after(time, tie, direction, key)),
        None => limited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_times_outside_years_1_to_9999_are_refused() {
        assert!(KeyTime::from_micros(0).is_some());
        assert!(KeyTime::from_micros(253_402_300_799_999_999).is_some());
        assert!(KeyTime::from_micros(253_402_300_800_000_000).is_none());
        assert!(KeyTime::from_micros(i64::MIN).is_none());
        assert!(KeyTime::from_micros(i64::MAX).is_none());
    }

    #[test]
    fn a_position_is_written_as_microseconds_and_a_forged_time_does_not_decode() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default();
        let json = serde_json::to_string(&(KeyTime::of(at), "ada")).expect("serializes");
        assert_eq!(json, r#"[1700000000123456,"ada"]"#);
        let back: (KeyTime, String) = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back.0.at(), at);
        assert!(serde_json::from_str::<(KeyTime, String)>(r#"[9223372036854775807,"a"]"#).is_err());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn key_times_are_either_storable_or_refused(micros in any::<i64>()) {
                if let Some(time) = KeyTime::from_micros(micros) {
                    prop_assert!((1..=9999).contains(&chrono::Datelike::year(&time.at())));
                    prop_assert_eq!(time.at().timestamp_micros(), micros);
                }
            }
        }
    }
}
