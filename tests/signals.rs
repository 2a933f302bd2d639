//! The Signals service through gRPC on a real PostgreSQL: workspaces,
//! their members and projects.

use atelier::proto::signals::{
    AddWorkspaceMemberRequest, CreateProjectRequest, CreateSignalRequest, CreateWorkspaceRequest,
    DeleteProjectRequest, DeleteWorkspaceRequest, GetProjectRequest, GetWorkspaceRequest,
    LinkSignalToPersonaRequest, LinkSignalToProjectRequest, ListProjectsRequest,
    ListWorkspaceMembersRequest, ListWorkspacesRequest, Project, ProjectStatus,
    RemoveWorkspaceMemberRequest, SignalInput, Source, UpdateProjectRequest,
    UpdateWorkspaceMemberRequest, UpdateWorkspaceRequest, Workspace,
};
use tonic::Code;

use crate::common::{TestApp, as_user, count, reason, violated_fields};

async fn workspace(app: &TestApp, owner: &str, name: &str) -> Workspace {
    app.signals()
        .create_workspace(as_user(
            owner,
            CreateWorkspaceRequest {
                name: name.to_owned(),
            },
        ))
        .await
        .expect("create workspace")
        .into_inner()
        .workspace
        .expect("workspace")
}

async fn add_member(app: &TestApp, w: &Workspace, owner: &str, user: &str, role: &str) {
    app.signals()
        .add_workspace_member(as_user(
            owner,
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: w.id.clone(),
                user_id: user.to_owned(),
                role: role.to_owned(),
            },
        ))
        .await
        .expect("add member");
}

