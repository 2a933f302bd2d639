//! The write path of a new version, shared by CreateSkillVersion (inline)
//! and UploadSkillVersion (streamed): check the request, stage and hash the
//! content, then place the object and insert the row in one transaction,
//! and clean up whatever a failure leaves.

use diesel_async::AsyncConnection as _;
use uuid::Uuid;

use super::fields::{self, BoundedText, DESCRIPTION_MAX, NAME_MAX};
use super::front_matter;
use super::staging::StagedContent;
use super::store::skills::{self, Skill};
use super::store::versions::{self, VersionDraft, VersionView};
use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult, Violations};
use crate::idempotency::RetryKey;
use crate::state::AppState;
use crate::storage::skill_content_key;

/// What a request says about the version besides its content, as sent.
#[derive(Debug, Clone, Copy)]
pub struct RawVersionRequest<'a> {
    pub skill_id: &'a str,
    pub content_type: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub expected_sha256: &'a str,
    pub publish: bool,
    pub request_id: &'a str,
}

/// What a request says about the version besides its content, checked.
#[derive(Debug, Clone)]
pub struct VersionRequest {
    /// The RPC, which its idempotency keys are kept under.
    pub method: &'static str,
    pub skill_id: Uuid,
    pub content_type: String,
    /// From the request; `None` to take it from front matter or the skill.
    pub name: Option<BoundedText>,
    pub description: Option<BoundedText>,
    pub expected_sha256: Option<String>,
    pub publish: bool,
    pub request_id: Option<String>,
    /// Where the request sent its fields: `""` or `header.`.
    pub prefix: &'static str,
}

impl VersionRequest {
    /// Checks the fields shared by both RPCs; `prefix` names where they sit
    /// (`""` or `header.`).
    pub fn parse(
        method: &'static str,
        prefix: &'static str,
        raw: RawVersionRequest<'_>,
    ) -> ApiResult<Self> {
        let (skill_id, content_type, name, description, expected_sha256, request_id) = (
            field(&format!("{prefix}skill_id"), crate::ids::id(raw.skill_id)),
            field(
                &format!("{prefix}content_type"),
                fields::content_type(raw.content_type),
            ),
            field(&format!("{prefix}name"), optional_text(raw.name, NAME_MAX)),
            field(
                &format!("{prefix}description"),
                optional_text(raw.description, DESCRIPTION_MAX),
            ),
            field(
                &format!("{prefix}expected_sha256"),
                fields::sha256(raw.expected_sha256),
            ),
            field(
                &format!("{prefix}request_id"),
                crate::idempotency::request_id(raw.request_id),
            ),
        )
            .all()?;
        Ok(Self {
            method,
            skill_id,
            content_type,
            name,
            description,
            expected_sha256,
            publish: raw.publish,
            request_id,
            prefix,
        })
    }

    /// The request's idempotency key: a retry must name the same skill,
    /// fields and content (by its hash).
    fn retry_key(&self, user: &UserId, content_sha256: &str) -> RetryKey {
        let skill_id = self.skill_id.to_string();
        let parts = [
            skill_id.as_str(),
            &self.content_type,
            self.name.as_ref().map_or("", BoundedText::as_str),
            self.description.as_ref().map_or("", BoundedText::as_str),
            self.expected_sha256.as_deref().unwrap_or(""),
            if self.publish { "publish" } else { "draft" },
            content_sha256,
        ];
        RetryKey::of_parts(self.method, user, self.request_id.clone(), &parts)
            .in_field(format!("{}request_id", self.prefix))
    }
}

fn optional_text(raw: &str, max: usize) -> Result<Option<BoundedText>, String> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        BoundedText::parse(raw, max).map(Some)
    }
}

/// Fails unless the skill exists and `user` wrote it: checked before a
/// large upload is read, so a doomed upload is refused early. (The
/// transaction checks again.)
pub async fn precheck(state: &AppState, request: &VersionRequest, user: &UserId) -> ApiResult<()> {
    let mut conn = state.pool.get().await?;
    let skill = skills::find(&mut conn, &skills::SkillRef::Id(request.skill_id)).await?;
    Ok(skill.ensure_author(user)?)
}

