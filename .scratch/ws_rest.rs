

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
