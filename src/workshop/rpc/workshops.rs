//! Workshops: CreateWorkshop, GetWorkshop, ListWorkshops, UpdateWorkshop,
//! DeleteWorkshop, ShareWorkshop, GetSharedWorkshop.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use crate::auth::{Caller, UserId};
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult, Violations};
use crate::idempotency::RetryKey;
use crate::ids::id_field;
use crate::pagination;
use crate::proto::workshop as pb;
use crate::roles::{Power, Role};
use crate::state::AppState;
use crate::text::{optional_text, required_text};
use crate::workshop::access::authorize;
use crate::workshop::convert::{step_to_proto, workshop_to_proto};
use crate::workshop::fields::{self, IDEA_MAX, REF_MAX, TITLE_MAX};
use crate::workshop::store::{steps, workshops};

pub async fn create(
    state: &AppState,
    caller: Caller,
    user: UserId,
    req: pb::CreateWorkshopRequest,
) -> ApiResult<pb::CreateWorkshopResponse> {
    let (title, original_idea, org_id, template_id, request_id) = (
        field("title", required_text(&req.title, TITLE_MAX)),
        field("original_idea", required_text(&req.original_idea, IDEA_MAX)),
        field("org_id", optional_text(&req.org_id, REF_MAX)),
        field("template_id", optional_text(&req.template_id, REF_MAX)),
        field(
            "request_id",
            crate::idempotency::request_id(&req.request_id),
        ),
    )
        .all()?;
    let retry = RetryKey::new(
        "CreateWorkshop",
        &user,
        request_id,
        &pb::CreateWorkshopRequest {
            request_id: String::new(),
            ..req
        },
    );
    let (plan, cap) = state.settings.workshop.cap_for(caller.plan.as_deref());
    let plan = plan.to_owned();
    let new = workshops::NewWorkshop {
        title,
        original_idea,
        org_id,
        template_id,
    };
    let mut conn = state.conn().await?;
    let (workshop, progress) = conn
        .transaction(async |conn| {
            let workshop = match retry.first(conn).await? {
                Some(first) => workshops::find(conn, first, false).await?,
                None => {
                    let workshop = workshops::create(conn, &user, &plan, cap, new).await?;
                    retry.record(conn, workshop.id).await?;
                    workshop
                }
            };
            let progress = workshops::progress_of(conn, workshop.id).await?;
            ApiResult::Ok((workshop, progress))
        })
        .await?;
    Ok(pb::CreateWorkshopResponse {
        workshop: Some(workshop_to_proto(workshop, &progress)),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetWorkshopRequest,
) -> ApiResult<pb::GetWorkshopResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let access = authorize(&mut conn, id, &user, Power::Read, false).await?;
    let progress = workshops::progress_of(&mut conn, id).await?;
    Ok(pb::GetWorkshopResponse {
        workshop: Some(workshop_to_proto(access.workshop, &progress)),
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListWorkshopsRequest,
) -> ApiResult<pb::ListWorkshopsResponse> {
    let role = if req.role.is_empty() {
        Ok(None)
    } else {
        field("role", Role::parse(&req.role).map(Some))
    };
    let (_, status, role) = (
        field("page_size", pagination::checked_page_size(req.page_size)),
        field("status", fields::Status::from_proto(req.status)),
        role,
    )
        .all()?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &[
            "workshops",
            user.as_str(),
            status.map_or("", fields::Status::as_db),
            role.as_ref().map_or("", Role::as_str),
        ],
    )?;
    let mut conn = state.conn().await?;
    let rows = workshops::list(
        &mut conn,
        &user,
        status,
        role.as_ref(),
        page.limit(),
        page.after(),
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|w| w.id).collect();
    let progress = workshops::progress(&mut conn, &ids).await?;
    let (workshops, next_page_token) = page.finish(rows, workshops::key_of, |w| {
        let p = progress.get(&w.id).cloned().unwrap_or_default();
        workshop_to_proto(w, &p)
    });
    Ok(pb::ListWorkshopsResponse {
        workshops,
        next_page_token,
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateWorkshopRequest,
) -> ApiResult<pb::UpdateWorkshopResponse> {
    let Some(input) = req.workshop else {
        return Err(ApiError::invalid_field("workshop", "is required"));
    };
    let id = id_field("workshop.id", &input.id)?;
    let (changes, needed) = workshop_changes(&input, req.update_mask)?;
    let mut conn = state.conn().await?;
    let (workshop, progress) = conn
        .transaction(async |conn| {
            let access = authorize(conn, id, &user, needed, true).await?;
            access.workshop.ensure_etag(&input.etag)?;
            let workshop = workshops::update(conn, &access.workshop, changes).await?;
            let progress = workshops::progress_of(conn, id).await?;
            ApiResult::Ok((workshop, progress))
        })
        .await?;
    Ok(pb::UpdateWorkshopResponse {
        workshop: Some(workshop_to_proto(workshop, &progress)),
    })
}

pub async fn delete(
    state: &AppState,
    user: UserId,
    req: pb::DeleteWorkshopRequest,
) -> ApiResult<pb::DeleteWorkshopResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        let access = authorize(conn, id, &user, Power::Own, true).await?;
        access.workshop.ensure_etag(&req.etag)?;
        workshops::delete(conn, id).await
    })
    .await?;
    Ok(pb::DeleteWorkshopResponse {})
}

pub async fn share(
    state: &AppState,
    user: UserId,
    req: pb::ShareWorkshopRequest,
) -> ApiResult<pb::ShareWorkshopResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let (workshop, token, progress) = conn
        .transaction(async |conn| {
            let access = authorize(conn, id, &user, Power::Own, true).await?;
            let (workshop, token) = if req.shared {
                workshops::share(conn, id).await?
            } else {
                (
                    workshops::unshare(conn, &access.workshop).await?,
                    String::new(),
                )
            };
            let progress = workshops::progress_of(conn, id).await?;
            ApiResult::Ok((workshop, token, progress))
        })
        .await?;
    Ok(pb::ShareWorkshopResponse {
        workshop: Some(workshop_to_proto(workshop, &progress)),
        share_token: token,
    })
}

