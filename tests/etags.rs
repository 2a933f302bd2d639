//! Lost updates cannot happen where two people edit the same thing: a step's
//! output and a member's role carry etags, a write with a stale one changes
//! nothing (FAILED_PRECONDITION, `ETAG_MISMATCH`), and a write without one
//! still works as before.

use atelier::proto::signals::{
    AddWorkspaceMemberRequest, CreateWorkspaceRequest, RemoveWorkspaceMemberRequest,
    UpdateWorkspaceMemberRequest,
};
use atelier::proto::workshop::{
    AddMemberRequest, CreateWorkshopRequest, GetWorkshopStepRequest, RemoveMemberRequest,
    StepStatus, UpdateMemberRequest, UpdateWorkshopStepRequest, WorkshopInfo, WorkshopStep,
};
use prost_types::value::Kind;
use tonic::Code;

use crate::common::{TestApp, as_user, reason};

async fn workshop_with_editors(app: &TestApp) -> WorkshopInfo {
    let workshop = app
        .workshop()
        .create_workshop(as_user(
            "ada",
            CreateWorkshopRequest {
                title: "Shared edits".to_owned(),
                original_idea: "Two editors, one step".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("workshop")
        .into_inner()
        .workshop
        .expect("workshop");
    for editor in ["bob", "cy"] {
        app.workshop()
            .add_member(as_user(
                "ada",
                AddMemberRequest {
                    request_id: String::new(),
                    workshop_id: workshop.id.clone(),
                    user_id: editor.to_owned(),
                    role: "editor".to_owned(),
                },
            ))
            .await
            .expect("editor");
    }
    workshop
}

fn note(text: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "note".to_owned(),
            prost_types::Value {
                kind: Some(Kind::StringValue(text.to_owned())),
            },
        )]
        .into(),
    }
}

async fn read_step(app: &TestApp, user: &str, w: &WorkshopInfo) -> WorkshopStep {
    app.workshop()
        .get_workshop_step(as_user(
            user,
            GetWorkshopStepRequest {
                workshop_id: w.id.clone(),
                step_id: "ideate".to_owned(),
            },
        ))
        .await
        .expect("step")
        .into_inner()
        .step
        .expect("step")
}

