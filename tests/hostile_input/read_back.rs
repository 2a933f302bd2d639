//! Reading back, and rendering, what the sweep got stored.

use super::*;

/// Reads back everything the sweep stored (hostile text, deep and odd step
/// outputs, front matter metadata), and renders the workshop, whose steps
/// now hold the accepted hostile outputs, in every build-pack format.
pub(super) async fn sweep_read_back(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let app = sweep.app;
    let alice = Who::User(ALICE);
    let mut registry = app.registry();
    let mut workshops = app.workshop();
    let skill_id = fx.skill.id.clone();
    let workshop_id = fx.workshop.id.clone();
    let page = 500;

    let result = settle(registry.list_skill_versions(request(
        alice,
        reg::ListSkillVersionsRequest {
            skill_id: skill_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await;
    let latest = result
        .as_ref()
        .ok()
        .and_then(|r| r.get_ref().versions.first().map(|v| v.version));
    let result = result.map(drop);
    sweep
        .must_succeed(
            REGISTRY,
            "ListSkillVersions",
            "read back: every version",
            result,
        )
        .await;
    if let Some(latest) = latest {
        let result = drain(registry.read_skill_version_content(request(
            alice,
            reg::ReadSkillVersionContentRequest {
                skill_id: skill_id.clone(),
                version: latest,
            },
        )))
        .await;
        sweep
            .must_succeed(
                REGISTRY,
                "ReadSkillVersionContent",
                "read back: the latest version",
                result,
            )
            .await;
    }
    let result = settle(registry.list_skills(request(
        alice,
        reg::ListSkillsRequest {
            page_size: page,
            ..Default::default()
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(REGISTRY, "ListSkills", "read back: every skill", result)
        .await;
    let result = settle(registry.list_ratings(request(
        alice,
        reg::ListRatingsRequest {
            skill_id: skill_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(REGISTRY, "ListRatings", "read back: every rating", result)
        .await;

    let result = settle(workshops.list_workshop_steps(request(
        alice,
        ws::ListWorkshopStepsRequest {
            workshop_id: workshop_id.clone(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListWorkshopSteps",
            "read back: hostile outputs",
            result,
        )
        .await;
    for step in STEPS {
        let result = settle(workshops.get_workshop_step(request(
            alice,
            ws::GetWorkshopStepRequest {
                workshop_id: workshop_id.clone(),
                step_id: step.to_owned(),
            },
        )))
        .await
        .map(drop);
        let case = format!("read back: the output of {step}");
        sweep
            .must_succeed(WORKSHOP, "GetWorkshopStep", &case, result)
            .await;
    }
    let result = settle(workshops.list_workshops(request(
        Who::User(CAROL),
        ws::ListWorkshopsRequest {
            page_size: page,
            ..Default::default()
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListWorkshops",
            "read back: hostile titles",
            result,
        )
        .await;
    let result = settle(workshops.list_members(request(
        alice,
        ws::ListMembersRequest {
            workshop_id: workshop_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            WORKSHOP,
            "ListMembers",
            "read back: hostile user ids",
            result,
        )
        .await;
    let result = settle(workshops.list_sessions(request(
        alice,
        ws::ListSessionsRequest {
            workshop_id: workshop_id.clone(),
            page_size: page,
            page_token: String::new(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(WORKSHOP, "ListSessions", "read back: every session", result)
        .await;

    // Build packs of the hostile outputs, rendered by the real worker.
    let mut packs = Vec::new();
    for format in [
        ws::BuildPackFormat::Markdown,
        ws::BuildPackFormat::Json,
        ws::BuildPackFormat::Pdf,
    ] {
        let result = settle(workshops.create_build_pack(request(
            alice,
            ws::CreateBuildPackRequest {
                request_id: String::new(),
                workshop_id: workshop_id.clone(),
                format: format.into(),
            },
        )))
        .await;
        if let Ok(response) = &result
            && let Some(pack) = &response.get_ref().build_pack
        {
            packs.push((format, pack.id.clone()));
        }
        let case = format!("render: {format:?} of the hostile outputs");
        sweep
            .must_succeed(WORKSHOP, "CreateBuildPack", &case, result.map(drop))
            .await;
    }
    app.spawn_worker(20);
    for (format, id) in packs {
        let case = format!("render: {format:?} of the hostile outputs");
        let deadline = Instant::now() + Duration::from_secs(30);
        let pack = loop {
            let pack = settle(
                workshops
                    .get_build_pack(request(alice, ws::GetBuildPackRequest { id: id.clone() })),
            )
            .await
            .ok()
            .and_then(|r| r.into_inner().build_pack);
            match pack {
                Some(pack) if pack.status != ws::BuildPackStatus::Pending as i32 => {
                    break Some(pack);
                }
                _ if Instant::now() > deadline => break None,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        match pack {
            Some(pack) if pack.status == ws::BuildPackStatus::Ready as i32 => {
                let result = drain(workshops.read_build_pack_content(request(
                    alice,
                    ws::ReadBuildPackContentRequest { id: id.clone() },
                )))
                .await;
                sweep
                    .must_succeed(WORKSHOP, "ReadBuildPackContent", &case, result)
                    .await;
            }
            other => sweep.failures.push(Failure {
                rpc: format!("{WORKSHOP}/GetBuildPack"),
                case,
                code: Code::Ok,
                problems: vec!["the build pack did not render within 30 s"],
                message: other.map_or_else(
                    || "still pending".to_owned(),
                    |pack| prefix(&format!("status {}: {}", pack.status, pack.failure_reason)),
                ),
            }),
        }
    }
}
