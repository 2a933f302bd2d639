//! Who may do what in a workspace: viewers (and any role without powers)
//! read, editors write signals, projects and links, owners also manage
//! members and rename or delete the workspace. A non-member learns nothing
//! about a workspace: NOT_FOUND, as if it did not exist.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::error::{SignalsError, SignalsResult};
use super::store::workspaces::{self, MEMBERS, Workspace};
use crate::auth::UserId;
use crate::roles::{Power, Role};

/// A workspace and the caller's role in it.
#[derive(Debug, Clone)]
pub struct Access {
    pub workspace: Workspace,
    pub role: Role,
}

/// Loads workspace `id` for `user` if their role has `needed`; `lock`
/// takes the workspace's row lock for the rest of the transaction (member
/// changes do, so the last-owner rule cannot race).
pub async fn authorize(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
    needed: Power,
    lock: bool,
) -> SignalsResult<Access> {
    let workspace = workspaces::find(conn, id, lock).await?;
    let Some(role) = MEMBERS.role_of(conn, id, user.as_str()).await? else {
        return Err(SignalsError::not_found("workspace", id));
    };
    if role.power() < needed {
        return Err(SignalsError::RoleForbids {
            role: role.as_str().to_owned(),
            workspace: id,
            needed: needed.describe(),
        });
    }
    Ok(Access { workspace, role })
}

/// [`authorize`] for `resource` `id` inside workspace `workspace`: a
/// caller who may not see the workspace gets NOT_FOUND for the thing they
/// named, not for a workspace they never mentioned.
pub async fn authorize_within(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    user: &UserId,
    needed: Power,
    (resource, id): (&'static str, Uuid),
) -> SignalsResult<Access> {
    match authorize(conn, workspace, user, needed, false).await {
        Err(SignalsError::NotFound { .. }) => Err(SignalsError::not_found(resource, id)),
        other => other,
    }
}
