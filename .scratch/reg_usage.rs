pub async fn record(state: &AppState, user: UserId, req: pb::RecordUsageRequest) -> ApiResult<pb::RecordUsageResponse> {
    let mut violations = Violations::new();
    let input = usage_input(req, "", &mut violations);
    violations.finish()?;
    let Some(input) = input else {
        return Err(ApiError::internal("a checked field is missing"));
    };
    let counters = state.usage_counters;
    let mut conn = state.conn().await?;
    // The common case in one statement; the rest (an error to explain,
    // a retried request id) the general way.
    if counters == UsageCounters::Outbox
        && let Some(usage) = usage::try_record_one(&mut conn, &user, &input).await?
    {
        return Ok(pb::RecordUsageResponse {
            usage_event: Some(usage_to_proto(usage)),
        });
    }
    let recorded = conn
        .transaction(async |conn| {
            usage::record(conn, counters, &user, std::slice::from_ref(&input)).await
        })
        .await?;
    Ok(pb::RecordUsageResponse {
        usage_event: recorded.into_iter().next().map(usage_to_proto),
    })
}

pub async fn record_batch(state: &AppState, user: UserId, req: pb::BatchRecordUsageRequest) -> ApiResult<pb::BatchRecordUsageResponse> {
    if req.usages.is_empty() || req.usages.len() > MAX_BATCH_USAGES {
        return Err(ApiError::invalid_field(
            "usages",
            format!(
                "must hold 1-{MAX_BATCH_USAGES} usages, not {}",
                req.usages.len()
            ),
        )
        );
    }
    let mut violations = Violations::new();
    let inputs: Vec<Option<UsageInput>> = req
        .usages
        .into_iter()
        .enumerate()
        .map(|(index, usage)| usage_input(usage, &format!("usages[{index}]."), &mut violations))
        .collect();
    violations.finish()?;
    let inputs: Vec<UsageInput> = inputs.into_iter().flatten().collect();

    let counters = state.usage_counters;
    let mut conn = state.conn().await?;
    let recorded = conn
        .transaction(async |conn| usage::record(conn, counters, &user, &inputs).await)
        .await?;
    Ok(pb::BatchRecordUsageResponse {
        usage_events: recorded.into_iter().map(usage_to_proto).collect(),
    })
}
