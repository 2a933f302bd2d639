pub async fn create(state: &AppState, caller: Caller, user: UserId, req: pb::CreateWorkshopRequest) -> ApiResult<pb::CreateWorkshopResponse> {
    let mut violations = Violations::new();
    let title = violations.check("title", fields::required_text(&req.title, TITLE_MAX));
    let idea = violations.check(
        "original_idea",
        fields::required_text(&req.original_idea, IDEA_MAX),
    );
    let org_id = violations.check("org_id", fields::optional_text(&req.org_id, REF_MAX));
    let template_id = violations.check(
        "template_id",
        fields::optional_text(&req.template_id, REF_MAX),
    );
    violations.finish()?;
    let (Some(title), Some(original_idea), Some(org_id), Some(template_id)) =
        (title, idea, org_id, template_id)
    else {
        return Err(ApiError::internal("a checked field is missing"));
    };
    let (plan, cap) = state.workshop.cap_for(caller.plan.as_deref());
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
            let workshop = workshops::create(conn, &user, &plan, cap, new).await?;
            let progress = workshops::progress_of(conn, workshop.id).await?;
            ApiResult::Ok((workshop, progress))
        })
        .await?;
    Ok(pb::CreateWorkshopResponse {
        workshop: Some(workshop_to_proto(workshop, &progress)),
    })
}

pub async fn get(state: &AppState, user: UserId, req: pb::GetWorkshopRequest) -> ApiResult<pb::GetWorkshopResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let access = authorize(&mut conn, id, &user, Power::Read, false).await?;
    let progress = workshops::progress_of(&mut conn, id).await?;
    Ok(pb::GetWorkshopResponse {
        workshop: Some(workshop_to_proto(access.workshop, &progress)),
    })
}

pub async fn list(state: &AppState, user: UserId, req: pb::ListWorkshopsRequest) -> ApiResult<pb::ListWorkshopsResponse> {
    let mut violations = Violations::new();
    let page_size = violations.check(
        "page_size",
        pagination::page_size(req.page_size).map_err(|e| e.message),
    );
    let status = violations.check("status", fields::Status::from_proto(req.status));
    let role = if req.role.is_empty() {
        Some(None)
    } else {
        violations.check("role", fields::role(&req.role)).map(Some)
    };
    violations.finish()?;
    let (Some(page_size), Some(status), Some(role)) = (page_size, status, role) else {
        return Err(ApiError::internal("a checked field is missing"));
    };
    let query = pagination::fingerprint(&[
        "workshops",
        user.as_str(),
        status.map_or("", fields::Status::as_db),
        role.as_deref().unwrap_or(""),
    ]);
    let after = state.page_tokens.decode(&req.page_token, &query)?;
    let mut conn = state.conn().await?;
    let mut page = workshops::list(
        &mut conn,
        &user,
        status,
        role.as_deref(),
        page_size + 1,
        after,
    )
    .await?;
    let next_page_token =
        state
            .page_tokens
            .next_page_token(&mut page, page_size, &query, workshops::key_of);
    let ids: Vec<Uuid> = page.iter().map(|w| w.id).collect();
    let progress = workshops::progress(&mut conn, &ids).await?;
    Ok(pb::ListWorkshopsResponse {
        workshops: page
            .into_iter()
            .map(|w| {
                let p = progress.get(&w.id).cloned().unwrap_or_default();
                workshop_to_proto(w, &p)
            })
            .collect(),
        next_page_token,
    })
}

pub async fn update(state: &AppState, user: UserId, req: pb::UpdateWorkshopRequest) -> ApiResult<pb::UpdateWorkshopResponse> {
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

pub async fn delete(state: &AppState, user: UserId, req: pb::DeleteWorkshopRequest) -> ApiResult<pb::DeleteWorkshopResponse> {
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

pub async fn share(state: &AppState, user: UserId, req: pb::ShareWorkshopRequest) -> ApiResult<pb::ShareWorkshopResponse> {
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

pub async fn get_shared(state: &AppState, req: pb::GetSharedWorkshopRequest) -> ApiResult<pb::GetSharedWorkshopResponse> {
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