/// Stores `content` as the next version of the requested skill. The staged
/// upload is always discarded; on failure the placed object is removed
/// unless another version references it.
pub async fn create(
    state: &AppState,
    request: &VersionRequest,
    user: &UserId,
    content: StagedContent,
) -> ApiResult<(VersionView, Skill)> {
    let result = create_staged(state, request, user, &content).await;
    content.discard_staging(&state.storage).await;
    result
}

async fn create_staged(
    state: &AppState,
    request: &VersionRequest,
    user: &UserId,
    content: &StagedContent,
) -> ApiResult<(VersionView, Skill)> {
    if content.size == 0 {
        return Err(ApiError::invalid_field("content", "must not be empty"));
    }
    if let Some(expected) = &request.expected_sha256
        && *expected != content.sha256
    {
        return Err(ApiError {
            reason: "SHA256_MISMATCH",
            ..ApiError::invalid_field(
                "expected_sha256",
                format!("the content hashes to {}, not {expected}", content.sha256),
            )
        });
    }
    let front = if request.content_type.starts_with("text/markdown") {
        front_matter::parse(&content.head)
            .map_err(|problem| ApiError::invalid_field("content", problem))?
    } else {
        None
    }
    .unwrap_or_default();
    let mut violations = Violations::new();
    let name = match (&request.name, &front.name) {
        (Some(name), _) => Some(name.clone()),
        (None, Some(name)) => violations.check(
            "content",
            BoundedText::parse(name, NAME_MAX).map_err(|p| format!("front matter name {p}")),
        ),
        (None, None) => None,
    };
    let description = match (&request.description, &front.description) {
        (Some(description), _) => Some(description.clone()),
        (None, Some(description)) => violations.check(
            "content",
            BoundedText::parse(description, DESCRIPTION_MAX)
                .map_err(|p| format!("front matter description {p}")),
        ),
        (None, None) => None,
    };
    violations.finish()?;

    let key = skill_content_key(&content.sha256);
    let retry = request.retry_key(user, &content.sha256);
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction(async |conn| {
            let skill = skills::lock(conn, request.skill_id).await?;
            skill.ensure_author(user)?;
            if let Some(first) = retry.first(conn).await? {
                return Ok((versions::find(conn, request.skill_id, first).await?, skill));
            }
            versions::lock_content(conn, &content.sha256).await?;
            content.place(&state.storage, &key).await?;
            let draft = VersionDraft {
                object_key: key.to_string(),
                sha256: content.sha256.clone(),
                content_type: request.content_type.clone(),
                size_bytes: content.size,
                name: name
                    .as_ref()
                    .map_or_else(|| skill.name.clone(), |n| n.as_str().to_owned()),
                description: description
                    .as_ref()
                    .map_or_else(|| skill.description.clone(), |d| d.as_str().to_owned()),
                metadata: serde_json::Value::Object(front.metadata.clone()),
                publish: request.publish,
            };
            let (version, skill) = versions::insert_next(conn, &skill, user, &draft).await?;
            retry.record(conn, version.version).await?;
            let view = VersionView {
                version,
                verification: None,
            };
            ApiResult::Ok((view, skill))
        })
        .await;
    if created.is_err() {
        remove_if_unreferenced(state, &content.sha256).await;
    }
    created
}

/// Deletes the object for `sha256` unless a version references it, under the
/// content lock. Best effort: a failure is logged, and the object stays
/// behind, referenced by nothing.
pub async fn remove_if_unreferenced(state: &AppState, sha256: &str) {
    let key = skill_content_key(sha256);
    let outcome: ApiResult<()> = async {
        let mut conn = state.pool.get().await?;
        conn.transaction(async |conn| {
            versions::lock_content(conn, sha256).await?;
            if !versions::is_referenced(conn, key.as_ref()).await? {
                match object_store::ObjectStoreExt::delete(state.storage.store().as_ref(), &key)
                    .await
                {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(error) => {
                        return Err(ApiError::unavailable(format!("deleting {key}: {error}")));
                    }
                }
            }
            Ok(())
        })
        .await
    }
    .await;
    if let Err(error) = outcome {
        tracing::warn!(%error, %key, "could not remove content after a failed version create");
    }
}
