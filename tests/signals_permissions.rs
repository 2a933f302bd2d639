//! The permission matrix of every Signals RPC: owner, editor, viewer and a
//! non-member, each against a fresh workspace (some calls delete things).

use atelier::proto::signals::signals_client::SignalsClient;
use atelier::proto::signals::*;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{TestApp, as_user};

/// A workspace with an owner, an editor and a viewer, a project, and a
/// signal linked to the project and to a persona.
struct Fixture {
    workspace: String,
    project: String,
    signal: String,
}

const OWNER: &str = "own";

async fn fixture(c: &mut SignalsClient<Channel>) -> Fixture {
    let workspace = c
        .create_workspace(as_user(
            OWNER,
            CreateWorkspaceRequest {
                name: "Matrix".to_owned(),
            },
        ))
        .await
        .expect("workspace")
        .into_inner()
        .workspace
        .expect("workspace")
        .id;
    for (user, role) in [("ed", "editor"), ("vic", "viewer")] {
        c.add_workspace_member(as_user(
            OWNER,
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: workspace.clone(),
                user_id: user.to_owned(),
                role: role.to_owned(),
            },
        ))
        .await
        .expect("member");
    }
    let project = c
        .create_project(as_user(
            OWNER,
            CreateProjectRequest {
                workspace_id: workspace.clone(),
                name: "P".to_owned(),
                description: String::new(),
            },
        ))
        .await
        .expect("project")
        .into_inner()
        .project
        .expect("project")
        .id;
    let signal = c
        .create_signal(as_user(
            OWNER,
            CreateSignalRequest {
                workspace_id: workspace.clone(),
                signal: Some(SignalInput {
                    verbatim: "words".to_owned(),
                    source: Source::Paste.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("signal")
        .into_inner()
        .signal
        .expect("signal")
        .id;
    c.link_signal_to_project(as_user(
        OWNER,
        LinkSignalToProjectRequest {
            signal_id: signal.clone(),
            project_id: project.clone(),
            link_reason: String::new(),
            confidence: None,
        },
    ))
    .await
    .expect("link");
    c.link_signal_to_persona(as_user(
        OWNER,
        LinkSignalToPersonaRequest {
            signal_id: signal.clone(),
            persona_id: "persona".to_owned(),
            link_reason: String::new(),
            confidence: None,
        },
    ))
    .await
    .expect("persona link");
    Fixture {
        workspace,
        project,
        signal,
    }
}

/// The power an RPC needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Needs {
    Read,
    Edit,
    Own,
}

fn mask(path: &str) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: vec![path.to_owned()],
    })
}

