pub async fn create(state: &AppState, user: UserId, req: pb::CreateSkillRequest) -> ApiResult<pb::CreateSkillResponse> {
    let mut violations = Violations::new();
    let slug = violations.check("slug", Slug::parse(&req.slug));
    let name = violations.check("name", BoundedText::parse(&req.name, NAME_MAX));
    let description = violations.check(
        "description",
        BoundedText::parse(&req.description, DESCRIPTION_MAX),
    );
    let category = violations.check("category", Category::from_proto(req.category));
    let hours_saved = violations.check(
        "hours_saved",
        fields::hours_saved(req.hours_saved.unwrap_or(1)),
    );
    let request_id = violations.check("request_id", fields::request_id(&req.request_id));
    violations.finish()?;
    let (
        Some(slug),
        Some(name),
        Some(description),
        Some(category),
        Some(hours_saved),
        Some(request_id),
    ) = (slug, name, description, category, hours_saved, request_id)
    else {
        return Err(ApiError::internal("a checked field is missing"));
    };

    let new = NewSkill::new(
        slug,
        name,
        description,
        category,
        hours_saved,
        &user,
        request_id,
    );
    let mut conn = state.conn().await?;
    let skill = new.save(&mut conn).await?;
    Ok(pb::CreateSkillResponse {
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn get(state: &AppState, req: pb::GetSkillRequest) -> ApiResult<pb::GetSkillResponse> {
    let skill_ref = skill_ref(req.selector)?;
    let mut conn = state.conn().await?;
    let skill = skills::find(&mut conn, &skill_ref).await?;
    Ok(pb::GetSkillResponse {
        skill: Some(skill_to_proto(skill)),
    })
}

pub async fn list(state: &AppState, req: pb::ListSkillsRequest) -> ApiResult<pb::ListSkillsResponse> {
    let mut violations = Violations::new();
    let page_size = violations.check(
        "page_size",
        pagination::page_size(req.page_size).map_err(|e| e.message),
    );
    let filter = SkillFilter {
        category: match req.category {
            0 => None,
            value => violations.check("category", Category::from_proto(value)),
        },
        author_id: match req.author_id.as_str() {
            "" => None,
            raw => violations
                .check(
                    "author_id",
                    crate::auth::UserId::parse(raw).map_err(str::to_owned),
                )
                .map(|user| user.as_str().to_owned()),
        },
        query: violations
            .check("query", fields::search_query(&req.query))
            .flatten(),
    };
    let order = violations.check(
        "order_by",
        skill_order(req.order_by, filter.query.is_some()),
    );
    violations.finish()?;
    let (Some(page_size), Some(order)) = (page_size, order) else {
        return Err(ApiError::internal("a checked field is missing"));
    };

    let category = filter.category.map(Category::as_db).unwrap_or_default();
    let author = filter.author_id.as_deref().unwrap_or_default();
    let query_text = filter.query.as_deref().unwrap_or_default();
    let query =
        pagination::fingerprint(&["skills", order.name(), category, author, query_text]);
    let after = state.page_tokens.decode(&req.page_token, &query)?;
    let mut conn = state.conn().await?;
    let mut page = listing::list(&mut conn, &filter, order, after, page_size + 1).await?;
    let next_page_token = state.page_tokens.next_page_token(
        &mut page,
        page_size,
        &query,
        listing::RankedSkill::key,
    );
    Ok(pb::ListSkillsResponse {
        skills: page
            .into_iter()
            .map(|row| skill_to_proto(row.skill))
            .collect(),
        next_page_token,
    })
}

pub async fn update(state: &AppState, user: UserId, req: pb::UpdateSkillRequest) -> ApiResult<pb::UpdateSkillResponse> {
    let skill = req.skill.unwrap_or_default();
    let mut violations = Violations::new();
    let id = violations.check("skill.id", crate::ids::id(&skill.id));
    let changes = skill_changes(&skill, req.update_mask.as_ref(), &mut violations);
    violations.finish()?;
    let Some(id) = id else {
        return Err(ApiError::internal("a checked field is missing"));
    };

    let mut conn = state.conn().await?;
    let updated = conn
        .transaction(async |conn| skills::update(conn, id, &user, &skill.etag, changes).await)
        .await?;
    Ok(pb::UpdateSkillResponse {
        skill: Some(skill_to_proto(updated)),
    })
}

pub async fn delete(state: &AppState, user: UserId, req: pb::DeleteSkillRequest) -> ApiResult<pb::DeleteSkillResponse> {
    let id = crate::ids::id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| skills::delete(conn, id, &user, &req.etag).await)
        .await?;
    Ok(pb::DeleteSkillResponse {})
}
