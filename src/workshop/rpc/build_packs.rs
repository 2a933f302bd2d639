//! Build packs: CreateBuildPack, GetBuildPack, ListBuildPacks,
//! ReadBuildPackContent.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::RetryKey;
use crate::ids::id_field;
use crate::proto::workshop as pb;
use crate::resources;
use crate::roles::Power;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::convert::pack_to_proto;
use crate::workshop::error::WorkshopError;
use crate::workshop::fields::{PackFormat, PackStatus};
use crate::workshop::rpc::listing::{PageOf, page_in_workshop};
use crate::workshop::store::build_packs;

pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateBuildPackRequest,
) -> ApiResult<pb::CreateBuildPackResponse> {
    let (id, format, request_id) = (
        field("workshop_id", crate::ids::id(&req.workshop_id)),
        field("format", PackFormat::from_proto(req.format)),
        field(
            "request_id",
            crate::idempotency::request_id(&req.request_id),
        ),
    )
        .all()?;
    let retry = RetryKey::new(
        "CreateBuildPack",
        &user,
        request_id,
        &pb::CreateBuildPackRequest {
            request_id: String::new(),
            ..req
        },
    );
    let mut conn = state.conn().await?;
    let pack = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Edit, false).await?;
            if let Some(first) = retry.first(conn).await? {
                return Ok(build_packs::find(conn, first).await?);
            }
            let pack = build_packs::create(conn, id, format, user.as_str()).await?;
            retry.record(conn, pack.id).await?;
            ApiResult::Ok(pack)
        })
        .await?;
    Ok(pb::CreateBuildPackResponse {
        build_pack: Some(pack_to_proto(pack)),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetBuildPackRequest,
) -> ApiResult<pb::GetBuildPackResponse> {
    let id = id_field("id", &req.id)?;
    let pack = readable_pack(state, id, &user).await?;
    Ok(pb::GetBuildPackResponse {
        build_pack: Some(pack_to_proto(pack)),
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListBuildPacksRequest,
) -> ApiResult<pb::ListBuildPacksResponse> {
    let request = PageOf {
        resource: "build_packs",
        workshop_id: &req.workshop_id,
        page_token: &req.page_token,
        page_size: req.page_size,
    };
    let (build_packs, next_page_token) = page_in_workshop(
        state,
        &user,
        request,
        build_packs::list,
        build_packs::key_of,
        pack_to_proto,
    )
    .await?;
    Ok(pb::ListBuildPacksResponse {
        build_packs,
        next_page_token,
    })
}

pub async fn read_content(
    state: &AppState,
    user: UserId,
    req: pb::ReadBuildPackContentRequest,
) -> ApiResult<tonic::codegen::BoxStream<pb::ReadBuildPackContentResponse>> {
    use futures_util::StreamExt as _;

    let id = id_field("id", &req.id)?;
    let pack = readable_pack(state, id, &user).await?;
    let (Some(key), Some(sha256)) = (pack.object_key.clone(), pack.sha256.clone()) else {
        let (reason, message) = match pack.status {
            PackStatus::Failed => (
                "BUILD_PACK_FAILED",
                format!(
                    "build pack {id} failed to render: {}",
                    pack.failure_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ),
            ),
            _ => (
                "BUILD_PACK_PENDING",
                format!("build pack {id} is still rendering; poll GetBuildPack"),
            ),
        };
        return Err(ApiError::failed_precondition(reason, message));
    };
    let chunks = crate::content::stream_verified(
        &state.storage,
        object_store::path::Path::from(key.as_str()),
        sha256,
        // A damaged pack is only logged: it is a rendering of current
        // outputs, and a new CreateBuildPack makes a fresh one.
        move |damage| async move {
            tracing::error!(build_pack.id = %id, ?damage, "a stored build pack is damaged");
        },
    );
    let mut first = Some(pack_to_proto(pack));
    let messages = tokio_stream::wrappers::ReceiverStream::new(chunks).map(move |chunk| {
        chunk.map(|bytes| pb::ReadBuildPackContentResponse {
            build_pack: first.take(),
            chunk: bytes.to_vec(),
        })
    });
    Ok(Box::pin(messages))
}

/// Build pack `id`, if `user` may read its workshop (NOT_FOUND for the
/// pack otherwise, saying nothing about the workshop).
async fn readable_pack(
    state: &AppState,
    id: Uuid,
    user: &UserId,
) -> ApiResult<build_packs::BuildPack> {
    let mut conn = state.conn().await?;
    let pack = build_packs::find(&mut conn, id).await?;
    match authorize(&mut conn, pack.workshop_id, user, Power::Read, false).await {
        Ok(_) => Ok(pack),
        Err(WorkshopError::NotFound { .. }) => {
            Err(WorkshopError::not_found(resources::BUILD_PACK, id).into())
        }
        Err(error) => Err(error.into()),
    }
}
