//! The Workshop service through gRPC, on a real PostgreSQL and object store.

use std::collections::BTreeMap;
use std::time::Duration;

use atelier::proto::workshop::{
    AddMemberRequest, BuildPackFormat, BuildPackStatus, CreateBuildPackRequest,
    CreateWorkshopRequest, DeleteWorkshopRequest, EndSessionRequest, GetBuildPackRequest,
    GetSharedWorkshopRequest, GetStepContextRequest, GetWorkshopRequest, GetWorkshopStepRequest,
    ListBuildPacksRequest, ListMembersRequest, ListSessionsRequest, ListStepDefinitionsRequest,
    ListWorkshopStepsRequest, ListWorkshopsRequest, ReadBuildPackContentRequest,
    RemoveMemberRequest, ShareWorkshopRequest, StepStatus, UpdateMemberRequest,
    UpdateWorkshopRequest, UpdateWorkshopStepRequest, Visibility, WorkshopInfo, WorkshopStatus,
};
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::common::{TestApp, TestAppOptions, as_user, count, reason, violated_fields};

fn create_request(title: &str) -> CreateWorkshopRequest {
    CreateWorkshopRequest {
        request_id: String::new(),
        title: title.to_owned(),
        original_idea: "Make onboarding painless".to_owned(),
        org_id: String::new(),
        template_id: String::new(),
    }
}

async fn create(app: &TestApp, owner: &str, title: &str) -> WorkshopInfo {
    app.workshop()
        .create_workshop(as_user(owner, create_request(title)))
        .await
        .expect("create workshop")
        .into_inner()
        .workshop
        .expect("workshop")
}

async fn add_member(app: &TestApp, workshop: &WorkshopInfo, owner: &str, user: &str, role: &str) {
    app.workshop()
        .add_member(as_user(
            owner,
            AddMemberRequest {
                request_id: String::new(),
                workshop_id: workshop.id.clone(),
                user_id: user.to_owned(),
                role: role.to_owned(),
            },
        ))
        .await
        .expect("add member");
}

fn output(pairs: &[(&str, &str)]) -> prost_types::Struct {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
        .collect();
    atelier::proto::json_object_to_struct(map)
}