pub async fn get_shared(
    state: &AppState,
    req: pb::GetSharedWorkshopRequest,
) -> ApiResult<pb::GetSharedWorkshopResponse> {
    let token = req.share_token;
    if token.is_empty() {
        return Err(ApiError::invalid_field("share_token", "is required"));
    }
    let mut conn = state.conn().await?;
    let workshop = workshops::find_shared(&mut conn, &token).await?;
    let progress = workshops::progress_of(&mut conn, workshop.id).await?;
    let steps = steps::list(&mut conn, workshop.id).await?;
    Ok(pb::GetSharedWorkshopResponse {
        workshop: Some(workshop_to_proto(workshop, &progress)),
        steps: steps.into_iter().map(step_to_proto).collect(),
    })
}

/// The changes an UpdateWorkshop request asks for, and the power they need
/// (status and visibility are the owners').
fn workshop_changes(
    input: &pb::WorkshopInfo,
    mask: Option<prost_types::FieldMask>,
) -> ApiResult<(workshops::Changes, Power)> {
    let mut changes = workshops::Changes::default();
    let mut needed = Power::Edit;
    let mut violations = Violations::new();
    let updatable = ["title", "original_idea", "status", "visibility"];
    for path in &crate::field_mask::paths(mask.as_ref(), &updatable, &mut violations) {
        match path.as_str() {
            "title" => {
                changes.title =
                    violations.check("workshop.title", required_text(&input.title, TITLE_MAX));
            }
            "original_idea" => {
                changes.original_idea = violations.check(
                    "workshop.original_idea",
                    required_text(&input.original_idea, IDEA_MAX),
                );
            }
            "status" => {
                needed = Power::Own;
                match fields::Status::from_proto(input.status) {
                    Ok(Some(status)) => changes.status = Some(status),
                    Ok(None) => violations.add("workshop.status", "is required when masked"),
                    Err(why) => violations.add("workshop.status", why),
                }
            }
            "visibility" => {
                needed = Power::Own;
                match pb::Visibility::try_from(input.visibility) {
                    Ok(pb::Visibility::Private) => changes.make_private = true,
                    Ok(pb::Visibility::Shared) => violations.add(
                        "workshop.visibility",
                        "can only be set to PRIVATE here; share with ShareWorkshop, which issues the token",
                    ),
                    _ => violations.add("workshop.visibility", "must be PRIVATE"),
                }
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} cannot be updated; paths: title, original_idea, status, visibility",
                    crate::text::quote(other)
                ),
            ),
        }
    }
    violations.finish()?;
    Ok((changes, needed))
}
