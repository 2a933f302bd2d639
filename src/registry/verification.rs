//! Checking stored skill content against its SHA-256, and deleting content
//! no version references any more: run by the outbox worker (see
//! [`super::jobs`]) and by the scrub, with no transaction open while the
//! object is read. A row that vanished meanwhile means done.

use crate::db::rows::SingleRow as _;
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use object_store::ObjectStoreExt as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::store::versions::{self, Verdict};
use crate::content::{delete_object, hex};
use crate::outbox::JobError;
use crate::schema::skill_versions;
use crate::state::AppState;

/// Hashes the stored object of version `version_id` and records the
/// verdict beside the version: verified, mismatch (with the hash found) or
/// missing. No transaction is open while the object is read. Returns the
/// verdict (`None` when the version was deleted meanwhile) and the bytes
/// hashed.
pub async fn verify(
    state: &AppState,
    version_id: Uuid,
) -> Result<(Option<Verdict>, u64), JobError> {
    let mut conn = state.pool.get().await?;
    let found: Option<(String, String)> = skill_versions::table
        .find(version_id)
        .select((skill_versions::object_key, skill_versions::sha256))
        .load(&mut conn)
        .await
        .single()
        .optional()?;
    drop(conn);
    let Some((key, expected)) = found else {
        return Ok((None, 0)); // The version (and its skill) were deleted.
    };

    let hashed = hash_object(state, &key).await?;
    let bytes = hashed.as_ref().map_or(0, |(_, size)| *size);
    let (verdict, found_sha256) = match hashed {
        None => (Verdict::Missing, None),
        Some((actual, _)) if actual == expected => (Verdict::Verified, None),
        Some((actual, _)) => (Verdict::Mismatch, Some(actual)),
    };
    let mut conn = state.pool.get().await?;
    let recorded = versions::record_verdict(
        &mut conn,
        version_id,
        verdict,
        found_sha256.as_deref(),
        false,
    )
    .await?;
    if !recorded {
        return Ok((None, bytes)); // Deleted while we hashed.
    }
    if verdict.is_damage() {
        tracing::warn!(version.id = %version_id, %key, outcome = verdict.as_db(), "stored content is damaged");
    }
    Ok((Some(verdict), bytes))
}

/// Bytes fetched per read while hashing. Big reads matter: the local store
/// streams a whole object in 8 KiB reads, each a hop to the blocking pool,
/// which hashed at a fifth of OpenSSL's speed (see the verification
/// benchmark); 8 MiB reads make that overhead vanish and keep memory flat.
const HASH_READ_BYTES: u64 = 8 * 1024 * 1024;

/// The lowercase hex SHA-256 of the object at `key` and its size, or `None`
/// when there is no such object. The next range is fetched while the
/// current one is hashed, on the blocking pool so hashing never stalls the
/// runtime.
async fn hash_object(state: &AppState, key: &str) -> Result<Option<(String, u64)>, JobError> {
    let store = state.storage.store().clone();
    let path = object_store::path::Path::from(key);
    let size = match store.head(&path).await {
        Ok(meta) => meta.size,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let fetch = |start: u64| {
        let store = store.clone();
        let path = path.clone();
        let end = start.saturating_add(HASH_READ_BYTES).min(size);
        tokio::spawn(async move { store.get_range(&path, start..end).await })
    };
    let mut hasher = Sha256::new();
    let mut offset = 0;
    let mut next = (size > 0).then(|| fetch(0));
    while let Some(pending) = next.take() {
        let chunk = match pending
            .await
            .map_err(|e| JobError::Other(format!("reading task: {e}")))?
        {
            Ok(chunk) => chunk,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        if chunk.is_empty() {
            return Err(JobError::Other(format!(
                "object store: {key} ended early at byte {offset} of {size}"
            )));
        }
        offset += chunk.len() as u64;
        metrics::counter!(crate::telemetry::names::VERIFIED_BYTES).increment(chunk.len() as u64);
        if offset < size {
            next = Some(fetch(offset));
        }
        hasher = tokio::task::spawn_blocking(move || {
            hasher.update(&chunk);
            hasher
        })
        .await
        .map_err(|e| JobError::Other(format!("hashing task: {e}")))?;
    }
    Ok(Some((hex(&hasher.finalize()), size)))
}

/// Deletes the object at `key` (content `sha256`) unless a version
/// references it; says whether it did. Holds the content's advisory lock
/// (and so a short transaction) across the check and the delete: a version
/// being created with the same content takes that lock too, so it cannot
/// slip in between.
pub async fn delete_unreferenced(
    state: &AppState,
    key: &str,
    sha256: &str,
) -> Result<bool, JobError> {
    let mut conn = state.pool.get().await?;
    let store = state.storage.store().clone();
    conn.transaction::<_, JobError, _>(async |conn| {
        versions::lock_content(conn, sha256).await?;
        if versions::is_referenced(conn, key).await? {
            return Ok(false);
        }
        delete_object(&store, key).await?;
        Ok(true)
    })
    .await
}
