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
use super::store::versions::{self, SkillVersion, VersionDraft};
use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult, Violations};
use crate::state::AppState;
use crate::storage::skill_content_key;

/// What a request says about the version besides its content, checked.
#[derive(Debug, Clone)]
pub struct VersionRequest {
    pub skill_id: Uuid,
    pub content_type: String,
    /// From the request; `None` to take it from front matter or the skill.
    pub name: Option<BoundedText>,
    pub description: Option<BoundedText>,
    pub expected_sha256: Option<String>,
    pub publish: bool,
}

impl VersionRequest {
    /// Checks the fields shared by both RPCs; `prefix` names where they sit
    /// (`""` or `header.`).
    pub fn parse(
        prefix: &str,
        skill_id: &str,
        content_type: &str,
        name: &str,
        description: &str,
        expected_sha256: &str,
        publish: bool,
    ) -> ApiResult<Self> {
        let (skill_id, content_type, name, description, expected_sha256) = (
            field(&format!("{prefix}skill_id"), crate::ids::id(skill_id)),
            field(
                &format!("{prefix}content_type"),
                fields::content_type(content_type),
            ),
            field(&format!("{prefix}name"), optional_text(name, NAME_MAX)),
            field(
                &format!("{prefix}description"),
                optional_text(description, DESCRIPTION_MAX),
            ),
            field(
                &format!("{prefix}expected_sha256"),
                fields::sha256(expected_sha256),
            ),
        )
            .all()?;
        Ok(Self {
            skill_id,
            content_type,
            name,
            description,
            expected_sha256,
            publish,
        })
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
) -> ApiResult<(SkillVersion, Skill)> {
    let result = create_staged(state, request, user, &content).await;
    content.discard_staging(&state.storage).await;
    result
}

async fn create_staged(
    state: &AppState,
    request: &VersionRequest,
    user: &UserId,
    content: &StagedContent,
) -> ApiResult<(SkillVersion, Skill)> {
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
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction(async |conn| {
            let skill = skills::lock(conn, request.skill_id).await?;
            skill.ensure_author(user)?;
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
            ApiResult::Ok(versions::insert_next(conn, &skill, user, &draft).await?)
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
