//! Projects: named (uniquely within their workspace) pieces of work that
//! signals inform, with counts of their linked signals that the outbox
//! worker keeps (see `signals::jobs`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::rows::SingleRow as _;
use crate::keyset::{self, Direction, KeyTime};
use crate::resources;
use crate::schema::projects;
use crate::signals::error::{SignalsError, SignalsResult};
use crate::signals::fields::ProjectStatus;
use crate::signals::store::workspaces::next_update_time;

/// A stored project.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct Project {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: String,
    pub status: ProjectStatus,
    /// Linked signals, in all and per severity (eventually exact: the
    /// worker recomputes them after every change that can move them).
    pub signal_count: i64,
    pub critical_count: i64,
    pub high_count: i64,
    pub medium_count: i64,
    pub low_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Project {
    /// Moves on every change a caller makes (not on count updates).
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails when the caller sent an etag that no longer matches.
    pub fn ensure_etag(&self, etag: &str) -> SignalsResult<()> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("project {}", self.id),
        )?)
    }
}

/// What CreateProject stores.
#[derive(Debug)]
pub struct NewProject {
    pub name: String,
    pub description: String,
}

/// Creates a project in `workspace`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    new: NewProject,
) -> SignalsResult<Project> {
    diesel::insert_into(projects::table)
        .values((
            projects::id.eq(Uuid::now_v7()),
            projects::workspace_id.eq(workspace),
            projects::name.eq(&new.name),
            projects::description.eq(&new.description),
        ))
        .returning(Project::as_returning())
        .load(conn)
        .await
        .single()
        .map_err(|e| name_taken(e, workspace, &new.name))
}

fn name_taken(error: DieselError, workspace: Uuid, name: &str) -> SignalsError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("projects_name_key") =>
        {
            SignalsError::ProjectNameTaken {
                workspace,
                name: crate::text::quote(name),
            }
        }
        _ => error.into(),
    }
}

/// The project `id` (locked for the transaction when `lock`).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> SignalsResult<Project> {
    let query = projects::table.find(id).select(Project::as_select());
    let found = if lock {
        query.for_update().load(conn).await.single_optional()?
    } else {
        query.load(conn).await.single_optional()?
    };
    found.ok_or_else(|| SignalsError::not_found(resources::PROJECT, id))
}

/// Keyset of ListProjects: newest first.
pub type ListKey = (KeyTime, Uuid);

/// The list key of a project.
pub fn key_of(project: &Project) -> ListKey {
    (KeyTime::of(project.created_at), project.id)
}

/// A page of the workspace's projects (with `status`, if given).
pub async fn list(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    status: Option<ProjectStatus>,
    limit: i64,
    after: Option<ListKey>,
) -> SignalsResult<Vec<Project>> {
    let mut query = projects::table
        .filter(projects::workspace_id.eq(workspace))
        .select(Project::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(projects::status.eq(status));
    }
    let columns = (projects::created_at, projects::id);
    let page = keyset::page(query, columns, Direction::NewestFirst, after, limit);
    Ok(page.load(conn).await?)
}

/// The fields UpdateProject may change; `None` keeps a field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct ProjectChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ProjectStatus>,
}

/// Applies `changes` to the (locked) `project`.
pub async fn update(
    conn: &mut AsyncPgConnection,
    project: &Project,
    changes: ProjectChanges,
) -> SignalsResult<Project> {
    let name = changes.name.clone();
    diesel::update(projects::table.find(project.id))
        .set((
            &changes,
            projects::updated_at.eq(next_update_time(project.updated_at)),
        ))
        .returning(Project::as_returning())
        .load(conn)
        .await
        .single()
        .map_err(|e| name_taken(e, project.workspace_id, name.as_deref().unwrap_or_default()))
}

/// Deletes a project and its links (the foreign keys cascade).
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> SignalsResult<()> {
    diesel::delete(projects::table.find(id))
        .execute(conn)
        .await?;
    Ok(())
}