/// Calls `rpc` as `user` against `f`.
async fn call(
    c: &mut SignalsClient<Channel>,
    rpc: &str,
    user: &str,
    f: &Fixture,
) -> Result<(), tonic::Status> {
    let (w, p, s) = (f.workspace.clone(), f.project.clone(), f.signal.clone());
    match rpc {
        "GetWorkspace" => c
            .get_workspace(as_user(user, GetWorkspaceRequest { id: w }))
            .await
            .map(drop),
        "ListWorkspaceMembers" => c
            .list_workspace_members(as_user(
                user,
                ListWorkspaceMembersRequest {
                    workspace_id: w,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        "GetProject" => c
            .get_project(as_user(user, GetProjectRequest { id: p }))
            .await
            .map(drop),
        "ListProjects" => c
            .list_projects(as_user(
                user,
                ListProjectsRequest {
                    workspace_id: w,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        "GetSignal" => c
            .get_signal(as_user(user, GetSignalRequest { id: s }))
            .await
            .map(drop),
        "ListSignals" => c
            .list_signals(as_user(
                user,
                ListSignalsRequest {
                    workspace_id: w,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        "ListSignalLinks" => c
            .list_signal_links(as_user(user, ListSignalLinksRequest { signal_id: s }))
            .await
            .map(drop),
        "ListProjectSignals" => c
            .list_project_signals(as_user(
                user,
                ListProjectSignalsRequest {
                    project_id: p,
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        "ListPersonaSignals" => c
            .list_persona_signals(as_user(
                user,
                ListPersonaSignalsRequest {
                    workspace_id: w,
                    persona_id: "persona".to_owned(),
                    ..Default::default()
                },
            ))
            .await
            .map(drop),
        "CreateProject" => c
            .create_project(as_user(
                user,
                CreateProjectRequest {
                    workspace_id: w,
                    name: "Q".to_owned(),
                    description: String::new(),
                },
            ))
            .await
            .map(drop),
        "UpdateProject" => c
            .update_project(as_user(
                user,
                UpdateProjectRequest {
                    project: Some(Project {
                        id: p,
                        name: "R".to_owned(),
                        ..Default::default()
                    }),
                    update_mask: mask("name"),
                },
            ))
            .await
            .map(drop),
        "DeleteProject" => c
            .delete_project(as_user(
                user,
                DeleteProjectRequest {
                    id: p,
                    etag: String::new(),
                },
            ))
            .await
            .map(drop),
        "CreateSignal" | "BatchCreateSignals" => {
            let input = SignalInput {
                verbatim: "more".to_owned(),
                source: Source::Email.into(),
                ..Default::default()
            };
            if rpc == "CreateSignal" {
                c.create_signal(as_user(
                    user,
                    CreateSignalRequest {
                        workspace_id: w,
                        signal: Some(input),
                    },
                ))
                .await
                .map(drop)
            } else {
                c.batch_create_signals(as_user(
                    user,
                    BatchCreateSignalsRequest {
                        workspace_id: w,
                        signals: vec![input],
                    },
                ))
                .await
                .map(drop)
            }
        }
        "UpdateSignal" => c
            .update_signal(as_user(
                user,
                UpdateSignalRequest {
                    signal: Some(Signal {
                        id: s,
                        interpretation: "means".to_owned(),
                        ..Default::default()
                    }),
                    update_mask: mask("interpretation"),
                },
            ))
            .await
            .map(drop),
        "DeleteSignal" => c
            .delete_signal(as_user(
                user,
                DeleteSignalRequest {
                    id: s,
                    etag: String::new(),
                },
            ))
            .await
            .map(drop),
        "LinkSignalToProject" => c
            .link_signal_to_project(as_user(
                user,
                LinkSignalToProjectRequest {
                    signal_id: s,
                    project_id: p,
                    link_reason: "again".to_owned(),
                    confidence: None,
                },
            ))
            .await
            .map(drop),
        "UnlinkSignalFromProject" => c
            .unlink_signal_from_project(as_user(
                user,
                UnlinkSignalFromProjectRequest {
                    signal_id: s,
                    project_id: p,
                },
            ))
            .await
            .map(drop),
        "LinkSignalToPersona" => c
            .link_signal_to_persona(as_user(
                user,
                LinkSignalToPersonaRequest {
                    signal_id: s,
                    persona_id: "other".to_owned(),
                    link_reason: String::new(),
                    confidence: None,
                },
            ))
            .await
            .map(drop),
        "UnlinkSignalFromPersona" => c
            .unlink_signal_from_persona(as_user(
                user,
                UnlinkSignalFromPersonaRequest {
                    signal_id: s,
                    persona_id: "persona".to_owned(),
                },
            ))
            .await
            .map(drop),
        "UpdateWorkspace" => c
            .update_workspace(as_user(
                user,
                UpdateWorkspaceRequest {
                    workspace: Some(Workspace {
                        id: w,
                        name: "Renamed".to_owned(),
                        ..Default::default()
                    }),
                    update_mask: mask("name"),
                },
            ))
            .await
            .map(drop),
        "DeleteWorkspace" => c
            .delete_workspace(as_user(
                user,
                DeleteWorkspaceRequest {
                    id: w,
                    etag: String::new(),
                },
            ))
            .await
            .map(drop),
        "AddWorkspaceMember" => c
            .add_workspace_member(as_user(
                user,
                AddWorkspaceMemberRequest {
                    request_id: String::new(),
                    workspace_id: w,
                    user_id: "newcomer".to_owned(),
                    role: "viewer".to_owned(),
                },
            ))
            .await
            .map(drop),
        "UpdateWorkspaceMember" => c
            .update_workspace_member(as_user(
                user,
                UpdateWorkspaceMemberRequest {
                    etag: String::new(),
                    workspace_id: w,
                    user_id: "vic".to_owned(),
                    role: "editor".to_owned(),
                },
            ))
            .await
            .map(drop),
        "RemoveWorkspaceMember" => c
            .remove_workspace_member(as_user(
                user,
                RemoveWorkspaceMemberRequest {
                    etag: String::new(),
                    workspace_id: w,
                    user_id: if user == "vic" { "ed" } else { "vic" }.to_owned(),
                },
            ))
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_permission_matrix_holds_for_every_workspace_rpc() {
    let app = TestApp::start().await;
    let mut c = app.signals();
    let rpcs = [
        ("GetWorkspace", Needs::Read),
        ("ListWorkspaceMembers", Needs::Read),
        ("GetProject", Needs::Read),
        ("ListProjects", Needs::Read),
        ("GetSignal", Needs::Read),
        ("ListSignals", Needs::Read),
        ("ListSignalLinks", Needs::Read),
        ("ListProjectSignals", Needs::Read),
        ("ListPersonaSignals", Needs::Read),
        ("CreateProject", Needs::Edit),
        ("UpdateProject", Needs::Edit),
        ("DeleteProject", Needs::Edit),
        ("CreateSignal", Needs::Edit),
        ("BatchCreateSignals", Needs::Edit),
        ("UpdateSignal", Needs::Edit),
        ("DeleteSignal", Needs::Edit),
        ("LinkSignalToProject", Needs::Edit),
        ("UnlinkSignalFromProject", Needs::Edit),
        ("LinkSignalToPersona", Needs::Edit),
        ("UnlinkSignalFromPersona", Needs::Edit),
        ("UpdateWorkspace", Needs::Own),
        ("DeleteWorkspace", Needs::Own),
        ("AddWorkspaceMember", Needs::Own),
        ("UpdateWorkspaceMember", Needs::Own),
        ("RemoveWorkspaceMember", Needs::Own),
    ];
    let users = [
        (OWNER, Needs::Own),
        ("ed", Needs::Edit),
        ("vic", Needs::Read),
    ];
    let mut wrong = Vec::new();
    for (rpc, needs) in rpcs {
        for (user, has) in users {
            let f = fixture(&mut c).await;
            let rank = |n: Needs| match n {
                Needs::Read => 0,
                Needs::Edit => 1,
                Needs::Own => 2,
            };
            let outcome = call(&mut c, rpc, user, &f).await.map_err(|s| s.code());
            let expected = if rank(has) >= rank(needs) {
                Ok(())
            } else {
                Err(Code::PermissionDenied)
            };
            if outcome != expected {
                wrong.push(format!(
                    "{rpc} as {user}: {outcome:?}, expected {expected:?}"
                ));
            }
        }
        let f = fixture(&mut c).await;
        let outcome = call(&mut c, rpc, "eve", &f).await.map_err(|s| s.code());
        if outcome != Err(Code::NotFound) {
            wrong.push(format!(
                "{rpc} as a non-member: {outcome:?}, expected NOT_FOUND"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Any user may create a workspace and list their own.
    c.create_workspace(as_user(
        "eve",
        CreateWorkspaceRequest {
            name: "Mine".to_owned(),
        },
    ))
    .await
    .expect("anyone creates");
    let mine = c
        .list_workspaces(as_user("eve", ListWorkspacesRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .workspaces;
    assert_eq!(mine.len(), 1);
}
