//! Rendering build packs and deleting objects nothing references, run by
//! the worker outside any transaction (leased, like content verification).
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

use super::content_jobs::{JobError, db_error};
use crate::app::AppState;
use crate::schema::build_packs;
use crate::workshop::build_packs::{self as packs, BuildPack};
use crate::workshop::render::{self, Document, DocumentStep};
use crate::workshop::{steps, workshops};

/// Renders pending build pack `id` into the object store and marks it
/// ready with its SHA-256 and size.
pub async fn render_build_pack(state: &AppState, id: Uuid) -> Result<(), JobError> {
    let mut conn = state.pool.get().await.map_err(db_error)?;
    let pack: Option<BuildPack> = build_packs::table
        .find(id)
        .select(BuildPack::as_select())
        .limit(1)
        .load(&mut conn)
        .await
        .single()
        .optional()
        .map_err(db_error)?;
    let Some(pack) = pack.filter(|p| p.status == "pending") else {
        return Ok(()); // Deleted, or rendered by an earlier attempt.
    };
    let document = match load_document(&mut conn, pack.workshop_id).await {
        Ok(document) => document,
        Err(error) if error.code == tonic::Code::NotFound => return Ok(()),
        Err(error) => return Err(db_error(error.message)),
    };
    drop(conn);

    let bytes = match pack.format.as_str() {
        "markdown" => render::markdown(&document),
        "json" => render::json(&document),
        "pdf" => render::pdf(&document),
        other => return mark_failed(state, id, &format!("unknown format {other}")).await,
    };
    let sha256 = crate::registry::content::hex(&Sha256::digest(&bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let key = packs::object_key(&pack);
    let path = object_store::path::Path::from(key.as_str());
    state
        .storage
        .store()
        .put(&path, bytes.into())
        .await
        .map_err(|e| format!("object store: {e}"))?;

    let mut conn = state.pool.get().await.map_err(db_error)?;
    let marked = diesel::update(build_packs::table.find(id))
        .filter(build_packs::status.eq("pending"))
        .set((
            build_packs::status.eq("ready"),
            build_packs::object_key.eq(&key),
            build_packs::sha256.eq(&sha256),
            build_packs::size_bytes.eq(size),
            build_packs::finished_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
    if marked == 0 {
        let exists: bool = diesel::select(diesel::dsl::exists(build_packs::table.find(id)))
            .load(&mut conn)
            .await
            .single()
            .map_err(db_error)?;
        if !exists {
            // The workshop went away while we rendered: so does the content.
            return delete_object(state, &key).await;
        }
    }
    Ok(())
}

/// Marks a pending pack failed with `reason` (rendering is over for it).
pub async fn mark_failed(state: &AppState, id: Uuid, reason: &str) -> Result<(), JobError> {
    let mut conn = state.pool.get().await.map_err(db_error)?;
    diesel::update(build_packs::table.find(id))
        .filter(build_packs::status.eq("pending"))
        .set((
            build_packs::status.eq("failed"),
            build_packs::failure_reason.eq(reason),
            build_packs::finished_at.eq(diesel::dsl::now),
        ))
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn load_document(
    conn: &mut diesel_async::AsyncPgConnection,
    workshop_id: Uuid,
) -> crate::error::ApiResult<Document> {
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

/// Deletes the object at `key` (a deleted workshop's build pack).
pub async fn delete_object(state: &AppState, key: &str) -> Result<(), JobError> {
    super::content_jobs::delete_object(state.storage.store(), key).await
}
