//! `atelier.registry.v1.SkillRegistry`: skills, versions, ratings and usage.
//!
//! Each method checks who is calling and what they sent, calls one
//! repository function inside one transaction, and maps the result to the
//! proto message.

pub mod counters;
pub mod events;
pub mod fields;
pub mod front_matter;
pub mod jobs;
pub mod listing;
pub mod new_version;
pub mod ratings;
pub mod scrub;
pub mod skills;
pub mod staging;
pub mod usage;
pub mod verification;
pub mod versions;

use diesel_async::AsyncConnection as _;
use tonic::{Request, Response, Status};

use self::fields::{BoundedText, Category, DESCRIPTION_MAX, NAME_MAX, Slug};
use self::listing::{SkillFilter, SkillOrder};
use self::new_version::VersionRequest;
use self::ratings::{NewRating, Rating};
use self::skills::{NewSkill, Skill, SkillChanges, SkillRef};
use self::usage::{Usage, UsageInput};
use self::versions::VersionView;
use crate::auth::caller;
use crate::config::UsageCounters;
use crate::error::{ApiError, ApiResult, Violations};
use crate::pagination;
use crate::proto::registry as pb;
use crate::proto::registry::skill_registry_server::SkillRegistry;
use crate::proto::timestamp;
use crate::state::AppState;

/// The SkillRegistry service.
#[derive(Debug, Clone)]
pub struct RegistryService {
    /// Database pool and object store shared with the rest of the server.
    pub state: AppState,
}

#[tonic::async_trait]
impl SkillRegistry for RegistryService {
    async fn create_skill(
        &self,
        request: Request<pb::CreateSkillRequest>,
    ) -> Result<Response<pb::CreateSkillResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let slug = violations.check("slug", Slug::parse(&req.slug));
        let name = violations.check("name", BoundedText::parse(&req.name, NAME_MAX));
        let description = violations.check(
            "description",
            BoundedText::parse(&req.description, DESCRIPTION_MAX),
        );
        let category = violations.check("category", Category::from_proto(req.category));
        let hours_saved = violations.check(
            "hours_saved",
            fields::hours_saved(req.hours_saved.unwrap_or(1)),
        );
        let request_id = violations.check("request_id", fields::request_id(&req.request_id));
        violations.finish()?;
        let (
            Some(slug),
            Some(name),
            Some(description),
            Some(category),
            Some(hours_saved),
            Some(request_id),
        ) = (slug, name, description, category, hours_saved, request_id)
        else {
            return Err(ApiError::internal("a checked field is missing").into());
        };

