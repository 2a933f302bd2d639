//! The Signals cases: every RPC of `atelier.signals.v1.Signals`.
//!
//! Unlike SkillRegistry and Workshop, Signals fields have limits of their
//! own (a verbatim takes 20,000 characters, a user segment 200), so each
//! text field is judged by its own rule ([`Rule`], from the proto comments)
//! rather than by `invalid_anywhere`.
//!
//! The sweep builds its own fixtures ([`Sfx`]): a listing workspace whose
//! signals, projects, members and links only the Get and List RPCs read
//! (so its pages stay small and its tokens valid), an ingest workspace
//! where the writes land (accepted hostile signals, huge metadata), another
//! workspace for cross-workspace cases, and two without embeddings.

use atelier::proto::signals as sg;

use super::*;

mod links;
mod projects;
mod signal_reads;
mod signal_writes;
mod values;
mod workspaces;

use self::links::sweep_links;
use self::projects::sweep_projects;
use self::signal_reads::sweep_signal_reads;
use self::signal_writes::sweep_signal_writes;
use self::values::*;
use self::workspaces::{sweep_members, sweep_workspaces};

/// A viewer of the listing and ingest workspaces (reads, never writes).
const VIEWER: &str = "sweep-vera";
/// A viewer whose role the UpdateWorkspaceMember sweep sets.
const ERIN: &str = "sweep-erin";
/// A member of no workspace at all.
const OUTSIDER: &str = "sweep-mallory";
/// Creates the workspaces of the CreateWorkspace sweep.
const DORA: &str = "sweep-dora";
/// The persona the fixture signals are linked to.
const PERSONA: &str = "sweep-persona";
/// The persona the LinkSignalToPersona sweep links.
const PERSONA_2: &str = "sweep-persona-2";
/// The embedding dimension of the listing and ingest workspaces.
const DIMENSION: usize = 4;

/// The Signals fixtures. Alice owns every workspace; Bob edits and Vera
/// views the listing and ingest workspaces.
struct Sfx {
    /// Read by the Get and List RPCs only (members aside): `signal` and
    /// `signal_2`, both linked to `project` and to [`PERSONA`].
    workspace: sg::Workspace,
    /// Where the hostile writes land; embeddings of [`DIMENSION`].
    ingest: sg::Workspace,
    /// Another workspace of Alice's (Bob is no member of it).
    other: sg::Workspace,
    /// Workspaces without an embedding yet (CreateSignal, BatchCreateSignals).
    fresh: sg::Workspace,
    fresh_batch: sg::Workspace,
    project: sg::Project,
    /// Of the listing workspace, changed by UpdateProject.
    spare_project: sg::Project,
    /// Of the ingest workspace, linked by LinkSignalToProject.
    ingest_project: sg::Project,
    other_project: sg::Project,
    signal: sg::Signal,
    /// Of the ingest workspace, changed by UpdateSignal.
    target: sg::Signal,
    /// Of the ingest workspace, linked and unlinked by the link RPCs.
    linked: sg::Signal,
    other_signal: sg::Signal,
    /// Real page tokens of every List RPC swept (the Signals ones and the
    /// other services'), by the query they belong to.
    tokens: Vec<(String, String)>,
}

fn input(verbatim: &str) -> sg::SignalInput {
    sg::SignalInput {
        verbatim: verbatim.to_owned(),
        source: sg::Source::Paste.into(),
        ..Default::default()
    }
}

fn embedding_of(dimension: usize) -> Vec<f32> {
    (0..dimension).map(|i| i as f32 / 10.0 + 0.1).collect()
}

async fn new_workspace(app: &TestApp, name: &str) -> sg::Workspace {
    app.signals()
        .create_workspace(as_user(
            ALICE,
            sg::CreateWorkspaceRequest {
                name: name.to_owned(),
            },
        ))
        .await
        .expect("create a fixture workspace")
        .into_inner()
        .workspace
        .expect("workspace")
}

async fn new_member(app: &TestApp, workspace: &sg::Workspace, user: &str, role: &str) {
    app.signals()
        .add_workspace_member(as_user(
            ALICE,
            sg::AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: workspace.id.clone(),
                user_id: user.to_owned(),
                role: role.to_owned(),
            },
        ))
        .await
        .expect("add a fixture member");
}

