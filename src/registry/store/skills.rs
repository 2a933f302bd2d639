//! Skills: the rows, and the repository functions that create, read, change
//! and delete them. Every function takes the caller's connection, so it
//! composes inside a transaction, and returns domain types.

use crate::db::rows::SingleRow as _;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::UserId;
use crate::outbox::NewEvent;
use crate::registry::error::{RegistryError, RegistryResult};
use crate::registry::events::ContentUnreferenced;
use crate::registry::fields::{BoundedText, Category, Slug};
use crate::resources;
use crate::schema::{skill_versions, skills};

/// A stored skill (every column but the search document and the creator's
/// idempotency key).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = skills, check_for_backend(diesel::pg::Pg))]
pub struct Skill {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub author_id: String,
    pub published_version: Option<i32>,
    pub draft_version: Option<i32>,
    pub hours_saved: i32,
    pub total_uses: i64,
    pub rating_count: i32,
    /// Stars x100.
    pub average_rating: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Skill {
    /// The etag of the skill's caller-visible state. `updated_at` moves on
    /// every change a caller makes (not on the worker's aggregate updates,
    /// which would otherwise fail every concurrent update for no reason).
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails unless `user` wrote this skill.
    pub fn ensure_author(&self, user: &UserId) -> RegistryResult<()> {
        if self.author_id == user.as_str() {
            Ok(())
        } else {
            Err(RegistryError::NotAuthor {
                slug: self.slug.clone(),
            })
        }
    }

    /// Fails when the caller sent an etag that no longer matches.
    pub fn ensure_etag(&self, etag: &str) -> RegistryResult<()> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("skill {}", self.slug),
        )?)
    }
}

/// A skill to create.
#[derive(Debug, Insertable)]
#[diesel(table_name = skills, check_for_backend(diesel::pg::Pg))]
pub struct NewSkill {
    id: Uuid,
    slug: String,
    name: String,
    description: String,
    category: Category,
    author_id: String,
    hours_saved: i32,
    create_request_id: Option<String>,
}

impl NewSkill {
    /// A new skill by `author`, with an idempotency key if the caller sent one.
    pub fn new(
        slug: Slug,
        name: BoundedText,
        description: BoundedText,
        category: Category,
        hours_saved: i32,
        author: &UserId,
        request_id: Option<String>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            slug: slug.as_str().to_owned(),
            name: name.into_string(),
            description: description.into_string(),
            category,
            author_id: author.as_str().to_owned(),
            hours_saved,
            create_request_id: request_id,
        }
    }

    /// Stores the skill, or, when the author already created one with the
    /// same idempotency key, returns that one instead.
    pub async fn save(self, conn: &mut AsyncPgConnection) -> RegistryResult<Skill> {
        let inserted = diesel::insert_into(skills::table)
            .values(&self)
            .on_conflict((skills::author_id, skills::create_request_id))
            .filter_target(skills::create_request_id.is_not_null())
            .do_nothing()
            .returning(Skill::as_returning())
            .load(conn)
            .await
            .single()
            .optional()
            .map_err(|e| slug_taken(e, &self.slug))?;
        match inserted {
            Some(skill) => Ok(skill),
            // Only the idempotency key can have conflicted: a retry.
            None => Ok(skills::table
                .filter(skills::author_id.eq(&self.author_id))
                .filter(skills::create_request_id.eq(&self.create_request_id))
                .select(Skill::as_select())
                .load(conn)
                .await
                .single()?),
        }
    }
}

fn slug_taken(error: DieselError, slug: &str) -> RegistryError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("skills_slug_key") =>
        {
            RegistryError::SlugTaken {
                slug: slug.to_owned(),
            }
        }
        _ => error.into(),
    }
}

/// How a caller names a skill.
#[derive(Debug, Clone)]
pub enum SkillRef {
    /// By id.
    Id(Uuid),
    /// By slug.
    Slug(Slug),
}

impl std::fmt::Display for SkillRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Slug(slug) => f.write_str(slug.as_str()),
        }
    }
}

/// Loads a skill; NOT_FOUND when there is none.
pub async fn find(conn: &mut AsyncPgConnection, skill: &SkillRef) -> RegistryResult<Skill> {
    let query = skills::table.select(Skill::as_select());
    let found = match skill {
        SkillRef::Id(id) => query.filter(skills::id.eq(*id)).load(conn).await.single(),
        SkillRef::Slug(slug) => query
            .filter(skills::slug.eq(slug.as_str()))
            .load(conn)
            .await
            .single(),
    };
    found
        .optional()?
        .ok_or_else(|| RegistryError::not_found(resources::SKILL, skill))
}

/// Loads and locks a skill until the caller's transaction ends, so
/// concurrent changes of it take turns; NOT_FOUND when there is none.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> RegistryResult<Skill> {
    skills::table
        .find(id)
        .select(Skill::as_select())
        .for_update()
        .load(conn)
        .await
        .single()
        .optional()?
        .ok_or_else(|| RegistryError::not_found(resources::SKILL, id))
}

/// The changes UpdateSkill may make; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = skills, check_for_backend(diesel::pg::Pg))]
pub struct SkillChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    pub hours_saved: Option<i32>,
}

/// Applies `changes` to a skill that `user` wrote, if its etag still is
/// `etag` (or `etag` is empty).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
    etag: &str,
    changes: SkillChanges,
) -> RegistryResult<Skill> {
    let skill = lock(conn, id).await?;
    skill.ensure_author(user)?;
    skill.ensure_etag(etag)?;
    Ok(diesel::update(skills::table.find(id))
        .set((&changes, skills::updated_at.eq(next_update_time(&skill))))
        .returning(Skill::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// A new `updated_at` that is later than the current one even when the
/// clock has not moved on (two updates in one microsecond must still get
/// two etags).
pub fn next_update_time(skill: &Skill) -> DateTime<Utc> {
    let now = Utc::now();
    let floor = skill.updated_at + chrono::Duration::microseconds(1);
    now.max(floor)
}

/// Deletes a skill that `user` wrote, with its versions, ratings and usage
/// (the foreign keys cascade), and asks the worker to delete the stored
/// content no remaining version references.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: &UserId,
    etag: &str,
) -> RegistryResult<()> {
    let skill = lock(conn, id).await?;
    skill.ensure_author(user)?;
    skill.ensure_etag(etag)?;
    let objects: Vec<(String, String)> = skill_versions::table
        .filter(skill_versions::skill_id.eq(id))
        .select((skill_versions::object_key, skill_versions::sha256))
        .distinct()
        .load(conn)
        .await?;
    diesel::delete(skills::table.find(id)).execute(conn).await?;
    let events: Vec<NewEvent> = objects
        .into_iter()
        .map(|(key, sha256)| {
            NewEvent::of(
                id,
                &ContentUnreferenced {
                    object_key: key,
                    sha256,
                },
            )
        })
        .collect();
    crate::outbox::enqueue(conn, &events).await?;
    Ok(())
}
