//! Skill versions: immutable rows numbered 1, 2, 3… per skill, the
//! verification results beside them, and publishing.

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::skills::{self, Skill};
use crate::auth::UserId;
use crate::content::Damage;
use crate::db::text_enum::text_enum;
use crate::registry::error::{RegistryError, RegistryResult};
use crate::registry::events::ContentVerify;
use crate::resources;
use crate::schema::{skill_version_verifications, skill_versions, skills as skills_table};

/// A stored version.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = skill_versions, check_for_backend(diesel::pg::Pg))]
pub struct SkillVersion {
    pub id: Uuid,
    pub skill_id: Uuid,
    pub version: i32,
    pub object_key: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub name: String,
    pub description: String,
    pub metadata: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// The outcome of the asynchronous content verification.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = skill_version_verifications, check_for_backend(diesel::pg::Pg))]
pub struct Verification {
    pub state: Verdict,
    pub found_sha256: Option<String>,
    pub verified_at: DateTime<Utc>,
}

/// A version with its verification (none while pending).
#[derive(Debug, Clone)]
pub struct VersionView {
    pub version: SkillVersion,
    pub verification: Option<Verification>,
}

impl VersionView {
    /// Whether verification found the stored content broken.
    pub fn failed_verification(&self) -> bool {
        self.verification
            .as_ref()
            .is_some_and(|v| v.state.is_damage())
    }
}

text_enum! {
    /// A verification's verdict on a version's stored content, as recorded
    /// beside the version (`skill_version_verifications.state`).
    pub enum Verdict {
        /// The bytes hash to the version's SHA-256.
        Verified = "verified",
        /// The bytes hash to something else.
        Mismatch = "mismatch",
        /// The object is gone.
        Missing = "missing",
    }
}

impl Verdict {
    /// Whether the content was found damaged.
    pub fn is_damage(self) -> bool {
        self != Self::Verified
    }
}

/// Records `verdict` (with `found_sha256`, the hash of damaged content) on
/// version `version_id`, replacing any earlier one. A new verification
/// (`only_if_changed` false) always stamps its time; a report that merely
/// repeats the recorded verdict (`only_if_changed` true) writes nothing.
/// Returns whether a row was written — false too when the version no
/// longer exists.
pub async fn record_verdict(
    conn: &mut AsyncPgConnection,
    version_id: Uuid,
    verdict: Verdict,
    found_sha256: Option<&str>,
    only_if_changed: bool,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[expect(dead_code, reason = "only whether a row came back matters")]
        version_id: Uuid,
    }
    let written: QueryResult<Vec<Written>> = diesel::sql_query(
        "INSERT INTO skill_version_verifications AS v (version_id, state, found_sha256) \
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM skill_versions WHERE id = $1) \
         ON CONFLICT (version_id) DO UPDATE \
           SET state = EXCLUDED.state, found_sha256 = EXCLUDED.found_sha256, verified_at = now() \
           WHERE NOT $4 \
              OR (v.state, v.found_sha256) IS DISTINCT FROM (EXCLUDED.state, EXCLUDED.found_sha256) \
         RETURNING v.version_id",
    )
    .bind::<diesel::sql_types::Uuid, _>(version_id)
    .bind::<Text, _>(verdict)
    .bind::<diesel::sql_types::Nullable<Text>, _>(found_sha256)
    .bind::<diesel::sql_types::Bool, _>(only_if_changed)
    .load(conn)
    .await;
    match written {
        Ok(rows) => Ok(!rows.is_empty()),
        // Deleted between the check and the insert: nothing to record.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Records damage a read found in version `version_id`'s stored content —
/// so it can no longer be published — and asks the worker to verify it
/// again at once (its verdict replaces this one; a store that failed only
/// for a moment heals the record). Damage already on record is not
/// reported twice: a lock-free read answers most repeat readers, and the
/// recording writes (and queues a check) only when the recorded verdict
/// differs, so concurrent readers of one damaged version queue one check.
/// Best effort: a failure is logged; the reader gets its DATA_LOSS anyway.
pub async fn report_damage(state: &crate::state::AppState, version_id: Uuid, damage: Damage) {
    let (verdict, found) = match &damage {
        Damage::Missing => (Verdict::Missing, None),
        Damage::Mismatch { found } => (Verdict::Mismatch, Some(found.as_str())),
    };
    let reported: anyhow::Result<bool> = async {
        let mut conn = state.pool.get().await?;
        let known: Option<Verification> = skill_version_verifications::table
            .find(version_id)
            .select(Verification::as_select())
            .load(&mut conn)
            .await
            .single_optional()?;
        if known.is_some_and(|k| k.state == verdict && k.found_sha256.as_deref() == found) {
            return Ok(false);
        }
        let recorded = conn
            .transaction(async |conn| {
                if !record_verdict(conn, version_id, verdict, found, true).await? {
                    return QueryResult::Ok(false);
                }
                crate::outbox::enqueue_one(conn, version_id, &ContentVerify {}).await?;
                Ok(true)
            })
            .await?;
        Ok(recorded)
    }
    .await;
    match reported {
        Ok(true) => tracing::warn!(
            version.id = %version_id,
            outcome = verdict.as_db(),
            "a read found stored content damaged; recorded, re-check queued"
        ),
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(version.id = %version_id, %error, "could not record damage a read found")
        }
    }
}

/// Takes the transaction-scoped lock on one piece of content. Placing
/// content for a new version and deleting unreferenced content both hold
/// it, so neither can interleave with the other.
pub async fn lock_content(conn: &mut AsyncPgConnection, sha256: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('atelier content ' || $1, 0))")
        .bind::<Text, _>(sha256)
        .execute(conn)
        .await
        .map(drop)
}