        let new = NewSkill::new(
            slug,
            name,
            description,
            category,
            hours_saved,
            &user,
            request_id,
        );
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let skill = new.save(&mut conn).await?;
        Ok(Response::new(pb::CreateSkillResponse {
            skill: Some(skill_to_proto(skill)),
        }))
    }

    async fn get_skill(
        &self,
        request: Request<pb::GetSkillRequest>,
    ) -> Result<Response<pb::GetSkillResponse>, Status> {
        caller(&request)?;
        let skill_ref = skill_ref(request.into_inner().selector)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let skill = skills::find(&mut conn, &skill_ref).await?;
        Ok(Response::new(pb::GetSkillResponse {
            skill: Some(skill_to_proto(skill)),
        }))
    }

    async fn list_skills(
        &self,
        request: Request<pb::ListSkillsRequest>,
    ) -> Result<Response<pb::ListSkillsResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let mut violations = Violations::new();
        let page_size = violations.check(
            "page_size",
            pagination::page_size(req.page_size).map_err(|e| e.message),
        );
        let filter = SkillFilter {
            category: match req.category {
                0 => None,
                value => violations.check("category", Category::from_proto(value)),
            },
            author_id: match req.author_id.as_str() {
                "" => None,
                raw => violations
                    .check(
                        "author_id",
                        crate::auth::UserId::parse(raw).map_err(str::to_owned),
                    )
                    .map(|user| user.as_str().to_owned()),
            },
            query: violations
                .check("query", fields::search_query(&req.query))
                .flatten(),
        };
        let order = violations.check(
            "order_by",
            skill_order(req.order_by, filter.query.is_some()),
        );
        violations.finish()?;
        let (Some(page_size), Some(order)) = (page_size, order) else {
            return Err(ApiError::internal("a checked field is missing").into());
        };

        let category = filter.category.map(Category::as_db).unwrap_or_default();
        let author = filter.author_id.as_deref().unwrap_or_default();
        let query_text = filter.query.as_deref().unwrap_or_default();
        let query =
            pagination::fingerprint(&["skills", order.name(), category, author, query_text]);
        let after = self.state.page_tokens.decode(&req.page_token, &query)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let mut page = listing::list(&mut conn, &filter, order, after, page_size + 1).await?;
        let next_page_token = self.state.page_tokens.next_page_token(
            &mut page,
            page_size,
            &query,
            listing::RankedSkill::key,
        );
        Ok(Response::new(pb::ListSkillsResponse {
            skills: page
                .into_iter()
                .map(|row| skill_to_proto(row.skill))
                .collect(),
            next_page_token,
        }))
    }

    async fn update_skill(
        &self,
        request: Request<pb::UpdateSkillRequest>,
    ) -> Result<Response<pb::UpdateSkillResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let skill = req.skill.unwrap_or_default();
        let mut violations = Violations::new();
        let id = violations.check("skill.id", crate::ids::id(&skill.id));
        let changes = skill_changes(&skill, req.update_mask.as_ref(), &mut violations);
        violations.finish()?;
        let Some(id) = id else {
            return Err(ApiError::internal("a checked field is missing").into());
        };

        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let updated = conn
            .transaction(async |conn| skills::update(conn, id, &user, &skill.etag, changes).await)
            .await?;
        Ok(Response::new(pb::UpdateSkillResponse {
            skill: Some(skill_to_proto(updated)),
        }))
    }

    async fn delete_skill(
        &self,
        request: Request<pb::DeleteSkillRequest>,
    ) -> Result<Response<pb::DeleteSkillResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = crate::ids::id_field("id", &req.id)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        conn.transaction(async |conn| skills::delete(conn, id, &user, &req.etag).await)
            .await?;
        Ok(Response::new(pb::DeleteSkillResponse {}))
    }

    async fn create_skill_version(
        &self,
        request: Request<pb::CreateSkillVersionRequest>,
    ) -> Result<Response<pb::CreateSkillVersionResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let version_request = VersionRequest::parse(
            "",
            &req.skill_id,
            &req.content_type,
            &req.name,
            &req.description,
            &req.expected_sha256,
            req.publish,
        )?;
        let limit = self.state.limits.inline_max;
        if req.content.len() as u64 > limit {
            return Err(ApiError::new(
                tonic::Code::ResourceExhausted,
                "CONTENT_TOO_LARGE",
                format!(
                    "inline content is limited to {limit} bytes (got {}); use UploadSkillVersion",
                    req.content.len()
                ),
            )
            .into());
        }
        let staged = staging::stage_inline(req.content.into());
        let (version, skill) =
            new_version::create(&self.state, &version_request, &user, staged).await?;
        Ok(Response::new(pb::CreateSkillVersionResponse {
            version: Some(version_to_proto(VersionView {
                version,
                verification: None,
            })),
            skill: Some(skill_to_proto(skill)),
        }))
    }

    async fn upload_skill_version(
        &self,
        request: Request<tonic::Streaming<pb::UploadSkillVersionRequest>>,
    ) -> Result<Response<pb::UploadSkillVersionResponse>, Status> {
        use futures_util::StreamExt as _;
        use pb::upload_skill_version_request::Payload;

        let user = caller(&request)?.user()?.clone();
        let mut stream = request.into_inner();
        let header = match stream.next().await {
            Some(Ok(pb::UploadSkillVersionRequest {
                payload: Some(Payload::Header(header)),
            })) => header,
            Some(Err(status)) => {
                return Err(crate::transport_errors::from_tonic(&status).map_or(status, Into::into));
            }
            _ => {
                return Err(ApiError::invalid_field(
                    "header",
                    "the first message must be the header",
                )
                .into());
            }
        };
        let version_request = VersionRequest::parse(
            "header.",
            &header.skill_id,
            &header.content_type,
            &header.name,
            &header.description,
            &header.expected_sha256,
            header.publish,
        )?;
        new_version::precheck(&self.state, &version_request, &user).await?;
        let chunks = stream.map(|message| match message {
            Ok(pb::UploadSkillVersionRequest {
                payload: Some(Payload::Chunk(bytes)),
            }) => Ok(bytes::Bytes::from(bytes)),
            Ok(_) => Err(ApiError::invalid_field(
                "header",
                "only the first message may be a header; send content as chunks",
            )),
            Err(status) => Err(
                crate::transport_errors::from_tonic(&status).unwrap_or_else(|| {
                    ApiError::new(
                        tonic::Code::Cancelled,
                        "UPLOAD_INTERRUPTED",
                        format!("the upload stream failed: {}", status.message()),
                    )
                }),
            ),
        });
        let staged =
            staging::stage_stream(&self.state.storage, chunks, self.state.limits.upload_max)
                .await?;
        let (version, skill) =
            new_version::create(&self.state, &version_request, &user, staged).await?;
        Ok(Response::new(pb::UploadSkillVersionResponse {
            version: Some(version_to_proto(VersionView {
                version,
                verification: None,
            })),
            skill: Some(skill_to_proto(skill)),
        }))
    }

    async fn get_skill_version(
        &self,
        request: Request<pb::GetSkillVersionRequest>,
    ) -> Result<Response<pb::GetSkillVersionResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let view = versions::find(&mut conn, skill_id, number).await?;
        Ok(Response::new(pb::GetSkillVersionResponse {
            version: Some(version_to_proto(view)),
        }))
    }

    async fn list_skill_versions(
        &self,
        request: Request<pb::ListSkillVersionsRequest>,
    ) -> Result<Response<pb::ListSkillVersionsResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
        let page_size = pagination::page_size(req.page_size)?;
        let query = pagination::fingerprint(&["versions", &req.skill_id]);
        let before: Option<i32> = self.state.page_tokens.decode(&req.page_token, &query)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
        let mut page = versions::list(&mut conn, skill_id, page_size + 1, before).await?;
        let next_page_token = self.state.page_tokens.next_page_token(
            &mut page,
            page_size,
            &query,
            |view: &VersionView| view.version.version,
        );
        Ok(Response::new(pb::ListSkillVersionsResponse {
            versions: page.into_iter().map(version_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn read_skill_version_content(
        &self,
        request: Request<pb::ReadSkillVersionContentRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::ReadSkillVersionContentResponse>>, Status>
    {
        use futures_util::StreamExt as _;

        caller(&request)?;
        let req = request.into_inner();
        let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let view = versions::find(&mut conn, skill_id, number).await?;
        drop(conn);
        let key = object_store::path::Path::from(view.version.object_key.as_str());
        let (state, version_id) = (self.state.clone(), view.version.id);
        let chunks = crate::content::stream_verified(
            &self.state.storage,
            key,
            view.version.sha256.clone(),
            move |damage| async move { versions::report_damage(&state, version_id, damage).await },
        );
        let mut first = Some(version_to_proto(view));
        let messages = tokio_stream::wrappers::ReceiverStream::new(chunks).map(move |chunk| {
            chunk.map(|bytes| pb::ReadSkillVersionContentResponse {
                version: first.take(),
                chunk: bytes.to_vec(),
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }

    async fn publish_skill_version(
        &self,
        request: Request<pb::PublishSkillVersionRequest>,
    ) -> Result<Response<pb::PublishSkillVersionResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let (skill_id, number) = version_ref(&req.skill_id, req.version)?;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let skill = conn
            .transaction(async |conn| {
                versions::publish(conn, skill_id, number, &user, &req.etag).await
            })
            .await?;
        Ok(Response::new(pb::PublishSkillVersionResponse {
            skill: Some(skill_to_proto(skill)),
        }))
    }

    async fn rate_skill(
        &self,
        request: Request<pb::RateSkillRequest>,
    ) -> Result<Response<pb::RateSkillResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let skill_id = violations.check("skill_id", crate::ids::id(&req.skill_id));
        let stars = violations.check("stars", fields::stars(req.stars));
        let comment = violations.check("comment", fields::comment(&req.comment));
        let hours = match req.hours_saved_estimate {
            Some(hours) => violations
                .check("hours_saved_estimate", fields::hours_saved(hours))
                .map(Some),
            None => Some(None),
        };
        violations.finish()?;
        let (Some(skill_id), Some(stars), Some(comment), Some(hours)) =
            (skill_id, stars, comment, hours)
        else {
            return Err(ApiError::internal("a checked field is missing").into());
        };

        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let rating = conn
            .transaction(async |conn| {
                skills::find(conn, &SkillRef::Id(skill_id)).await?;
                NewRating::new(skill_id, &user, stars, comment, hours)
                    .save(conn)
                    .await
            })
            .await?;
        Ok(Response::new(pb::RateSkillResponse {
            rating: Some(rating_to_proto(rating)),
        }))
    }

    async fn list_ratings(
        &self,
        request: Request<pb::ListRatingsRequest>,
    ) -> Result<Response<pb::ListRatingsResponse>, Status> {
        caller(&request)?;
        let req = request.into_inner();
        let skill_id = crate::ids::id_field("skill_id", &req.skill_id)?;
        let page_size = pagination::page_size(req.page_size)?;
        let query = pagination::fingerprint(&["ratings", &req.skill_id]);
        let after = self.state.page_tokens.decode(&req.page_token, &query)?;

        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        skills::find(&mut conn, &SkillRef::Id(skill_id)).await?;
        let mut page = ratings::list(&mut conn, skill_id, page_size + 1, after).await?;
        let next_page_token =
            self.state
                .page_tokens
                .next_page_token(&mut page, page_size, &query, ratings::key_of);
        Ok(Response::new(pb::ListRatingsResponse {
            ratings: page.into_iter().map(rating_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn record_usage(
        &self,
        request: Request<pb::RecordUsageRequest>,
    ) -> Result<Response<pb::RecordUsageResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let mut violations = Violations::new();
        let input = usage_input(request.into_inner(), "", &mut violations);
        violations.finish()?;
        let Some(input) = input else {
            return Err(ApiError::internal("a checked field is missing").into());
        };
        let counters = self.state.usage_counters;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        // The common case in one statement; the rest (an error to explain,
        // a retried request id) the general way.
        if counters == UsageCounters::Outbox
            && let Some(usage) = usage::try_record_one(&mut conn, &user, &input).await?
        {
            return Ok(Response::new(pb::RecordUsageResponse {
                usage_event: Some(usage_to_proto(usage)),
            }));
        }
        let recorded = conn
            .transaction(async |conn| {
                usage::record(conn, counters, &user, std::slice::from_ref(&input)).await
            })
            .await?;
        Ok(Response::new(pb::RecordUsageResponse {
            usage_event: recorded.into_iter().next().map(usage_to_proto),
        }))
    }

    async fn batch_record_usage(
        &self,
        request: Request<pb::BatchRecordUsageRequest>,
    ) -> Result<Response<pb::BatchRecordUsageResponse>, Status> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        if req.usages.is_empty() || req.usages.len() > MAX_BATCH_USAGES {
            return Err(ApiError::invalid_field(
                "usages",
                format!(
                    "must hold 1-{MAX_BATCH_USAGES} usages, not {}",
                    req.usages.len()
                ),
            )
            .into());
        }
        let mut violations = Violations::new();
        let inputs: Vec<Option<UsageInput>> = req
            .usages
            .into_iter()
            .enumerate()
            .map(|(index, usage)| usage_input(usage, &format!("usages[{index}]."), &mut violations))
            .collect();
        violations.finish()?;
        let inputs: Vec<UsageInput> = inputs.into_iter().flatten().collect();

        let counters = self.state.usage_counters;
        let mut conn = self.state.pool.get().await.map_err(ApiError::from)?;
        let recorded = conn
            .transaction(async |conn| usage::record(conn, counters, &user, &inputs).await)
            .await?;
        Ok(Response::new(pb::BatchRecordUsageResponse {
            usage_events: recorded.into_iter().map(usage_to_proto).collect(),
        }))
    }
}

/// The skill id and version number a request names.
fn version_ref(skill_id: &str, version: u32) -> ApiResult<(uuid::Uuid, i32)> {
    let mut violations = Violations::new();
    let skill_id = violations.check("skill_id", crate::ids::id(skill_id));
    let version = violations.check("version", fields::version(version));
    violations.finish()?;
    skill_id
        .zip(version)
        .ok_or_else(|| ApiError::internal("a checked field is missing"))
}

/// The order a ListSkills request asks for.
fn skill_order(value: i32, searching: bool) -> Result<SkillOrder, String> {
    match pb::SkillOrder::try_from(value) {
        Ok(pb::SkillOrder::Unspecified) if searching => Ok(SkillOrder::Relevance),
        Ok(pb::SkillOrder::Unspecified) => Ok(SkillOrder::Newest),
        Ok(pb::SkillOrder::Relevance) if searching => Ok(SkillOrder::Relevance),
        Ok(pb::SkillOrder::Relevance) => Err("RELEVANCE needs a query".to_owned()),
        Ok(pb::SkillOrder::MostUsed) => Ok(SkillOrder::MostUsed),
        Ok(pb::SkillOrder::TopRated) => Ok(SkillOrder::TopRated),
        Ok(pb::SkillOrder::Newest) => Ok(SkillOrder::Newest),
        Err(_) => Err(format!("{value} is not a known order")),
    }
}

/// Most usages one BatchRecordUsage may carry.
pub const MAX_BATCH_USAGES: usize = 500;

/// Parses one RecordUsage request (alone, or entry `prefix` of a batch).
fn usage_input(
    req: pb::RecordUsageRequest,
    prefix: &str,
    violations: &mut Violations,
) -> Option<UsageInput> {
    use pb::record_usage_request::Skill as Which;
    let skill = match req.skill {
        Some(Which::SkillId(raw)) => violations.check(
            &format!("{prefix}skill_id"),
            crate::ids::id(&raw).map(SkillRef::Id),
        ),
        Some(Which::SkillSlug(raw)) => violations.check(
            &format!("{prefix}skill_slug"),
            Slug::parse(&raw).map(SkillRef::Slug),
        ),
        None => {
            violations.add(
                format!("{prefix}skill"),
                "set either skill_id or skill_slug",
            );
            None
        }
    };
    let version = match req.version {
        Some(version) => violations
            .check(&format!("{prefix}version"), fields::version(version))
            .map(Some),
        None => Some(None),
    };
    let tool_name = violations.check(
        &format!("{prefix}tool_name"),
        fields::tool_name(&req.tool_name),
    );
    let request_id = violations.check(
        &format!("{prefix}request_id"),
        fields::request_id(&req.request_id),
    );
    Some(UsageInput {
        skill: skill?,
        version: version?,
        tool_name: tool_name?,
        request_id: request_id?,
        field_prefix: prefix.to_owned(),
    })
}

/// The skill a `GetSkill` selector names.
fn skill_ref(selector: Option<pb::get_skill_request::Selector>) -> ApiResult<SkillRef> {
    use pb::get_skill_request::Selector;
    match selector {
        Some(Selector::Id(raw)) => crate::ids::id_field("id", &raw).map(SkillRef::Id),
        Some(Selector::Slug(raw)) => Slug::parse(&raw)
            .map(SkillRef::Slug)
            .map_err(|problem| ApiError::invalid_field("slug", problem)),
        None => Err(ApiError::invalid_field("selector", "set either id or slug")),
    }
}

/// The mask paths UpdateSkill accepts.
const UPDATABLE_PATHS: &[&str] = &["name", "description", "category", "hours_saved"];
/// Fields of Skill that exist but cannot be changed through UpdateSkill.
const IMMUTABLE_PATHS: &[&str] = &[
    "id",
    "slug",
    "author_id",
    "published_version",
    "draft_version",
    "total_uses",
    "rating_count",
    "average_rating_x100",
    "etag",
    "create_time",
    "update_time",
];

/// The changes an UpdateSkill request asks for, checking the mask and
/// every masked value.
fn skill_changes(
    skill: &pb::Skill,
    mask: Option<&prost_types::FieldMask>,
    violations: &mut Violations,
) -> SkillChanges {
    let mut changes = SkillChanges::default();
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            format!("name at least one of {}", UPDATABLE_PATHS.join(", ")),
        );
    }
    for path in paths {
        match path.as_str() {
            "name" => {
                changes.name = violations
                    .check("skill.name", BoundedText::parse(&skill.name, NAME_MAX))
                    .map(BoundedText::into_string);
            }
            "description" => {
                changes.description = violations
                    .check(
                        "skill.description",
                        BoundedText::parse(&skill.description, DESCRIPTION_MAX),
                    )
                    .map(BoundedText::into_string);
            }
            "category" => {
                changes.category = violations
                    .check("skill.category", Category::from_proto(skill.category))
                    .map(Category::as_db);
            }
            "hours_saved" => {
                changes.hours_saved =
                    violations.check("skill.hours_saved", fields::hours_saved(skill.hours_saved));
            }
            other if IMMUTABLE_PATHS.contains(&other) => {
                violations.add(
                    "update_mask",
                    format!("{other} cannot be changed with UpdateSkill"),
                );
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} is not a field of Skill; use {}",
                    crate::text::quote(other),
                    UPDATABLE_PATHS.join(", ")
                ),
            ),
        }
    }
    changes
}

/// The proto form of a skill.
pub fn skill_to_proto(skill: Skill) -> pb::Skill {
    let etag = skill.etag();
    let category = Category::from_db(&skill.category)
        .map_or(pb::SkillCategory::Unspecified, Category::to_proto);
    pb::Skill {
        id: skill.id.to_string(),
        slug: skill.slug,
        name: skill.name,
        description: skill.description,
        category: category.into(),
        author_id: skill.author_id,
        published_version: skill.published_version.and_then(|v| u32::try_from(v).ok()),
        draft_version: skill.draft_version.and_then(|v| u32::try_from(v).ok()),
        hours_saved: skill.hours_saved,
        total_uses: skill.total_uses,
        rating_count: skill.rating_count,
        average_rating_x100: skill.average_rating,
        etag,
        create_time: Some(timestamp(skill.created_at)),
        update_time: Some(timestamp(skill.updated_at)),
    }
}

/// The proto form of a rating.
fn rating_to_proto(rating: Rating) -> pb::Rating {
    pb::Rating {
        skill_id: rating.skill_id.to_string(),
        user_id: rating.user_id,
        stars: i32::from(rating.stars),
        comment: rating.comment.unwrap_or_default(),
        hours_saved_estimate: rating.hours_saved_estimate,
        create_time: Some(timestamp(rating.created_at)),
        update_time: Some(timestamp(rating.updated_at)),
    }
}

/// The proto form of a recorded use.
fn usage_to_proto(usage: Usage) -> pb::UsageEvent {
    pb::UsageEvent {
        id: usage.id.to_string(),
        skill_id: usage.skill_id.to_string(),
        version: usage.version.and_then(|v| u32::try_from(v).ok()),
        user_id: usage.user_id,
        tool_name: usage.tool_name,
        request_id: usage.request_id.unwrap_or_default(),
        create_time: Some(timestamp(usage.created_at)),
    }
}

/// The proto form of a version.
fn version_to_proto(view: VersionView) -> pb::SkillVersion {
    let VersionView {
        version,
        verification,
    } = view;
    let (state, found_sha256, verify_time) = match verification {
        None => (pb::VerificationState::Pending, String::new(), None),
        Some(v) => {
            let state = match v.state.as_str() {
                "verified" => pb::VerificationState::Verified,
                "mismatch" => pb::VerificationState::Mismatch,
                "missing" => pb::VerificationState::Missing,
                _ => pb::VerificationState::Unspecified,
            };
            (
                state,
                v.found_sha256.unwrap_or_default(),
                Some(timestamp(v.verified_at)),
            )
        }
    };
    let metadata = match version.metadata {
        serde_json::Value::Object(map) => Some(crate::proto::json_object_to_struct(map)),
        _ => None,
    };
    pb::SkillVersion {
        skill_id: version.skill_id.to_string(),
        version: u32::try_from(version.version).unwrap_or_default(),
        sha256: version.sha256,
        content_type: version.content_type,
        size_bytes: version.size_bytes,
        name: version.name,
        description: version.description,
        metadata,
        created_by: version.created_by,
        create_time: Some(timestamp(version.created_at)),
        verification_state: state.into(),
        found_sha256,
        verify_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever paths a mask names, the answer is a change or an
        /// INVALID_ARGUMENT of bounded size naming `update_mask` — never a
        /// panic, never an echo of megabytes.
        #[test]
        fn any_field_mask_is_a_change_or_a_short_refusal(
            paths in proptest::collection::vec(
                prop_oneof![
                    Just("name".to_owned()),
                    Just("description".to_owned()),
                    Just("slug".to_owned()),
                    Just("hours_saved".to_owned()),
                    "\\PC{0,3000}",
                ],
                0..200,
            ),
        ) {
            let skill = pb::Skill {
                name: "A name".to_owned(),
                description: "A description".to_owned(),
                hours_saved: 2,
                ..pb::Skill::default()
            };
            let mask = prost_types::FieldMask { paths: paths.clone() };
            let mut violations = Violations::new();
            skill_changes(&skill, Some(&mask), &mut violations);
            match violations.finish() {
                Ok(()) => prop_assert!(paths.iter().all(|p| UPDATABLE_PATHS.contains(&p.as_str()))),
                Err(error) => {
                    prop_assert_eq!(error.code, tonic::Code::InvalidArgument);
                    prop_assert!(error.violations.len() <= crate::error::MAX_VIOLATIONS + 1);
                    let size: usize = error.violations.iter().map(|v| v.description.len()).sum();
                    prop_assert!(size < 16 * 1024, "{size} bytes of violations");
                }
            }
        }
    }
}
