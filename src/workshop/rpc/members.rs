//! Members: AddMember, UpdateMember, RemoveMember, ListMembers — the shared
//! member RPCs (`crate::member_rpcs`) over a workshop's members.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::UserId;
use crate::error::ApiResult;
use crate::member_rpcs::{self, MemberChange, MemberPage, MemberParent};
use crate::membership::MemberTable;
use crate::proto::workshop as pb;
use crate::roles::Power;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::convert::member_to_proto;
use crate::workshop::error::WorkshopError;
use crate::workshop::store::members::MEMBERS;

/// A workshop, as the parent of its members.
struct Workshops;

impl MemberParent for Workshops {
    const ID_FIELD: &'static str = "workshop_id";
    const LIST_NAME: &'static str = "members";
    const MEMBERS: MemberTable = MEMBERS;
    const ADD_METHOD: &'static str = "AddMember";
    type Error = WorkshopError;

    async fn authorize(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        user: &UserId,
        needed: Power,
        lock: bool,
    ) -> Result<(), WorkshopError> {
        authorize(conn, id, user, needed, lock).await.map(drop)
    }
}

pub async fn add(
    state: &AppState,
    user: UserId,
    req: pb::AddMemberRequest,
) -> ApiResult<pb::AddMemberResponse> {
    let change = MemberChange {
        parent_id: &req.workshop_id,
        user_id: &req.user_id,
        role: &req.role,
        etag: "",
        request_id: &req.request_id,
    };
    let member = member_rpcs::add::<Workshops>(state, user, change).await?;
    Ok(pb::AddMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateMemberRequest,
) -> ApiResult<pb::UpdateMemberResponse> {
    let change = MemberChange {
        parent_id: &req.workshop_id,
        user_id: &req.user_id,
        role: &req.role,
        etag: &req.etag,
        request_id: "",
    };
    let member = member_rpcs::change_role::<Workshops>(state, user, change).await?;
    Ok(pb::UpdateMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn remove(
    state: &AppState,
    user: UserId,
    req: pb::RemoveMemberRequest,
) -> ApiResult<pb::RemoveMemberResponse> {
    member_rpcs::remove::<Workshops>(state, user, &req.workshop_id, &req.user_id, &req.etag)
        .await?;
    Ok(pb::RemoveMemberResponse {})
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListMembersRequest,
) -> ApiResult<pb::ListMembersResponse> {
    let page = MemberPage {
        parent_id: &req.workshop_id,
        page_token: &req.page_token,
        page_size: req.page_size,
    };
    let (members, next_page_token) =
        member_rpcs::list::<Workshops, _>(state, user, page, member_to_proto).await?;
    Ok(pb::ListMembersResponse {
        members,
        next_page_token,
    })
}
