//! The Workshop's outbox events and the jobs that run them: rendering build
//! packs, and deleting objects nothing references (a deleted workshop's
//! packs). Both run outside any transaction, leased by the worker.
//!
//! Rendering is idempotent: a pack that is no longer pending is left alone,
//! and the content goes to a key of its own (`build-packs/<workshop>/<pack>`).
//! If the workshop was deleted while the pack rendered, the row is gone
//! when the job comes to mark it ready, so the job deletes what it stored.

use crate::db::rows::SingleRow as _;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use object_store::ObjectStoreExt as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::error::WorkshopError;
use super::events::{BuildPackRender, ObjectDelete};
use super::fields::{PackFormat, PackStatus};
use super::render::{self, Document, DocumentStep};
use super::store::build_packs::{self as packs, BuildPack};
use super::store::{steps, workshops};
use crate::content::delete_object;
use crate::outbox::{Handlers, Job, JobError};
use crate::schema::build_packs;
use crate::state::AppState;

/// Registers the Workshop's handlers.
pub fn register(handlers: Handlers, state: &AppState) -> Handlers {
    handlers
        .job(RenderBuildPack(state.clone()))
        .job(DeleteObject(state.clone()))
}

/// Renders a pending build pack; a pack whose rendering kept failing is
/// marked failed, so its reader does not wait on "pending" forever.
struct RenderBuildPack(AppState);

impl Job for RenderBuildPack {
    type Event = BuildPackRender;

    async fn run(&self, pack_id: Uuid, _: BuildPackRender) -> Result<(), JobError> {
        render_build_pack(&self.0, pack_id).await
    }

    async fn parked(&self, pack_id: Uuid, _: BuildPackRender, reason: &str) {
        let reason = format!("rendering {reason}");
        if let Err(error) = mark_failed(&self.0, pack_id, &reason).await {
            tracing::warn!(%error, build_pack.id = %pack_id, "cannot mark the build pack failed");
        }
    }
}

/// Deletes an object nothing references.
struct DeleteObject(AppState);

impl Job for DeleteObject {
    type Event = ObjectDelete;

    async fn run(&self, _: Uuid, event: ObjectDelete) -> Result<(), JobError> {
        Ok(delete_object(self.0.storage.store(), &event.object_key).await?)
    }
}

/// Renders pending build pack `id` into the object store and marks it
/// ready with its SHA-256 and size.
async fn render_build_pack(state: &AppState, id: Uuid) -> Result<(), JobError> {
    let mut conn = state.pool.get().await?;
    let pack: Option<BuildPack> = build_packs::table
        .find(id)
        .select(BuildPack::as_select())
        .limit(1)
        .load(&mut conn)
        .await
        .single()
        .optional()?;
    let Some(pack) = pack.filter(|p| p.status == PackStatus::Pending) else {
        return Ok(()); // Deleted, or rendered by an earlier attempt.
    };
    let document = match load_document(&mut conn, pack.workshop_id).await {
        Ok(document) => document,
        // The workshop was deleted since: its packs went with it.
        Err(WorkshopError::NotFound { .. }) => return Ok(()),
        Err(error) => return Err(JobError::Other(error.to_string())),
    };
    drop(conn);

    let bytes = match pack.format {
        PackFormat::Markdown => render::markdown(&document),
        PackFormat::Json => render::json(&document),
        // Thousands of pages take a while: off the async workers.
        PackFormat::Pdf => tokio::task::spawn_blocking(move || render::pdf(&document))
            .await
            .map_err(|e| JobError::Other(format!("rendering the PDF: {e}")))?
            .map_err(|e| JobError::Other(e.to_string()))?,
    };
    let sha256 = crate::content::hex(&Sha256::digest(&bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let key = packs::object_key(&pack);
    let path = object_store::path::Path::from(key.as_str());
    state.storage.store().put(&path, bytes.into()).await?;

    let mut conn = state.pool.get().await?;
    let marked = diesel::update(build_packs::table.find(id))
        .filter(build_packs::status.eq(PackStatus::Pending))
        .set((
            build_packs::status.eq(PackStatus::Ready),
            build_packs::object_key.eq(&key),
            build_packs::sha256.eq(&sha256),
            build_packs::size_bytes.eq(size),
            build_packs::finished_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    if marked == 0 {
        let exists: bool = diesel::select(diesel::dsl::exists(build_packs::table.find(id)))
            .load(&mut conn)
            .await
            .single()?;
        if !exists {
            // The workshop went away while we rendered: so does the content.
            return Ok(delete_object(state.storage.store(), &key).await?);
        }
    }
    Ok(())
}

/// Marks a pending pack failed with `reason` (rendering is over for it).
async fn mark_failed(state: &AppState, id: Uuid, reason: &str) -> Result<(), JobError> {
    let mut conn = state.pool.get().await?;
    diesel::update(build_packs::table.find(id))
        .filter(build_packs::status.eq(PackStatus::Pending))
        .set((
            build_packs::status.eq(PackStatus::Failed),
            build_packs::failure_reason.eq(reason),
            build_packs::finished_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await?;
    Ok(())
}

async fn load_document(
    conn: &mut diesel_async::AsyncPgConnection,
    workshop_id: Uuid,
) -> Result<Document, WorkshopError> {
    let workshop = workshops::find(conn, workshop_id, false).await?;
    let steps = steps::list(conn, workshop_id).await?;
    Ok(Document {
        format_version: 1,
        workshop_id: workshop.id.to_string(),
        title: workshop.title,
        original_idea: workshop.original_idea,
        status: workshop.status,
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        steps: steps
            .into_iter()
            .map(|step| DocumentStep {
                id: step.step_id,
                position: step.position,
                name: step.name,
                status: step.status,
                skipped: step.skipped,
                output: step.output.unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    })
}
