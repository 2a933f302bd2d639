pub async fn rate(state: &AppState, user: UserId, req: pb::RateSkillRequest) -> ApiResult<pb::RateSkillResponse> {
    let mut violations = Violations::new();
    let skill_id = violations.check("skill_id", crate::ids::id(&req.skill_id));
    let stars = violations.check("stars", fields::stars(req.stars));
    let comment = violations.check("comment", fields::comment(&req.comment));
    let hours = match req.hours_saved_estimate {
        Some(hours) => violations
            .check("hours_saved_estimate", fields::hours_saved(hours))
            .map(Some),
        None => Some(None),
    };
    violations.finish()?;
    let (Some(skill_id), Some(stars), Some(comment), Some(hours)) =
        (skill_id, stars, comment, hours)
    else {
        return Err(ApiError::internal("a checked field is missing"));
    };

    let mut conn = state.conn().await?;
    let rating = conn
        .transaction(async |conn| {
            skills::find(conn, &SkillRef::Id(skill_id)).await?;
            NewRating::new(skill_id, &user, stars, comment, hours)
                .save(conn)
                .await
        })
        .await?;
    Ok(pb::RateSkillResponse {
        rating: Some(rating_to_proto(rating)),
    })
}

pub async fn list(state: &AppState, req: pb::ListRatingsRequest) -> ApiResult<pb::ListRatingsResponse> {
    let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
    let page_size = pagination::page_size(req.page_size)?;
    let query = pagination::fingerprint(&["ratings", &req.skill_id]);
    let after = state.page_tokens.decode(&req.page_token, &query)?;

    let mut conn = state.conn().await?;
    skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
    let mut page = ratings::list(&mut conn, skill_id, page_size + 1, after).await?;
    let next_page_token =
        state
            .page_tokens
            .next_page_token(&mut page, page_size, &query, ratings::key_of);
    Ok(pb::ListRatingsResponse {
        ratings: page.into_iter().map(rating_to_proto).collect(),
        next_page_token,
    })
}
