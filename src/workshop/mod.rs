//! `atelier.workshop.v1.Workshop`: workshops, members, steps, sessions and
//! build packs.
//!
//! Each method checks who is calling and what they sent, authorizes the
//! caller against the workshop (`access`), calls repository functions in
//! one transaction (changes lock the workshop row first, so they serialize
//! per workshop), and maps the result to the proto message.

pub mod access;
pub mod build_packs;
pub mod events;
pub mod fields;
pub mod jobs;
pub mod members;
pub mod render;
pub mod sessions;
pub mod steps;
pub mod workshops;

use diesel_async::AsyncConnection as _;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use self::access::{Power, authorize, power_of};
use self::fields::{IDEA_MAX, REF_MAX, TITLE_MAX};
use self::workshops::{Progress, Workshop};
use crate::auth::{UserId, caller};
use crate::error::{ApiError, ApiResult, Violations};
use crate::ids::id_field;
use crate::pagination;
use crate::proto::workshop as pb;
use crate::proto::workshop::workshop_server::Workshop as WorkshopRpc;
use crate::proto::{json_object_to_struct, timestamp};
use crate::state::AppState;

/// The Workshop service.
#[derive(Debug, Clone)]
pub struct WorkshopService {
    /// Database pool and object store shared with the rest of the server.
    pub state: AppState,
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl WorkshopRpc for WorkshopService {
    async fn create_workshop(
        &self,
        request: Request<pb::CreateWorkshopRequest>,
    ) -> RpcResult<pb::CreateWorkshopResponse> {
        let caller = caller(&request)?.clone();
        let user = caller.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let title = violations.check("title", fields::required_text(&req.title, TITLE_MAX));
        let idea = violations.check(
            "original_idea",
            fields::required_text(&req.original_idea, IDEA_MAX),
        );
        let org_id = violations.check("org_id", fields::optional_text(&req.org_id, REF_MAX));
        let template_id = violations.check(
            "template_id",
            fields::optional_text(&req.template_id, REF_MAX),
        );
        violations.finish()?;
        let (Some(title), Some(original_idea), Some(org_id), Some(template_id)) =
            (title, idea, org_id, template_id)
        else {
            return Err(ApiError::internal("a checked field is missing").into());
        };
        let (plan, cap) = self.state.workshop.cap_for(caller.plan.as_deref());
        let plan = plan.to_owned();
        let new = workshops::NewWorkshop {
            title,
            original_idea,
            org_id,
            template_id,
        };
        let mut conn = self.conn().await?;
        let (workshop, progress) = conn
            .transaction(async |conn| {
                let workshop = workshops::create(conn, &user, &plan, cap, new).await?;
                let progress = workshops::progress_of(conn, workshop.id).await?;
                ApiResult::Ok((workshop, progress))
            })
            .await?;
        Ok(Response::new(pb::CreateWorkshopResponse {
            workshop: Some(workshop_to_proto(workshop, &progress)),
        }))
    }

    async fn get_workshop(
        &self,
        request: Request<pb::GetWorkshopRequest>,
    ) -> RpcResult<pb::GetWorkshopResponse> {
        let user = caller(&request)?.user()?.clone();
        let id = id_field("id", &request.get_ref().id)?;
        let mut conn = self.conn().await?;
        let access = authorize(&mut conn, id, &user, Power::Read, false).await?;
        let progress = workshops::progress_of(&mut conn, id).await?;
        Ok(Response::new(pb::GetWorkshopResponse {
            workshop: Some(workshop_to_proto(access.workshop, &progress)),
        }))
    }

    async fn list_workshops(
        &self,
        request: Request<pb::ListWorkshopsRequest>,
    ) -> RpcResult<pb::ListWorkshopsResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let page_size = violations.check(
            "page_size",
            pagination::page_size(req.page_size).map_err(|e| e.message),
        );
        let status = violations.check("status", fields::Status::from_proto(req.status));
        let role = if req.role.is_empty() {
            Some(None)
        } else {
            violations.check("role", fields::role(&req.role)).map(Some)
        };
        violations.finish()?;
        let (Some(page_size), Some(status), Some(role)) = (page_size, status, role) else {
            return Err(ApiError::internal("a checked field is missing").into());
        };
        let query = pagination::fingerprint(&[
            "workshops",
            user.as_str(),
            status.map_or("", fields::Status::as_db),
            role.as_deref().unwrap_or(""),
        ]);
        let after = self.state.page_tokens.decode(&req.page_token, &query)?;
        let mut conn = self.conn().await?;
        let mut page = workshops::list(
            &mut conn,
            &user,
            status,
            role.as_deref(),
            page_size + 1,
            after,
        )
        .await?;
        let next_page_token =
            self.state
                .page_tokens
                .next_page_token(&mut page, page_size, &query, workshops::key_of);
        let ids: Vec<Uuid> = page.iter().map(|w| w.id).collect();
        let progress = workshops::progress(&mut conn, &ids).await?;
        Ok(Response::new(pb::ListWorkshopsResponse {
            workshops: page
                .into_iter()
                .map(|w| {
                    let p = progress.get(&w.id).cloned().unwrap_or_default();
                    workshop_to_proto(w, &p)
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn update_workshop(
        &self,
        request: Request<pb::UpdateWorkshopRequest>,
    ) -> RpcResult<pb::UpdateWorkshopResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let Some(input) = req.workshop else {
            return Err(ApiError::invalid_field("workshop", "is required").into());
        };
        let id = id_field("workshop.id", &input.id)?;
        let (changes, needed) = workshop_changes(&input, req.update_mask)?;
        let mut conn = self.conn().await?;
        let (workshop, progress) = conn
            .transaction(async |conn| {
                let access = authorize(conn, id, &user, needed, true).await?;
                access.workshop.ensure_etag(&input.etag)?;
                let workshop = workshops::update(conn, &access.workshop, changes).await?;
                let progress = workshops::progress_of(conn, id).await?;
                ApiResult::Ok((workshop, progress))
            })
            .await?;
        Ok(Response::new(pb::UpdateWorkshopResponse {
            workshop: Some(workshop_to_proto(workshop, &progress)),
        }))
    }

    async fn delete_workshop(
        &self,
        request: Request<pb::DeleteWorkshopRequest>,
    ) -> RpcResult<pb::DeleteWorkshopResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = id_field("id", &req.id)?;
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let access = authorize(conn, id, &user, Power::Own, true).await?;
            access.workshop.ensure_etag(&req.etag)?;
            workshops::delete(conn, id).await
        })
        .await?;
        Ok(Response::new(pb::DeleteWorkshopResponse {}))
    }

    async fn share_workshop(
        &self,
        request: Request<pb::ShareWorkshopRequest>,
    ) -> RpcResult<pb::ShareWorkshopResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = id_field("id", &req.id)?;
        let mut conn = self.conn().await?;
        let (workshop, token, progress) = conn
            .transaction(async |conn| {
                let access = authorize(conn, id, &user, Power::Own, true).await?;
                let (workshop, token) = if req.shared {
                    workshops::share(conn, id).await?
                } else {
                    (
                        workshops::unshare(conn, &access.workshop).await?,
                        String::new(),
                    )
                };
                let progress = workshops::progress_of(conn, id).await?;
                ApiResult::Ok((workshop, token, progress))
            })
            .await?;
        Ok(Response::new(pb::ShareWorkshopResponse {
            workshop: Some(workshop_to_proto(workshop, &progress)),
            share_token: token,
        }))
    }

    async fn get_shared_workshop(
        &self,
        request: Request<pb::GetSharedWorkshopRequest>,
    ) -> RpcResult<pb::GetSharedWorkshopResponse> {
        caller(&request)?;
        let token = request.into_inner().share_token;
        if token.is_empty() {
            return Err(ApiError::invalid_field("share_token", "is required").into());
        }
        let mut conn = self.conn().await?;
        let workshop = workshops::find_shared(&mut conn, &token).await?;
        let progress = workshops::progress_of(&mut conn, workshop.id).await?;
        let steps = steps::list(&mut conn, workshop.id).await?;
        Ok(Response::new(pb::GetSharedWorkshopResponse {
            workshop: Some(workshop_to_proto(workshop, &progress)),
            steps: steps.into_iter().map(step_to_proto).collect(),
        }))
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> RpcResult<pb::AddMemberResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let (id, member_id, role) = member_input(&req.workshop_id, &req.user_id, &req.role)?;
        let mut conn = self.conn().await?;
        let member = conn
            .transaction(async |conn| {
                authorize(conn, id, &user, Power::Own, true).await?;
                members::add(conn, id, member_id.as_str(), &role).await
            })
            .await?;
        Ok(Response::new(pb::AddMemberResponse {
            member: Some(member_to_proto(member)),
        }))
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> RpcResult<pb::UpdateMemberResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let (id, member_id, role) = member_input(&req.workshop_id, &req.user_id, &req.role)?;
        let mut conn = self.conn().await?;
        let member = conn
            .transaction(async |conn| {
                authorize(conn, id, &user, Power::Own, true).await?;
                members::change_role(conn, id, member_id.as_str(), &role).await
            })
            .await?;
        Ok(Response::new(pb::UpdateMemberResponse {
            member: Some(member_to_proto(member)),
        }))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> RpcResult<pb::RemoveMemberResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let id = violations.check("workshop_id", crate::ids::id(&req.workshop_id));
        let member_id = violations.check(
            "user_id",
            UserId::parse(&req.user_id).map_err(str::to_owned),
        );
        violations.finish()?;
        let (Some(id), Some(member_id)) = (id, member_id) else {
            return Err(ApiError::internal("a checked field is missing").into());
        };
        // Anyone may leave; only owners remove others.
        let needed = if member_id == user {
            Power::Read
        } else {
            Power::Own
        };
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            authorize(conn, id, &user, needed, true).await?;
            members::remove(conn, id, member_id.as_str()).await
        })
        .await?;
        Ok(Response::new(pb::RemoveMemberResponse {}))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> RpcResult<pb::ListMembersResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let paging = ChildPage::parse(
            &self.state.page_tokens,
            "members",
            &req.workshop_id,
            req.page_size,
            &req.page_token,
        )?;
        let mut conn = self.conn().await?;
        authorize(&mut conn, paging.workshop, &user, Power::Read, false).await?;
        let mut page =
            members::list(&mut conn, paging.workshop, paging.size + 1, paging.after).await?;
        let next_page_token = self.state.page_tokens.next_page_token(
            &mut page,
            paging.size,
            &paging.query,
            members::key_of,
        );
        Ok(Response::new(pb::ListMembersResponse {
            members: page.into_iter().map(member_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn list_step_definitions(
        &self,
        request: Request<pb::ListStepDefinitionsRequest>,
    ) -> RpcResult<pb::ListStepDefinitionsResponse> {
        caller(&request)?;
        let mut conn = self.conn().await?;
        let definitions = steps::definitions(&mut conn).await?;
        Ok(Response::new(pb::ListStepDefinitionsResponse {
            step_definitions: definitions
                .into_iter()
                .map(|d| pb::StepDefinition {
                    id: d.id,
                    position: d.position,
                    name: d.name,
                    description: d.description,
                    prompt_template: d.prompt_template,
                })
                .collect(),
        }))
    }

    async fn get_workshop_step(
        &self,
        request: Request<pb::GetWorkshopStepRequest>,
    ) -> RpcResult<pb::GetWorkshopStepResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = id_field("workshop_id", &req.workshop_id)?;
        let step_id = parse_step_id(&req.step_id)?;
        let mut conn = self.conn().await?;
        authorize(&mut conn, id, &user, Power::Read, false).await?;
        let step = steps::find(&mut conn, id, &step_id).await?;
        Ok(Response::new(pb::GetWorkshopStepResponse {
            step: Some(step_to_proto(step)),
        }))
    }

    async fn list_workshop_steps(
        &self,
        request: Request<pb::ListWorkshopStepsRequest>,
    ) -> RpcResult<pb::ListWorkshopStepsResponse> {
        let user = caller(&request)?.user()?.clone();
        let id = id_field("workshop_id", &request.get_ref().workshop_id)?;
        let mut conn = self.conn().await?;
        authorize(&mut conn, id, &user, Power::Read, false).await?;
        let steps = steps::list(&mut conn, id).await?;
        Ok(Response::new(pb::ListWorkshopStepsResponse {
            steps: steps.into_iter().map(step_to_proto).collect(),
        }))
    }

    async fn update_workshop_step(
        &self,
        request: Request<pb::UpdateWorkshopStepRequest>,
    ) -> RpcResult<pb::UpdateWorkshopStepResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = id_field("workshop_id", &req.workshop_id)?;
        let step_id = parse_step_id(&req.step_id)?;
        let change = self.step_change(req)?;
        let gap = self.state.workshop.session_gap;
        let mut conn = self.conn().await?;
        let (step, workshop, progress, session) = conn
            .transaction(async |conn| {
                authorize(conn, id, &user, Power::Edit, true).await?;
                let step = steps::update(conn, id, &step_id, change).await?;
                let session = sessions::record_activity(conn, id, user.as_str(), gap).await?;
                let workshop = workshops::touch(conn, id).await?;
                let progress = workshops::progress_of(conn, id).await?;
                ApiResult::Ok((step, workshop, progress, session))
            })
            .await?;
        Ok(Response::new(pb::UpdateWorkshopStepResponse {
            step: Some(step_to_proto(step)),
            workshop: Some(workshop_to_proto(workshop, &progress)),
            session: Some(session_to_proto(session)),
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> RpcResult<pb::ListSessionsResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let paging = ChildPage::parse(
            &self.state.page_tokens,
            "sessions",
            &req.workshop_id,
            req.page_size,
            &req.page_token,
        )?;
        let mut conn = self.conn().await?;
        authorize(&mut conn, paging.workshop, &user, Power::Read, false).await?;
        let mut page =
            sessions::list(&mut conn, paging.workshop, paging.size + 1, paging.after).await?;
        let next_page_token = self.state.page_tokens.next_page_token(
            &mut page,
            paging.size,
            &paging.query,
            sessions::key_of,
        );
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: page.into_iter().map(session_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn end_session(
        &self,
        request: Request<pb::EndSessionRequest>,
    ) -> RpcResult<pb::EndSessionResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let id = id_field("workshop_id", &req.workshop_id)?;
        let session_id = id_field("session_id", &req.session_id)?;
        let mut conn = self.conn().await?;
        let session = conn
            .transaction(async |conn| {
                let access = authorize(conn, id, &user, Power::Read, true).await?;
                let session = sessions::find(conn, id, session_id).await?;
                if session.user_id != user.as_str() && power_of(&access.role) < Power::Own {
                    return Err(ApiError::permission_denied(
                        "NOT_YOUR_SESSION",
                        "only the session's user or an owner may end it",
                    ));
                }
                sessions::end(conn, &session).await
            })
            .await?;
        Ok(Response::new(pb::EndSessionResponse {
            session: Some(session_to_proto(session)),
        }))
    }

    async fn create_build_pack(
        &self,
        request: Request<pb::CreateBuildPackRequest>,
    ) -> RpcResult<pb::CreateBuildPackResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let mut violations = Violations::new();
        let id = violations.check("workshop_id", crate::ids::id(&req.workshop_id));
        let format = violations.check("format", fields::format_from_proto(req.format));
        violations.finish()?;
        let (Some(id), Some(format)) = (id, format) else {
            return Err(ApiError::internal("a checked field is missing").into());
        };
        let mut conn = self.conn().await?;
        let pack = conn
            .transaction(async |conn| {
                authorize(conn, id, &user, Power::Edit, false).await?;
                build_packs::create(conn, id, format, user.as_str()).await
            })
            .await?;
        Ok(Response::new(pb::CreateBuildPackResponse {
            build_pack: Some(pack_to_proto(pack)),
        }))
    }

    async fn get_build_pack(
        &self,
        request: Request<pb::GetBuildPackRequest>,
    ) -> RpcResult<pb::GetBuildPackResponse> {
        let user = caller(&request)?.user()?.clone();
        let id = id_field("id", &request.get_ref().id)?;
        let pack = self.readable_pack(id, &user).await?;
        Ok(Response::new(pb::GetBuildPackResponse {
            build_pack: Some(pack_to_proto(pack)),
        }))
    }

    async fn list_build_packs(
        &self,
        request: Request<pb::ListBuildPacksRequest>,
    ) -> RpcResult<pb::ListBuildPacksResponse> {
        let user = caller(&request)?.user()?.clone();
        let req = request.into_inner();
        let paging = ChildPage::parse(
            &self.state.page_tokens,
            "build_packs",
            &req.workshop_id,
            req.page_size,
            &req.page_token,
        )?;
        let mut conn = self.conn().await?;
        authorize(&mut conn, paging.workshop, &user, Power::Read, false).await?;
        let mut page =
            build_packs::list(&mut conn, paging.workshop, paging.size + 1, paging.after).await?;
        let next_page_token = self.state.page_tokens.next_page_token(
            &mut page,
            paging.size,
            &paging.query,
            build_packs::key_of,
        );
        Ok(Response::new(pb::ListBuildPacksResponse {
            build_packs: page.into_iter().map(pack_to_proto).collect(),
            next_page_token,
        }))
    }

    async fn read_build_pack_content(
        &self,
        request: Request<pb::ReadBuildPackContentRequest>,
    ) -> RpcResult<tonic::codegen::BoxStream<pb::ReadBuildPackContentResponse>> {
        use futures_util::StreamExt as _;

        let user = caller(&request)?.user()?.clone();
        let id = id_field("id", &request.get_ref().id)?;
        let pack = self.readable_pack(id, &user).await?;
        let (Some(key), Some(sha256)) = (pack.object_key.clone(), pack.sha256.clone()) else {
            let (reason, message) = match pack.status.as_str() {
                "failed" => (
                    "BUILD_PACK_FAILED",
                    format!(
                        "build pack {id} failed to render: {}",
                        pack.failure_reason
                            .as_deref()
                            .unwrap_or("no reason recorded")
                    ),
                ),
                _ => (
                    "BUILD_PACK_PENDING",
                    format!("build pack {id} is still rendering; poll GetBuildPack"),
                ),
            };
            return Err(ApiError::failed_precondition(reason, message).into());
        };
        let chunks = crate::content::stream_verified(
            &self.state.storage,
            object_store::path::Path::from(key.as_str()),
            sha256,
            // A damaged pack is only logged: it is a rendering of current
            // outputs, and a new CreateBuildPack makes a fresh one.
            move |damage| async move {
                tracing::error!(build_pack.id = %id, ?damage, "a stored build pack is damaged");
            },
        );
        let mut first = Some(pack_to_proto(pack));
        let messages = tokio_stream::wrappers::ReceiverStream::new(chunks).map(move |chunk| {
            chunk.map(|bytes| pb::ReadBuildPackContentResponse {
                build_pack: first.take(),
                chunk: bytes.to_vec(),
            })
        });
        Ok(Response::new(Box::pin(messages)))
    }
}

impl WorkshopService {
    async fn conn(&self) -> ApiResult<crate::db::PooledConnection> {
        Ok(self.state.pool.get().await?)
    }

    /// Build pack `id`, if `user` may read its workshop (NOT_FOUND for the
    /// pack otherwise, saying nothing about the workshop).
    async fn readable_pack(&self, id: Uuid, user: &UserId) -> ApiResult<build_packs::BuildPack> {
        let mut conn = self.conn().await?;
        let pack = build_packs::find(&mut conn, id).await?;
        match authorize(&mut conn, pack.workshop_id, user, Power::Read, false).await {
            Ok(_) => Ok(pack),
            Err(error) if error.code == tonic::Code::NotFound => {
                Err(ApiError::not_found("build pack", id))
            }
            Err(error) => Err(error),
        }
    }

    /// The checked change of an UpdateWorkshopStep request.
    fn step_change(&self, req: pb::UpdateWorkshopStepRequest) -> ApiResult<steps::StepChange> {
        let mut violations = Violations::new();
        let status = violations.check("status", fields::step_status_from_proto(req.status));
        let output = req.output.and_then(|output| {
            violations.check(
                "output",
                crate::proto::checked_struct_to_json(output).map(serde_json::Value::Object),
            )
        });
        if let Some(output) = &output {
            let size = serde_json::to_vec(output).map_or(usize::MAX, |b| b.len());
            let max = self.state.workshop.step_output_max_bytes;
            if size > max {
                violations.add(
                    "output",
                    format!("is {size} bytes of JSON; at most {max} allowed"),
                );
            }
        }
        if req.skip && !req.confirm_skip {
            violations.add(
                "confirm_skip",
                "must be true to skip a step (skipping completes it without output)",
            );
        }
        if req.skip && matches!(status, Some(Some(s)) if s != "complete") {
            violations.add("status", "must be unset or COMPLETE when skipping");
        }
        if !req.skip && matches!(status, Some(None)) && output.is_none() {
            violations.add("status", "nothing to change: set status, output or skip");
        }
        violations.finish()?;
        Ok(steps::StepChange {
            status: status.flatten(),
            skip: req.skip,
            output,
        })
    }
}

/// The checked paging of a list under one workshop (members, sessions,
/// build packs): which workshop, how many, and where the page starts.
struct ChildPage<K> {
    workshop: Uuid,
    size: i64,
    query: String,
    after: Option<K>,
}

impl<K: serde::de::DeserializeOwned> ChildPage<K> {
    fn parse(
        tokens: &pagination::PageTokens,
        kind: &str,
        workshop_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> ApiResult<Self> {
        let workshop = id_field("workshop_id", workshop_id)?;
        let size = pagination::page_size(page_size)?;
        let query = pagination::fingerprint(&[kind, workshop_id]);
        let after = tokens.decode(page_token, &query)?;
        Ok(Self {
            workshop,
            size,
            query,
            after,
        })
    }
}

fn parse_step_id(raw: &str) -> ApiResult<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 50
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "step_id",
            "must be a step definition id such as `ideate` (see ListStepDefinitions)",
        ))
    }
}

fn member_input(workshop_id: &str, user_id: &str, role: &str) -> ApiResult<(Uuid, UserId, String)> {
    let mut violations = Violations::new();
    let id = violations.check("workshop_id", crate::ids::id(workshop_id));
    let member = violations.check("user_id", UserId::parse(user_id).map_err(str::to_owned));
    let role = violations.check("role", fields::role(role));
    violations.finish()?;
    match (id, member, role) {
        (Some(id), Some(member), Some(role)) => Ok((id, member, role)),
        _ => Err(ApiError::internal("a checked field is missing")),
    }
}

/// The changes an UpdateWorkshop request asks for, and the power they need
/// (status and visibility are the owners').
fn workshop_changes(
    input: &pb::WorkshopInfo,
    mask: Option<prost_types::FieldMask>,
) -> ApiResult<(workshops::Changes, Power)> {
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(ApiError::invalid_field(
            "update_mask",
            "must name the fields to change: title, original_idea, status, visibility",
        ));
    }
    let mut changes = workshops::Changes::default();
    let mut needed = Power::Edit;
    let mut violations = Violations::new();
    for path in &paths {
        match path.as_str() {
            "title" => {
                changes.title = violations.check(
                    "workshop.title",
                    fields::required_text(&input.title, TITLE_MAX),
                );
            }
            "original_idea" => {
                changes.original_idea = violations.check(
                    "workshop.original_idea",
                    fields::required_text(&input.original_idea, IDEA_MAX),
                );
            }
            "status" => {
                needed = Power::Own;
                match fields::Status::from_proto(input.status) {
                    Ok(Some(status)) => changes.status = Some(status),
                    Ok(None) => violations.add("workshop.status", "is required when masked"),
                    Err(why) => violations.add("workshop.status", why),
                }
            }
            "visibility" => {
                needed = Power::Own;
                match pb::Visibility::try_from(input.visibility) {
                    Ok(pb::Visibility::Private) => changes.make_private = true,
                    Ok(pb::Visibility::Shared) => violations.add(
                        "workshop.visibility",
                        "can only be set to PRIVATE here; share with ShareWorkshop, which issues the token",
                    ),
                    _ => violations.add("workshop.visibility", "must be PRIVATE"),
                }
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} cannot be updated; paths: title, original_idea, status, visibility",
                    crate::text::quote(other)
                ),
            ),
        }
    }
    violations.finish()?;
    Ok((changes, needed))
}

