pub async fn create(state: &AppState, user: UserId, req: pb::CreateSkillVersionRequest) -> ApiResult<pb::CreateSkillVersionResponse> {
    let version_request = VersionRequest::parse(
        "",
        &req.skill_id,
        &req.content_type,
        &req.name,
        &req.description,
        &req.expected_sha256,
        req.publish,
    )?;
    let limit = state.limits.inline_max;
    if req.content.len() as u64 > limit {
        return Err(ApiError::new(
            tonic::Code::ResourceExhausted,
            "CONTENT_TOO_LARGE",
            format!(
                "inline content is limited to {limit} bytes (got {}); use UploadSkillVersion",
                req.content.len()
            ),
        )
        );
    }
    let staged = staging::stage_inline(req.content.into());
    let (version, skill) =
        new_version::create(state, &version_request, &user, staged).await?;
    Ok(pb::CreateSkillVersionResponse {
        version: Some(version_to_proto(VersionView {
            version,
            verification: None,
        })),
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn upload(state: &AppState, user: UserId, req: tonic::Streaming<pb::UploadSkillVersionRequest>) -> ApiResult<pb::UploadSkillVersionResponse> {
    use futures_util::StreamExt as _;
    use pb::upload_skill_version_request::Payload;

    let mut stream = req;
    let header = match stream.next().await {
        Some(Ok(pb::UploadSkillVersionRequest {
            payload: Some(Payload::Header(header)),
        })) => header,
        Some(Err(status)) => {
            return Err(crate::transport_errors::from_tonic(&status).map_or(status, Into::into));
        }
        _ => {
            return Err(ApiError::invalid_field(
                "header",
                "the first message must be the header",
            )
            );
        }
    };
    let version_request = VersionRequest::parse(
        "header.",
        &header.skill_id,
        &header.content_type,
        &header.name,
        &header.description,
        &header.expected_sha256,
        header.publish,
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
        staging::stage_stream(state.storage, chunks, state.limits.upload_max)
            .await?;
    let (version, skill) =
        new_version::create(state, &version_request, &user, staged).await?;
    Ok(pb::UploadSkillVersionResponse {
        version: Some(version_to_proto(VersionView {
            version,
            verification: None,
        })),
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn get(state: &AppState, req: pb::GetSkillVersionRequest) -> ApiResult<pb::GetSkillVersionResponse> {
    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let view = versions::find(&mut conn, skill_id, number).await?;
    Ok(pb::GetSkillVersionResponse {
        version: Some(version_to_proto(view)),
    })
}

pub async fn list(state: &AppState, req: pb::ListSkillVersionsRequest) -> ApiResult<pb::ListSkillVersionsResponse> {
    let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
    let page_size = pagination::page_size(req.page_size)?;
    let query = pagination::fingerprint(&["versions", &req.skill_id]);
    let before: Option<i32> = state.page_tokens.decode(&req.page_token, &query)?;
    let mut conn = state.conn().await?;
    skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
    let mut page = versions::list(&mut conn, skill_id, page_size + 1, before).await?;
    let next_page_token = state.page_tokens.next_page_token(
        &mut page,
        page_size,
        &query,
        |view: &VersionView| view.version.version,
    );
    Ok(pb::ListSkillVersionsResponse {
        versions: page.into_iter().map(version_to_proto).collect(),
        next_page_token,
    })
}

pub async fn read_content(state: &AppState, req: pb::ReadSkillVersionContentRequest) -> ApiResult<tonic::codegen::BoxStream<pb::ReadSkillVersionContentResponse>> {
    use futures_util::StreamExt as _;

    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let view = versions::find(&mut conn, skill_id, number).await?;
    drop(conn);
    let key = object_store::path::Path::from(view.version.object_key.as_str());
    let (state, version_id) = (state.clone(), view.version.id);
    let chunks = crate::content::stream_verified(
        state.storage,
        key,
        view.version.sha256.clone(),
        move |damage| async move { versions::report_damage(&state, version_id, damage).await },
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

pub async fn publish(state: &AppState, user: UserId, req: pb::PublishSkillVersionRequest) -> ApiResult<pb::PublishSkillVersionResponse> {
    let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
    let mut conn = state.conn().await?;
    let skill = conn
        .transaction(async |conn| {
            versions::publish(conn, skill_id, number, &user, &req.etag).await
        })
        .await?;
    Ok(pb::PublishSkillVersionResponse {
        skill: Some(skill_to_proto(skill)),
    })
}
