//! The object store that holds skill content and build packs.
//!
//! By default the local filesystem under `<data dir>/objects`; any URL that
//! `object_store` understands selects another (`file:///…`, `memory://`,
//! `s3://bucket/prefix` with the usual `AWS_*` variables).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use url::Url;

/// The configured object store, cheap to clone.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Where the store is, for logs (never includes credentials).
    location: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.location)
            .finish()
    }
}

impl Storage {
    /// Opens the store named by `url`, or the local default under `data_dir`.
    pub fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        match url {
            None => Self::local(&data_dir.join("objects")),
            Some(raw) => {
                let url = Url::parse(raw).context("ATELIER_OBJECT_STORE_URL is not a valid URL")?;
                if url.scheme() == "file" {
                    let dir = url.to_file_path().map_err(|()| {
                        anyhow::anyhow!("a file:// object store URL needs an absolute path")
                    })?;
                    return Self::local(&dir);
                }
                // Credentials and settings come from the environment, as
                // every object_store builder names them (`aws_access_key_id`…).
                let options =
                    std::env::vars().map(|(key, value)| (key.to_ascii_lowercase(), value));
                let (store, prefix) = object_store::parse_url_opts(&url, options)
                    .with_context(|| format!("cannot open the object store {}", redact(&url)))?;
                let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
                    Arc::from(store)
                } else {
                    Arc::new(PrefixStore::new(store, prefix))
                };
                Ok(Self {
                    store,
                    location: redact(&url),
                })
            }
        }
    }

    fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = &std::fs::canonicalize(dir)
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("cannot open {} as an object store", dir.display()))?
            // Deleting the last object of a folder removes the empty folder.
            .with_automatic_cleanup(true);
        Ok(Self {
            store: Arc::new(store),
            location: format!("file://{}", dir.display()),
        })
    }

    /// Wraps an existing store (tests use this to inject failures).
    pub fn from_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Self {
            store,
            location: location.into(),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Where the store is, without credentials.
    pub fn location(&self) -> &str {
        &self.location
    }
}

/// Where skill content with this SHA-256 (lowercase hex) lives. Content is
/// addressed by its hash, so identical content is stored once.
pub fn skill_content_key(sha256: &str) -> object_store::path::Path {
    let prefix = sha256.get(..2).unwrap_or("xx");
    object_store::path::Path::from(format!("skills/sha256/{prefix}/{sha256}"))
}

/// Where a streamed upload is staged until its hash is known.
pub fn upload_staging_key(upload: uuid::Uuid) -> object_store::path::Path {
    object_store::path::Path::from(format!("uploads/{upload}"))
}

/// The URL without user info or query (where credentials may hide).
fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    clean.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_appear_in_the_location() {
        let url = Url::parse("s3://key:secret@bucket/prefix?token=abc").expect("valid URL");
        let shown = redact(&url);
        assert!(
            !shown.contains("secret") && !shown.contains("abc"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn the_default_store_lives_under_the_data_dir() {
        use object_store::ObjectStoreExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = Storage::open(None, dir.path()).expect("opens");
        let path = object_store::path::Path::from("probe/a");
        storage.store().put(&path, "x".into()).await.expect("put");
        assert!(dir.path().join("objects/probe/a").is_file());
    }
}
