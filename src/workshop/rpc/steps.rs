//! Steps: ListStepDefinitions, GetWorkshopStep, GetStepContext,
//! ListWorkshopSteps, UpdateWorkshopStep.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::error::{ApiError, ApiResult, Violations};
use crate::ids::id_field;
use crate::proto::workshop as pb;
use crate::resources;
use crate::roles::Power;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::convert::{session_to_proto, step_to_proto, workshop_to_proto};
use crate::workshop::error::WorkshopError;
use crate::workshop::fields::StepStatus;
use crate::workshop::store::{sessions, steps, workshops};

pub async fn list_definitions(
    state: &AppState,
    _req: pb::ListStepDefinitionsRequest,
) -> ApiResult<pb::ListStepDefinitionsResponse> {
    let mut conn = state.conn().await?;
    let definitions = steps::definitions(&mut conn).await?;
    Ok(pb::ListStepDefinitionsResponse {
        step_definitions: definitions.into_iter().map(definition_to_proto).collect(),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetWorkshopStepRequest,
) -> ApiResult<pb::GetWorkshopStepResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let step_id = parse_step_id(&req.step_id)?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, id, &user, Power::Read, false).await?;
    let step = steps::find(&mut conn, id, &step_id).await?;
    Ok(pb::GetWorkshopStepResponse {
        step: Some(step_to_proto(step)),
    })
}

/// GetStepContext: the step's definition, the step, and the steps before
/// it with their outputs, for the tool that drives the step.
pub async fn context(
    state: &AppState,
    user: UserId,
    req: pb::GetStepContextRequest,
) -> ApiResult<pb::GetStepContextResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let step_id = parse_step_id(&req.step_id)?;
    let mut conn = state.conn().await?;
    let access = authorize(&mut conn, id, &user, Power::Read, false).await?;
    let definition = steps::definitions(&mut conn)
        .await?
        .into_iter()
        .find(|d| d.id == step_id)
        .ok_or_else(|| WorkshopError::not_found_at(resources::STEP, &step_id, "step_id"))?;
    // One statement, so the outputs are one snapshot.
    let mut prior_steps = steps::list(&mut conn, id).await?;
    prior_steps.retain(|step| step.position <= definition.position);
    let step = prior_steps
        .pop()
        .filter(|step| step.step_id == step_id)
        .ok_or_else(|| WorkshopError::not_found_at(resources::STEP, &step_id, "step_id"))?;
    Ok(pb::GetStepContextResponse {
        definition: Some(definition_to_proto(definition)),
        step: Some(step_to_proto(step)),
        prior_steps: prior_steps.into_iter().map(step_to_proto).collect(),
        title: access.workshop.title,
        original_idea: access.workshop.original_idea,
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListWorkshopStepsRequest,
) -> ApiResult<pb::ListWorkshopStepsResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, id, &user, Power::Read, false).await?;
    let steps = steps::list(&mut conn, id).await?;
    Ok(pb::ListWorkshopStepsResponse {
        steps: steps.into_iter().map(step_to_proto).collect(),
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateWorkshopStepRequest,
) -> ApiResult<pb::UpdateWorkshopStepResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let step_id = parse_step_id(&req.step_id)?;
    let change = step_change(state, req)?;
    let gap = state.settings.workshop.session_gap;
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

fn parse_step_id(raw: &str) -> ApiResult<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 50
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "step_id",
            "must be a step definition id such as `ideate` (see ListStepDefinitions)",
        ))
    }
}

/// The checked change of an UpdateWorkshopStep request.
fn step_change(
    state: &AppState,
    req: pb::UpdateWorkshopStepRequest,
) -> ApiResult<steps::StepChange> {
    let mut violations = Violations::new();
    let status = violations.check("status", StepStatus::from_proto(req.status));
    let output = req.output.and_then(|output| {
        violations.check(
            "output",
            crate::proto::checked_struct_to_json(output).map(serde_json::Value::Object),
        )
    });
    if let Some(output) = &output {
        let size = serde_json::to_vec(output).map_or(usize::MAX, |b| b.len());
        let max = state.settings.workshop.step_output_max_bytes;
        if size > max {
            violations.add(
                "output",
                format!("is {size} bytes of JSON; at most {max} allowed"),
            );
        }
    }
    if req.skip && !req.confirm_skip {
        violations.add(
            "confirm_skip",
            "must be true to skip a step (skipping completes it without output)",
        );
    }
    if req.skip && matches!(status, Some(Some(s)) if s != StepStatus::Complete) {
        violations.add("status", "must be unset or COMPLETE when skipping");
    }
    if !req.skip && matches!(status, Some(None)) && output.is_none() {
        violations.add("status", "nothing to change: set status, output or skip");
    }
    violations.finish()?;
    Ok(steps::StepChange {
        status: status.flatten(),
        skip: req.skip,
        output,
        etag: req.etag,
    })
}

fn definition_to_proto(definition: steps::Definition) -> pb::StepDefinition {
    pb::StepDefinition {
        id: definition.id,
        position: definition.position,
        name: definition.name,
        description: definition.description,
        prompt_template: definition.prompt_template,
    }
}