async fn new_project(app: &TestApp, workspace: &sg::Workspace, name: &str) -> sg::Project {
    app.signals()
        .create_project(as_user(
            ALICE,
            sg::CreateProjectRequest {
                workspace_id: workspace.id.clone(),
                name: name.to_owned(),
                description: "Sweep fixture".to_owned(),
            },
        ))
        .await
        .expect("create a fixture project")
        .into_inner()
        .project
        .expect("project")
}

async fn new_signal(app: &TestApp, workspace: &sg::Workspace, verbatim: &str) -> sg::Signal {
    app.signals()
        .create_signal(as_user(
            ALICE,
            sg::CreateSignalRequest {
                workspace_id: workspace.id.clone(),
                signal: Some(sg::SignalInput {
                    embedding: embedding_of(DIMENSION),
                    ..input(verbatim)
                }),
            },
        ))
        .await
        .expect("create a fixture signal")
        .into_inner()
        .signal
        .expect("signal")
}

async fn link(app: &TestApp, signal: &sg::Signal, project: &sg::Project) {
    app.signals()
        .link_signal_to_project(as_user(
            ALICE,
            sg::LinkSignalToProjectRequest {
                signal_id: signal.id.clone(),
                project_id: project.id.clone(),
                link_reason: "fixture".to_owned(),
                confidence: Some(0.5),
            },
        ))
        .await
        .expect("link a fixture signal to a project");
    app.signals()
        .link_signal_to_persona(as_user(
            ALICE,
            sg::LinkSignalToPersonaRequest {
                signal_id: signal.id.clone(),
                persona_id: PERSONA.to_owned(),
                link_reason: "fixture".to_owned(),
                confidence: None,
            },
        ))
        .await
        .expect("link a fixture signal to a persona");
}

