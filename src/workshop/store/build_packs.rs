//! Build packs: a pending row and its rendering event, stored together;
//! the outbox worker renders and stores the content (see
//! `workshop::jobs`).

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::keyset::{self, Direction, KeyTime};
use crate::resources;
use crate::schema::build_packs;
use crate::workshop::error::{WorkshopError, WorkshopResult};
use crate::workshop::events::BuildPackRender;
use crate::workshop::fields::{PackFormat, PackStatus};

/// A stored build pack.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = build_packs, check_for_backend(diesel::pg::Pg))]
pub struct BuildPack {
    pub id: Uuid,
    pub workshop_id: Uuid,
    pub format: PackFormat,
    pub status: PackStatus,
    pub object_key: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<i64>,
    pub failure_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Stores a pending pack and enqueues its rendering, in the caller's
/// transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    format: PackFormat,
    user: &str,
) -> WorkshopResult<BuildPack> {
    let id = Uuid::now_v7();
    let pack = diesel::insert_into(build_packs::table)
        .values((
            build_packs::id.eq(id),
            build_packs::workshop_id.eq(workshop),
            build_packs::format.eq(format),
            build_packs::created_by.eq(user),
        ))
        .returning(BuildPack::as_returning())
        .load(conn)
        .await
        .single()?;
    crate::outbox::enqueue_one(conn, id, &BuildPackRender {}).await?;
    Ok(pack)
}

/// The build pack `id`.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> WorkshopResult<BuildPack> {
    build_packs::table
        .find(id)
        .select(BuildPack::as_select())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| WorkshopError::not_found(resources::BUILD_PACK, id))
}

/// Keyset of ListBuildPacks: newest first.
pub type ListKey = (KeyTime, Uuid);

pub fn key_of(pack: &BuildPack) -> ListKey {
    (KeyTime::of(pack.created_at), pack.id)
}

/// A page of the workshop's build packs, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    limit: i64,
    after: Option<ListKey>,
) -> WorkshopResult<Vec<BuildPack>> {
    let query = build_packs::table
        .filter(build_packs::workshop_id.eq(workshop))
        .select(BuildPack::as_select())
        .into_boxed();
    let columns = (build_packs::created_at, build_packs::id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}

/// Where a pack's content is stored.
pub fn object_key(pack: &BuildPack) -> String {
    format!(
        "build-packs/{}/{}.{}",
        pack.workshop_id,
        pack.id,
        pack.format.extension()
    )
}
