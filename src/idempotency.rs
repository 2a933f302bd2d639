//! Idempotency keys (AIP-155) for the creates a retried call could
//! duplicate: CreateWorkshop, CreateBuildPack, AddMember,
//! AddWorkspaceMember, RateSkill, CreateSkillVersion, UploadSkillVersion.
//!
//! A handler makes a [`RetryKey`] from the request and, inside the
//! transaction that creates, first asks [`RetryKey::first`]: the key's
//! advisory lock is taken (so a concurrent retry waits for this one to
//! commit or roll back instead of racing it), and when an earlier request
//! with the key committed, the handler answers with what that one created.
//! Otherwise it creates and [`RetryKey::record`]s the resource in the same
//! transaction, so the key exists exactly when the creation does.
//!
//! A key names one request: the same key with a different request is
//! refused (INVALID_ARGUMENT on `request_id`, reason REQUEST_ID_REUSED)
//! rather than answered with something the caller did not ask for. Keys are
//! per user and per RPC, kept at least [`RETENTION_HOURS`].

use std::str::FromStr;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};

use crate::auth::UserId;
use crate::db::rows::SingleRow as _;
use crate::error::{ApiError, ApiResult};
use crate::schema::request_ids;

/// How long a key is honoured at least; the content scrub prunes older
/// ones at the start of each pass.
pub const RETENTION_HOURS: i64 = 24;

/// Longest idempotency key, in characters.
pub const REQUEST_ID_MAX: usize = 100;

/// Checks an idempotency key: 1–100 printable characters; empty means the
/// caller sent none.
pub fn request_id(raw: &str) -> Result<Option<String>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > REQUEST_ID_MAX || raw.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {REQUEST_ID_MAX} printable characters"
        ));
    }
    Ok(Some(raw.to_owned()))
}

/// A request's idempotency key, or none when the caller sent no
/// `request_id` (then every method is a no-op and each call creates).
#[derive(Debug, Clone)]
pub struct RetryKey {
    key: Option<Key>,
}

#[derive(Debug, Clone)]
struct Key {
    user_id: String,
    method: &'static str,
    request_id: String,
    fingerprint: [u8; 32],
    /// The request field holding the key, named when it is refused.
    field: String,
}

impl Key {
    /// The key's advisory lock: 64 bits of a hash of the key (a collision
    /// only makes two unrelated requests wait for each other).
    fn lock_id(&self) -> i64 {
        let digest = Sha256::new()
            .chain_update(b"request_id\0")
            .chain_update(self.user_id.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.method.as_bytes())
            .chain_update(b"\0")
            .chain_update(self.request_id.as_bytes())
            .finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(first)
    }
}

impl RetryKey {
    /// The key of `method` called by `user` with `request_id` (already
    /// checked by [`request_id`]); `request` is the request as it was sent
    /// with its `request_id` cleared, so a retry must match it exactly.
    pub fn new(
        method: &'static str,
        user: &UserId,
        request_id: Option<String>,
        request: &impl prost::Message,
    ) -> Self {
        Self::fingerprinted(
            method,
            user,
            request_id,
            Sha256::digest(request.encode_to_vec()).into(),
        )
    }

    /// Like [`RetryKey::new`] for a request known by its parts rather than
    /// as one message (a streamed upload: its header's fields and its
    /// content's hash; a member change: parent, user and role). Each part
    /// is hashed with its length, so no two lists of parts collide.
    pub fn of_parts(
        method: &'static str,
        user: &UserId,
        request_id: Option<String>,
        parts: &[&str],
    ) -> Self {
        let mut digest = Sha256::new();
        for part in parts {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        Self::fingerprinted(method, user, request_id, digest.finalize().into())
    }

    fn fingerprinted(
        method: &'static str,
        user: &UserId,
        request_id: Option<String>,
        fingerprint: [u8; 32],
    ) -> Self {
        Self {
            key: request_id.map(|request_id| Key {
                user_id: user.as_str().to_owned(),
                method,
                request_id,
                fingerprint,
                field: "request_id".to_owned(),
            }),
        }
    }

    /// The same key, sent in request field `field` (e.g.
    /// `header.request_id`) rather than `request_id`.
    #[must_use]
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        if let Some(key) = &mut self.key {
            key.field = field.into();
        }
        self
    }

    /// What an earlier request with this key created, if one committed.
    /// Takes the key's transaction-scoped lock first, so call it inside the
    /// creating transaction, before creating.
    pub async fn first<R>(&self, conn: &mut AsyncPgConnection) -> ApiResult<Option<R>>
    where
        R: FromStr,
        R::Err: std::fmt::Display,
    {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(key.lock_id())
            .execute(conn)
            .await?;
        let recorded: Option<(String, Vec<u8>)> = request_ids::table
            .find((&key.user_id, key.method, &key.request_id))
            .select((request_ids::resource, request_ids::fingerprint))
            .load(conn)
            .await
            .single_optional()?;
        match recorded {
            None => Ok(None),
            Some((resource, fingerprint)) if fingerprint == key.fingerprint => resource
                .parse()
                .map(Some)
                .map_err(|e| ApiError::internal(format!("recorded resource {resource:?}: {e}"))),
            Some(_) => Err(ApiError {
                reason: "REQUEST_ID_REUSED",
                ..ApiError::invalid_field(
                    key.field.clone(),
                    format!(
                        "was already used for a different {} request; send a new request_id \
                         for a new request",
                        key.method
                    ),
                )
            }),
        }
    }

    /// Records that this key's request created `resource`, in the creating
    /// transaction (after [`RetryKey::first`] found nothing).
    pub async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        resource: impl ToString,
    ) -> ApiResult<()> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        diesel::insert_into(request_ids::table)
            .values((
                request_ids::user_id.eq(&key.user_id),
                request_ids::method.eq(key.method),
                request_ids::request_id.eq(&key.request_id),
                request_ids::resource.eq(resource.to_string()),
                request_ids::fingerprint.eq(key.fingerprint.as_slice()),
            ))
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Deletes the keys older than [`RETENTION_HOURS`]; returns how many.
pub async fn prune(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "DELETE FROM request_ids WHERE created_at < now() - interval '{RETENTION_HOURS} hours'"
    ))
    .execute(conn)
    .await
}
