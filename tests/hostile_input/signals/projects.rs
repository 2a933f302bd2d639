//! The Signals cases of projects.

use super::*;

pub(super) async fn sweep_projects(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let workspace_id = sfx.workspace.id.clone();
    let ingest_id = sfx.ingest.id.clone();

    // CreateProject, in the ingest workspace; each case gets its own name
    // (when it does not test the name), so an accepted one does not turn
    // the later ones into PROJECT_NAME_TAKEN.
    let base_name = "Hostile project";
    let mut cases = Cases::new(
        alice,
        sg::CreateProjectRequest {
            workspace_id: ingest_id.clone(),
            name: base_name.to_owned(),
            description: "Hostile input".to_owned(),
        },
    );
    cases.ids("workspace_id", &ingest_id, |m, id| m.workspace_id = id);
    texts_by(&mut cases, "name", Rule::Required(200), |m, t| m.name = t);
    texts_by(&mut cases, "description", Rule::Bounded(4000), |m, t| {
        m.description = t
    });
    cases
        .refused("name: taken in the workspace", |m| {
            m.name = sfx.ingest_project.name.clone();
        })
        .case("name: taken in another workspace only", |m| {
            m.name = sfx.other_project.name.clone();
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {});
    let mut list = cases.into_cases();
    for (index, case) in list.iter_mut().enumerate() {
        if case.message.name == base_name {
            case.message.name = format!("{base_name} {index}");
        }
    }
    sweep_unary!(
        sweep,
        SIGNALS,
        "CreateProject",
        client,
        create_project,
        list
    );

    // GetProject.
    let project_id = sfx.project.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::GetProjectRequest {
            id: project_id.clone(),
        },
    );
    cases
        .ids("id", &project_id, |m, id| m.id = id)
        .refused("a signal id", |m| m.id = sfx.signal.id.clone())
        .refused("a workspace id", |m| m.id = workspace_id.clone())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .refused_as(
            Who::User(BOB),
            "a project of a workspace Bob is not in",
            |m| m.id = sfx.other_project.id.clone(),
        )
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "GetProject",
        client,
        get_project,
        cases.into_cases()
    );

    // ListProjects.
    let mut cases = Cases::new(
        alice,
        sg::ListProjectsRequest {
            workspace_id: workspace_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id)
        .enums("status", |m, n| m.status = n);
    pages_of(
        &mut cases,
        "ListProjects",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    let projects_token = token_of(sfx, "ListProjects");
    cases
        .refused("page_token: ListProjects token with a status", |m| {
            m.status = sg::ProjectStatus::Active.into();
            m.page_token = projects_token.clone();
        })
        .refused("page_token: ListProjects token of another workspace", |m| {
            m.workspace_id = ingest_id.clone();
            m.page_token = projects_token.clone();
        })
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListProjects",
        client,
        list_projects,
        cases.into_cases()
    );

    // UpdateProject: the spare project of the listing workspace.
    let spare_id = sfx.spare_project.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::UpdateProjectRequest {
            project: Some(sg::Project {
                id: spare_id.clone(),
                description: "Updated".to_owned(),
                ..Default::default()
            }),
            update_mask: mask(&["description"]),
        },
    );
    fn project_of(m: &mut sg::UpdateProjectRequest) -> &mut sg::Project {
        m.project.get_or_insert_with(Default::default)
    }
    cases.ids("project.id", &spare_id, |m, id| project_of(m).id = id);
    texts_by(
        &mut cases,
        "project.description",
        Rule::Bounded(4000),
        |m, t| project_of(m).description = t,
    );
    texts_by(&mut cases, "project.name", Rule::Required(200), |m, t| {
        m.update_mask = mask(&["name"]);
        project_of(m).name = t;
    });
    for number in HOSTILE_ENUMS.into_iter().chain([0]) {
        cases.refused(format!("project.status: {number}"), |m| {
            m.update_mask = mask(&["status"]);
            project_of(m).status = number;
        });
    }
    cases
        .case("project.status: ARCHIVED", |m| {
            m.update_mask = mask(&["status"]);
            project_of(m).status = sg::ProjectStatus::Archived.into();
        })
        .refused("project.name: taken by another project", |m| {
            m.update_mask = mask(&["name"]);
            project_of(m).name = sfx.project.name.clone();
        })
        .refused("no project", |m| m.project = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .etags(|m, e| project_of(m).etag = e)
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {})
        .case("output-only fields set to absurd values", |m| {
            let p = project_of(m);
            p.workspace_id = sfx.other.id.clone();
            p.signal_count = -1;
            p.critical_count = i64::MIN;
            p.high_count = i64::MAX;
            p.create_time = Some(prost_types::Timestamp {
                seconds: i64::MIN,
                nanos: -1,
            });
        });
    for (label, paths, refuse) in hostile_masks("description") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        SIGNALS,
        "UpdateProject",
        client,
        update_project,
        cases.into_cases()
    );

    // DeleteProject: the base etag is stale, so nothing is deleted.
    let mut cases = Cases::new(
        alice,
        sg::DeleteProjectRequest {
            id: project_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &project_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused("a signal id", |m| m.id = sfx.signal.id.clone())
        .refused_as(Who::User(VIEWER), "as a viewer, no etag", |m| {
            m.etag.clear()
        })
        .refused_as(Who::User(OUTSIDER), "as a non-member, no etag", |m| {
            m.etag.clear()
        })
        .refused_as(
            Who::User(BOB),
            "a project of a workspace Bob is not in, no etag",
            |m| {
                m.id = sfx.other_project.id.clone();
                m.etag.clear();
            },
        );
    sweep_unary!(
        sweep,
        SIGNALS,
        "DeleteProject",
        client,
        delete_project,
        cases.into_cases()
    );
}
