pub async fn create(state: &AppState, user: UserId, req: pb::CreateBuildPackRequest) -> ApiResult<pb::CreateBuildPackResponse> {
    let mut violations = Violations::new();
    let id = violations.check("workshop_id", crate::ids::id(&req.workshop_id));
    let format = violations.check("format", fields::format_from_proto(req.format));
    violations.finish()?;
    let (Some(id), Some(format)) = (id, format) else {
        return Err(ApiError::internal("a checked field is missing"));
    };
    let mut conn = state.conn().await?;
    let pack = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Edit, false).await?;
            build_packs::create(conn, id, format, user.as_str()).await
        })
        .await?;
    Ok(pb::CreateBuildPackResponse {
        build_pack: Some(pack_to_proto(pack)),
    })
}

pub async fn get(state: &AppState, user: UserId, req: pb::GetBuildPackRequest) -> ApiResult<pb::GetBuildPackResponse> {
    let id = id_field("id", &req.id)?;
    let pack = readable_pack(state, id, &user).await?;
    Ok(pb::GetBuildPackResponse {
        build_pack: Some(pack_to_proto(pack)),
    })
}

pub async fn list(state: &AppState, user: UserId, req: pb::ListBuildPacksRequest) -> ApiResult<pb::ListBuildPacksResponse> {
    let workshop = id_field("workshop_id", &req.workshop_id)?;
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &["build_packs", &req.workshop_id],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workshop, &user, Power::Read, false).await?;
    let mut rows = build_packs::list(&mut conn, workshop, page.limit(), page.after()).await?;
    let next_page_token = page.next_token(&mut rows, build_packs::key_of);
    Ok(pb::ListBuildPacksResponse {
        build_packs: rows.into_iter().map(pack_to_proto).collect(),
        next_page_token,
    })
}

pub async fn read_content(state: &AppState, user: UserId, req: pb::ReadBuildPackContentRequest) -> ApiResult<tonic::codegen::BoxStream<pb::ReadBuildPackContentResponse>> {
    use futures_util::StreamExt as _;

    let id = id_field("id", &req.id)?;
    let pack = readable_pack(state, id, &user).await?;
    let (Some(key), Some(sha256)) = (pack.object_key.clone(), pack.sha256.clone()) else {
        let (reason, message) = match pack.status.as_str() {
            "failed" => (
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
        state.storage,
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
