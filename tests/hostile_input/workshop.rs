//! The Workshop cases.

use super::*;

pub(super) async fn sweep_workshop(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = sweep.app.workshop();
    let alice = Who::User(ALICE);
    let workshop_id = fx.workshop.id.clone();

    // CreateWorkshop, as Carol, whose workshops nothing else uses.
    let mut cases = Cases::new(
        Who::User(CAROL),
        ws::CreateWorkshopRequest {
            request_id: String::new(),
            title: "Hostile".to_owned(),
            original_idea: "Hostile input".to_owned(),
            org_id: String::new(),
            template_id: String::new(),
        },
    );
    cases
        .texts("title", |m, t| m.title = t)
        .texts("original_idea", |m, t| m.original_idea = t)
        .texts("org_id", |m, t| m.org_id = t)
        .texts("template_id", |m, t| m.template_id = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "CreateWorkshop",
        client,
        create_workshop,
        cases.into_cases()
    );

    // GetWorkshop.
    let mut cases = Cases::new(
        alice,
        ws::GetWorkshopRequest {
            id: workshop_id.clone(),
        },
    );
    cases.ids("id", &workshop_id, |m, id| m.id = id).refused_as(
        Who::User(CAROL),
        "as a non-member",
        |_| {},
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetWorkshop",
        client,
        get_workshop,
        cases.into_cases()
    );

    // ListWorkshops.
    let mut cases = Cases::new(alice, ws::ListWorkshopsRequest::default());
    cases
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t)
        .enums("status", |m, n| m.status = n)
        .texts("role", |m, t| m.role = t)
        .refused("role: OWNER", |m| m.role = "OWNER".to_owned())
        .refused("role: 51 characters", |m| m.role = "r".repeat(51));
    let workshops_token = fx
        .tokens
        .iter()
        .find(|(query, _)| query == "ListWorkshops")
        .map(|(_, token)| token.clone())
        .unwrap_or_default();
    cases
        .refused("page_token: ListWorkshops token with a status", |m| {
            m.status = ws::WorkshopStatus::Active.into();
            m.page_token = workshops_token.clone();
        })
        .refused_as(
            Who::User(BOB),
            "page_token: Alice's ListWorkshops token as Bob",
            |m| {
                m.page_token = workshops_token.clone();
            },
        );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListWorkshops",
        client,
        list_workshops,
        cases.into_cases()
    );

    // UpdateWorkshop.
    let mut cases = Cases::new(
        alice,
        ws::UpdateWorkshopRequest {
            workshop: Some(ws::WorkshopInfo {
                id: workshop_id.clone(),
                title: "Renamed sweep workshop".to_owned(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".to_owned()],
            }),
        },
    );
    fn info(m: &mut ws::UpdateWorkshopRequest) -> &mut ws::WorkshopInfo {
        m.workshop.get_or_insert_with(Default::default)
    }
    let only = |path: &str| {
        Some(prost_types::FieldMask {
            paths: vec![path.to_owned()],
        })
    };
    cases
        .ids("workshop.id", &workshop_id, |m, id| info(m).id = id)
        .texts("workshop.title", |m, t| info(m).title = t)
        .refused("no workshop", |m| m.workshop = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .refused_as(Who::User(CAROL), "as a non-member", |_| {})
        .etags(|m, e| info(m).etag = e)
        .case("output-only fields set to absurd values", |m| {
            let workshop = info(m);
            workshop.owner_id = "\0".to_owned();
            workshop.org_id = "o".repeat(1024 * 1024);
            workshop.current_step_id = "\u{202e}".to_owned();
            workshop.completed_step_count = -1;
            workshop.update_time = Some(prost_types::Timestamp {
                seconds: i64::MIN,
                nanos: i32::MAX,
            });
        });
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text) || text.trim().is_empty();
        cases.expect(refuse, format!("workshop.original_idea: {label}"), |m| {
            m.update_mask = only("original_idea");
            info(m).original_idea = text;
        });
    }
    for number in HOSTILE_ENUMS.into_iter().chain([0]) {
        cases
            .refused(format!("workshop.status: {number}"), |m| {
                m.update_mask = only("status");
                info(m).status = number;
            })
            .refused(format!("workshop.visibility: {number}"), |m| {
                m.update_mask = only("visibility");
                info(m).visibility = number;
            });
    }
    cases
        .refused("workshop.status: DRAFT to COMPLETED", |m| {
            m.update_mask = only("status");
            info(m).status = ws::WorkshopStatus::Completed.into();
        })
        .refused("workshop.visibility: SHARED", |m| {
            m.update_mask = only("visibility");
            info(m).visibility = ws::Visibility::Shared.into();
        })
        .refused_as(Who::User(BOB), "workshop.status as an editor", |m| {
            m.update_mask = only("status");
            info(m).status = ws::WorkshopStatus::Active.into();
        });
    for (label, paths, refuse) in hostile_masks("title") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateWorkshop",
        client,
        update_workshop,
        cases.into_cases()
    );

    // DeleteWorkshop: the base etag is stale, so nothing is deleted.
    let mut cases = Cases::new(
        alice,
        ws::DeleteWorkshopRequest {
            id: workshop_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &workshop_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as an editor, no etag", |m| m.etag.clear());
    sweep_unary!(
        sweep,
        WORKSHOP,
        "DeleteWorkshop",
        client,
        delete_workshop,
        cases.into_cases()
    );

    // GetSharedWorkshop (before ShareWorkshop can revoke the token).
    let mut cases = Cases::open(
        Who::Missing,
        ws::GetSharedWorkshopRequest {
            share_token: fx.share_token.clone(),
        },
    );
    cases
        .texts("share_token", |m, t| m.share_token = t)
        .refused("share_token: empty", |m| m.share_token.clear())
        .refused("share_token: the workshop id", |m| {
            m.share_token = fx.shared.id.clone();
        })
        .refused("share_token: + NUL", |m| m.share_token.push('\0'))
        .refused("share_token: 1 MB", |m| {
            m.share_token = "t".repeat(1024 * 1024)
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetSharedWorkshop",
        client,
        get_shared_workshop,
        cases.into_cases()
    );

    // ShareWorkshop, on the unshared fixture workshop.
    let mut cases = Cases::new(
        alice,
        ws::ShareWorkshopRequest {
            id: workshop_id.clone(),
            shared: false,
        },
    );
    cases.ids("id", &workshop_id, |m, id| m.id = id).refused_as(
        Who::User(BOB),
        "as an editor",
        |m| m.shared = true,
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ShareWorkshop",
        client,
        share_workshop,
        cases.into_cases()
    );

    // AddMember, UpdateMember, RemoveMember.
    let mut cases = Cases::new(
        alice,
        ws::AddMemberRequest {
            request_id: String::new(),
            workshop_id: workshop_id.clone(),
            user_id: "sweep-dave".to_owned(),
            role: "viewer".to_owned(),
        },
    );
    member_cases(&mut cases, &workshop_id, |m| {
        (&mut m.workshop_id, &mut m.user_id, &mut m.role)
    });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "AddMember",
        client,
        add_member,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::UpdateMemberRequest {
            etag: String::new(),
            workshop_id: workshop_id.clone(),
            user_id: BOB.to_owned(),
            role: "editor".to_owned(),
        },
    );
    member_cases(&mut cases, &workshop_id, |m| {
        (&mut m.workshop_id, &mut m.user_id, &mut m.role)
    });
    cases.etags(|m, e| m.etag = e);
    cases.refused("demote the last owner", |m| {
        m.user_id = ALICE.to_owned();
        m.role = "viewer".to_owned();
    });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateMember",
        client,
        update_member,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::RemoveMemberRequest {
            etag: String::new(),
            workshop_id: workshop_id.clone(),
            user_id: "sweep-nobody".to_owned(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("user_id", |m, t| m.user_id = t)
        .refused("remove the last owner", |m| m.user_id = ALICE.to_owned())
        .refused_as(Who::User(BOB), "an editor removes the owner", |m| {
            m.user_id = ALICE.to_owned();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "RemoveMember",
        client,
        remove_member,
        cases.into_cases()
    );

    // ListMembers, ListSessions, ListBuildPacks: ids and pages.
    let mut cases = Cases::new(
        alice,
        ws::ListMembersRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListMembers",
        client,
        list_members,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListSessionsRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListSessions",
        client,
        list_sessions,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListBuildPacksRequest {
            workshop_id: workshop_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let packs_token = fx
        .tokens
        .iter()
        .find(|(query, _)| query == "ListBuildPacks")
        .map(|(_, token)| token.clone())
        .unwrap_or_default();
    cases.refused(
        "page_token: ListBuildPacks token of another workshop",
        |m| {
            m.workshop_id = fx.shared.id.clone();
            m.page_token = packs_token;
        },
    );
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListBuildPacks",
        client,
        list_build_packs,
        cases.into_cases()
    );

    // ListStepDefinitions has no fields: identities only.
    let cases = Cases::open(alice, ws::ListStepDefinitionsRequest {});
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListStepDefinitions",
        client,
        list_step_definitions,
        cases.into_cases()
    );

    // GetWorkshopStep, GetStepContext, ListWorkshopSteps.
    let mut cases = Cases::new(
        alice,
        ws::GetWorkshopStepRequest {
            workshop_id: workshop_id.clone(),
            step_id: "ideate".to_owned(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("step_id", |m, t| m.step_id = t);
    step_id_cases(&mut cases, |m, s| m.step_id = s);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetWorkshopStep",
        client,
        get_workshop_step,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::GetStepContextRequest {
            workshop_id: workshop_id.clone(),
            step_id: "prototype".to_owned(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("step_id", |m, t| m.step_id = t);
    step_id_cases(&mut cases, |m, s| m.step_id = s);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetStepContext",
        client,
        get_step_context,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ListWorkshopStepsRequest {
            workshop_id: workshop_id.clone(),
        },
    );
    cases.ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id);
    sweep_unary!(
        sweep,
        WORKSHOP,
        "ListWorkshopSteps",
        client,
        list_workshop_steps,
        cases.into_cases()
    );

    // UpdateWorkshopStep: ids, step ids, statuses, skips and outputs.
    let mut cases = Cases::new(
        alice,
        ws::UpdateWorkshopStepRequest {
            workshop_id: workshop_id.clone(),
            step_id: "define".to_owned(),
            status: ws::StepStatus::InProgress.into(),
            ..Default::default()
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .texts("step_id", |m, t| m.step_id = t)
        .enums("status", |m, n| m.status = n)
        .refused("skip without confirm_skip", |m| m.skip = true)
        .refused("skip with status NOT_STARTED", |m| {
            m.skip = true;
            m.confirm_skip = true;
            m.status = ws::StepStatus::NotStarted.into();
        })
        .refused("nothing to change", |m| m.status = 0)
        .case("confirm_skip without skip", |m| m.confirm_skip = true)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    step_id_cases(&mut cases, |m, s| m.step_id = s);
    for (index, (label, output, refuse)) in hostile_outputs().into_iter().enumerate() {
        // Each on its own step, so what is accepted stays for the build
        // packs rendered at the end.
        let step = STEPS[index % STEPS.len()];
        cases.expect(refuse, format!("output: {label}"), |m| {
            m.step_id = step.to_owned();
            m.output = Some(output);
        });
    }
    sweep_unary!(
        sweep,
        WORKSHOP,
        "UpdateWorkshopStep",
        client,
        update_workshop_step,
        cases.into_cases()
    );

    // EndSession.
    let mut cases = Cases::new(
        alice,
        ws::EndSessionRequest {
            workshop_id: workshop_id.clone(),
            session_id: uuid::Uuid::new_v4().to_string(),
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .ids("session_id", &fx.session_id, |m, id| m.session_id = id)
        .refused("session of another workshop", |m| {
            m.workshop_id = fx.shared.id.clone();
            m.session_id = fx.session_id.clone();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "EndSession",
        client,
        end_session,
        cases.into_cases()
    );

    // CreateBuildPack.
    let mut cases = Cases::new(
        alice,
        ws::CreateBuildPackRequest {
            request_id: String::new(),
            workshop_id: workshop_id.clone(),
            format: 0,
        },
    );
    cases
        .ids("workshop_id", &workshop_id, |m, id| m.workshop_id = id)
        .enums("format", |m, n| m.format = n)
        .refused_as(Who::User(CAROL), "as a non-member", |m| {
            m.format = ws::BuildPackFormat::Json.into();
        });
    sweep_unary!(
        sweep,
        WORKSHOP,
        "CreateBuildPack",
        client,
        create_build_pack,
        cases.into_cases()
    );

    // GetBuildPack, ReadBuildPackContent.
    let mut cases = Cases::new(
        alice,
        ws::GetBuildPackRequest {
            id: fx.ready_pack.clone(),
        },
    );
    cases
        .ids("id", &fx.ready_pack, |m, id| m.id = id)
        .refused("a workshop id", |m| m.id = workshop_id.clone())
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    sweep_unary!(
        sweep,
        WORKSHOP,
        "GetBuildPack",
        client,
        get_build_pack,
        cases.into_cases()
    );
    let mut cases = Cases::new(
        alice,
        ws::ReadBuildPackContentRequest {
            id: fx.ready_pack.clone(),
        },
    );
    cases
        .ids("id", &fx.ready_pack, |m, id| m.id = id)
        .refused("a pending build pack", |m| m.id = fx.pending_pack.clone())
        .refused("a workshop id", |m| m.id = workshop_id.clone())
        .refused_as(Who::User(CAROL), "as a non-member", |_| {});
    sweep_stream!(
        sweep,
        WORKSHOP,
        "ReadBuildPackContent",
        client,
        read_build_pack_content,
        cases.into_cases()
    );
}

/// Hostile workshop ids, user ids and roles of a member RPC, whose three
/// fields `fields` gives.
pub(super) fn member_cases<T: Clone>(
    cases: &mut Cases<T>,
    workshop_id: &str,
    fields: impl Fn(&mut T) -> (&mut String, &mut String, &mut String),
) {
    cases
        .ids("workshop_id", workshop_id, |m, id| *fields(m).0 = id)
        .texts("user_id", |m, t| *fields(m).1 = t)
        .texts("role", |m, t| *fields(m).2 = t)
        .refused("user_id: 201 characters", |m| {
            *fields(m).1 = "u".repeat(201)
        })
        .refused("role: OWNER", |m| *fields(m).2 = "OWNER".to_owned())
        .refused("role: 51 characters", |m| *fields(m).2 = "r".repeat(51))
        .refused("role: empty", |m| fields(m).2.clear())
        .refused_as(Who::User(BOB), "as an editor", |_| {});
}

/// Step ids that look almost right.
pub(super) fn step_id_cases<T: Clone>(cases: &mut Cases<T>, set: impl Fn(&mut T, String)) {
    for (label, step) in [
        ("uppercase", "IDEATE".to_owned()),
        ("with NUL", "ideate\0".to_owned()),
        ("51 characters", "s".repeat(51)),
        ("unknown", "zzz".to_owned()),
        ("empty", String::new()),
        ("a workshop id", uuid::Uuid::new_v4().to_string()),
    ] {
        cases.refused(format!("step_id: {label}"), |m| set(m, step));
    }
}