async fn signals_fixtures(app: &TestApp, fx: &Fixtures) -> Sfx {
    let workspace = new_workspace(app, "Sweep signals").await;
    let ingest = new_workspace(app, "Sweep ingest").await;
    let other = new_workspace(app, "Sweep other").await;
    let fresh = new_workspace(app, "Sweep fresh").await;
    let fresh_batch = new_workspace(app, "Sweep fresh batch").await;
    for w in [&workspace, &ingest] {
        new_member(app, w, BOB, "editor").await;
        new_member(app, w, VIEWER, "viewer").await;
    }
    new_member(app, &workspace, ERIN, "viewer").await;
    let project = new_project(app, &workspace, "Sweep project").await;
    let spare_project = new_project(app, &workspace, "Sweep spare project").await;
    let ingest_project = new_project(app, &ingest, "Sweep ingest project").await;
    let other_project = new_project(app, &other, "Sweep other project").await;
    let signal = new_signal(app, &workspace, "Sweep signal one").await;
    let signal_2 = new_signal(app, &workspace, "Sweep signal two").await;
    let target = new_signal(app, &ingest, "Sweep target").await;
    let linked = new_signal(app, &ingest, "Sweep linked").await;
    let other_signal = new_signal(app, &other, "Sweep other signal").await;
    link(app, &signal, &project).await;
    link(app, &signal_2, &project).await;

    let mut client = app.signals();
    let mut tokens = fx.tokens.clone();
    let mut own = Vec::new();
    let page = client
        .list_workspaces(as_user(
            ALICE,
            sg::ListWorkspacesRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list workspaces")
        .into_inner();
    own.push(("ListWorkspaces".to_owned(), page.next_page_token));
    let page = client
        .list_workspace_members(as_user(
            ALICE,
            sg::ListWorkspaceMembersRequest {
                workspace_id: workspace.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list workspace members")
        .into_inner();
    own.push(("ListWorkspaceMembers".to_owned(), page.next_page_token));
    let page = client
        .list_projects(as_user(
            ALICE,
            sg::ListProjectsRequest {
                workspace_id: workspace.id.clone(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list projects")
        .into_inner();
    own.push(("ListProjects".to_owned(), page.next_page_token));
    let page = client
        .list_signals(as_user(
            ALICE,
            sg::ListSignalsRequest {
                workspace_id: workspace.id.clone(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list signals")
        .into_inner();
    own.push(("ListSignals".to_owned(), page.next_page_token));
    let page = client
        .list_signals(as_user(
            ALICE,
            sg::ListSignalsRequest {
                workspace_id: workspace.id.clone(),
                query: "sweep signal".to_owned(),
                order: sg::SignalOrder::Relevance.into(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("list signals by relevance")
        .into_inner();
    own.push(("ListSignals by relevance".to_owned(), page.next_page_token));
    let page = client
        .list_project_signals(as_user(
            ALICE,
            sg::ListProjectSignalsRequest {
                project_id: project.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list project signals")
        .into_inner();
    own.push(("ListProjectSignals".to_owned(), page.next_page_token));
    let page = client
        .list_persona_signals(as_user(
            ALICE,
            sg::ListPersonaSignalsRequest {
                workspace_id: workspace.id.clone(),
                persona_id: PERSONA.to_owned(),
                page_size: 1,
                page_token: String::new(),
            },
        ))
        .await
        .expect("list persona signals")
        .into_inner();
    own.push(("ListPersonaSignals".to_owned(), page.next_page_token));
    for (query, token) in &own {
        assert!(!token.is_empty(), "the fixtures give {query} a second page");
    }
    tokens.extend(own);
    Sfx {
        workspace,
        ingest,
        other,
        fresh,
        fresh_batch,
        project,
        spare_project,
        ingest_project,
        other_project,
        signal,
        target,
        linked,
        other_signal,
        tokens,
    }
}

// ---------------------------------------------------------------------------
// The sweep.

pub(super) async fn sweep_signals(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let sfx = signals_fixtures(sweep.app, fx).await;
    sweep_workspaces(sweep, &sfx).await;
    sweep_members(sweep, &sfx).await;
    sweep_projects(sweep, &sfx).await;
    sweep_signal_writes(sweep, &sfx).await;
    sweep_signal_reads(sweep, &sfx).await;
    sweep_links(sweep, &sfx).await;
    sweep_signals_read_back(sweep, &sfx).await;
}

/// Judges one case that must be refused, and refused with `code`: the
/// contract names the code (NOT_FOUND, so as not to reveal existence).
async fn expect_code(
    sweep: &mut Sweep<'_>,
    rpc: &'static str,
    case: &str,
    code: Code,
    result: Result<(), Status>,
) {
    let got = result.as_ref().err().map_or(Code::Ok, Status::code);
    let message = result
        .as_ref()
        .err()
        .map(|status| prefix(status.message()))
        .unwrap_or_default();
    sweep.check(SIGNALS, rpc, case, true, result).await;
    if got != code && got != Code::Ok {
        sweep.failures.push(Failure {
            rpc: format!("{SIGNALS}/{rpc}"),
            case: case.to_owned(),
            code: got,
            problems: vec!["refused with another code than the contract's"],
            message,
        });
    }
}

/// Reads back what the sweep got stored: the UpdateSignal target, and
/// every page of the ingest workspace's signals (default page size).
async fn sweep_signals_read_back(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let mut client = sweep.app.signals();
    let result = settle(client.get_signal(request(
        Who::User(ALICE),
        sg::GetSignalRequest {
            id: sfx.target.id.clone(),
        },
    )))
    .await
    .map(drop);
    sweep
        .must_succeed(
            SIGNALS,
            "GetSignal",
            "read back: the UpdateSignal target",
            result,
        )
        .await;
    let mut page_token = String::new();
    for page in 1.. {
        let result = settle(client.list_signals(request(
            Who::User(ALICE),
            sg::ListSignalsRequest {
                workspace_id: sfx.ingest.id.clone(),
                page_token: page_token.clone(),
                ..Default::default()
            },
        )))
        .await;
        page_token = result
            .as_ref()
            .map(|r| r.get_ref().next_page_token.clone())
            .unwrap_or_default();
        let case = format!("read back: page {page} of the ingest workspace's signals");
        sweep
            .must_succeed(SIGNALS, "ListSignals", &case, result.map(drop))
            .await;
        if page_token.is_empty() || page >= 100 {
            break;
        }
    }
}
