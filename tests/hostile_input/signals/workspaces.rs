//! The Signals cases of workspaces and their members.

use super::*;

pub(super) async fn sweep_workspaces(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let workspace_id = sfx.workspace.id.clone();

    // CreateWorkspace, as Dora, whose workspaces nothing else uses.
    let mut cases = Cases::new(
        Who::User(DORA),
        sg::CreateWorkspaceRequest {
            name: "Hostile workspace".to_owned(),
        },
    );
    texts_by(&mut cases, "name", Rule::Required(200), |m, t| m.name = t);
    cases.refused("name: 5 MB (over the decoding limit)", |m| {
        m.name = "n".repeat(5 * 1024 * 1024);
    });
    sweep_unary!(
        sweep,
        SIGNALS,
        "CreateWorkspace",
        client,
        create_workspace,
        cases.into_cases()
    );

    // GetWorkspace.
    let mut cases = Cases::new(
        alice,
        sg::GetWorkspaceRequest {
            id: workspace_id.clone(),
        },
    );
    cases
        .ids("id", &workspace_id, |m, id| m.id = id)
        .refused("a project id", |m| m.id = sfx.project.id.clone())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "GetWorkspace",
        client,
        get_workspace,
        cases.into_cases()
    );

    // ListWorkspaces.
    let mut cases = Cases::new(alice, sg::ListWorkspacesRequest::default());
    pages_of(
        &mut cases,
        "ListWorkspaces",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    texts_by(&mut cases, "role", Rule::Role, |m, t| m.role = t);
    let workspaces_token = token_of(sfx, "ListWorkspaces");
    cases
        .refused("role: OWNER", |m| m.role = "OWNER".to_owned())
        .case("role: owner", |m| m.role = "owner".to_owned())
        .case("role: an unheard-of role", |m| {
            m.role = "guest_2".to_owned()
        })
        .refused("page_token: ListWorkspaces token with a role", |m| {
            m.role = "owner".to_owned();
            m.page_token = workspaces_token.clone();
        })
        .refused_as(
            Who::User(BOB),
            "page_token: Alice's ListWorkspaces token as Bob",
            |m| m.page_token = workspaces_token.clone(),
        );
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListWorkspaces",
        client,
        list_workspaces,
        cases.into_cases()
    );

    // UpdateWorkspace: renames the listing workspace.
    let mut cases = Cases::new(
        alice,
        sg::UpdateWorkspaceRequest {
            workspace: Some(sg::Workspace {
                id: workspace_id.clone(),
                name: "Sweep signals, renamed".to_owned(),
                ..Default::default()
            }),
            update_mask: mask(&["name"]),
        },
    );
    fn workspace_of(m: &mut sg::UpdateWorkspaceRequest) -> &mut sg::Workspace {
        m.workspace.get_or_insert_with(Default::default)
    }
    cases.ids("workspace.id", &workspace_id, |m, id| {
        workspace_of(m).id = id
    });
    texts_by(&mut cases, "workspace.name", Rule::Required(200), |m, t| {
        workspace_of(m).name = t
    });
    cases
        .refused("no workspace", |m| m.workspace = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .etags(|m, e| workspace_of(m).etag = e)
        .refused_as(Who::User(BOB), "as an editor", |_| {})
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .case("output-only fields set to absurd values", |m| {
            let w = workspace_of(m);
            w.created_by = "\0".to_owned();
            w.embedding_dimension = -1;
            w.create_time = Some(prost_types::Timestamp {
                seconds: i64::MIN,
                nanos: i32::MIN,
            });
            w.update_time = Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: i32::MAX,
            });
        });
    for (label, paths, refuse) in hostile_masks("name") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        SIGNALS,
        "UpdateWorkspace",
        client,
        update_workspace,
        cases.into_cases()
    );

    // DeleteWorkspace: the base etag is stale, so nothing is deleted.
    let mut cases = Cases::new(
        alice,
        sg::DeleteWorkspaceRequest {
            id: workspace_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &workspace_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as an editor, no etag", |m| m.etag.clear())
        .refused_as(Who::User(VIEWER), "as a viewer, no etag", |m| {
            m.etag.clear()
        })
        .refused_as(Who::User(OUTSIDER), "as a non-member, no etag", |m| {
            m.etag.clear()
        });
    sweep_unary!(
        sweep,
        SIGNALS,
        "DeleteWorkspace",
        client,
        delete_workspace,
        cases.into_cases()
    );
}

pub(super) async fn sweep_members(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let workspace_id = sfx.workspace.id.clone();

    // AddWorkspaceMember: hostile but valid user ids become viewers.
    let mut cases = Cases::new(
        alice,
        sg::AddWorkspaceMemberRequest {
            request_id: String::new(),
            workspace_id: workspace_id.clone(),
            user_id: "sweep-dave".to_owned(),
            role: "viewer".to_owned(),
        },
    );
    cases.ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id);
    texts_by(&mut cases, "user_id", Rule::UserId, |m, t| m.user_id = t);
    texts_by(&mut cases, "role", Rule::Role, |m, t| m.role = t);
    cases
        .refused("role: OWNER", |m| m.role = "OWNER".to_owned())
        .refused("role: empty", |m| m.role.clear())
        .refused("user_id: empty", |m| m.user_id.clear())
        .refused("an existing member", |m| m.user_id = BOB.to_owned())
        .refused_as(Who::User(BOB), "as an editor", |m| {
            m.user_id = "sweep-bobs-friend".to_owned();
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |m| {
            m.user_id = "sweep-veras-friend".to_owned();
        })
        .refused_as(Who::User(OUTSIDER), "as a non-member", |m| {
            m.user_id = OUTSIDER.to_owned();
            m.role = "owner".to_owned();
        });
    // Each case that does not test the user id adds its own, so an
    // accepted one does not turn the later ones into MEMBER_EXISTS.
    let mut list = cases.into_cases();
    for (index, case) in list.iter_mut().enumerate() {
        if case.message.user_id == "sweep-dave" {
            case.message.user_id = format!("sweep-dave-{index}");
        }
    }
    sweep_unary!(
        sweep,
        SIGNALS,
        "AddWorkspaceMember",
        client,
        add_workspace_member,
        list
    );

    // UpdateWorkspaceMember: Erin stays a viewer.
    let mut cases = Cases::new(
        alice,
        sg::UpdateWorkspaceMemberRequest {
            etag: String::new(),
            workspace_id: workspace_id.clone(),
            user_id: ERIN.to_owned(),
            role: "viewer".to_owned(),
        },
    );
    cases.ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id);
    texts_by(&mut cases, "user_id", Rule::UserId, |m, t| m.user_id = t);
    texts_by(&mut cases, "role", Rule::Role, |m, t| m.role = t);
    cases
        .refused("role: OWNER", |m| m.role = "OWNER".to_owned())
        .refused("role: empty", |m| m.role.clear())
        .refused("a non-member", |m| m.user_id = "sweep-nobody".to_owned())
        .refused("demote the last owner", |m| m.user_id = ALICE.to_owned())
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as an editor, promoting himself", |m| {
            m.user_id = BOB.to_owned();
            m.role = "owner".to_owned();
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "UpdateWorkspaceMember",
        client,
        update_workspace_member,
        cases.into_cases()
    );

    // RemoveWorkspaceMember: the base names no member.
    let mut cases = Cases::new(
        alice,
        sg::RemoveWorkspaceMemberRequest {
            etag: String::new(),
            workspace_id: workspace_id.clone(),
            user_id: "sweep-nobody".to_owned(),
        },
    );
    cases.ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id);
    texts_by(&mut cases, "user_id", Rule::UserId, |m, t| m.user_id = t);
    cases
        .refused("the last owner leaves", |m| m.user_id = ALICE.to_owned())
        .refused_as(Who::User(BOB), "an editor removes the owner", |m| {
            m.user_id = ALICE.to_owned();
        })
        .refused_as(Who::User(VIEWER), "a viewer removes an editor", |m| {
            m.user_id = BOB.to_owned();
        })
        .refused_as(Who::User(OUTSIDER), "a non-member removes a viewer", |m| {
            m.user_id = VIEWER.to_owned();
        });
    sweep_unary!(
        sweep,
        SIGNALS,
        "RemoveWorkspaceMember",
        client,
        remove_workspace_member,
        cases.into_cases()
    );

    // ListWorkspaceMembers.
    let mut cases = Cases::new(
        alice,
        sg::ListWorkspaceMembersRequest {
            workspace_id: workspace_id.clone(),
            ..Default::default()
        },
    );
    cases.ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id);
    pages_of(
        &mut cases,
        "ListWorkspaceMembers",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    let members_token = token_of(sfx, "ListWorkspaceMembers");
    cases
        .refused(
            "page_token: ListWorkspaceMembers token of another workspace",
            |m| {
                m.workspace_id = sfx.ingest.id.clone();
                m.page_token = members_token;
            },
        )
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListWorkspaceMembers",
        client,
        list_workspace_members,
        cases.into_cases()
    );
}
