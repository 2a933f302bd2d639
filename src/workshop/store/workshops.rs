//! Workshops: creation under the owner's plan cap, reads with derived
//! progress, listing, updates, sharing and deletion.

use crate::db::rows::SingleRow as _;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::auth::UserId;
use crate::keyset::{self, Direction, KeyTime};
use crate::outbox::NewEvent;
use crate::resources;
use crate::roles::Role;
use crate::schema::{build_packs, workshop_members, workshops};
use crate::workshop::error::{WorkshopError, WorkshopResult};
use crate::workshop::events::ObjectDelete;
use crate::workshop::fields::{Status, StepStatus, Visibility};

/// A stored workshop.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workshops, check_for_backend(diesel::pg::Pg))]
pub struct Workshop {
    pub id: Uuid,
    pub owner_id: String,
    pub title: String,
    pub original_idea: String,
    pub status: Status,
    pub org_id: Option<String>,
    pub template_id: Option<String>,
    pub visibility: Visibility,
    pub share_token_sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Workshop {
    /// Moves whenever the workshop or one of its steps changes.
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails when the caller sent an etag that no longer matches.
    pub fn ensure_etag(&self, etag: &str) -> WorkshopResult<()> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("workshop {}", self.id),
        )?)
    }
}

/// Step progress derived from the step rows.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct Progress {
    #[diesel(sql_type = SqlUuid)]
    pub workshop_id: Uuid,
    #[diesel(sql_type = Integer)]
    pub total: i32,
    #[diesel(sql_type = Integer)]
    pub completed: i32,
    /// The first step by position that is not complete.
    #[diesel(sql_type = Nullable<Text>)]
    pub current_step_id: Option<String>,
}

/// The workshop with id `id` (locked for the transaction when `lock`).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> WorkshopResult<Workshop> {
    let query = workshops::table.find(id).select(Workshop::as_select());
    let found = if lock {
        query.for_update().limit(1).load(conn).await.single()
    } else {
        query.limit(1).load(conn).await.single()
    };
    found
        .optional()?
        .ok_or_else(|| WorkshopError::not_found(resources::WORKSHOP, id))
}

/// The progress of each of `ids`.
pub async fn progress(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> WorkshopResult<HashMap<Uuid, Progress>> {
    let rows: Vec<Progress> = diesel::sql_query(
        "SELECT s.workshop_id, count(*)::int AS total, \
                count(*) FILTER (WHERE s.status = $2)::int AS completed, \
                (array_agg(s.step_id ORDER BY d.position) FILTER (WHERE s.status <> $2))[1] \
                  AS current_step_id \
         FROM workshop_steps s JOIN step_definitions d ON d.id = s.step_id \
         WHERE s.workshop_id = ANY($1) GROUP BY s.workshop_id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(StepStatus::Complete)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|p| (p.workshop_id, p)).collect())
}

/// One workshop's progress.
pub async fn progress_of(conn: &mut AsyncPgConnection, id: Uuid) -> WorkshopResult<Progress> {
    Ok(progress(conn, &[id]).await?.remove(&id).unwrap_or_default())
}

/// What CreateWorkshop stores.
#[derive(Debug)]
pub struct NewWorkshop {
    pub title: String,
    pub original_idea: String,
    pub org_id: Option<String>,
    pub template_id: Option<String>,
}

/// Creates a draft workshop owned by `user`, its owner membership and one
/// step row per definition — unless `user` already owns `cap` workshops.
/// A per-owner advisory lock makes the count and the insert atomic, so the
/// cap holds exactly under concurrent creates.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    plan: &str,
    cap: u32,
    new: NewWorkshop,
) -> WorkshopResult<Workshop> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock(hashtextextended('atelier workshop owner ' || $1, 0))",
    )
    .bind::<Text, _>(user.as_str())
    .execute(conn)
    .await?;
    let owned: i64 = workshops::table
        .filter(workshops::owner_id.eq(user.as_str()))
        .count()
        .load(conn)
        .await
        .single()?;
    if owned >= i64::from(cap) {
        return Err(WorkshopError::CapReached {
            plan: plan.to_owned(),
            cap,
            owned,
        });
    }
    let id = Uuid::now_v7();
    let workshop: Workshop = diesel::insert_into(workshops::table)
        .values((
            workshops::id.eq(id),
            workshops::owner_id.eq(user.as_str()),
            workshops::title.eq(&new.title),
            workshops::original_idea.eq(&new.original_idea),
            workshops::org_id.eq(&new.org_id),
            workshops::template_id.eq(&new.template_id),
        ))
        .returning(Workshop::as_returning())
        .load(conn)
        .await
        .single()?;
    diesel::insert_into(workshop_members::table)
        .values((
            workshop_members::workshop_id.eq(id),
            workshop_members::user_id.eq(user.as_str()),
            workshop_members::role.eq(Role::Owner),
        ))
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO workshop_steps (workshop_id, step_id) SELECT $1, id FROM step_definitions",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    Ok(workshop)
}

/// Keyset of ListWorkshops: most recent activity first.
pub type ListKey = (KeyTime, Uuid);

