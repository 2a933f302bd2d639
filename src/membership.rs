//! Members and their roles, for any resource that has them (workshops,
//! workspaces): one implementation over a [`MemberTable`] — the member
//! table and the column naming its parent — so both domains get the same
//! rules: adding twice is refused, and the last owner can neither leave
//! nor be demoted. Callers hold the parent row's lock, so "is this the
//! last owner?" cannot race another change.
//!
//! The SQL is written once with the table's names spliced in from
//! constants (never from input); every value is a bound parameter.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::rows::SingleRow as _;
use crate::keyset::KeyTime;
use crate::roles::Role;

/// A member table: its name and the column naming the parent resource.
#[derive(Debug, Clone, Copy)]
pub struct MemberTable {
    /// e.g. `workshop_members`.
    pub table: &'static str,
    /// e.g. `workshop_id`.
    pub parent: &'static str,
}

/// A stored member.
#[derive(Debug, Clone, QueryableByName)]
pub struct Member {
    /// The workshop or workspace.
    #[diesel(sql_type = SqlUuid)]
    pub parent_id: Uuid,
    #[diesel(sql_type = Text)]
    pub user_id: String,
    #[diesel(sql_type = Text)]
    pub role: Role,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// What a membership change can refuse.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// The user is a member already.
    #[error("{user_id} is already a member of {parent}")]
    Exists { parent: Uuid, user_id: String },
    /// No such member.
    #[error("member {user_id} of {parent} not found")]
    NotFound { parent: Uuid, user_id: String },
    /// The change would leave no owner.
    #[error("{user_id} is the last owner of {parent}")]
    LastOwner { parent: Uuid, user_id: String },
    /// The caller's etag of the member is stale.
    #[error(transparent)]
    EtagMismatch(#[from] crate::etag::EtagMismatch),
    /// A statement failed.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

impl Member {
    /// Moves on every change of the member.
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails when the caller sent an etag (empty: none) that no longer
    /// matches.
    fn ensure_etag(&self, etag: &str) -> Result<(), MembershipError> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("member {} of {}", self.user_id, self.parent_id),
        )?)
    }
}

/// Keyset of a member list: oldest first.
pub type ListKey = (KeyTime, String);

/// The list key of a member.
pub fn key_of(member: &Member) -> ListKey {
    (KeyTime::of(member.created_at), member.user_id.clone())
}

impl MemberTable {
    fn columns(&self) -> String {
        format!(
            "{} AS parent_id, user_id, role, created_at, updated_at",
            self.parent
        )
    }

    /// Adds `user_id` with `role` to `parent`.
    pub async fn add(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
        role: &Role,
    ) -> Result<Member, MembershipError> {
        let inserted: Option<Member> = diesel::sql_query(format!(
            "INSERT INTO {} ({}, user_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING RETURNING {}",
            self.table,
            self.parent,
            self.columns()
        ))
        .bind::<SqlUuid, _>(parent)
        .bind::<Text, _>(user_id)
        .bind::<Text, _>(role)
        .load(conn)
        .await
        .single_optional()?;
        inserted.ok_or_else(|| MembershipError::Exists {
            parent,
            user_id: user_id.to_owned(),
        })
    }

    /// The role of `user_id` in `parent`, if a member.
    pub async fn role_of(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
    ) -> Result<Option<Role>, MembershipError> {
        Ok(self
            .find(conn, parent, user_id)
            .await?
            .map(|member| member.role))
    }

    async fn find(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
    ) -> Result<Option<Member>, MembershipError> {
        Ok(diesel::sql_query(format!(
            "SELECT {} FROM {} WHERE {} = $1 AND user_id = $2",
            self.columns(),
            self.table,
            self.parent
        ))
        .bind::<SqlUuid, _>(parent)
        .bind::<Text, _>(user_id)
        .load(conn)
        .await
        .single_optional()?)
    }

    /// The member `user_id` of `parent` (NOT_FOUND when not a member).
    pub async fn existing(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
    ) -> Result<Member, MembershipError> {
        self.find(conn, parent, user_id)
            .await?
            .ok_or_else(|| MembershipError::NotFound {
                parent,
                user_id: user_id.to_owned(),
            })
    }

    /// Fails when `member` is its parent's only owner.
    async fn ensure_not_last_owner(
        &self,
        conn: &mut AsyncPgConnection,
        member: &Member,
    ) -> Result<(), MembershipError> {
        if member.role != Role::Owner {
            return Ok(());
        }
        #[derive(QueryableByName)]
        struct Owners {
            #[diesel(sql_type = BigInt)]
            owners: i64,
        }
        let counted: Owners = diesel::sql_query(format!(
            "SELECT count(*) AS owners FROM {} WHERE {} = $1 AND role = $2",
            self.table, self.parent
        ))
        .bind::<SqlUuid, _>(member.parent_id)
        .bind::<Text, _>(Role::Owner)
        .load(conn)
        .await
        .single()?;
        if counted.owners <= 1 {
            return Err(MembershipError::LastOwner {
                parent: member.parent_id,
                user_id: member.user_id.clone(),
            });
        }
        Ok(())
    }

    /// Gives `user_id` the role `role` if `etag` (empty: any) is the
    /// member's; the last owner keeps theirs.
    pub async fn change_role(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
        role: &Role,
        etag: &str,
    ) -> Result<Member, MembershipError> {
        let member = self.existing(conn, parent, user_id).await?;
        member.ensure_etag(etag)?;
        if *role != Role::Owner {
            self.ensure_not_last_owner(conn, &member).await?;
        }
        Ok(diesel::sql_query(format!(
            "UPDATE {} SET role = $3, \
                    updated_at = greatest(now(), updated_at + interval '1 microsecond') \
             WHERE {} = $1 AND user_id = $2 RETURNING {}",
            self.table,
            self.parent,
            self.columns()
        ))
        .bind::<SqlUuid, _>(parent)
        .bind::<Text, _>(user_id)
        .bind::<Text, _>(role)
        .load(conn)
        .await
        .single()?)
    }

    /// Removes `user_id` if `etag` (empty: any) is the member's; the last
    /// owner stays.
    pub async fn remove(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        user_id: &str,
        etag: &str,
    ) -> Result<(), MembershipError> {
        let member = self.existing(conn, parent, user_id).await?;
        member.ensure_etag(etag)?;
        self.ensure_not_last_owner(conn, &member).await?;
        diesel::sql_query(format!(
            "DELETE FROM {} WHERE {} = $1 AND user_id = $2",
            self.table, self.parent
        ))
        .bind::<SqlUuid, _>(parent)
        .bind::<Text, _>(user_id)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// A page of `parent`'s members, oldest first, after `after`.
    pub async fn list(
        &self,
        conn: &mut AsyncPgConnection,
        parent: Uuid,
        limit: i64,
        after: Option<ListKey>,
    ) -> Result<Vec<Member>, MembershipError> {
        // The row-value keyset condition of `keyset::rows_after`.
        Ok(diesel::sql_query(format!(
            "SELECT {} FROM {} WHERE {} = $1 \
               AND ($2::timestamptz IS NULL OR (created_at, user_id) > ($2, $3)) \
             ORDER BY created_at, user_id LIMIT $4",
            self.columns(),
            self.table,
            self.parent
        ))
        .bind::<SqlUuid, _>(parent)
        .bind::<diesel::sql_types::Nullable<Timestamptz>, _>(
            after.as_ref().map(|(time, _)| time.at()),
        )
        .bind::<Text, _>(after.map(|(_, user)| user).unwrap_or_default())
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?)
    }
}
