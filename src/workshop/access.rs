//! Who may do what in a workshop. Roles are text: `owner` manages members,
//! sharing and deletion; `editor` changes steps, title and idea and creates
//! build packs; `viewer` — and any role this server does not know — reads.
//!
//! A non-member learns nothing about a private workshop (NOT_FOUND, as if it
//! did not exist); a shared one is known to token holders anyway, so there a
//! non-member gets PERMISSION_DENIED.

use crate::db::rows::SingleRow as _;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::error::{WorkshopError, WorkshopResult};
use super::fields::Visibility;
use super::store::workshops::{self, Workshop};
use crate::auth::UserId;
use crate::resources;
use crate::roles::{Power, Role};
use crate::schema::workshop_members;

/// A workshop and the caller's role in it.
#[derive(Debug, Clone)]
pub struct Access {
    pub workshop: Workshop,
    pub role: Role,
}

/// Loads workshop `id` for `user` if their role has `needed`; `lock` takes
/// the workshop's row lock for the rest of the transaction (every change
/// under a workshop does, so they serialize per workshop).
pub async fn authorize(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
    needed: Power,
    lock: bool,
) -> WorkshopResult<Access> {
    let workshop = workshops::find(conn, id, lock).await?;
    let role: Option<Role> = workshop_members::table
        .find((id, user.as_str()))
        .select(workshop_members::role)
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?;
    let Some(role) = role else {
        return Err(match workshop.visibility {
            Visibility::Shared => WorkshopError::NotAMember {
                workshop: id,
                needed: needed.describe(),
            },
            Visibility::Private => WorkshopError::not_found(resources::WORKSHOP, id),
        });
    };
    if role.power() < needed {
        return Err(WorkshopError::RoleForbids {
            role: role.as_str().to_owned(),
            workshop: id,
            needed: needed.describe(),
        });
    }
    Ok(Access { workshop, role })
}
