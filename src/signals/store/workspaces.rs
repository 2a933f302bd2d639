//! Workspaces, the tenant of Signals: creation with the creator as owner,
//! reads, the caller's list, renaming and deletion (which cascades to
//! everything in the workspace).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::UserId;
use crate::db::rows::SingleRow as _;
use crate::keyset::KeyTime;
use crate::membership::{MemberTable, MembershipError};
use crate::roles::Role;
use crate::schema::workspaces;
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
                SignalsError::not_found_at("member", user_id, "user_id")
            }
            MembershipError::LastOwner { parent, user_id } => SignalsError::LastOwner {
                user_id,
                workspace: parent,
            },
            MembershipError::Database(error) => SignalsError::Database(error),
        }
    }
}

/// A stored workspace.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
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
    found.ok_or_else(|| SignalsError::not_found("workspace", id))
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

/// A row of ListWorkspaces.
#[derive(Debug, QueryableByName)]
struct Listed {
    #[diesel(embed)]
    workspace: Workspace,
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
    // The row-value keyset condition of `keyset::rows_after`, written out
    // because this list is a join.
    let rows: Vec<Listed> = diesel::sql_query(
        "SELECT w.* FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id \
         WHERE m.user_id = $1 \
           AND ($2::text IS NULL OR m.role = $2) \
           AND ($3::timestamptz IS NULL OR (w.created_at, w.id) < ($3, $4)) \
         ORDER BY w.created_at DESC, w.id DESC \
         LIMIT $5",
    )
    .bind::<Text, _>(user.as_str())
    .bind::<Nullable<Text>, _>(role)
    .bind::<Nullable<Timestamptz>, _>(after.map(|(time, _)| time.at()))
    .bind::<SqlUuid, _>(after.map_or(Uuid::nil(), |(_, id)| id))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.workspace).collect())
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
