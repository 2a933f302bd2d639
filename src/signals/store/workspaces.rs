//! Workspaces, the tenant of Signals: creation with the creator as owner,
//! reads, the caller's list, renaming and deletion (which cascades to
//! everything in the workspace).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::UserId;
use crate::db::rows::SingleRow as _;
use crate::keyset::{self, Direction, KeyTime};
use crate::membership::{MemberTable, MembershipError};
use crate::resources;
use crate::roles::Role;
use crate::schema::{workspace_members, workspaces};
use crate::signals::error::{SignalsError, SignalsResult};

/// The workspace member table.
pub const MEMBERS: MemberTable = MemberTable {
    table: "workspace_members",
    parent: "workspace_id",
};

impl From<MembershipError> for SignalsError {
    fn from(error: MembershipError) -> Self {
        match error {
            MembershipError::Exists { parent, user_id } => SignalsError::MemberExists {
                user_id,
                workspace: parent,
            },
            MembershipError::NotFound { user_id, .. } => {
                SignalsError::not_found_at(resources::WORKSPACE_MEMBER, user_id, "user_id")
            }
            MembershipError::LastOwner { parent, user_id } => SignalsError::LastOwner {
                user_id,
                workspace: parent,
            },
            MembershipError::EtagMismatch(stale) => SignalsError::EtagMismatch(stale),
            MembershipError::Database(error) => SignalsError::Database(error),
        }
    }
}

/// A stored workspace.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub created_by: String,
    /// The dimension every embedding in the workspace has (set by the
    /// first one).
    pub embedding_dimension: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Workspace {
    /// Moves on every rename.
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails when the caller sent an etag that no longer matches.
    pub fn ensure_etag(&self, etag: &str) -> SignalsResult<()> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("workspace {}", self.id),
        )?)
    }
}

/// The workspace `id` (locked for the transaction when `lock`).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> SignalsResult<Workspace> {
    let query = workspaces::table.find(id).select(Workspace::as_select());
    let found = if lock {
        query.for_update().load(conn).await.single_optional()?
    } else {
        query.load(conn).await.single_optional()?
    };
    found.ok_or_else(|| SignalsError::not_found(resources::WORKSPACE, id))
}

/// Creates a workspace named `name` with `user` as its owner.
pub async fn create(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    name: &str,
) -> SignalsResult<Workspace> {
    let workspace: Workspace = diesel::insert_into(workspaces::table)
        .values((
            workspaces::id.eq(Uuid::now_v7()),
            workspaces::name.eq(name),
            workspaces::created_by.eq(user.as_str()),
        ))
        .returning(Workspace::as_returning())
        .load(conn)
        .await
        .single()?;
    MEMBERS
        .add(conn, workspace.id, user.as_str(), &Role::Owner)
        .await?;
    Ok(workspace)
}

/// Keyset of ListWorkspaces: newest first.
pub type ListKey = (KeyTime, Uuid);

/// The list key of a workspace.
pub fn key_of(workspace: &Workspace) -> ListKey {
    (KeyTime::of(workspace.created_at), workspace.id)
}

/// The workspaces `user` is a member of (with role `role`, if given),
/// newest first, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user: &UserId,
    role: Option<&Role>,
    limit: i64,
    after: Option<ListKey>,
) -> SignalsResult<Vec<Workspace>> {
    let mut memberships = workspace_members::table
        .filter(workspace_members::user_id.eq(user.as_str()))
        .select(workspace_members::workspace_id)
        .into_boxed();
    if let Some(role) = role {
        memberships = memberships.filter(workspace_members::role.eq(role.clone()));
    }
    let query = workspaces::table
        .filter(workspaces::id.eq_any(memberships))
        .select(Workspace::as_select())
        .into_boxed();
    let columns = (workspaces::created_at, workspaces::id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}

/// Renames the (locked) workspace.
pub async fn rename(
    conn: &mut AsyncPgConnection,
    workspace: &Workspace,
    name: &str,
) -> SignalsResult<Workspace> {
    Ok(diesel::update(workspaces::table.find(workspace.id))
        .set((
            workspaces::name.eq(name),
            workspaces::updated_at.eq(next_update_time(workspace.updated_at)),
        ))
        .returning(Workspace::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// Deletes the workspace and everything in it (the foreign keys cascade).
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> SignalsResult<()> {
    diesel::delete(workspaces::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}

/// A new `updated_at` later than `current` even when the clock has not
/// moved on, so two changes in one microsecond get two etags.
pub fn next_update_time(current: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(current + chrono::Duration::microseconds(1))
}
