//! Usage: RecordUsage, BatchRecordUsage.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, Checked, each, field, optional};
use crate::config::UsageCounters;
use crate::error::{ApiError, ApiResult, FieldViolation};
use crate::proto::registry as pb;
use crate::registry::convert::usage_to_proto;
use crate::registry::fields::{self, Slug};
use crate::registry::store::skills::SkillRef;
use crate::registry::store::usage::{self, UsageInput};
use crate::state::AppState;

/// Most usages one BatchRecordUsage may carry.
pub const MAX_BATCH_USAGES: usize = 500;

/// RecordUsage: one use of a skill, idempotent by request id.
pub async fn record(
    state: &AppState,
    user: UserId,
    req: pb::RecordUsageRequest,
) -> ApiResult<pb::RecordUsageResponse> {
    let input = usage_input(req, "").map_err(ApiError::invalid)?;
    let counters = state.settings.usage_counters;
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

/// BatchRecordUsage: up to [`MAX_BATCH_USAGES`] uses, all or none.
pub async fn record_batch(
    state: &AppState,
    user: UserId,
    req: pb::BatchRecordUsageRequest,
) -> ApiResult<pb::BatchRecordUsageResponse> {
    if req.usages.is_empty() || req.usages.len() > MAX_BATCH_USAGES {
        return Err(ApiError::invalid_field(
            "usages",
            format!(
                "must hold 1-{MAX_BATCH_USAGES} usages, not {}",
                req.usages.len()
            ),
        ));
    }
    let inputs = each(
        req.usages
            .into_iter()
            .enumerate()
            .map(|(index, usage)| usage_input(usage, &format!("usages[{index}]."))),
    )
    .map_err(ApiError::invalid)?;
    let counters = state.settings.usage_counters;
    let mut conn = state.conn().await?;
    let recorded = conn
        .transaction(async |conn| usage::record(conn, counters, &user, &inputs).await)
        .await?;
    Ok(pb::BatchRecordUsageResponse {
        usage_events: recorded.into_iter().map(usage_to_proto).collect(),
    })
}

/// Parses one RecordUsage request (alone, or entry `prefix` of a batch).
fn usage_input(req: pb::RecordUsageRequest, prefix: &str) -> Checked<UsageInput> {
    use pb::record_usage_request::Skill as Which;
    let skill = match req.skill {
        Some(Which::SkillId(raw)) => field(
            &format!("{prefix}skill_id"),
            crate::ids::id(&raw).map(SkillRef::Id),
        ),
        Some(Which::SkillSlug(raw)) => field(
            &format!("{prefix}skill_slug"),
            Slug::parse(&raw).map(SkillRef::Slug),
        ),
        None => Err(vec![FieldViolation::new(
            format!("{prefix}skill"),
            "set either skill_id or skill_slug",
        )]),
    };
    let (skill, version, tool_name, request_id) = (
        skill,
        optional(&format!("{prefix}version"), req.version, fields::version),
        field(
            &format!("{prefix}tool_name"),
            fields::tool_name(&req.tool_name),
        ),
        field(
            &format!("{prefix}request_id"),
            crate::idempotency::request_id(&req.request_id),
        ),
    )
        .checked()?;
    Ok(UsageInput {
        skill,
        version,
        tool_name,
        request_id,
        field_prefix: prefix.to_owned(),
    })
}
