//! Workspace members: AddWorkspaceMember, UpdateWorkspaceMember,
//! RemoveWorkspaceMember, ListWorkspaceMembers.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::ApiResult;
use crate::ids::id_field;
use crate::membership;
use crate::proto::signals as pb;
use crate::roles::{Power, Role};
use crate::signals::access::authorize;
use crate::signals::convert::member_to_proto;
use crate::signals::error::SignalsError;
use crate::signals::store::workspaces::MEMBERS;
use crate::state::AppState;

pub async fn add(
    state: &AppState,
    user: UserId,
    req: pb::AddWorkspaceMemberRequest,
) -> ApiResult<pb::AddWorkspaceMemberResponse> {
    let (id, member_id, role) = member_input(&req.workspace_id, &req.user_id, &req.role)?;
    let mut conn = state.conn().await?;
    let member = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Own, true).await?;
            let member = MEMBERS.add(conn, id, member_id.as_str(), &role).await;
            member.map_err(SignalsError::from)
        })
        .await?;
    Ok(pb::AddWorkspaceMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateWorkspaceMemberRequest,
) -> ApiResult<pb::UpdateWorkspaceMemberResponse> {
    let (id, member_id, role) = member_input(&req.workspace_id, &req.user_id, &req.role)?;
    let mut conn = state.conn().await?;
    let member = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Own, true).await?;
            let member = MEMBERS
                .change_role(conn, id, member_id.as_str(), &role)
                .await;
            member.map_err(SignalsError::from)
        })
        .await?;
    Ok(pb::UpdateWorkspaceMemberResponse {
        member: Some(member_to_proto(member)),
    })
}

pub async fn remove(
    state: &AppState,
    user: UserId,
    req: pb::RemoveWorkspaceMemberRequest,
) -> ApiResult<pb::RemoveWorkspaceMemberResponse> {
    let (id, member_id) = (
        field("workspace_id", crate::ids::id(&req.workspace_id)),
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
        removed.map_err(SignalsError::from)
    })
    .await?;
    Ok(pb::RemoveWorkspaceMemberResponse {})
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListWorkspaceMembersRequest,
) -> ApiResult<pb::ListWorkspaceMembersResponse> {
    let workspace = id_field("workspace_id", &req.workspace_id)?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &["workspace_members", &req.workspace_id],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workspace, &user, Power::Read, false).await?;
    let mut rows = MEMBERS
        .list(&mut conn, workspace, page.limit(), page.after())
        .await
        .map_err(SignalsError::from)?;
    let next_page_token = page.next_token(&mut rows, membership::key_of);
    Ok(pb::ListWorkspaceMembersResponse {
        members: rows.into_iter().map(member_to_proto).collect(),
        next_page_token,
    })
}

fn member_input(workspace_id: &str, user_id: &str, role: &str) -> ApiResult<(Uuid, UserId, Role)> {
    (
        field("workspace_id", crate::ids::id(workspace_id)),
        field("user_id", UserId::parse(user_id).map_err(str::to_owned)),
        field("role", Role::parse(role)),
    )
        .all()
}