async fn write_step(
    app: &TestApp,
    user: &str,
    w: &WorkshopInfo,
    text: &str,
    etag: &str,
) -> Result<WorkshopStep, tonic::Status> {
    app.workshop()
        .update_workshop_step(as_user(
            user,
            UpdateWorkshopStepRequest {
                workshop_id: w.id.clone(),
                step_id: "ideate".to_owned(),
                status: StepStatus::InProgress.into(),
                output: Some(note(text)),
                etag: etag.to_owned(),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().step.expect("step"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_written_with_a_stale_etag_keeps_the_other_editors_output() {
    let app = TestApp::start().await;
    let w = workshop_with_editors(&app).await;
    let bob_read = read_step(&app, "bob", &w).await;
    let cy_read = read_step(&app, "cy", &w).await;
    assert!(!bob_read.etag.is_empty());
    assert_eq!(bob_read.etag, cy_read.etag);

    let bob_wrote = write_step(&app, "bob", &w, "Bob's ideas", &bob_read.etag)
        .await
        .expect("the first write");
    assert_ne!(bob_wrote.etag, bob_read.etag, "a change moves the etag");
    let stale = write_step(&app, "cy", &w, "Cy's ideas", &cy_read.etag)
        .await
        .expect_err("the second write read a step that has changed");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    let now = read_step(&app, "cy", &w).await;
    assert_eq!(now.output, Some(note("Bob's ideas")), "nothing was lost");
    assert_eq!(now.etag, bob_wrote.etag);

    // Read again, Cy's write goes through; without an etag it always does.
    let cy_wrote = write_step(&app, "cy", &w, "Cy's ideas", &now.etag)
        .await
        .expect("with the fresh etag");
    let blind = write_step(&app, "bob", &w, "Bob again", "")
        .await
        .expect("no etag: last write wins, as before");
    assert_ne!(blind.etag, cy_wrote.etag);
    // Two writes in quick succession never share an etag.
    let mut etags = std::collections::BTreeSet::new();
    for i in 0..20 {
        let step = write_step(&app, "bob", &w, &format!("burst {i}"), "")
            .await
            .expect("write");
        assert!(etags.insert(step.etag), "write {i} repeated an etag");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workshop_member_changed_or_removed_with_a_stale_etag_stays_as_it_is() {
    let app = TestApp::start().await;
    let w = workshop_with_editors(&app).await;
    let update = |role: &str, etag: &str| UpdateMemberRequest {
        workshop_id: w.id.clone(),
        user_id: "bob".to_owned(),
        role: role.to_owned(),
        etag: etag.to_owned(),
    };
    let viewer = app
        .workshop()
        .update_member(as_user("ada", update("viewer", "")))
        .await
        .expect("no etag")
        .into_inner()
        .member
        .expect("member");
    assert!(!viewer.etag.is_empty());
    let owner = app
        .workshop()
        .update_member(as_user("ada", update("owner", &viewer.etag)))
        .await
        .expect("fresh etag")
        .into_inner()
        .member
        .expect("member");
    assert_ne!(owner.etag, viewer.etag);
    let stale = app
        .workshop()
        .update_member(as_user("ada", update("viewer", &viewer.etag)))
        .await
        .expect_err("stale etag");
    assert_eq!(
        (stale.code(), reason(&stale)),
        (Code::FailedPrecondition, "ETAG_MISMATCH".to_owned())
    );
    let remove = |etag: &str| RemoveMemberRequest {
        workshop_id: w.id.clone(),
        user_id: "bob".to_owned(),
        etag: etag.to_owned(),
    };
    let stale = app
        .workshop()
        .remove_member(as_user("ada", remove(&viewer.etag)))
        .await
        .expect_err("stale etag");
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    app.workshop()
        .remove_member(as_user("ada", remove(&owner.etag)))
        .await
        .expect("fresh etag");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_workspace_member_changed_or_removed_with_a_stale_etag_stays_as_it_is() {
    let app = TestApp::start().await;
    let workspace = app
        .signals()
        .create_workspace(as_user(
            "ada",
            CreateWorkspaceRequest {
                name: "Etags".to_owned(),
            },
        ))
        .await
        .expect("workspace")
        .into_inner()
        .workspace
        .expect("workspace");
    let added = app
        .signals()
        .add_workspace_member(as_user(
            "ada",
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: workspace.id.clone(),
                user_id: "bob".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect("member")
        .into_inner()
        .member
        .expect("member");
    let update = |role: &str, etag: &str| UpdateWorkspaceMemberRequest {
        workspace_id: workspace.id.clone(),
        user_id: "bob".to_owned(),
        role: role.to_owned(),
        etag: etag.to_owned(),
    };
    let editor = app
        .signals()
        .update_workspace_member(as_user("ada", update("editor", &added.etag)))
        .await
        .expect("fresh etag")
        .into_inner()
        .member
        .expect("member");
    let stale = app
        .signals()
        .update_workspace_member(as_user("ada", update("viewer", &added.etag)))
        .await
        .expect_err("stale etag");
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    let stale = app
        .signals()
        .remove_workspace_member(as_user(
            "ada",
            RemoveWorkspaceMemberRequest {
                workspace_id: workspace.id.clone(),
                user_id: "bob".to_owned(),
                etag: added.etag.clone(),
            },
        ))
        .await
        .expect_err("stale etag");
    assert_eq!(reason(&stale), "ETAG_MISMATCH");
    app.signals()
        .remove_workspace_member(as_user(
            "ada",
            RemoveWorkspaceMemberRequest {
                workspace_id: workspace.id.clone(),
                user_id: "bob".to_owned(),
                etag: editor.etag,
            },
        ))
        .await
        .expect("fresh etag");
}
