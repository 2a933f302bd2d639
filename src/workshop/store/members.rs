//! Members and their roles. Every change runs with the workshop's row
//! locked, so "is this the last owner?" cannot race another change.

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::keyset::{self, Direction, KeyTime};
use crate::schema::workshop_members;
use crate::workshop::error::{WorkshopError, WorkshopResult};
use crate::workshop::fields::Role;

/// A stored member.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workshop_members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    pub workshop_id: Uuid,
    pub user_id: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Keyset of ListMembers: oldest first.
pub type ListKey = (KeyTime, String);

pub fn key_of(member: &Member) -> ListKey {
    (KeyTime::of(member.created_at), member.user_id.clone())
}

/// Adds `user_id` with `role`.
pub async fn add(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    user_id: &str,
    role: &Role,
) -> WorkshopResult<Member> {
    let inserted = diesel::insert_into(workshop_members::table)
        .values((
            workshop_members::workshop_id.eq(workshop),
            workshop_members::user_id.eq(user_id),
            workshop_members::role.eq(role),
        ))
        .on_conflict_do_nothing()
        .returning(Member::as_returning())
        .load(conn)
        .await
        .single()
        .optional()?;
    inserted.ok_or_else(|| WorkshopError::MemberExists {
        user_id: user_id.to_owned(),
        workshop,
    })
}

async fn find(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    user_id: &str,
) -> WorkshopResult<Member> {
    workshop_members::table
        .find((workshop, user_id))
        .select(Member::as_select())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| WorkshopError::not_found_at("member", user_id, "user_id"))
}

/// Fails when `member` is the workshop's only owner.
async fn ensure_not_last_owner(
    conn: &mut AsyncPgConnection,
    member: &Member,
) -> WorkshopResult<()> {
    if member.role != Role::Owner {
        return Ok(());
    }
    let owners: i64 = workshop_members::table
        .filter(workshop_members::workshop_id.eq(member.workshop_id))
        .filter(workshop_members::role.eq(Role::Owner))
        .count()
        .load(conn)
        .await
        .single()?;
    if owners <= 1 {
        return Err(WorkshopError::LastOwner {
            user_id: member.user_id.clone(),
            workshop: member.workshop_id,
        });
    }
    Ok(())
}

/// Gives `user_id` the role `role`; the last owner keeps theirs.
pub async fn change_role(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    user_id: &str,
    role: &Role,
) -> WorkshopResult<Member> {
    let member = find(conn, workshop, user_id).await?;
    if *role != Role::Owner {
        ensure_not_last_owner(conn, &member).await?;
    }
    Ok(
        diesel::update(workshop_members::table.find((workshop, user_id)))
            .set((
                workshop_members::role.eq(role),
                workshop_members::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Member::as_returning())
            .load(conn)
            .await
            .single()?,
    )
}

/// Removes `user_id`; the last owner stays.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    user_id: &str,
) -> WorkshopResult<()> {
    let member = find(conn, workshop, user_id).await?;
    ensure_not_last_owner(conn, &member).await?;
    diesel::delete(workshop_members::table.find((workshop, user_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// A page of members, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    limit: i64,
    after: Option<ListKey>,
) -> WorkshopResult<Vec<Member>> {
    let query = workshop_members::table
        .filter(workshop_members::workshop_id.eq(workshop))
        .select(Member::as_select())
        .into_boxed();
    let columns = (workshop_members::created_at, workshop_members::user_id);
    let page = keyset::page(query, columns, Direction::OldestFirst, after, limit);
    Ok(page.load(conn).await?)
}
