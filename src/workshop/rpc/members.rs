//! Members: AddMember, UpdateMember, RemoveMember, ListMembers.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::ApiResult;
use crate::proto::workshop as pb;
use crate::roles::Power;
use crate::roles::Role;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::convert::member_to_proto;
use crate::workshop::error::WorkshopError;
use crate::workshop::rpc::listing::{PageOf, page_in_workshop};
use crate::workshop::store::members::{self, MEMBERS};

pub async fn add(
    state: &AppState,
    user: UserId,
    req: pb::AddMemberRequest,
) -> ApiResult<pb::AddMemberResponse> {
    let (id, member_id, role) = member_input(&req.workshop_id, &req.user_id, &req.role)?;
    let mut conn = state.conn().await?;
    let member = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Own, true).await?;
            let member = MEMBERS.add(conn, id, member_id.as_str(), &role).await;
            member.map_err(WorkshopError::from)
        })
        .await?;
    Ok(pb::AddMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateMemberRequest,
) -> ApiResult<pb::UpdateMemberResponse> {
    let (id, member_id, role) = member_input(&req.workshop_id, &req.user_id, &req.role)?;
    let mut conn = state.conn().await?;
    let member = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Own, true).await?;
            let member = MEMBERS
                .change_role(conn, id, member_id.as_str(), &role)
                .await;
            member.map_err(WorkshopError::from)
        })
        .await?;
    Ok(pb::UpdateMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn remove(
    state: &AppState,
    user: UserId,
    req: pb::RemoveMemberRequest,
) -> ApiResult<pb::RemoveMemberResponse> {
    let (id, member_id) = (
        field("workshop_id", crate::ids::id(&req.workshop_id)),
        field(
            "user_id",
            UserId::parse(&req.user_id).map_err(str::to_owned),
        ),
    )
        .all()?;
    // Anyone may leave; only owners remove others.
    let needed = if member_id == user {
        Power::Read
    } else {
        Power::Own
    };
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        authorize(conn, id, &user, needed, true).await?;
        let removed = MEMBERS.remove(conn, id, member_id.as_str()).await;
        removed.map_err(WorkshopError::from)
    })
    .await?;
    Ok(pb::RemoveMemberResponse {})
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListMembersRequest,
) -> ApiResult<pb::ListMembersResponse> {
    let request = PageOf {
        resource: "members",
        workshop_id: &req.workshop_id,
        page_token: &req.page_token,
        page_size: req.page_size,
    };
    let (rows, next_page_token) = page_in_workshop(
        state,
        &user,
        request,
        async |conn, workshop, limit, after| Ok(MEMBERS.list(conn, workshop, limit, after).await?),
        members::key_of,
    )
    .await?;
    Ok(pb::ListMembersResponse {
        members: rows.into_iter().map(member_to_proto).collect(),
        next_page_token,
    })
}

fn member_input(workshop_id: &str, user_id: &str, role: &str) -> ApiResult<(Uuid, UserId, Role)> {
    (
        field("workshop_id", crate::ids::id(workshop_id)),
        field("user_id", UserId::parse(user_id).map_err(str::to_owned)),
        field("role", Role::parse(role)),
    )
        .all()
}
