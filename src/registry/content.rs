//! Skill content in the object store: staging what a caller sends while
//! hashing it, placing it at its content address, and streaming it back
//! with its hash checked on the way out.
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
use tokio::sync::mpsc;
use tonic::{Code, Status};

use super::front_matter::MAX_FRONT_MATTER_BYTES;
use crate::error::{ApiError, ApiResult};
use crate::storage::{Storage, upload_staging_key};

/// Size of the chunks ReadSkillVersionContent sends.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

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

/// Lowercase hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn storage_error(error: object_store::Error) -> ApiError {
    tracing::warn!(%error, "object store operation failed");
    ApiError::unavailable("the object store is unavailable; retry later")
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

/// What a verified read found wrong with stored content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The object is gone.
    Missing,
    /// The bytes hash to `found`, not to the expected SHA-256.
    Mismatch {
        /// The SHA-256 the stored bytes have now.
        found: String,
    },
}

/// Streams the object at `key` in chunks into a channel, hashing as it
/// goes; when the bytes do not hash to `sha256` (or the object is gone)
/// `on_damage` runs — so the damage is recorded (and logged, once) before
/// the caller hears of it — and the stream ends with DATA_LOSS instead of
/// completing. Stops when the receiver goes away.
pub fn stream_verified<F, Fut>(
    storage: &Storage,
    key: Path,
    sha256: String,
    on_damage: F,
) -> mpsc::Receiver<Result<Bytes, Status>>
where
    F: FnOnce(Damage) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (sender, receiver) = mpsc::channel(4);
    let store = storage.store().clone();
    tokio::spawn(async move {
        let data_loss = |message: String| -> Status {
            ApiError::new(Code::DataLoss, "CONTENT_CORRUPTED", message).into()
        };
        let mut stream = match store.get(&key).await {
            Ok(result) => result.into_stream(),
            Err(object_store::Error::NotFound { .. }) => {
                on_damage(Damage::Missing).await;
                let _ = sender
                    .send(Err(data_loss(format!(
                        "the stored content {key} is missing"
                    ))))
                    .await;
                return;
            }
            Err(error) => {
                let _ = sender.send(Err(storage_error(error).into())).await;
                return;
            }
        };
        let mut hasher = Sha256::new();
        let mut pending = bytes::BytesMut::new();
        while let Some(next) = stream.next().await {
            let bytes = match next {
                Ok(bytes) => bytes,
                Err(error) => {
                    let _ = sender.send(Err(storage_error(error).into())).await;
                    return;
                }
            };
            hasher.update(&bytes);
            pending.extend_from_slice(&bytes);
            while pending.len() >= READ_CHUNK_BYTES {
                let chunk = pending.split_to(READ_CHUNK_BYTES).freeze();
                if sender.send(Ok(chunk)).await.is_err() {
                    return; // The caller went away.
                }
            }
        }
        let found = hex(&hasher.finalize());
        if found != sha256 {
            let message = format!(
                "the stored content does not match its SHA-256 (expected {sha256}, found {found})"
            );
            on_damage(Damage::Mismatch { found }).await;
            let _ = sender.send(Err(data_loss(message))).await;
            return;
        }
        if !pending.is_empty() {
            let _ = sender.send(Ok(pending.freeze())).await;
        }
    });
    receiver
}
