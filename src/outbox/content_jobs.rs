//! The effects outside the database: verifying stored content against its
//! SHA-256, and deleting content no version references any more.
//!
//! They run outside the claiming transaction (the worker leases their
//! events first), are idempotent, and report failures as text for the
//! event's `last_error`. A row that vanished meanwhile means done.

use crate::db::rows::SingleRow as _;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use object_store::ObjectStoreExt as _;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::ApiError;
use crate::registry::versions;
use crate::schema::{skill_version_verifications, skill_versions};

/// What a job's failure says, for `last_error`.
pub type JobError = String;

/// A database failure, as a job error.
pub(super) fn db_error(error: impl std::fmt::Display) -> JobError {
    format!("database: {error}")
}

/// What hashing a version's stored content found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The bytes hash to the version's SHA-256.
    Intact,
    /// The bytes hash to something else.
    Mismatch,
    /// The object is gone.
    Missing,
    /// The version itself was deleted meanwhile: nothing to verify.
    VersionGone,
}

impl Verified {
    /// Whether the content was found damaged.
    pub fn is_damage(self) -> bool {
        matches!(self, Self::Mismatch | Self::Missing)
    }
}

/// Hashes the stored object of version `version_id` and records the
/// outcome beside the version: verified, mismatch (with the hash found) or
/// missing. No transaction is open while the object is read. Returns the
/// outcome and the bytes hashed.
pub async fn verify(state: &AppState, version_id: Uuid) -> Result<(Verified, u64), JobError> {
    let mut conn = state.pool.get().await.map_err(db_error)?;
    let found: Option<(String, String)> = skill_versions::table
        .find(version_id)
        .select((skill_versions::object_key, skill_versions::sha256))
        .load(&mut conn)
        .await
        .single()
        .optional()
        .map_err(db_error)?;
    drop(conn);
    let Some((key, expected)) = found else {
        return Ok((Verified::VersionGone, 0)); // The version (and its skill) were deleted.
    };

    let hashed = hash_object(state, &key).await?;
    let bytes = hashed.as_ref().map_or(0, |(_, size)| *size);
    let (verified, found_sha256) = match hashed {
        None => (Verified::Missing, None),
        Some((actual, _)) if actual == expected => (Verified::Intact, None),
        Some((actual, _)) => (Verified::Mismatch, Some(actual)),
    };
    let mut conn = state.pool.get().await.map_err(db_error)?;
    let recorded = record(&mut conn, version_id, verified, found_sha256.as_deref()).await;
    match recorded {
        Ok(()) => Ok((verified, bytes)),
        // Deleted while we hashed: nothing to record.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Ok((Verified::VersionGone, bytes)),
        Err(error) => Err(db_error(error)),
    }
}

/// Records what verifying version `version_id` found (`found_sha256`: the
/// hash of damaged content), replacing any earlier outcome. Damage is
/// logged here, once, where it is recorded.
pub async fn record(
    conn: &mut diesel_async::AsyncPgConnection,
    version_id: Uuid,
    verified: Verified,
    found_sha256: Option<&str>,
) -> QueryResult<()> {
    let outcome = match verified {
        Verified::Intact => "verified",
        Verified::Mismatch => "mismatch",
        Verified::Missing => "missing",
        Verified::VersionGone => return Ok(()),
    };
    if verified.is_damage() {
        tracing::warn!(version.id = %version_id, outcome, "stored content is damaged");
    }
    diesel::insert_into(skill_version_verifications::table)
        .values((
            skill_version_verifications::version_id.eq(version_id),
            skill_version_verifications::state.eq(outcome),
            skill_version_verifications::found_sha256.eq(found_sha256),
        ))
        .on_conflict(skill_version_verifications::version_id)
        .do_update()
        .set((
            skill_version_verifications::state.eq(excluded(skill_version_verifications::state)),
            skill_version_verifications::found_sha256
                .eq(excluded(skill_version_verifications::found_sha256)),
            skill_version_verifications::verified_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
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
        Err(error) => return Err(format!("object store: {error}")),
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
        let chunk = match pending.await.map_err(|e| format!("reading task: {e}"))? {
            Ok(chunk) => chunk,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(format!("object store: {error}")),
        };
        if chunk.is_empty() {
            return Err(format!(
                "object store: {key} ended early at byte {offset} of {size}"
            ));
        }
        offset += chunk.len() as u64;
        if offset < size {
            next = Some(fetch(offset));
        }
        hasher = tokio::task::spawn_blocking(move || {
            hasher.update(&chunk);
            hasher
        })
        .await
        .map_err(|e| format!("hashing task: {e}"))?;
    }
    Ok(Some((
        crate::registry::content::hex(&hasher.finalize()),
        size,
    )))
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
    let mut conn = state.pool.get().await.map_err(db_error)?;
    let store = state.storage.store().clone();
    conn.transaction::<_, ApiError, _>(async |conn| {
        versions::lock_content(conn, sha256).await?;
        if versions::is_referenced(conn, key).await? {
            return Ok(false);
        }
        delete_object(&store, key)
            .await
            .map(|()| true)
            .map_err(ApiError::unavailable)
    })
    .await
    .map_err(|e| e.message)
}

/// Deletes the object at `key`; one already gone counts as deleted.
pub async fn delete_object(
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
    key: &str,
) -> Result<(), JobError> {
    match store.delete(&object_store::path::Path::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(format!("object store: {error}")),
    }
}