fn workshop_to_proto(w: Workshop, progress: &Progress) -> pb::WorkshopInfo {
    let etag = w.etag();
    pb::WorkshopInfo {
        id: w.id.to_string(),
        owner_id: w.owner_id,
        title: w.title,
        original_idea: w.original_idea,
        status: fields::Status::from_db(&w.status)
            .map_or(pb::WorkshopStatus::Unspecified, fields::Status::to_proto)
            .into(),
        org_id: w.org_id.unwrap_or_default(),
        template_id: w.template_id.unwrap_or_default(),
        visibility: if w.visibility == "shared" {
            pb::Visibility::Shared
        } else {
            pb::Visibility::Private
        }
        .into(),
        current_step_id: progress.current_step_id.clone().unwrap_or_default(),
        completed_step_count: progress.completed,
        total_step_count: progress.total,
        etag,
        create_time: Some(timestamp(w.created_at)),
        update_time: Some(timestamp(w.updated_at)),
    }
}

fn step_to_proto(step: steps::Step) -> pb::WorkshopStep {
    pb::WorkshopStep {
        workshop_id: step.workshop_id.to_string(),
        step_id: step.step_id,
        position: step.position,
        name: step.name,
        status: fields::step_status_to_proto(&step.status).into(),
        skipped: step.skipped,
        output: match step.output {
            Some(serde_json::Value::Object(map)) => Some(json_object_to_struct(map)),
            _ => None,
        },
        start_time: step.started_at.map(timestamp),
        complete_time: step.completed_at.map(timestamp),
        update_time: Some(timestamp(step.updated_at)),
    }
}