/// Whether any version references the object at `key`.
pub async fn is_referenced(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        skill_versions::table.filter(skill_versions::object_key.eq(key)),
    ))
    .load(conn)
    .await
    .single()
}

/// What a new version records about its content and itself.
#[derive(Debug, Clone)]
pub struct VersionDraft {
    pub object_key: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub name: String,
    pub description: String,
    pub metadata: serde_json::Value,
    /// Publish at once instead of becoming the draft.
    pub publish: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = skill_versions, check_for_backend(diesel::pg::Pg))]
struct NewVersion<'a> {
    id: Uuid,
    skill_id: Uuid,
    version: i32,
    object_key: &'a str,
    sha256: &'a str,
    content_type: &'a str,
    size_bytes: i64,
    name: &'a str,
    description: &'a str,
    metadata: &'a serde_json::Value,
    created_by: &'a str,
}

/// Inserts the next version of `skill` (which the caller has locked, so
/// numbers never gap or repeat), points the skill's draft (or published)
/// version at it, and asks the worker to verify its stored content.
pub async fn insert_next(
    conn: &mut AsyncPgConnection,
    skill: &Skill,
    user: &UserId,
    draft: &VersionDraft,
) -> RegistryResult<(SkillVersion, Skill)> {
    let latest: Option<i32> = skill_versions::table
        .filter(skill_versions::skill_id.eq(skill.id))
        .select(diesel::dsl::max(skill_versions::version))
        .load(conn)
        .await
        .single()?;
    let number = latest.unwrap_or(0) + 1;
    let version = diesel::insert_into(skill_versions::table)
        .values(NewVersion {
            id: Uuid::now_v7(),
            skill_id: skill.id,
            version: number,
            object_key: &draft.object_key,
            sha256: &draft.sha256,
            content_type: &draft.content_type,
            size_bytes: draft.size_bytes,
            name: &draft.name,
            description: &draft.description,
            metadata: &draft.metadata,
            created_by: user.as_str(),
        })
        .returning(SkillVersion::as_returning())
        .load(conn)
        .await
        .single()?;
    let (published, draft_version) = if draft.publish {
        (Some(number), None)
    } else {
        (skill.published_version, Some(number))
    };
    let skill = diesel::update(skills_table::table.find(skill.id))
        .set((
            skills_table::published_version.eq(published),
            skills_table::draft_version.eq(draft_version),
            skills_table::updated_at.eq(skills::next_update_time(skill)),
        ))
        .returning(Skill::as_returning())
        .load(conn)
        .await
        .single()?;
    crate::outbox::enqueue_one(conn, version.id, &ContentVerify {}).await?;
    Ok((version, skill))
}

/// One version of a skill with its verification; NOT_FOUND when absent.
pub async fn find(
    conn: &mut AsyncPgConnection,
    skill_id: Uuid,
    number: i32,
) -> RegistryResult<VersionView> {
    let found: Option<(SkillVersion, Option<Verification>)> = skill_versions::table
        .left_join(skill_version_verifications::table)
        .filter(skill_versions::skill_id.eq(skill_id))
        .filter(skill_versions::version.eq(number))
        .select((
            SkillVersion::as_select(),
            Option::<Verification>::as_select(),
        ))
        .load(conn)
        .await
        .single()
        .optional()?;
    found
        .map(|(version, verification)| VersionView {
            version,
            verification,
        })
        .ok_or_else(|| {
            RegistryError::not_found(
                resources::SKILL_VERSION,
                format!("{number} of skill {skill_id}"),
            )
        })
}

/// A skill's versions, newest first, below version `before`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    skill_id: Uuid,
    limit: i64,
    before: Option<i32>,
) -> RegistryResult<Vec<VersionView>> {
    let mut query = skill_versions::table
        .left_join(skill_version_verifications::table)
        .filter(skill_versions::skill_id.eq(skill_id))
        .select((
            SkillVersion::as_select(),
            Option::<Verification>::as_select(),
        ))
        .order(skill_versions::version.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(skill_versions::version.lt(before));
    }
    let rows: Vec<(SkillVersion, Option<Verification>)> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(version, verification)| VersionView {
            version,
            verification,
        })
        .collect())
}

/// Points a skill's published version at `number` (a rollback when older),
/// clearing the draft when the draft is what gets published. Author only,
/// etag-checked; refuses content that failed verification.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    skill_id: Uuid,
    number: i32,
    user: &UserId,
    etag: &str,
) -> RegistryResult<Skill> {
    let skill = skills::lock(conn, skill_id).await?;
    skill.ensure_author(user)?;
    skill.ensure_etag(etag)?;
    let view = find(conn, skill_id, number).await?;
    if view.failed_verification() {
        return Err(RegistryError::ContentUnverified { version: number });
    }
    let draft = skill.draft_version.filter(|draft| *draft != number);
    Ok(diesel::update(skills_table::table.find(skill_id))
        .set((
            skills_table::published_version.eq(Some(number)),
            skills_table::draft_version.eq(draft),
            skills_table::updated_at.eq(skills::next_update_time(&skill)),
        ))
        .returning(Skill::as_returning())
        .load(conn)
        .await
        .single()?)
}
