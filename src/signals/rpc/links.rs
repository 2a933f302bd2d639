//! Links: LinkSignalToProject, UnlinkSignalFromProject,
//! LinkSignalToPersona, UnlinkSignalFromPersona, ListSignalLinks,
//! ListProjectSignals, ListPersonaSignals.

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::ApiResult;
use crate::ids::id_field;
use crate::proto::signals as pb;
use crate::resources;
use crate::roles::Power;
use crate::signals::access::{authorize, load};
use crate::signals::convert::{
    linked_signal_to_proto, persona_link_to_proto, project_link_to_proto, signal_to_proto,
};
use crate::signals::error::{SignalsError, SignalsResult};
use crate::signals::fields::{OWN_ID_MAX, REASON_MAX};
use crate::signals::store::links::{self, LinkNote};
use crate::signals::store::projects::{self, Project};
use crate::signals::store::signals::Signal;
use crate::state::AppState;
use crate::text::{bounded_text, required_text};

pub async fn link_project(
    state: &AppState,
    user: UserId,
    req: pb::LinkSignalToProjectRequest,
) -> ApiResult<pb::LinkSignalToProjectResponse> {
    let (signal_id, project_id, note) = (
        field("signal_id", crate::ids::id(&req.signal_id)),
        field("project_id", crate::ids::id(&req.project_id)),
        link_note(&req.link_reason, req.confidence),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let (link, signal) = conn
        .transaction(async |conn| {
            let signal = editable_signal(conn, signal_id, &user).await?;
            let project = projects::find(conn, project_id, false).await?;
            if project.workspace_id != signal.workspace_id {
                // Only a member of the project's workspace learns that the
                // project exists elsewhere; to anyone else it does not.
                let other = authorize(conn, project.workspace_id, &user, Power::Read, false).await;
                if let Err(SignalsError::NotFound { .. }) = other {
                    return Err(SignalsError::not_found_at(
                        resources::PROJECT,
                        project_id,
                        "project_id",
                    ));
                }
                return Err(SignalsError::CrossWorkspaceLink {
                    signal: signal.id,
                    project: project.id,
                    workspace: signal.workspace_id,
                });
            }
            links::link_project(conn, &signal, project_id, &user, note).await
        })
        .await?;
    Ok(pb::LinkSignalToProjectResponse {
        link: Some(project_link_to_proto(link)),
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn unlink_project(
    state: &AppState,
    user: UserId,
    req: pb::UnlinkSignalFromProjectRequest,
) -> ApiResult<pb::UnlinkSignalFromProjectResponse> {
    let (signal_id, project_id) = (
        field("signal_id", crate::ids::id(&req.signal_id)),
        field("project_id", crate::ids::id(&req.project_id)),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let signal = conn
        .transaction(async |conn| {
            let signal = editable_signal(conn, signal_id, &user).await?;
            links::unlink_project(conn, &signal, project_id).await
        })
        .await?;
    Ok(pb::UnlinkSignalFromProjectResponse {
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn link_persona(
    state: &AppState,
    user: UserId,
    req: pb::LinkSignalToPersonaRequest,
) -> ApiResult<pb::LinkSignalToPersonaResponse> {
    let (signal_id, persona, note) = (
        field("signal_id", crate::ids::id(&req.signal_id)),
        field("persona_id", required_text(&req.persona_id, OWN_ID_MAX)),
        link_note(&req.link_reason, req.confidence),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let (link, signal) = conn
        .transaction(async |conn| {
            let signal = editable_signal(conn, signal_id, &user).await?;
            links::link_persona(conn, &signal, &persona, &user, note).await
        })
        .await?;
    Ok(pb::LinkSignalToPersonaResponse {
        link: Some(persona_link_to_proto(link)),
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn unlink_persona(
    state: &AppState,
    user: UserId,
    req: pb::UnlinkSignalFromPersonaRequest,
) -> ApiResult<pb::UnlinkSignalFromPersonaResponse> {
    let (signal_id, persona) = (
        field("signal_id", crate::ids::id(&req.signal_id)),
        field("persona_id", required_text(&req.persona_id, OWN_ID_MAX)),
    )
        .all()?;
    let mut conn = state.conn().await?;
    let signal = conn
        .transaction(async |conn| {
            let signal = editable_signal(conn, signal_id, &user).await?;
            links::unlink_persona(conn, &signal, &persona).await
        })
        .await?;
    Ok(pb::UnlinkSignalFromPersonaResponse {
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn list_signal_links(
    state: &AppState,
    user: UserId,
    req: pb::ListSignalLinksRequest,
) -> ApiResult<pb::ListSignalLinksResponse> {
    let id = id_field("signal_id", &req.signal_id)?;
    let mut conn = state.conn().await?;
    load::<Signal>(&mut conn, id, &user, Power::Read, false).await?;
    let (projects, personas) = links::of_signal(&mut conn, id).await?;
    Ok(pb::ListSignalLinksResponse {
        project_links: projects.into_iter().map(project_link_to_proto).collect(),
        persona_links: personas.into_iter().map(persona_link_to_proto).collect(),
    })
}

pub async fn list_project_signals(
    state: &AppState,
    user: UserId,
    req: pb::ListProjectSignalsRequest,
) -> ApiResult<pb::ListProjectSignalsResponse> {
    let id = id_field("project_id", &req.project_id)?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &["project_signals", &req.project_id],
    )?;
    let mut conn = state.conn().await?;
    let project: Project = load(&mut conn, id, &user, Power::Read, false).await?;
    let rows = links::project_signals(
        &mut conn,
        project.workspace_id,
        id,
        page.limit(),
        page.after(),
    )
    .await?;
    let (signals, next_page_token) = page.finish(rows, links::key_of, linked_signal_to_proto);
    Ok(pb::ListProjectSignalsResponse {
        signals,
        next_page_token,
    })
}

pub async fn list_persona_signals(
    state: &AppState,
    user: UserId,
    req: pb::ListPersonaSignalsRequest,
) -> ApiResult<pb::ListPersonaSignalsResponse> {
    let (workspace, persona) = (
        field("workspace_id", crate::ids::id(&req.workspace_id)),
        field("persona_id", required_text(&req.persona_id, OWN_ID_MAX)),
    )
        .all()?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &["persona_signals", &req.workspace_id, &persona],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workspace, &user, Power::Read, false).await?;
    let rows =
        links::persona_signals(&mut conn, workspace, &persona, page.limit(), page.after()).await?;
    let (signals, next_page_token) = page.finish(rows, links::key_of, linked_signal_to_proto);
    Ok(pb::ListPersonaSignalsResponse {
        signals,
        next_page_token,
    })
}

/// The signal `id`, locked, if `user` may write in its workspace.
async fn editable_signal(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
) -> SignalsResult<Signal> {
    load(conn, id, user, Power::Edit, true).await
}

/// A link's reason (up to 2,000 characters) and optional confidence
/// (0.0–1.0).
fn link_note(reason: &str, confidence: Option<f64>) -> crate::checked::Checked<LinkNote> {
    let (reason, confidence) = (
        field("link_reason", bounded_text(reason, REASON_MAX)),
        field(
            "confidence",
            match confidence {
                Some(c) if !(0.0..=1.0).contains(&c) => Err(format!("must be 0.0-1.0, not {c}")),
                other => Ok(other),
            },
        ),
    )
        .checked()?;
    Ok(LinkNote { reason, confidence })
}
