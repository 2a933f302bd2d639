//! Projects: CreateProject, GetProject, ListProjects, UpdateProject,
//! DeleteProject.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult, Violations};
use crate::ids::id_field;
use crate::pagination;
use crate::proto::signals as pb;
use crate::roles::Power;
use crate::signals::access::{authorize, load};
use crate::signals::convert::project_to_proto;
use crate::signals::fields::{DESCRIPTION_MAX, NAME_MAX, ProjectStatus};
use crate::signals::store::links;
use crate::signals::store::projects::{self, NewProject, Project, ProjectChanges};
use crate::state::AppState;
use crate::text::{bounded_text, required_text};

pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateProjectRequest,
) -> ApiResult<pb::CreateProjectResponse> {
    let (workspace, name, description) = (
        field("workspace_id", crate::ids::id(&req.workspace_id)),
        field("name", required_text(&req.name, NAME_MAX)),
        field(
            "description",
            bounded_text(&req.description, DESCRIPTION_MAX),
        ),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let project = conn
        .transaction(async |conn| {
            authorize(conn, workspace, &user, Power::Edit, false).await?;
            projects::create(conn, workspace, NewProject { name, description }).await
        })
        .await?;
    Ok(pb::CreateProjectResponse {
        project: Some(project_to_proto(project)),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetProjectRequest,
) -> ApiResult<pb::GetProjectResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let project: Project = load(&mut conn, id, &user, Power::Read, false).await?;
    Ok(pb::GetProjectResponse {
        project: Some(project_to_proto(project)),
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListProjectsRequest,
) -> ApiResult<pb::ListProjectsResponse> {
    let (workspace, _, status) = (
        field("workspace_id", crate::ids::id(&req.workspace_id)),
        field("page_size", pagination::checked_page_size(req.page_size)),
        field("status", ProjectStatus::from_proto(req.status)),
    )
        .all()?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &[
            "projects",
            &req.workspace_id,
            status.map_or("", ProjectStatus::as_db),
        ],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workspace, &user, Power::Read, false).await?;
    let rows = projects::list(&mut conn, workspace, status, page.limit(), page.after()).await?;
    let (projects, next_page_token) = page.finish(rows, projects::key_of, project_to_proto);
    Ok(pb::ListProjectsResponse {
        projects,
        next_page_token,
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateProjectRequest,
) -> ApiResult<pb::UpdateProjectResponse> {
    let Some(input) = req.project else {
        return Err(ApiError::invalid_field("project", "is required"));
    };
    let id = id_field("project.id", &input.id)?;
    let changes = project_changes(&input, req.update_mask)?;
    let mut conn = state.conn().await?;
    let project = conn
        .transaction(async |conn| {
            let project: Project = load(conn, id, &user, Power::Edit, true).await?;
            project.ensure_etag(&input.etag)?;
            ApiResult::Ok(projects::update(conn, &project, changes).await?)
        })
        .await?;
    Ok(pb::UpdateProjectResponse {
        project: Some(project_to_proto(project)),
    })
}

pub async fn delete(
    state: &AppState,
    user: UserId,
    req: pb::DeleteProjectRequest,
) -> ApiResult<pb::DeleteProjectResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        // The linked signals are locked before the project, in the order
        // LinkSignalToProject takes them (signal, then the project through
        // its foreign key), so the two cannot deadlock.
        load::<Project>(conn, id, &user, Power::Edit, false).await?;
        let linked = links::lock_signals_of_project(conn, id).await?;
        let project = projects::find(conn, id, true).await?;
        project.ensure_etag(&req.etag)?;
        projects::delete(conn, id).await?;
        ApiResult::Ok(links::unmark_unlinked(conn, &linked).await?)
    })
    .await?;
    Ok(pb::DeleteProjectResponse {})
}

/// The changes an UpdateProject request asks for.
fn project_changes(
    input: &pb::Project,
    mask: Option<prost_types::FieldMask>,
) -> ApiResult<ProjectChanges> {
    let mut changes = ProjectChanges::default();
    let mut violations = Violations::new();
    let updatable = ["name", "description", "status"];
    for path in &crate::field_mask::paths(mask.as_ref(), &updatable, &mut violations) {
        match path.as_str() {
            "name" => {
                changes.name =
                    violations.check("project.name", required_text(&input.name, NAME_MAX));
            }
            "description" => {
                changes.description = violations.check(
                    "project.description",
                    bounded_text(&input.description, DESCRIPTION_MAX),
                );
            }
            "status" => match ProjectStatus::from_proto(input.status) {
                Ok(Some(status)) => changes.status = Some(status),
                Ok(None) => violations.add("project.status", "is required when masked"),
                Err(why) => violations.add("project.status", why),
            },
            other => violations.add(
                "update_mask",
                format!(
                    "{} cannot be updated; paths: name, description, status",
                    crate::text::quote(other)
                ),
            ),
        }
    }
    violations.finish()?;
    Ok(changes)
}
