//! Skill content on its way in: staging what a caller sends while hashing
//! it, and placing it at its content address. (Reading it back verified is
//! `crate::content`.)
//!
//! Content reaches its final key only inside the transaction that inserts
//! the version row, under a per-hash advisory lock that the deletion of
//! unreferenced content takes too (see `versions::lock_content`). So a
//! version never references a missing object, and an object whose version
//! failed to commit is removed again (`discard_if_unreferenced`).

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStoreExt as _, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use tonic::Code;

use super::front_matter::MAX_FRONT_MATTER_BYTES;
use crate::content::{hex, storage_error};
use crate::error::{ApiError, ApiResult};
use crate::storage::{Storage, upload_staging_key};

/// How much staged content is held in memory: inline content entirely,
/// streamed content in the object store under a temporary key.
#[derive(Debug)]
enum Staged {
    Inline(Bytes),
    Upload(Path),
}

/// Content received from a caller, hashed, not yet at its final key.
#[derive(Debug)]
pub struct StagedContent {
    staged: Staged,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// The first bytes (up to the front matter limit), for parsing front
    /// matter.
    pub head: Bytes,
}

/// Stages inline content (already in memory).
pub fn stage_inline(content: Bytes) -> StagedContent {
    let sha256 = hex(&Sha256::digest(&content));
    let head = content.slice(..content.len().min(MAX_FRONT_MATTER_BYTES));
    StagedContent {
        size: i64::try_from(content.len()).unwrap_or(i64::MAX),
        staged: Staged::Inline(content),
        sha256,
        head,
    }
}

/// Streams `chunks` into a temporary object while hashing them, stopping as
/// soon as more than `limit` bytes arrive (RESOURCE_EXHAUSTED) or a chunk is
/// an error; the partial upload is then aborted.
pub async fn stage_stream<S>(
    storage: &Storage,
    mut chunks: S,
    limit: u64,
) -> ApiResult<StagedContent>
where
    S: futures_util::Stream<Item = ApiResult<Bytes>> + Unpin,
{
    let key = upload_staging_key(uuid::Uuid::now_v7());
    let upload = storage
        .store()
        .put_multipart(&key)
        .await
        .map_err(storage_error)?;
    let mut writer = WriteMultipart::new(upload);
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head = Vec::new();
    let failure = loop {
        let chunk = match chunks.next().await {
            None => break None,
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => break Some(error),
        };
        size += chunk.len() as u64;
        if size > limit {
            break Some(ApiError::new(
                Code::ResourceExhausted,
                "CONTENT_TOO_LARGE",
                format!("content exceeds the upload limit of {limit} bytes"),
            ));
        }
        if head.len() < MAX_FRONT_MATTER_BYTES {
            let take = chunk.len().min(MAX_FRONT_MATTER_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        if let Err(error) = writer.wait_for_capacity(4).await {
            break Some(storage_error(error));
        }
        writer.put(chunk);
    };
    if let Some(error) = failure {
        let _ = writer.abort().await;
        return Err(error);
    }
    writer.finish().await.map_err(storage_error)?;
    Ok(StagedContent {
        staged: Staged::Upload(key),
        sha256: hex(&hasher.finalize()),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        head: Bytes::from(head),
    })
}

impl StagedContent {
    /// Puts the content at `key` unless an object is there already (the
    /// same content, since keys are hashes). Call under the content lock.
    pub async fn place(&self, storage: &Storage, key: &Path) -> ApiResult<()> {
        match storage.store().head(key).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(storage_error(error)),
        }
        match &self.staged {
            Staged::Inline(bytes) => storage
                .store()
                .put(key, PutPayload::from_bytes(bytes.clone()))
                .await
                .map(drop),
            Staged::Upload(staging) => storage.store().copy(staging, key).await,
        }
        .map_err(storage_error)
    }

    /// Deletes the temporary upload, if any. Best effort: a leftover staging
    /// object references nothing and is safe to remove at any time.
    pub async fn discard_staging(&self, storage: &Storage) {
        if let Staged::Upload(staging) = &self.staged
            && let Err(error) = storage.store().delete(staging).await
        {
            tracing::warn!(%error, key = %staging, "could not delete a staged upload");
        }
    }
}