/// The list key of a workshop.
pub fn key_of(workshop: &Workshop) -> ListKey {
    (KeyTime::of(workshop.updated_at), workshop.id)
}

/// The workshops `user` is a member of, optionally with `status` and with
/// role `role`, newest activity first, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    status: Option<Status>,
    role: Option<&Role>,
    limit: i64,
    after: Option<ListKey>,
) -> WorkshopResult<Vec<Workshop>> {
    let mut memberships = workshop_members::table
        .filter(workshop_members::user_id.eq(user.as_str()))
        .select(workshop_members::workshop_id)
        .into_boxed();
    if let Some(role) = role {
        memberships = memberships.filter(workshop_members::role.eq(role.clone()));
    }
    let mut query = workshops::table
        .filter(workshops::id.eq_any(memberships))
        .select(Workshop::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(workshops::status.eq(status));
    }
    let columns = (workshops::updated_at, workshops::id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}

/// The fields UpdateWorkshop may change.
#[derive(Debug, Default)]
pub struct Changes {
    pub title: Option<String>,
    pub original_idea: Option<String>,
    pub status: Option<Status>,
    /// Only ever "private": sharing needs ShareWorkshop's token.
    pub make_private: bool,
}

/// Applies `changes` to the (locked) `workshop`, refusing status moves the
/// lifecycle does not allow. Setting the current status again is a no-op.
pub async fn update(
    conn: &mut AsyncPgConnection,
    workshop: &Workshop,
    changes: Changes,
) -> WorkshopResult<Workshop> {
    let current = workshop.status;
    if let Some(next) = changes.status
        && next != current
        && !current.allowed_next().contains(&next)
    {
        return Err(WorkshopError::InvalidTransition {
            from: current,
            to: next,
        });
    }
    let title = changes.title.unwrap_or_else(|| workshop.title.clone());
    let idea = changes
        .original_idea
        .unwrap_or_else(|| workshop.original_idea.clone());
    let status = changes.status.unwrap_or(current);
    let (visibility, token) = if changes.make_private {
        (Visibility::Private, None)
    } else {
        (workshop.visibility, workshop.share_token_sha256.clone())
    };
    let updated = diesel::update(workshops::table.find(workshop.id))
        .set((
            workshops::title.eq(title),
            workshops::original_idea.eq(idea),
            workshops::status.eq(status),
            workshops::visibility.eq(visibility),
            workshops::share_token_sha256.eq(token),
            workshops::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Workshop::as_returning())
        .load(conn)
        .await
        .single()?;
    Ok(updated)
}

/// Marks activity on a workshop (a step changed).
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> WorkshopResult<Workshop> {
    Ok(diesel::update(workshops::table.find(id))
        .set(workshops::updated_at.eq(diesel::dsl::now))
        .returning(Workshop::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// Deletes the workshop and everything under it (foreign keys cascade), and
/// enqueues the deletion of its build packs' objects.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> WorkshopResult<()> {
    let keys: Vec<Option<String>> = build_packs::table
        .filter(build_packs::workshop_id.eq(id))
        .select(build_packs::object_key)
        .load(conn)
        .await?;
    diesel::delete(workshops::table.find(id))
        .execute(conn)
        .await?;
    let events: Vec<NewEvent> = keys
        .into_iter()
        .flatten()
        .map(|key| NewEvent::of(id, &ObjectDelete { object_key: key }))
        .collect();
    crate::outbox::enqueue(conn, &events).await?;
    Ok(())
}

/// Bytes of randomness in a share token: 256 bits, well over the 128 asked.
const SHARE_TOKEN_BYTES: usize = 32;

/// Shares the workshop under a fresh token (replacing any old one) and
/// returns the token, which is stored only as its SHA-256.
pub async fn share(conn: &mut AsyncPgConnection, id: Uuid) -> WorkshopResult<(Workshop, String)> {
    use base64::Engine as _;
    let mut secret = [0_u8; SHARE_TOKEN_BYTES];
    getrandom::fill(&mut secret).map_err(|e| WorkshopError::NoRandomness(e.to_string()))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let workshop = diesel::update(workshops::table.find(id))
        .set((
            workshops::visibility.eq(Visibility::Shared),
            workshops::share_token_sha256.eq(token_digest(&token)),
            workshops::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Workshop::as_returning())
        .load(conn)
        .await
        .single()?;
    Ok((workshop, token))
}

/// Stops sharing: the old token stops working.
pub async fn unshare(
    conn: &mut AsyncPgConnection,
    workshop: &Workshop,
) -> WorkshopResult<Workshop> {
    update(
        conn,
        workshop,
        Changes {
            make_private: true,
            ..Changes::default()
        },
    )
    .await
}

/// The shared workshop whose token is `token`.
pub async fn find_shared(conn: &mut AsyncPgConnection, token: &str) -> WorkshopResult<Workshop> {
    workshops::table
        .filter(workshops::share_token_sha256.eq(token_digest(token)))
        .filter(workshops::visibility.eq(Visibility::Shared))
        .select(Workshop::as_select())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| WorkshopError::not_found(resources::SHARED_WORKSHOP, "for this token"))
}

fn token_digest(token: &str) -> String {
    crate::content::hex(&Sha256::digest(token.as_bytes()))
}
