//! The ten step definitions and each workshop's progress on them.

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::resources;
use crate::schema::{step_definitions, workshop_steps};
use crate::workshop::error::{WorkshopError, WorkshopResult};
use crate::workshop::fields::StepStatus;

/// A step definition.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = step_definitions, check_for_backend(diesel::pg::Pg))]
pub struct Definition {
    pub id: String,
    pub position: i32,
    pub name: String,
    pub description: String,
    pub prompt_template: String,
}

/// A workshop's step with its definition's position and name.
#[derive(Debug, Clone, Queryable)]
pub struct Step {
    pub workshop_id: Uuid,
    pub step_id: String,
    pub position: i32,
    pub name: String,
    pub status: StepStatus,
    pub skipped: bool,
    pub output: Option<serde_json::Value>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of a [`Step`]: the workshop's step row and its
/// definition's position and name.
#[diesel::dsl::auto_type]
fn step_columns() -> _ {
    (
        workshop_steps::workshop_id,
        workshop_steps::step_id,
        step_definitions::position,
        step_definitions::name,
        workshop_steps::status,
        workshop_steps::skipped,
        workshop_steps::output,
        workshop_steps::started_at,
        workshop_steps::completed_at,
        workshop_steps::updated_at,
    )
}

/// The definitions in order.
pub async fn definitions(conn: &mut AsyncPgConnection) -> WorkshopResult<Vec<Definition>> {
    Ok(step_definitions::table
        .order(step_definitions::position)
        .select(Definition::as_select())
        .load(conn)
        .await?)
}

/// All steps of a workshop in order.
pub async fn list(conn: &mut AsyncPgConnection, workshop: Uuid) -> WorkshopResult<Vec<Step>> {
    Ok(workshop_steps::table
        .inner_join(step_definitions::table)
        .filter(workshop_steps::workshop_id.eq(workshop))
        .order(step_definitions::position)
        .select(step_columns())
        .load(conn)
        .await?)
}

/// One step of a workshop.
pub async fn find(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    step: &str,
) -> WorkshopResult<Step> {
    workshop_steps::table
        .inner_join(step_definitions::table)
        .filter(workshop_steps::workshop_id.eq(workshop))
        .filter(workshop_steps::step_id.eq(step))
        .select(step_columns())
        .limit(1)
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| WorkshopError::not_found_at(resources::STEP, step, "step_id"))
}

/// A change to one step.
#[derive(Debug, Default)]
pub struct StepChange {
    /// New status.
    pub status: Option<StepStatus>,
    /// Complete it by skipping (confirmed by the caller).
    pub skip: bool,
    /// New output, replacing the old.
    pub output: Option<serde_json::Value>,
    /// The step's etag as the caller read it; empty for none.
    pub etag: String,
}

/// Applies `change`: started_at is stamped on the first move to
/// in_progress, completed_at on completion (a skip completes and says so),
/// and moving away from complete clears both the completion and the skip
/// flag. Completing out of order is allowed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    workshop: Uuid,
    step: &str,
    change: StepChange,
) -> WorkshopResult<Step> {
    let current = find(conn, workshop, step).await?;
    crate::etag::ensure_matches(
        &change.etag,
        current.updated_at,
        format_args!("step {step} of workshop {workshop}"),
    )?;
    let status = if change.skip {
        StepStatus::Complete
    } else {
        change.status.unwrap_or(current.status)
    };
    let now = Utc::now();
    let started_at = match (current.started_at, status) {
        (None, StepStatus::InProgress) => Some(now),
        (started, _) => started,
    };
    let completed_at = match status {
        StepStatus::Complete if current.status == StepStatus::Complete => current.completed_at,
        StepStatus::Complete => Some(now),
        _ => None,
    };
    let skipped = status == StepStatus::Complete
        && (change.skip || (current.skipped && change.status.is_none()));
    let output = change.output.or(current.output);
    diesel::update(workshop_steps::table.find((workshop, step)))
        .set((
            workshop_steps::status.eq(status),
            workshop_steps::skipped.eq(skipped),
            workshop_steps::output.eq(output),
            workshop_steps::started_at.eq(started_at),
            workshop_steps::completed_at.eq(completed_at),
            // Later than the last change even within one microsecond, so
            // two changes never share an etag.
            workshop_steps::updated_at
                .eq(now.max(current.updated_at + chrono::Duration::microseconds(1))),
        ))
        .execute(conn)
        .await?;
    find(conn, workshop, step).await
}
