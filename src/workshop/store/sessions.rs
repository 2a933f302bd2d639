//! Work sessions: one user's period of work in one workshop. Only a step
//! change creates or extends one (reading never does); a change after the
//! configured inactivity gap closes the old session at its last activity and
//! starts a new one. Callers hold the workshop's row lock, so two changes
//! of one user cannot both start a session.

use crate::db::rows::SingleRow as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::IntoSql as _;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::keyset::{self, Direction, KeyTime};
use crate::resources;
use crate::schema::sessions;
use crate::workshop::error::{WorkshopError, WorkshopResult};

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: Uuid,
    pub workshop_id: Uuid,
    pub user_id: String,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Records a change by `user` now: extends their open session if its last
/// activity is within `gap`, otherwise starts a new one.
pub async fn record_activity(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    user: &str,
    gap: Duration,
) -> WorkshopResult<Session> {
    let open: Option<Session> = sessions::table
        .filter(sessions::workshop_id.eq(workshop))
        .filter(sessions::user_id.eq(user))
        .filter(sessions::ended_at.is_null())
        .order(sessions::last_activity_at.desc())
        .select(Session::as_select())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?;
    let now: DateTime<Utc> =
        diesel::select(diesel::dsl::now.into_sql::<diesel::sql_types::Timestamptz>())
            .load(conn)
            .await
            .single()?;
    let gap = chrono::Duration::from_std(gap).unwrap_or(chrono::Duration::MAX);
    if let Some(open) = open {
        if now - open.last_activity_at <= gap {
            return Ok(diesel::update(sessions::table.find(open.id))
                .set(sessions::last_activity_at.eq(now.max(open.last_activity_at)))
                .returning(Session::as_returning())
                .load(conn)
                .await
                .single()?);
        }
        diesel::update(sessions::table.find(open.id))
            .set(sessions::ended_at.eq(open.last_activity_at))
            .execute(conn)
            .await?;
    }
    Ok(diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(Uuid::now_v7()),
            sessions::workshop_id.eq(workshop),
            sessions::user_id.eq(user),
            sessions::started_at.eq(now),
            sessions::last_activity_at.eq(now),
        ))
        .returning(Session::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// The session `id` of `workshop`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    id: Uuid,
) -> WorkshopResult<Session> {
    sessions::table
        .find(id)
        .filter(sessions::workshop_id.eq(workshop))
        .select(Session::as_select())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| WorkshopError::not_found_at(resources::SESSION, id, "session_id"))
}

/// Ends an open session now.
pub async fn end(conn: &mut AsyncPgConnection, session: &Session) -> WorkshopResult<Session> {
    if session.ended_at.is_some() {
        return Err(WorkshopError::SessionEnded {
            session: session.id,
        });
    }
    Ok(diesel::update(sessions::table.find(session.id))
        .set(sessions::ended_at.eq(diesel::dsl::now))
        .returning(Session::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// Keyset of ListSessions: newest first.
pub type ListKey = (KeyTime, Uuid);

pub fn key_of(session: &Session) -> ListKey {
    (KeyTime::of(session.started_at), session.id)
}

/// A page of the workshop's sessions, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    limit: i64,
    after: Option<ListKey>,
) -> WorkshopResult<Vec<Session>> {
    let query = sessions::table
        .filter(sessions::workshop_id.eq(workshop))
        .select(Session::as_select())
        .into_boxed();
    let columns = (sessions::started_at, sessions::id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}