fn step_change(
    workshop: &WorkshopInfo,
    step: &str,
    status: StepStatus,
) -> UpdateWorkshopStepRequest {
    UpdateWorkshopStepRequest {
        etag: String::new(),
        workshop_id: workshop.id.clone(),
        step_id: step.to_owned(),
        status: status.into(),
        output: None,
        skip: false,
        confirm_skip: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_created_workshop_is_a_draft_owned_by_its_creator_with_ten_steps() {
    let app = TestApp::start().await;
    let created = create(&app, "ada", "Onboarding").await;
    assert_eq!(created.status(), WorkshopStatus::Draft);
    assert_eq!(created.owner_id, "ada");
    assert_eq!(
        (created.total_step_count, created.completed_step_count),
        (10, 0)
    );
    assert_eq!(created.current_step_id, "empathize");
    assert_eq!(created.visibility(), Visibility::Private);
    let read = app
        .workshop()
        .get_workshop(as_user(
            "ada",
            GetWorkshopRequest {
                id: created.id.clone(),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .workshop
        .expect("workshop");
    assert_eq!(read, created);
    let members = app
        .workshop()
        .list_members(as_user(
            "ada",
            ListMembersRequest {
                workshop_id: created.id.clone(),
                page_size: 0,
                page_token: String::new(),
            },
        ))
        .await
        .expect("members")
        .into_inner()
        .members;
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id.as_str(), members[0].role.as_str()),
        ("ada", "owner")
    );

    let error = app
        .workshop()
        .create_workshop(as_user(
            "ada",
            CreateWorkshopRequest {
                request_id: String::new(),
                title: " ".to_owned(),
                original_idea: "x".repeat(4001),
                org_id: "o".repeat(101),
                template_id: String::new(),
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&error),
        ["title", "original_idea", "org_id"]
    );
    let error = app
        .workshop()
        .create_workshop(tonic::Request::new(create_request("no user")))
        .await
        .expect_err("no user");
    assert_eq!(reason(&error), "USER_REQUIRED");
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_with_a_cap_of_three_create_exactly_three() {
    let app = TestApp::start().await;
    let creates: Vec<_> = (0..50)
        .map(|i| {
            let mut client = app.workshop();
            tokio::spawn(async move {
                client
                    .create_workshop(as_user("bob", create_request(&format!("W{i}"))))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in creates {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted);
                assert_eq!(reason(&status), "WORKSHOP_CAP_REACHED");
            }
        }
    }
    assert_eq!(created, 3);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS count FROM workshops WHERE owner_id = 'bob'"
        )
        .await,
        3
    );

    // The plan travels in x-user-plan; an unknown plan is the default one.
    let mut pro = as_user("bob", create_request("pro"));
    pro.metadata_mut()
        .insert("x-user-plan", "pro".parse().expect("ascii"));
    app.workshop()
        .create_workshop(pro)
        .await
        .expect("pro allows 50");
    let mut unknown = as_user("carol", create_request("mystery plan"));
    unknown
        .metadata_mut()
        .insert("x-user-plan", "platinum".parse().expect("ascii"));
    app.workshop()
        .create_workshop(unknown)
        .await
        .expect("default plan");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_follows_the_lifecycle_and_updates_check_mask_and_etag() {
    let app = TestApp::start().await;
    let workshop = create(&app, "ada", "Lifecycle").await;
    let update = |w: &WorkshopInfo, status: WorkshopStatus, etag: &str| UpdateWorkshopRequest {
        workshop: Some(WorkshopInfo {
            status: status.into(),
            etag: etag.to_owned(),
            ..w.clone()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["status".to_owned()],
        }),
    };
    let error = app
        .workshop()
        .update_workshop(as_user(
            "ada",
            update(&workshop, WorkshopStatus::Completed, ""),
        ))
        .await
        .expect_err("draft cannot complete");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert_eq!(reason(&error), "INVALID_STATUS_TRANSITION");
    assert!(
        error.message().contains("allowed: active"),
        "{}",
        error.message()
    );
    let info = error
        .get_error_details()
        .error_info()
        .cloned()
        .expect("ErrorInfo");
    assert_eq!(
        (
            info.metadata["from"].as_str(),
            info.metadata["to"].as_str(),
            info.metadata["allowed"].as_str()
        ),
        (
            "WORKSHOP_STATUS_DRAFT",
            "WORKSHOP_STATUS_COMPLETED",
            "WORKSHOP_STATUS_ACTIVE"
        )
    );

    let mut current = workshop.clone();
    for status in [
        WorkshopStatus::Active,
        WorkshopStatus::Paused,
        WorkshopStatus::Active,
        WorkshopStatus::Completed,
    ] {
        current = app
            .workshop()
            .update_workshop(as_user("ada", update(&current, status, &current.etag)))
            .await
            .unwrap_or_else(|e| panic!("to {status:?}: {e}"))
            .into_inner()
            .workshop
            .expect("workshop");
        assert_eq!(current.status(), status);
    }
    let error = app
        .workshop()
        .update_workshop(as_user("ada", update(&current, WorkshopStatus::Active, "")))
        .await
        .expect_err("completed is final");
    assert!(error.message().contains("none"), "{}", error.message());

    let error = app
        .workshop()
        .update_workshop(as_user(
            "ada",
            update(&current, WorkshopStatus::Completed, &workshop.etag),
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(reason(&error), "ETAG_MISMATCH");

    let renamed = app
        .workshop()
        .update_workshop(as_user(
            "ada",
            UpdateWorkshopRequest {
                workshop: Some(WorkshopInfo {
                    title: "Renamed".to_owned(),
                    original_idea: "ignored".to_owned(),
                    ..current.clone()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["title".to_owned()],
                }),
            },
        ))
        .await
        .expect("rename")
        .into_inner()
        .workshop
        .expect("workshop");
    assert_eq!(
        (renamed.title.as_str(), renamed.original_idea.as_str()),
        ("Renamed", "Make onboarding painless")
    );
    for (paths, field) in [
        (vec![], "update_mask"),
        (vec!["owner_id"], "update_mask"),
        (vec!["visibility"], "workshop.visibility"),
    ] {
        let error = app
            .workshop()
            .update_workshop(as_user(
                "ada",
                UpdateWorkshopRequest {
                    workshop: Some(WorkshopInfo {
                        visibility: Visibility::Shared.into(),
                        ..current.clone()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
                    }),
                },
            ))
            .await
            .expect_err("bad mask");
        assert_eq!(violated_fields(&error), [field], "{paths:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_filters_by_status_and_role_and_pages_newest_activity_first() {
    let app = TestApp::start_with(TestAppOptions {
        workshop: atelier::config::WorkshopPolicy {
            plan_caps: [("free".to_owned(), 20)].into_iter().collect(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create(&app, "ada", &format!("Mine {i}")).await.id);
    }
    let theirs = create(&app, "bob", "Theirs").await;
    add_member(&app, &theirs, "bob", "ada", "viewer").await;
    // Activity moves a workshop to the front.
    let touched = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(
                &WorkshopInfo {
                    id: ids[0].clone(),
                    ..Default::default()
                },
                "define",
                StepStatus::InProgress,
            ),
        ))
        .await
        .expect("touch")
        .into_inner();
    assert!(touched.workshop.is_some());

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .workshop()
            .list_workshops(as_user(
                "ada",
                ListWorkshopsRequest {
                    page_size: 3,
                    page_token: token,
                    status: 0,
                    role: String::new(),
                },
            ))
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.workshops.into_iter().map(|w| w.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0], ids[0], "most recent activity first");
    assert_eq!(seen[1], theirs.id);

    let viewer_of = app
        .workshop()
        .list_workshops(as_user(
            "ada",
            ListWorkshopsRequest {
                page_size: 0,
                page_token: String::new(),
                status: 0,
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect("by role")
        .into_inner()
        .workshops;
    assert_eq!(
        viewer_of.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        [theirs.id.as_str()]
    );
    let active = app
        .workshop()
        .list_workshops(as_user(
            "ada",
            ListWorkshopsRequest {
                page_size: 0,
                page_token: String::new(),
                status: WorkshopStatus::Active.into(),
                role: String::new(),
            },
        ))
        .await
        .expect("by status")
        .into_inner()
        .workshops;
    assert!(active.is_empty());
    let error = app
        .workshop()
        .list_workshops(as_user(
            "ada",
            ListWorkshopsRequest {
                page_size: -1,
                page_token: "garbage".to_owned(),
                status: 99,
                role: "Bad Role".to_owned(),
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(violated_fields(&error), ["page_size", "status", "role"]);
}

/// What each role may do, RPC by RPC: owner, editor, viewer, an unknown
/// role, and a non-member (of a private workshop).
#[tokio::test(flavor = "multi_thread")]
async fn the_permission_matrix_holds_for_every_rpc() {
    use Code::{NotFound as Hidden, Ok as Allowed, PermissionDenied as Denied};
    let app = TestApp::start_with(TestAppOptions {
        workshop: atelier::config::WorkshopPolicy {
            plan_caps: [("free".to_owned(), 1000)].into_iter().collect(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let users = ["owner", "editor", "viewer", "guest", "stranger"];
    // (rpc, expected code for each user in `users`)
    // FailedPrecondition for ReadBuildPackContent: let in, but the pack is
    // still pending.
    use Code::FailedPrecondition as Pending;
    let matrix: [(&str, [Code; 5]); 19] = [
        (
            "ReadBuildPackContent",
            [Pending, Pending, Pending, Pending, Hidden],
        ),
        (
            "RemoveMember(editor)",
            [Allowed, Allowed, Denied, Denied, Hidden],
        ),
        (
            "EndSession(owner's)",
            [Allowed, Denied, Denied, Denied, Hidden],
        ),
        ("GetWorkshop", [Allowed, Allowed, Allowed, Allowed, Hidden]),
        ("ListMembers", [Allowed, Allowed, Allowed, Allowed, Hidden]),
        (
            "ListWorkshopSteps",
            [Allowed, Allowed, Allowed, Allowed, Hidden],
        ),
        (
            "GetWorkshopStep",
            [Allowed, Allowed, Allowed, Allowed, Hidden],
        ),
        (
            "GetStepContext",
            [Allowed, Allowed, Allowed, Allowed, Hidden],
        ),
        ("ListSessions", [Allowed, Allowed, Allowed, Allowed, Hidden]),
        (
            "ListBuildPacks",
            [Allowed, Allowed, Allowed, Allowed, Hidden],
        ),
        ("GetBuildPack", [Allowed, Allowed, Allowed, Allowed, Hidden]),
        (
            "UpdateWorkshopStep",
            [Allowed, Allowed, Denied, Denied, Hidden],
        ),
        (
            "CreateBuildPack",
            [Allowed, Allowed, Denied, Denied, Hidden],
        ),
        (
            "UpdateWorkshop(title)",
            [Allowed, Allowed, Denied, Denied, Hidden],
        ),
        (
            "UpdateWorkshop(status)",
            [Allowed, Denied, Denied, Denied, Hidden],
        ),
        ("AddMember", [Allowed, Denied, Denied, Denied, Hidden]),
        ("UpdateMember", [Allowed, Denied, Denied, Denied, Hidden]),
        ("ShareWorkshop", [Allowed, Denied, Denied, Denied, Hidden]),
        ("DeleteWorkshop", [Allowed, Denied, Denied, Denied, Hidden]),
    ];
    for (rpc, expected) in matrix {
        for (user, want) in users.iter().zip(expected) {
            // A fresh workshop per cell, so no call changes another's setup.
            let w = create(&app, "owner", &format!("{rpc} {user}")).await;
            for (member, role) in [
                ("editor", "editor"),
                ("viewer", "viewer"),
                ("guest", "guest"),
            ] {
                add_member(&app, &w, "owner", member, role).await;
            }
            let pack = app
                .workshop()
                .create_build_pack(as_user(
                    "owner",
                    CreateBuildPackRequest {
                        request_id: String::new(),
                        workshop_id: w.id.clone(),
                        format: BuildPackFormat::Json.into(),
                    },
                ))
                .await
                .expect("pack")
                .into_inner()
                .build_pack
                .expect("pack");
            let mut c = app.workshop();
            let id = w.id.clone();
            let got = match rpc {
                "GetWorkshop" => c
                    .get_workshop(as_user(user, GetWorkshopRequest { id }))
                    .await
                    .map(drop),
                "ListMembers" => c
                    .list_members(as_user(
                        user,
                        ListMembersRequest {
                            workshop_id: id,
                            page_size: 0,
                            page_token: String::new(),
                        },
                    ))
                    .await
                    .map(drop),
                "ListWorkshopSteps" => c
                    .list_workshop_steps(as_user(
                        user,
                        ListWorkshopStepsRequest { workshop_id: id },
                    ))
                    .await
                    .map(drop),
                "GetWorkshopStep" => c
                    .get_workshop_step(as_user(
                        user,
                        GetWorkshopStepRequest {
                            workshop_id: id,
                            step_id: "ideate".to_owned(),
                        },
                    ))
                    .await
                    .map(drop),
                "GetStepContext" => c
                    .get_step_context(as_user(
                        user,
                        GetStepContextRequest {
                            workshop_id: id,
                            step_id: "ideate".to_owned(),
                        },
                    ))
                    .await
                    .map(drop),
                "ListSessions" => c
                    .list_sessions(as_user(
                        user,
                        ListSessionsRequest {
                            workshop_id: id,
                            page_size: 0,
                            page_token: String::new(),
                        },
                    ))
                    .await
                    .map(drop),
                "ListBuildPacks" => c
                    .list_build_packs(as_user(
                        user,
                        ListBuildPacksRequest {
                            workshop_id: id,
                            page_size: 0,
                            page_token: String::new(),
                        },
                    ))
                    .await
                    .map(drop),
                "GetBuildPack" => c
                    .get_build_pack(as_user(
                        user,
                        GetBuildPackRequest {
                            id: pack.id.clone(),
                        },
                    ))
                    .await
                    .map(drop),
                "UpdateWorkshopStep" => c
                    .update_workshop_step(as_user(
                        user,
                        step_change(&w, "ideate", StepStatus::InProgress),
                    ))
                    .await
                    .map(drop),
                "CreateBuildPack" => c
                    .create_build_pack(as_user(
                        user,
                        CreateBuildPackRequest {
                            request_id: String::new(),
                            workshop_id: id,
                            format: BuildPackFormat::Markdown.into(),
                        },
                    ))
                    .await
                    .map(drop),
                "UpdateWorkshop(title)" => c
                    .update_workshop(as_user(
                        user,
                        UpdateWorkshopRequest {
                            workshop: Some(WorkshopInfo {
                                title: "T".to_owned(),
                                ..w.clone()
                            }),
                            update_mask: Some(prost_types::FieldMask {
                                paths: vec!["title".to_owned()],
                            }),
                        },
                    ))
                    .await
                    .map(drop),
                "UpdateWorkshop(status)" => c
                    .update_workshop(as_user(
                        user,
                        UpdateWorkshopRequest {
                            workshop: Some(WorkshopInfo {
                                status: WorkshopStatus::Active.into(),
                                ..w.clone()
                            }),
                            update_mask: Some(prost_types::FieldMask {
                                paths: vec!["status".to_owned()],
                            }),
                        },
                    ))
                    .await
                    .map(drop),
                "AddMember" => c
                    .add_member(as_user(
                        user,
                        AddMemberRequest {
                            request_id: String::new(),
                            workshop_id: id,
                            user_id: "newcomer".to_owned(),
                            role: "viewer".to_owned(),
                        },
                    ))
                    .await
                    .map(drop),
                "UpdateMember" => c
                    .update_member(as_user(
                        user,
                        UpdateMemberRequest {
                            etag: String::new(),
                            workshop_id: id,
                            user_id: "guest".to_owned(),
                            role: "editor".to_owned(),
                        },
                    ))
                    .await
                    .map(drop),
                "ShareWorkshop" => c
                    .share_workshop(as_user(user, ShareWorkshopRequest { id, shared: true }))
                    .await
                    .map(drop),
                "DeleteWorkshop" => c
                    .delete_workshop(as_user(
                        user,
                        DeleteWorkshopRequest {
                            id,
                            etag: String::new(),
                        },
                    ))
                    .await
                    .map(drop),
                "ReadBuildPackContent" => read_pack(&app, user, &pack.id).await.map(drop),
                "RemoveMember(editor)" => c
                    .remove_member(as_user(
                        user,
                        RemoveMemberRequest {
                            etag: String::new(),
                            workshop_id: id,
                            user_id: "editor".to_owned(),
                        },
                    ))
                    .await
                    .map(drop),
                "EndSession(owner's)" => {
                    let session = app
                        .workshop()
                        .update_workshop_step(as_user(
                            "owner",
                            step_change(&w, "define", StepStatus::InProgress),
                        ))
                        .await
                        .expect("owner's change")
                        .into_inner()
                        .session
                        .expect("session");
                    c.end_session(as_user(
                        user,
                        EndSessionRequest {
                            workshop_id: id,
                            session_id: session.id,
                        },
                    ))
                    .await
                    .map(drop)
                }
                other => panic!("no call for {other}"),
            };
            let code = got.err().map_or(Code::Ok, |status| {
                assert_ne!(reason(&status), "", "{rpc} by {user}");
                status.code()
            });
            assert_eq!(code, want, "{rpc} by {user}");
        }
    }

    // On a shared workshop a non-member is denied rather than kept in the dark.
    let shared = create(&app, "owner", "Shared").await;
    app.workshop()
        .share_workshop(as_user(
            "owner",
            ShareWorkshopRequest {
                id: shared.id.clone(),
                shared: true,
            },
        ))
        .await
        .expect("share");
    let error = app
        .workshop()
        .get_workshop(as_user(
            "stranger",
            GetWorkshopRequest {
                id: shared.id.clone(),
            },
        ))
        .await
        .expect_err("not a member");
    assert_eq!(
        (error.code(), reason(&error).as_str()),
        (Code::PermissionDenied, "NOT_A_MEMBER")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_can_neither_leave_nor_be_demoted() {
    let app = TestApp::start().await;
    let w = create(&app, "ada", "Owners").await;
    add_member(&app, &w, "ada", "bob", "editor").await;
    let remove = |user: &str| RemoveMemberRequest {
        etag: String::new(),
        workshop_id: w.id.clone(),
        user_id: user.to_owned(),
    };
    let error = app
        .workshop()
        .remove_member(as_user("ada", remove("ada")))
        .await
        .expect_err("last owner");
    assert_eq!(
        (error.code(), reason(&error).as_str()),
        (Code::FailedPrecondition, "LAST_OWNER")
    );
    let demote = UpdateMemberRequest {
        etag: String::new(),
        workshop_id: w.id.clone(),
        user_id: "ada".to_owned(),
        role: "viewer".to_owned(),
    };
    let error = app
        .workshop()
        .update_member(as_user("ada", demote.clone()))
        .await
        .expect_err("last owner");
    assert_eq!(reason(&error), "LAST_OWNER");

    let error = app
        .workshop()
        .add_member(as_user(
            "ada",
            AddMemberRequest {
                request_id: String::new(),
                workshop_id: w.id.clone(),
                user_id: "bob".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect_err("already a member");
    assert_eq!(error.code(), Code::AlreadyExists);
    let error = app
        .workshop()
        .add_member(as_user(
            "ada",
            AddMemberRequest {
                request_id: String::new(),
                workshop_id: w.id.clone(),
                user_id: String::new(),
                role: "Boss!".to_owned(),
            },
        ))
        .await
        .expect_err("invalid");
    assert_eq!(violated_fields(&error), ["user_id", "role"]);

    // With a second owner, the first may step down and leave.
    app.workshop()
        .update_member(as_user(
            "ada",
            UpdateMemberRequest {
                etag: String::new(),
                workshop_id: w.id.clone(),
                user_id: "bob".to_owned(),
                role: "owner".to_owned(),
            },
        ))
        .await
        .expect("promote bob");
    app.workshop()
        .update_member(as_user("ada", demote))
        .await
        .expect("demote ada");
    app.workshop()
        .remove_member(as_user("ada", remove("ada")))
        .await
        .expect("ada leaves");
    let error = app
        .workshop()
        .get_workshop(as_user("ada", GetWorkshopRequest { id: w.id.clone() }))
        .await
        .expect_err("gone");
    assert_eq!(error.code(), Code::NotFound);
    let error = app
        .workshop()
        .remove_member(as_user("bob", remove("carol")))
        .await
        .expect_err("no such member");
    assert_eq!(error.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_share_token_opens_a_read_only_view_until_revoked() {
    let app = TestApp::start().await;
    let w = create(&app, "ada", "Shared idea").await;
    let share = |shared: bool| {
        as_user(
            "ada",
            ShareWorkshopRequest {
                id: w.id.clone(),
                shared,
            },
        )
    };
    let first = app
        .workshop()
        .share_workshop(share(true))
        .await
        .expect("share")
        .into_inner();
    let token = first.share_token.clone();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {token}"
    );
    assert_eq!(
        first.workshop.expect("workshop").visibility(),
        Visibility::Shared
    );
    assert_eq!(
        count(&app, &format!("SELECT count(*) AS count FROM workshops WHERE share_token_sha256 IS NOT NULL AND share_token_sha256 <> '{token}'")).await,
        1,
        "only the token's hash is stored"
    );
    let view = |token: &str| GetSharedWorkshopRequest {
        share_token: token.to_owned(),
    };
    let shared = app
        .workshop()
        .get_shared_workshop(tonic::Request::new(view(&token)))
        .await
        .expect("read by token")
        .into_inner();
    assert_eq!(shared.workshop.expect("workshop").id, w.id);
    assert_eq!(shared.steps.len(), 10);

    // A new token replaces the old one; revoking stops both.
    let second = app
        .workshop()
        .share_workshop(share(true))
        .await
        .expect("reshare")
        .into_inner()
        .share_token;
    assert_ne!(second, token);
    let error = app
        .workshop()
        .get_shared_workshop(tonic::Request::new(view(&token)))
        .await
        .expect_err("old token");
    assert_eq!(error.code(), Code::NotFound);
    let revoked = app
        .workshop()
        .share_workshop(share(false))
        .await
        .expect("revoke")
        .into_inner();
    assert!(revoked.share_token.is_empty());
    for token in [&second, "not-a-token"] {
        let error = app
            .workshop()
            .get_shared_workshop(tonic::Request::new(view(token)))
            .await
            .expect_err("revoked");
        assert_eq!(error.code(), Code::NotFound);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_step_moves_as_steps_complete_in_any_order_or_are_skipped() {
    let app = TestApp::start().await;
    let definitions = app
        .workshop()
        .list_step_definitions(tonic::Request::new(ListStepDefinitionsRequest {}))
        .await
        .expect("definitions")
        .into_inner()
        .step_definitions;
    let ids: Vec<&str> = definitions.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "empathize",
            "define",
            "ideate",
            "prototype",
            "test",
            "prioritize",
            "architect",
            "spec",
            "story",
            "pack"
        ]
    );
    assert!(
        definitions
            .iter()
            .enumerate()
            .all(|(i, d)| d.position == i as i32 + 1)
    );

    let w = create(&app, "ada", "Steps").await;
    let mut change = step_change(&w, "empathize", StepStatus::InProgress);
    change.output = Some(output(&[("persona", "new hire")]));
    let started = app
        .workshop()
        .update_workshop_step(as_user("ada", change))
        .await
        .expect("start")
        .into_inner();
    let step = started.step.expect("step");
    assert!(step.start_time.is_some() && step.complete_time.is_none());
    assert_eq!(
        started.workshop.expect("workshop").current_step_id,
        "empathize"
    );

    // Out of order: completing `ideate` leaves the current step alone.
    let out_of_order = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "ideate", StepStatus::Complete),
        ))
        .await
        .expect("ideate")
        .into_inner();
    let workshop = out_of_order.workshop.expect("workshop");
    assert_eq!(
        (
            workshop.current_step_id.as_str(),
            workshop.completed_step_count
        ),
        ("empathize", 1)
    );

    let done = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "empathize", StepStatus::Complete),
        ))
        .await
        .expect("empathize")
        .into_inner();
    assert_eq!(done.workshop.expect("workshop").current_step_id, "define");
    let step = done.step.expect("step");
    assert!(step.complete_time.is_some());
    assert_eq!(
        step.output,
        Some(output(&[("persona", "new hire")])),
        "a status change keeps the output"
    );

    // Skipping needs confirmation, and says it was skipped.
    let mut skip = step_change(&w, "define", StepStatus::Unspecified);
    skip.skip = true;
    let error = app
        .workshop()
        .update_workshop_step(as_user("ada", skip.clone()))
        .await
        .expect_err("unconfirmed");
    assert_eq!(violated_fields(&error), ["confirm_skip"]);
    skip.confirm_skip = true;
    let skipped = app
        .workshop()
        .update_workshop_step(as_user("ada", skip))
        .await
        .expect("skip")
        .into_inner();
    let step = skipped.step.expect("step");
    assert!(step.skipped && step.status() == StepStatus::Complete);
    assert_eq!(
        skipped.workshop.expect("workshop").current_step_id,
        "prototype"
    );

    // Re-editing overwrites the output.
    let mut edit = step_change(&w, "empathize", StepStatus::Unspecified);
    edit.output = Some(output(&[("persona", "manager")]));
    let edited = app
        .workshop()
        .update_workshop_step(as_user("ada", edit))
        .await
        .expect("edit")
        .into_inner();
    assert_eq!(
        edited.step.expect("step").output,
        Some(output(&[("persona", "manager")]))
    );

    for step in [
        "prototype",
        "test",
        "prioritize",
        "architect",
        "spec",
        "story",
        "pack",
    ] {
        app.workshop()
            .update_workshop_step(as_user("ada", step_change(&w, step, StepStatus::Complete)))
            .await
            .expect("complete");
    }
    let all = app
        .workshop()
        .get_workshop(as_user("ada", GetWorkshopRequest { id: w.id.clone() }))
        .await
        .expect("get")
        .into_inner()
        .workshop
        .expect("workshop");
    assert_eq!(
        (all.current_step_id.as_str(), all.completed_step_count),
        ("", 10)
    );

    let mut too_big = step_change(&w, "ideate", StepStatus::Unspecified);
    too_big.output = Some(output(&[("text", &"x".repeat(300 * 1024))]));
    let error = app
        .workshop()
        .update_workshop_step(as_user("ada", too_big))
        .await
        .expect_err("too big");
    assert_eq!(violated_fields(&error), ["output"]);
    let error = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "nosuchstep", StepStatus::Complete),
        ))
        .await
        .expect_err("no step");
    assert_eq!(error.code(), Code::NotFound);
    let error = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "ideate", StepStatus::Unspecified),
        ))
        .await
        .expect_err("nothing");
    assert_eq!(violated_fields(&error), ["status"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_start_with_the_first_change_and_again_after_the_gap() {
    let app = TestApp::start_with(TestAppOptions {
        workshop: atelier::config::WorkshopPolicy {
            session_gap: Duration::from_millis(1500),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let w = create(&app, "ada", "Sessions").await;
    let sessions = || async {
        app.workshop()
            .list_sessions(as_user(
                "ada",
                ListSessionsRequest {
                    workshop_id: w.id.clone(),
                    page_size: 0,
                    page_token: String::new(),
                },
            ))
            .await
            .expect("sessions")
            .into_inner()
            .sessions
    };
    app.workshop()
        .get_workshop(as_user("ada", GetWorkshopRequest { id: w.id.clone() }))
        .await
        .expect("read");
    app.workshop()
        .list_workshop_steps(as_user(
            "ada",
            ListWorkshopStepsRequest {
                workshop_id: w.id.clone(),
            },
        ))
        .await
        .expect("read");
    assert!(sessions().await.is_empty(), "reading creates no session");

    let first = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "empathize", StepStatus::InProgress),
        ))
        .await
        .expect("change")
        .into_inner()
        .session
        .expect("session");
    let again = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "define", StepStatus::InProgress),
        ))
        .await
        .expect("change")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(
        first.id, again.id,
        "a change within the gap extends the session"
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let second = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "ideate", StepStatus::InProgress),
        ))
        .await
        .expect("change")
        .into_inner()
        .session
        .expect("session");
    assert_ne!(
        second.id, first.id,
        "a change after the gap starts a new session"
    );
    let listed = sessions().await;
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str(), first.id.as_str()]
    );
    assert!(
        listed[1].end_time.is_some(),
        "the old session closed at its last activity"
    );

    let end = |user: &str, id: &str| {
        as_user(
            user,
            EndSessionRequest {
                workshop_id: w.id.clone(),
                session_id: id.to_owned(),
            },
        )
    };
    add_member(&app, &w, "ada", "bob", "editor").await;
    let error = app
        .workshop()
        .end_session(end("bob", &second.id))
        .await
        .expect_err("not bob's");
    assert_eq!(error.code(), Code::PermissionDenied);
    let ended = app
        .workshop()
        .end_session(end("ada", &second.id))
        .await
        .expect("end")
        .into_inner()
        .session
        .expect("session");
    assert!(ended.end_time.is_some());
    let error = app
        .workshop()
        .end_session(end("ada", &second.id))
        .await
        .expect_err("twice");
    assert_eq!(reason(&error), "SESSION_ENDED");
    let third = app
        .workshop()
        .update_workshop_step(as_user(
            "ada",
            step_change(&w, "ideate", StepStatus::Complete),
        ))
        .await
        .expect("change")
        .into_inner()
        .session
        .expect("session");
    assert_ne!(
        third.id, second.id,
        "a change after EndSession starts a new session"
    );
}

async fn read_pack(app: &TestApp, user: &str, id: &str) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = app
        .workshop()
        .read_build_pack_content(as_user(
            user,
            ReadBuildPackContentRequest { id: id.to_owned() },
        ))
        .await?
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(message) = stream.message().await? {
        bytes.extend(message.chunk);
    }
    Ok(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn build_packs_render_in_every_format_through_the_worker() {
    use sha2::Digest as _;
    let app = TestApp::start().await;
    let w = create(&app, "ada", "Packed workshop").await;
    let mut change = step_change(&w, "empathize", StepStatus::Complete);
    change.output = Some(output(&[
        ("persona", "Night-shift nurse"),
        ("pain", "Paper charts"),
        ("quote", "Café “charts” — Ёжик, 日本語のテキスト、中文文本"),
    ]));
    app.workshop()
        .update_workshop_step(as_user("ada", change))
        .await
        .expect("output");
    let mut change = step_change(&w, "ideate", StepStatus::InProgress);
    change.output = Some(output(&[("idea", "Voice notes to chart")]));
    app.workshop()
        .update_workshop_step(as_user("ada", change))
        .await
        .expect("output");

    let mut packs = BTreeMap::new();
    for format in [
        BuildPackFormat::Markdown,
        BuildPackFormat::Json,
        BuildPackFormat::Pdf,
    ] {
        let pack = app
            .workshop()
            .create_build_pack(as_user(
                "ada",
                CreateBuildPackRequest {
                    request_id: String::new(),
                    workshop_id: w.id.clone(),
                    format: format.into(),
                },
            ))
            .await
            .expect("create pack")
            .into_inner()
            .build_pack
            .expect("pack");
        assert_eq!(pack.status(), BuildPackStatus::Pending);
        let error = read_pack(&app, "ada", &pack.id).await.expect_err("pending");
        assert_eq!(
            (error.code(), reason(&error).as_str()),
            (Code::FailedPrecondition, "BUILD_PACK_PENDING")
        );
        packs.insert(format as i32, pack.id);
    }
    let error = app
        .workshop()
        .create_build_pack(as_user(
            "ada",
            CreateBuildPackRequest {
                request_id: String::new(),
                workshop_id: w.id.clone(),
                format: 0,
            },
        ))
        .await
        .expect_err("no format");
    assert_eq!(violated_fields(&error), ["format"]);

    app.drain_outbox(1).await;
    let mut contents = BTreeMap::new();
    for (format, id) in &packs {
        let pack = app
            .workshop()
            .get_build_pack(as_user("ada", GetBuildPackRequest { id: id.clone() }))
            .await
            .expect("get")
            .into_inner()
            .build_pack
            .expect("pack");
        assert_eq!(pack.status(), BuildPackStatus::Ready, "{format}");
        let bytes = read_pack(&app, "ada", id).await.expect("read");
        assert_eq!(
            pack.sha256,
            atelier::content::hex(&sha2::Sha256::digest(&bytes))
        );
        assert_eq!(pack.size_bytes, bytes.len() as i64);
        contents.insert(*format, bytes);
    }
    let markdown =
        String::from_utf8(contents[&(BuildPackFormat::Markdown as i32)].clone()).expect("utf-8");
    assert!(markdown.starts_with("# Packed workshop\n"), "{markdown}");
    assert!(
        markdown.contains("## 1. Empathize")
            && markdown.contains("- **persona**: Night-shift nurse"),
        "{markdown}"
    );
    assert!(
        markdown.contains("- **idea**: Voice notes to chart"),
        "{markdown}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&contents[&(BuildPackFormat::Json as i32)]).expect("json");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["title"], "Packed workshop");
    assert_eq!(json["steps"][0]["id"], "empathize");
    assert_eq!(json["steps"][0]["output"]["pain"], "Paper charts");
    assert_eq!(json["steps"].as_array().map(Vec::len), Some(10));

    let pdf = &contents[&(BuildPackFormat::Pdf as i32)];
    assert!(pdf.starts_with(b"%PDF-"));
    let text = pdf_text(pdf);
    for needle in [
        "Packed workshop",
        "Night-shift nurse",
        "Paper charts",
        "Voice notes to chart",
        "Empathize",
        "Café “charts” — Ёжик, 日本語のテキスト、中文文本",
    ] {
        assert!(
            text.contains(needle),
            "{needle:?} not in the PDF's text:\n{text}"
        );
    }

    // A flipped byte in storage ends the read with DATA_LOSS.
    let markdown_id = &packs[&(BuildPackFormat::Markdown as i32)];
    let key = format!("build-packs/{}/{markdown_id}.md", w.id);
    let file = app.object_file(&key);
    let mut stored = std::fs::read(&file).expect("stored pack");
    stored[0] ^= 0x20;
    std::fs::write(&file, stored).expect("corrupt");
    let error = read_pack(&app, "ada", markdown_id)
        .await
        .expect_err("corrupted");
    assert_eq!(error.code(), Code::DataLoss);

    let listed = app
        .workshop()
        .list_build_packs(as_user(
            "ada",
            ListBuildPacksRequest {
                workshop_id: w.id.clone(),
                page_size: 2,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.build_packs.len(), 2);
    assert!(!listed.next_page_token.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_workshop_removes_its_rows_and_its_build_pack_objects() {
    let app = TestApp::start().await;
    let w = create(&app, "ada", "Doomed").await;
    add_member(&app, &w, "ada", "bob", "editor").await;
    app.workshop()
        .update_workshop_step(as_user(
            "bob",
            step_change(&w, "empathize", StepStatus::InProgress),
        ))
        .await
        .expect("step");
    for format in [BuildPackFormat::Markdown, BuildPackFormat::Pdf] {
        app.workshop()
            .create_build_pack(as_user(
                "ada",
                CreateBuildPackRequest {
                    request_id: String::new(),
                    workshop_id: w.id.clone(),
                    format: format.into(),
                },
            ))
            .await
            .expect("pack");
    }
    app.drain_outbox(1).await;
    assert_eq!(
        app.stored_objects()
            .iter()
            .filter(|k| k.starts_with("build-packs/"))
            .count(),
        2
    );

    let stale = app
        .workshop()
        .delete_workshop(as_user(
            "ada",
            DeleteWorkshopRequest {
                id: w.id.clone(),
                etag: "0".to_owned(),
            },
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    app.workshop()
        .delete_workshop(as_user(
            "ada",
            DeleteWorkshopRequest {
                id: w.id.clone(),
                etag: String::new(),
            },
        ))
        .await
        .expect("delete");
    for table in [
        "workshops",
        "workshop_members",
        "workshop_steps",
        "sessions",
        "build_packs",
    ] {
        let id_column = if table == "workshops" {
            "id"
        } else {
            "workshop_id"
        };
        let left = count(
            &app,
            &format!(
                "SELECT count(*) AS count FROM {table} WHERE {id_column} = '{}'",
                w.id
            ),
        )
        .await;
        assert_eq!(left, 0, "{table}");
    }
    app.drain_outbox(1).await;
    assert!(
        app.stored_objects()
            .iter()
            .all(|k| !k.starts_with("build-packs/")),
        "{:?}",
        app.stored_objects()
    );
    let error = app
        .workshop()
        .get_workshop(as_user("ada", GetWorkshopRequest { id: w.id.clone() }))
        .await
        .expect_err("gone");
    assert_eq!(error.code(), Code::NotFound);
}

/// The text of every page of `pdf`, as a PDF reader extracts it.
fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("a PDF lopdf can read");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    assert!(!pages.is_empty(), "the PDF has no pages");
    document.extract_text(&pages).expect("the PDF's text")
}
