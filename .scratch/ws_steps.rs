pub async fn list_definitions(state: &AppState, req: pb::ListStepDefinitionsRequest) -> ApiResult<pb::ListStepDefinitionsResponse> {
    let mut conn = state.conn().await?;
    let definitions = steps::definitions(&mut conn).await?;
    Ok(pb::ListStepDefinitionsResponse {
        step_definitions: definitions
            .into_iter()
            .map(|d| pb::StepDefinition {
                id: d.id,
                position: d.position,
                name: d.name,
                description: d.description,
                prompt_template: d.prompt_template,
            })
            .collect(),
    })
}

pub async fn get(state: &AppState, user: UserId, req: pb::GetWorkshopStepRequest) -> ApiResult<pb::GetWorkshopStepResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let step_id = parse_step_id(&req.step_id)?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, id, &user, Power::Read, false).await?;
    let step = steps::find(&mut conn, id, &step_id).await?;
    Ok(pb::GetWorkshopStepResponse {
        step: Some(step_to_proto(step)),
    })
}

pub async fn list(state: &AppState, user: UserId, req: pb::ListWorkshopStepsRequest) -> ApiResult<pb::ListWorkshopStepsResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, id, &user, Power::Read, false).await?;
    let steps = steps::list(&mut conn, id).await?;
    Ok(pb::ListWorkshopStepsResponse {
        steps: steps.into_iter().map(step_to_proto).collect(),
    })
}

pub async fn update(state: &AppState, user: UserId, req: pb::UpdateWorkshopStepRequest) -> ApiResult<pb::UpdateWorkshopStepResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let step_id = parse_step_id(&req.step_id)?;
    let change = step_change(state, req)?;
    let gap = state.workshop.session_gap;
    let mut conn = state.conn().await?;
    let (step, workshop, progress, session) = conn
        .transaction(async |conn| {
            authorize(conn, id, &user, Power::Edit, true).await?;
            let step = steps::update(conn, id, &step_id, change).await?;
            let session = sessions::record_activity(conn, id, user.as_str(), gap).await?;
            let workshop = workshops::touch(conn, id).await?;
            let progress = workshops::progress_of(conn, id).await?;
            ApiResult::Ok((step, workshop, progress, session))
        })
        .await?;
    Ok(pb::UpdateWorkshopStepResponse {
        step: Some(step_to_proto(step)),
        workshop: Some(workshop_to_proto(workshop, &progress)),
        session: Some(session_to_proto(session)),
    })
}
