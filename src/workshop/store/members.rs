//! A workshop's members: the shared membership rules (`crate::membership`)
//! over `workshop_members`.

use crate::membership::{MemberTable, MembershipError};
use crate::resources;
use crate::workshop::error::WorkshopError;

pub use crate::membership::{ListKey, Member, key_of};

/// The workshop's member table.
pub const MEMBERS: MemberTable = MemberTable {
    table: "workshop_members",
    parent: "workshop_id",
};

impl From<MembershipError> for WorkshopError {
    fn from(error: MembershipError) -> Self {
        match error {
            MembershipError::Exists { parent, user_id } => WorkshopError::MemberExists {
                user_id,
                workshop: parent,
            },
            MembershipError::NotFound { user_id, .. } => {
                WorkshopError::not_found_at(resources::MEMBER, user_id, "user_id")
            }
            MembershipError::LastOwner { parent, user_id } => WorkshopError::LastOwner {
                user_id,
                workshop: parent,
            },
            MembershipError::EtagMismatch(stale) => WorkshopError::EtagMismatch(stale),
            MembershipError::Database(error) => WorkshopError::Database(error),
        }
    }
}
