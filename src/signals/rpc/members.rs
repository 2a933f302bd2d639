//! Workspace members: AddWorkspaceMember, UpdateWorkspaceMember,
//! RemoveWorkspaceMember, ListWorkspaceMembers — the shared member RPCs
//! (`crate::member_rpcs`) over a workspace's members.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::UserId;
use crate::error::ApiResult;
use crate::member_rpcs::{self, MemberChange, MemberPage, MemberParent};
use crate::membership::MemberTable;
use crate::proto::signals as pb;
use crate::roles::Power;
use crate::signals::access::authorize;
use crate::signals::convert::member_to_proto;
use crate::signals::error::SignalsError;
use crate::signals::store::workspaces::MEMBERS;
use crate::state::AppState;

/// A workspace, as the parent of its members.
struct Workspaces;

impl MemberParent for Workspaces {
    const ID_FIELD: &'static str = "workspace_id";
    const LIST_NAME: &'static str = "workspace_members";
    const MEMBERS: MemberTable = MEMBERS;
    const ADD_METHOD: &'static str = "AddWorkspaceMember";
    type Error = SignalsError;

    async fn authorize(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        user: &UserId,
        needed: Power,
        lock: bool,
    ) -> Result<(), SignalsError> {
        authorize(conn, id, user, needed, lock).await.map(drop)
    }
}

pub async fn add(
    state: &AppState,
    user: UserId,
    req: pb::AddWorkspaceMemberRequest,
) -> ApiResult<pb::AddWorkspaceMemberResponse> {
    let change = MemberChange {
        parent_id: &req.workspace_id,
        user_id: &req.user_id,
        role: &req.role,
        etag: "",
        request_id: &req.request_id,
    };
    let member = member_rpcs::add::<Workspaces>(state, user, change).await?;
    Ok(pb::AddWorkspaceMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateWorkspaceMemberRequest,
) -> ApiResult<pb::UpdateWorkspaceMemberResponse> {
    let change = MemberChange {
        parent_id: &req.workspace_id,
        user_id: &req.user_id,
        role: &req.role,
        etag: &req.etag,
        request_id: "",
    };
    let member = member_rpcs::change_role::<Workspaces>(state, user, change).await?;
    Ok(pb::UpdateWorkspaceMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn remove(
    state: &AppState,
    user: UserId,
    req: pb::RemoveWorkspaceMemberRequest,
) -> ApiResult<pb::RemoveWorkspaceMemberResponse> {
    member_rpcs::remove::<Workspaces>(state, user, &req.workspace_id, &req.user_id, &req.etag)
        .await?;
    Ok(pb::RemoveWorkspaceMemberResponse {})
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListWorkspaceMembersRequest,
) -> ApiResult<pb::ListWorkspaceMembersResponse> {
    let page = MemberPage {
        parent_id: &req.workspace_id,
        page_token: &req.page_token,
        page_size: req.page_size,
    };
    let (members, next_page_token) =
        member_rpcs::list::<Workspaces, _>(state, user, page, member_to_proto).await?;
    Ok(pb::ListWorkspaceMembersResponse {
        members,
        next_page_token,
    })
}
