//! The four member RPCs (add, change a role, remove, list), written once for
//! every resource that has members (workshops, workspaces). A domain says
//! what its parent is ([`MemberParent`]: the request field naming it, its
//! member table, how a caller is authorized on it) and maps the results to
//! its own proto messages; the checks, the transaction and the paging are
//! the same everywhere, so the two domains cannot drift apart.

use std::future::Future;

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::RetryKey;
use crate::membership::{self, Member, MemberTable, MembershipError};
use crate::roles::{Power, Role};
use crate::state::AppState;

/// A resource with members, as its member RPCs see it.
pub trait MemberParent {
    /// The request field naming the parent, e.g. `workshop_id`.
    const ID_FIELD: &'static str;
    /// What the member list's page tokens are bound to, beside the parent's
    /// id (a token of one list is refused by another).
    const LIST_NAME: &'static str;
    /// The parent's member table.
    const MEMBERS: MemberTable;
    /// The add RPC's name, which its idempotency keys are kept under.
    const ADD_METHOD: &'static str;
    /// The domain's error, which says a membership refusal in its own words.
    type Error: From<MembershipError>
        + From<diesel::result::Error>
        + Into<ApiError>
        + Send
        + 'static;

    /// Succeeds when `user` has `needed` on parent `id`; `lock` holds the
    /// parent's row lock for the rest of the transaction (member changes
    /// take it, so the last-owner rule cannot race another change).
    fn authorize(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        user: &UserId,
        needed: Power,
        lock: bool,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// A member change as a request names it: the parent, the member, the
/// role (raw, as received), the member's etag as read (empty for none;
/// AddMember has none) and the add's idempotency key (empty for none; a
/// role change has none).
#[derive(Debug, Clone, Copy)]
pub struct MemberChange<'a> {
    pub parent_id: &'a str,
    pub user_id: &'a str,
    pub role: &'a str,
    pub etag: &'a str,
    pub request_id: &'a str,
}

/// A member list request: the parent and the page.
#[derive(Debug, Clone, Copy)]
pub struct MemberPage<'a> {
    pub parent_id: &'a str,
    pub page_token: &'a str,
    pub page_size: i32,
}

/// Adds a member (owners only).
pub async fn add<P: MemberParent>(
    state: &AppState,
    user: UserId,
    change: MemberChange<'_>,
) -> ApiResult<Member> {
    write_member::<P>(state, user, change, Write::Add).await
}

/// Changes a member's role (owners only); the last owner keeps theirs.
pub async fn change_role<P: MemberParent>(
    state: &AppState,
    user: UserId,
    change: MemberChange<'_>,
) -> ApiResult<Member> {
    write_member::<P>(state, user, change, Write::ChangeRole).await
}

/// Removes a member: anyone may leave, only owners remove others, and the
/// last owner stays.
pub async fn remove<P: MemberParent>(
    state: &AppState,
    user: UserId,
    parent_id: &str,
    user_id: &str,
    etag: &str,
) -> ApiResult<()> {
    let (parent, member) = (
        field(P::ID_FIELD, crate::ids::id(parent_id)),
        field("user_id", UserId::parse(user_id).map_err(str::to_owned)),
    )
        .all()?;
    let needed = if member == user {
        Power::Read
    } else {
        Power::Own
    };
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        P::authorize(conn, parent, &user, needed, true).await?;
        P::MEMBERS
            .remove(conn, parent, member.as_str(), etag)
            .await?;
        Ok::<_, P::Error>(())
    })
    .await
    .map_err(Into::into)
}

/// A page of the parent's members (oldest first) for a caller who may read
/// it, as protos, and the next page's token (empty on the last page).
pub async fn list<P: MemberParent, Proto: prost::Message>(
    state: &AppState,
    user: UserId,
    request: MemberPage<'_>,
    to_proto: impl Fn(Member) -> Proto,
) -> ApiResult<(Vec<Proto>, String)> {
    let parent = crate::ids::id_field(P::ID_FIELD, request.parent_id)?;
    let page = state.page_tokens.request(
        request.page_token,
        request.page_size,
        &[P::LIST_NAME, request.parent_id],
    )?;
    let mut conn = state.conn().await?;
    P::authorize(&mut conn, parent, &user, Power::Read, false)
        .await
        .map_err(Into::into)?;
    let rows = P::MEMBERS
        .list(&mut conn, parent, page.limit(), page.after())
        .await
        .map_err(|e| P::Error::from(e).into())?;
    Ok(page.finish(rows, membership::key_of, to_proto))
}

fn parse_change<P: MemberParent>(
    change: MemberChange<'_>,
) -> ApiResult<(Uuid, UserId, Role, Option<String>)> {
    (
        field(P::ID_FIELD, crate::ids::id(change.parent_id)),
        field(
            "user_id",
            UserId::parse(change.user_id).map_err(str::to_owned),
        ),
        field("role", Role::parse(change.role)),
        field(
            "request_id",
            crate::idempotency::request_id(change.request_id),
        ),
    )
        .all()
}

/// The two writes an owner makes to a member.
#[derive(Debug, Clone, Copy)]
enum Write {
    Add,
    ChangeRole,
}

/// Parses `change`, then makes `write` in one transaction after checking
/// `user` owns the parent (with its row locked). A retried add (same
/// request id) answers with the member as it is now.
async fn write_member<P: MemberParent>(
    state: &AppState,
    user: UserId,
    change: MemberChange<'_>,
    write: Write,
) -> ApiResult<Member> {
    let (parent, member, role, request_id) = parse_change::<P>(change)?;
    let retry = RetryKey::of_parts(
        P::ADD_METHOD,
        &user,
        request_id,
        &[change.parent_id, change.user_id, change.role],
    );
    let etag = change.etag;
    let in_domain = |error: MembershipError| -> ApiError { P::Error::from(error).into() };
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        P::authorize(conn, parent, &user, Power::Own, true)
            .await
            .map_err(Into::<ApiError>::into)?;
        let member = member.as_str();
        match write {
            Write::Add => {
                if retry.first::<String>(conn).await?.is_some() {
                    return P::MEMBERS
                        .existing(conn, parent, member)
                        .await
                        .map_err(in_domain);
                }
                let added = P::MEMBERS
                    .add(conn, parent, member, &role)
                    .await
                    .map_err(in_domain)?;
                retry.record(conn, member).await?;
                Ok(added)
            }
            Write::ChangeRole => P::MEMBERS
                .change_role(conn, parent, member, &role, etag)
                .await
                .map_err(in_domain),
        }
    })
    .await
}