fn member_to_proto(m: members::Member) -> pb::Member {
    pb::Member {
        workshop_id: m.workshop_id.to_string(),
        user_id: m.user_id,
        role: m.role,
        create_time: Some(timestamp(m.created_at)),
        update_time: Some(timestamp(m.updated_at)),
    }
}

fn session_to_proto(s: sessions::Session) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        workshop_id: s.workshop_id.to_string(),
        user_id: s.user_id,
        start_time: Some(timestamp(s.started_at)),
        last_activity_time: Some(timestamp(s.last_activity_at)),
        end_time: s.ended_at.map(timestamp),
    }
}

fn pack_to_proto(p: build_packs::BuildPack) -> pb::BuildPack {
    pb::BuildPack {
        id: p.id.to_string(),
        workshop_id: p.workshop_id.to_string(),
        format: match p.format.as_str() {
            "markdown" => pb::BuildPackFormat::Markdown,
            "json" => pb::BuildPackFormat::Json,
            "pdf" => pb::BuildPackFormat::Pdf,
            _ => pb::BuildPackFormat::Unspecified,
        }
        .into(),
        status: match p.status.as_str() {
            "pending" => pb::BuildPackStatus::Pending,
            "ready" => pb::BuildPackStatus::Ready,
            "failed" => pb::BuildPackStatus::Failed,
            _ => pb::BuildPackStatus::Unspecified,
        }
        .into(),
        sha256: p.sha256.unwrap_or_default(),
        size_bytes: p.size_bytes.unwrap_or_default(),
        failure_reason: p.failure_reason.unwrap_or_default(),
        created_by: p.created_by,
        create_time: Some(timestamp(p.created_at)),
        finish_time: p.finished_at.map(timestamp),
    }
}
