//! Who may do what in a workspace: viewers (and any role without powers)
//! read, editors write signals, projects and links, owners also manage
//! members and rename or delete the workspace. A non-member learns nothing
//! about a workspace: NOT_FOUND, as if it did not exist.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::error::{SignalsError, SignalsResult};
use super::store::projects::{self, Project};
use super::store::signals::{self, Signal};
use super::store::workspaces::{self, MEMBERS, Workspace};
use crate::auth::UserId;
use crate::resources::{self, Resource};
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
        return Err(SignalsError::not_found(resources::WORKSPACE, id));
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

/// Something inside a workspace that RPCs name by its own id (a project,
/// a signal).
pub trait InWorkspace: Sized {
    /// What NOT_FOUND calls it.
    const RESOURCE: &'static Resource;

    /// The workspace it is in.
    fn workspace_id(&self) -> Uuid;

    /// Loads it; `lock` takes its row lock for the rest of the
    /// transaction.
    fn find(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> impl Future<Output = SignalsResult<Self>> + Send;
}

impl InWorkspace for Project {
    const RESOURCE: &'static Resource = resources::PROJECT;

    fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> SignalsResult<Self> {
        projects::find(conn, id, lock).await
    }
}

impl InWorkspace for Signal {
    const RESOURCE: &'static Resource = resources::SIGNAL;

    fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }

    async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> SignalsResult<Self> {
        signals::find(conn, id, lock).await
    }
}

/// The `T` named `id`, if `user` has `needed` in its workspace (`lock` as
/// for [`InWorkspace::find`]). A caller who may not see the workspace gets
/// NOT_FOUND for the thing they named, not for a workspace they never
/// mentioned.
pub async fn load<T: InWorkspace>(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
    needed: Power,
    lock: bool,
) -> SignalsResult<T> {
    let item = T::find(conn, id, lock).await?;
    match authorize(conn, item.workspace_id(), user, needed, false).await {
        Ok(_) => Ok(item),
        Err(SignalsError::NotFound { .. }) => Err(SignalsError::not_found(T::RESOURCE, id)),
        Err(other) => Err(other),
    }
}
