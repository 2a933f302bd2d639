//! Workspaces: CreateWorkspace, GetWorkspace, ListWorkspaces,
//! UpdateWorkspace, DeleteWorkspace.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult};
use crate::ids::id_field;
use crate::pagination;
use crate::proto::signals as pb;
use crate::roles::{Power, Role};
use crate::signals::access::authorize;
use crate::signals::convert::workspace_to_proto;
use crate::signals::fields::NAME_MAX;
use crate::signals::store::workspaces;
use crate::state::AppState;
use crate::text::required_text;

pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateWorkspaceRequest,
) -> ApiResult<pb::CreateWorkspaceResponse> {
    let name = field("name", required_text(&req.name, NAME_MAX)).map_err(ApiError::invalid)?;
    let mut conn = state.conn().await?;
    let workspace = conn
        .transaction(async |conn| workspaces::create(conn, &user, &name).await)
        .await?;
    Ok(pb::CreateWorkspaceResponse {
        workspace: Some(workspace_to_proto(workspace)),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetWorkspaceRequest,
) -> ApiResult<pb::GetWorkspaceResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let access = authorize(&mut conn, id, &user, Power::Read, false).await?;
    Ok(pb::GetWorkspaceResponse {
        workspace: Some(workspace_to_proto(access.workspace)),
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListWorkspacesRequest,
) -> ApiResult<pb::ListWorkspacesResponse> {
    let role = if req.role.is_empty() {
        Ok(None)
    } else {
        field("role", Role::parse(&req.role).map(Some))
    };
    let (_, role) = (
        field("page_size", pagination::checked_page_size(req.page_size)),
        role,
    )
        .all()?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &[
            "workspaces",
            user.as_str(),
            role.as_ref().map_or("", Role::as_str),
        ],
    )?;
    let mut conn = state.conn().await?;
    let rows =
        workspaces::list(&mut conn, &user, role.as_ref(), page.limit(), page.after()).await?;
    let (workspaces, next_page_token) = page.finish(rows, workspaces::key_of, workspace_to_proto);
    Ok(pb::ListWorkspacesResponse {
        workspaces,
        next_page_token,
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateWorkspaceRequest,
) -> ApiResult<pb::UpdateWorkspaceResponse> {
    let Some(input) = req.workspace else {
        return Err(ApiError::invalid_field("workspace", "is required"));
    };
    let id = id_field("workspace.id", &input.id)?;
    let mut violations = crate::error::Violations::new();
    let paths = crate::field_mask::paths(req.update_mask.as_ref(), &["name"], &mut violations);
    if let Some(other) = paths.iter().find(|path| *path != "name") {
        violations.add(
            "update_mask",
            format!(
                "{} cannot be updated; `name` is the one field a workspace update changes",
                crate::text::quote(other)
            ),
        );
    }
    violations.finish()?;
    let name =
        field("workspace.name", required_text(&input.name, NAME_MAX)).map_err(ApiError::invalid)?;
    let mut conn = state.conn().await?;
    let workspace = conn
        .transaction(async |conn| {
            let access = authorize(conn, id, &user, Power::Own, true).await?;
            access.workspace.ensure_etag(&input.etag)?;
            workspaces::rename(conn, &access.workspace, &name).await
        })
        .await?;
    Ok(pb::UpdateWorkspaceResponse {
        workspace: Some(workspace_to_proto(workspace)),
    })
}

pub async fn delete(
    state: &AppState,
    user: UserId,
    req: pb::DeleteWorkspaceRequest,
) -> ApiResult<pb::DeleteWorkspaceResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        let access = authorize(conn, id, &user, Power::Own, true).await?;
        access.workspace.ensure_etag(&req.etag)?;
        workspaces::delete(conn, id).await
    })
    .await?;
    Ok(pb::DeleteWorkspaceResponse {})
}