async fn project(
    app: &TestApp,
    user: &str,
    w: &Workspace,
    name: &str,
) -> Result<Project, tonic::Status> {
    app.signals()
        .create_project(as_user(
            user,
            CreateProjectRequest {
                workspace_id: w.id.clone(),
                name: name.to_owned(),
                description: "Why it matters".to_owned(),
            },
        ))
        .await
        .map(|r| r.into_inner().project.expect("project"))
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_belongs_to_its_members_only_and_its_owners_rename_it() {
    let app = TestApp::start().await;
    let w = workspace(&app, "ada", "Product").await;
    assert_eq!(w.created_by, "ada");
    add_member(&app, &w, "ada", "vic", "viewer").await;

    let mut c = app.signals();
    let read = |user: &str| as_user(user, GetWorkspaceRequest { id: w.id.clone() });
    assert_eq!(
        c.get_workspace(read("vic"))
            .await
            .expect("a viewer reads")
            .into_inner()
            .workspace,
        Some(w.clone())
    );
    let stranger = c
        .get_workspace(read("eve"))
        .await
        .expect_err("not a member");
    assert_eq!(stranger.code(), Code::NotFound, "existence is not revealed");

    // Each user lists only their own workspaces.
    workspace(&app, "eve", "Elsewhere").await;
    let mine = c
        .list_workspaces(as_user("vic", ListWorkspacesRequest::default()))
        .await
        .expect("list")
        .into_inner()
        .workspaces;
    assert_eq!(mine, std::slice::from_ref(&w));

    let rename = |user: &str, etag: &str| {
        as_user(
            user,
            UpdateWorkspaceRequest {
                workspace: Some(Workspace {
                    id: w.id.clone(),
                    name: "Product team".to_owned(),
                    etag: etag.to_owned(),
                    ..Default::default()
                }),
                update_mask: mask(&["name"]),
            },
        )
    };
    let forbidden = c
        .update_workspace(rename("vic", ""))
        .await
        .expect_err("viewer");
    assert_eq!(
        (forbidden.code(), reason(&forbidden).as_str()),
        (Code::PermissionDenied, "ROLE_FORBIDS")
    );
    let renamed = c
        .update_workspace(rename("ada", &w.etag))
        .await
        .expect("owner renames")
        .into_inner()
        .workspace
        .expect("workspace");
    assert_eq!(renamed.name, "Product team");
    assert_ne!(renamed.etag, w.etag);
    let stale = c
        .update_workspace(rename("ada", &w.etag))
        .await
        .expect_err("stale etag");
    assert_eq!(
        (stale.code(), reason(&stale).as_str()),
        (Code::FailedPrecondition, "ETAG_MISMATCH")
    );

    // Deleting takes every member, project, signal and link with it.
    let p = project(&app, "ada", &w, "Onboarding")
        .await
        .expect("project");
    let s = c
        .create_signal(as_user(
            "ada",
            CreateSignalRequest {
                workspace_id: w.id.clone(),
                signal: Some(SignalInput {
                    verbatim: "Onboarding takes a week".to_owned(),
                    source: Source::Interview.into(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("signal")
        .into_inner()
        .signal
        .expect("signal");
    c.link_signal_to_project(as_user(
        "ada",
        LinkSignalToProjectRequest {
            signal_id: s.id.clone(),
            project_id: p.id.clone(),
            link_reason: String::new(),
            confidence: None,
        },
    ))
    .await
    .expect("project link");
    c.link_signal_to_persona(as_user(
        "ada",
        LinkSignalToPersonaRequest {
            signal_id: s.id.clone(),
            persona_id: "new-hire".to_owned(),
            link_reason: String::new(),
            confidence: None,
        },
    ))
    .await
    .expect("persona link");
    c.delete_workspace(as_user(
        "ada",
        DeleteWorkspaceRequest {
            id: w.id.clone(),
            etag: renamed.etag.clone(),
        },
    ))
    .await
    .expect("delete");
    for (table, column) in [
        ("workspaces", "id"),
        ("workspace_members", "workspace_id"),
        ("projects", "workspace_id"),
        ("signals", "workspace_id"),
        ("signal_projects", "workspace_id"),
        ("signal_personas", "workspace_id"),
    ] {
        let sql = format!(
            "SELECT count(*) AS count FROM {table} WHERE {column} = '{}'",
            w.id
        );
        assert_eq!(count(&app, &sql).await, 0, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_owner_can_neither_leave_nor_be_demoted_but_others_may_leave() {
    let app = TestApp::start().await;
    let w = workspace(&app, "ada", "Product").await;
    add_member(&app, &w, "ada", "ed", "editor").await;
    let mut c = app.signals();

    let demote = c
        .update_workspace_member(as_user(
            "ada",
            UpdateWorkspaceMemberRequest {
                etag: String::new(),
                workspace_id: w.id.clone(),
                user_id: "ada".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect_err("last owner");
    assert_eq!(reason(&demote), "LAST_OWNER");
    let leave = |user: &str, who: &str| {
        as_user(
            user,
            RemoveWorkspaceMemberRequest {
                etag: String::new(),
                workspace_id: w.id.clone(),
                user_id: who.to_owned(),
            },
        )
    };
    let left = c
        .remove_workspace_member(leave("ada", "ada"))
        .await
        .expect_err("last owner");
    assert_eq!(
        (left.code(), reason(&left).as_str()),
        (Code::FailedPrecondition, "LAST_OWNER")
    );
    let twice = c
        .add_workspace_member(as_user(
            "ada",
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: w.id.clone(),
                user_id: "ed".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect_err("already a member");
    assert_eq!(
        (twice.code(), reason(&twice).as_str()),
        (Code::AlreadyExists, "MEMBER_EXISTS")
    );
    let removes_other = c
        .remove_workspace_member(leave("ed", "ada"))
        .await
        .expect_err("editor");
    assert_eq!(removes_other.code(), Code::PermissionDenied);
    c.remove_workspace_member(leave("ed", "ed"))
        .await
        .expect("anyone may leave");

    let members = c
        .list_workspace_members(as_user(
            "ada",
            ListWorkspaceMembersRequest {
                workspace_id: w.id.clone(),
                page_size: 0,
                page_token: String::new(),
            },
        ))
        .await
        .expect("members")
        .into_inner()
        .members;
    let users: Vec<_> = members
        .iter()
        .map(|m| (m.user_id.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(users, [("ada", "owner")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn projects_have_unique_names_per_workspace_and_editors_write_them() {
    let app = TestApp::start().await;
    let w = workspace(&app, "ada", "Product").await;
    let other = workspace(&app, "ada", "Other").await;
    add_member(&app, &w, "ada", "ed", "editor").await;
    add_member(&app, &w, "ada", "vic", "viewer").await;

    let p = project(&app, "ed", &w, "Onboarding")
        .await
        .expect("an editor creates");
    assert_eq!(p.status, i32::from(ProjectStatus::Active));
    assert_eq!(p.signal_count, 0);
    let taken = project(&app, "ada", &w, "Onboarding")
        .await
        .expect_err("same name");
    assert_eq!(
        (taken.code(), reason(&taken).as_str()),
        (Code::AlreadyExists, "PROJECT_NAME_TAKEN")
    );
    project(&app, "ada", &other, "Onboarding")
        .await
        .expect("the same name in another workspace");
    let viewer = project(&app, "vic", &w, "Billing")
        .await
        .expect_err("a viewer");
    assert_eq!(viewer.code(), Code::PermissionDenied);
    let stranger = project(&app, "eve", &w, "Billing")
        .await
        .expect_err("not a member");
    assert_eq!(stranger.code(), Code::NotFound);

    let mut c = app.signals();
    let hidden = c
        .get_project(as_user("eve", GetProjectRequest { id: p.id.clone() }))
        .await
        .expect_err("not a member");
    assert_eq!(hidden.code(), Code::NotFound);
    assert!(hidden.message().contains("project"), "{}", hidden.message());

    // Archive it, then list by status, one per page.
    let archived = c
        .update_project(as_user(
            "ed",
            UpdateProjectRequest {
                project: Some(Project {
                    id: p.id.clone(),
                    etag: p.etag.clone(),
                    status: ProjectStatus::Archived.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["status"]),
            },
        ))
        .await
        .expect("archive")
        .into_inner()
        .project
        .expect("project");
    assert_eq!(archived.status, i32::from(ProjectStatus::Archived));
    assert_eq!(archived.name, "Onboarding", "unmasked fields stay");
    project(&app, "ed", &w, "Billing").await.expect("second");
    project(&app, "ed", &w, "Search").await.expect("third");
    let list = |status: ProjectStatus, page_token: String| {
        as_user(
            "vic",
            ListProjectsRequest {
                workspace_id: w.id.clone(),
                status: status.into(),
                page_size: 1,
                page_token,
            },
        )
    };
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_projects(list(ProjectStatus::Active, token))
            .await
            .expect("page")
            .into_inner();
        names.extend(page.projects.into_iter().map(|p| p.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, ["Search", "Billing"], "active ones, newest first");

    let bad = c
        .update_project(as_user(
            "ed",
            UpdateProjectRequest {
                project: Some(Project {
                    id: p.id.clone(),
                    name: String::new(),
                    ..Default::default()
                }),
                update_mask: mask(&["name", "signal_count"]),
            },
        ))
        .await
        .expect_err("bad update");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&bad), ["project.name", "update_mask"]);

    c.delete_project(as_user(
        "ed",
        DeleteProjectRequest {
            id: p.id.clone(),
            etag: archived.etag.clone(),
        },
    ))
    .await
    .expect("delete");
    let gone = c
        .get_project(as_user("ada", GetProjectRequest { id: p.id.clone() }))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_workspace_input_is_invalid_argument_naming_each_field() {
    let app = TestApp::start().await;
    let mut c = app.signals();
    for (name, problem) in [
        ("", "is required"),
        ("a\0b", "NUL"),
        (&"n".repeat(201), "at most 200"),
    ] {
        let status = c
            .create_workspace(as_user(
                "ada",
                CreateWorkspaceRequest {
                    name: name.to_owned(),
                },
            ))
            .await
            .expect_err("bad name");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["name"]);
        assert!(status.message().contains(problem), "{}", status.message());
    }
    let w = workspace(&app, "ada", "Product").await;
    let status = c
        .add_workspace_member(as_user(
            "ada",
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: "not-a-uuid".to_owned(),
                user_id: String::new(),
                role: "Owner".to_owned(),
            },
        ))
        .await
        .expect_err("bad member");
    assert_eq!(
        violated_fields(&status),
        ["workspace_id", "user_id", "role"]
    );
    let status = c
        .update_workspace(as_user(
            "ada",
            UpdateWorkspaceRequest {
                workspace: Some(Workspace {
                    id: w.id.clone(),
                    name: "x".to_owned(),
                    ..Default::default()
                }),
                update_mask: mask(&["created_by"]),
            },
        ))
        .await
        .expect_err("bad mask");
    assert_eq!(violated_fields(&status), ["update_mask"]);
}
