//! Content in the object store, read back verified: the bytes stream out
//! in chunks while they are hashed, and a mismatch ends the stream with
//! DATA_LOSS instead of completing. Shared by skill versions and build packs.

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::ObjectStoreExt as _;
use object_store::path::Path;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tonic::{Code, Status};

use crate::error::ApiError;
use crate::storage::Storage;

/// Size of the chunks a verified read sends.
pub const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Lowercase hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// UNAVAILABLE for a failed object-store operation (logged here).
pub fn storage_error(error: object_store::Error) -> ApiError {
    tracing::warn!(%error, "object store operation failed");
    ApiError::unavailable("the object store is unavailable; retry later")
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

/// Deletes the object at `key`; one already gone counts as deleted.
pub async fn delete_object(
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
    key: &str,
) -> Result<(), object_store::Error> {
    match store.delete(&Path::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}
