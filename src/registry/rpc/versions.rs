//! Versions: CreateSkillVersion, UploadSkillVersion, GetSkillVersion,
//! ListSkillVersions, ReadSkillVersionContent, PublishSkillVersion.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult};
use crate::proto::registry as pb;
use crate::registry::convert::{skill_to_proto, version_to_proto};
use crate::registry::fields;
use crate::registry::new_version::{self, RawVersionRequest, VersionRequest};
use crate::registry::staging;
use crate::registry::store::skills::{self, SkillRef};
use crate::registry::store::versions::{self, VersionView};
use crate::state::AppState;

pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateSkillVersionRequest,
) -> ApiResult<pb::CreateSkillVersionResponse> {
    let version_request = VersionRequest::parse(
        "CreateSkillVersion",
        "",
        RawVersionRequest {
            skill_id: &req.skill_id,
            content_type: &req.content_type,
            name: &req.name,
            description: &req.description,
            expected_sha256: &req.expected_sha256,
            publish: req.publish,
            request_id: &req.request_id,
        },
    )?;
    let limit = state.settings.limits.inline_max;
    if req.content.len() as u64 > limit {
        return Err(ApiError::new(
            tonic::Code::ResourceExhausted,
            "CONTENT_TOO_LARGE",
            format!(
                "inline content is limited to {limit} bytes (got {}); use UploadSkillVersion",
                req.content.len()
            ),
        ));
    }
    let staged = staging::stage_inline(req.content.into());
    let (version, skill) = new_version::create(state, &version_request, &user, staged).await?;
    Ok(pb::CreateSkillVersionResponse {
        version: Some(version_to_proto(version)),
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn upload(
    state: &AppState,
    user: UserId,
    req: tonic::Streaming<pb::UploadSkillVersionRequest>,
) -> ApiResult<pb::UploadSkillVersionResponse> {
    use futures_util::StreamExt as _;
    use pb::upload_skill_version_request::Payload;

    let mut stream = req;
    let header = match stream.next().await {
        Some(Ok(pb::UploadSkillVersionRequest {
            payload: Some(Payload::Header(header)),
        })) => header,
        Some(Err(status)) => return Err(interrupted(&status)),
        _ => {
            return Err(ApiError::invalid_field(
                "header",
                "the first message must be the header",
            ));
        }
    };
    let version_request = VersionRequest::parse(
        "UploadSkillVersion",
        "header.",
        RawVersionRequest {
            skill_id: &header.skill_id,
            content_type: &header.content_type,
            name: &header.name,
            description: &header.description,
            expected_sha256: &header.expected_sha256,
            publish: header.publish,
            request_id: &header.request_id,
        },
    )?;
    new_version::precheck(state, &version_request, &user).await?;
    let chunks = stream.map(|message| match message {
        Ok(pb::UploadSkillVersionRequest {
            payload: Some(Payload::Chunk(bytes)),
        }) => Ok(bytes::Bytes::from(bytes)),
        Ok(_) => Err(ApiError::invalid_field(
            "header",
            "only the first message may be a header; send content as chunks",
        )),
        Err(status) => Err(
            crate::transport_errors::from_tonic(&status).unwrap_or_else(|| {
                ApiError::new(
                    tonic::Code::Cancelled,
                    "UPLOAD_INTERRUPTED",
                    format!("the upload stream failed: {}", status.message()),
                )
            }),
        ),
    });
    let staged =
        staging::stage_stream(&state.storage, chunks, state.settings.limits.upload_max).await?;
    let (version, skill) = new_version::create(state, &version_request, &user, staged).await?;
    Ok(pb::UploadSkillVersionResponse {
        version: Some(version_to_proto(version)),
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn get(
    state: &AppState,
    req: pb::GetSkillVersionRequest,
) -> ApiResult<pb::GetSkillVersionResponse> {
    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let view = versions::find(&mut conn, skill_id, number).await?;
    Ok(pb::GetSkillVersionResponse {
        version: Some(version_to_proto(view)),
    })
}

pub async fn list(
    state: &AppState,
    req: pb::ListSkillVersionsRequest,
) -> ApiResult<pb::ListSkillVersionsResponse> {
    let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
    let page = state.page_tokens.request::<i32>(
        &req.page_token,
        req.page_size,
        &["versions", &req.skill_id],
    )?;
    let mut conn = state.conn().await?;
    skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
    let rows = versions::list(&mut conn, skill_id, page.limit(), page.after()).await?;
    let (versions, next_page_token) = page.finish(
        rows,
        |view: &VersionView| view.version.version,
        version_to_proto,
    );
    Ok(pb::ListSkillVersionsResponse {
        versions,
        next_page_token,
    })
}

pub async fn read_content(
    state: &AppState,
    req: pb::ReadSkillVersionContentRequest,
) -> ApiResult<tonic::codegen::BoxStream<pb::ReadSkillVersionContentResponse>> {
    use futures_util::StreamExt as _;

    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let view = versions::find(&mut conn, skill_id, number).await?;
    drop(conn);
    let key = object_store::path::Path::from(view.version.object_key.as_str());
    let (owned, version_id) = (state.clone(), view.version.id);
    let chunks = crate::content::stream_verified(
        &state.storage,
        key,
        view.version.sha256.clone(),
        move |damage| async move { versions::report_damage(&owned, version_id, damage).await },
    );
    let mut first = Some(version_to_proto(view));
    let messages = tokio_stream::wrappers::ReceiverStream::new(chunks).map(move |chunk| {
        chunk.map(|bytes| pb::ReadSkillVersionContentResponse {
            version: first.take(),
            chunk: bytes.to_vec(),
        })
    });
    Ok(Box::pin(messages))
}

pub async fn publish(
    state: &AppState,
    user: UserId,
    req: pb::PublishSkillVersionRequest,
) -> ApiResult<pb::PublishSkillVersionResponse> {
    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let skill = conn
        .transaction(async |conn| versions::publish(conn, skill_id, number, &user, &req.etag).await)
        .await?;
    Ok(pb::PublishSkillVersionResponse {
        skill: Some(skill_to_proto(skill)),
    })
}

/// The skill id and version number a request names.
fn version_ref(skill_id: &str, version: u32) -> ApiResult<(uuid::Uuid, i32)> {
    (
        field("skill_id", crate::ids::id(skill_id)),
        field("version", fields::version(version)),
    )
        .all()
}

/// What a failed upload stream answers: the transport's own error when it
/// is one (an oversized or malformed message), else CANCELLED.
fn interrupted(status: &tonic::Status) -> ApiError {
    crate::transport_errors::from_tonic(status).unwrap_or_else(|| {
        ApiError::new(
            tonic::Code::Cancelled,
            "UPLOAD_INTERRUPTED",
            format!("the upload stream failed: {}", status.message()),
        )
    })
}
