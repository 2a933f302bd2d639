//! The Signals cases of links, both ways.

use super::*;

pub(super) async fn sweep_links(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let linked_id = sfx.linked.id.clone();
    let project_id = sfx.ingest_project.id.clone();

    // LinkSignalToProject: the linked signal to the ingest project; again
    // and again (a repeat replaces the reason and confidence).
    let mut cases = Cases::new(
        alice,
        sg::LinkSignalToProjectRequest {
            signal_id: linked_id.clone(),
            project_id: project_id.clone(),
            link_reason: "Fits".to_owned(),
            confidence: Some(0.5),
        },
    );
    cases
        .ids("signal_id", &linked_id, |m, id| m.signal_id = id)
        .ids("project_id", &project_id, |m, id| m.project_id = id);
    texts_by(&mut cases, "link_reason", Rule::Bounded(2000), |m, t| {
        m.link_reason = t
    });
    for (label, confidence, refuse) in hostile_confidences() {
        cases.expect(refuse, format!("confidence: {label}"), |m| {
            m.confidence = confidence
        });
    }
    cases
        .refused("a project of another workspace", |m| {
            m.project_id = sfx.other_project.id.clone();
        })
        .refused("a signal of another workspace", |m| {
            m.signal_id = sfx.other_signal.id.clone();
        })
        .refused("project_id: a signal id", |m| {
            m.project_id = linked_id.clone()
        })
        .refused("signal_id: a project id", |m| {
            m.signal_id = project_id.clone()
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "LinkSignalToProject",
        client,
        link_signal_to_project,
        cases.into_cases()
    );
    // "A non-member gets NOT_FOUND for the workspace and everything in it,
    // so its existence is not revealed": Bob edits the ingest workspace
    // but is no member of the other one, so its project must be NOT_FOUND
    // to him (like a project that does not exist), not CROSS_WORKSPACE_LINK.
    let mut links = client.clone();
    let result = settle(links.link_signal_to_project(request(
        Who::User(BOB),
        sg::LinkSignalToProjectRequest {
            signal_id: linked_id.clone(),
            project_id: sfx.other_project.id.clone(),
            link_reason: String::new(),
            confidence: None,
        },
    )))
    .await
    .map(drop);
    expect_code(
        sweep,
        "LinkSignalToProject",
        "as Bob, a project of a workspace Bob is not in",
        Code::NotFound,
        result,
    )
    .await;

    // UnlinkSignalFromProject: the first accepted case removes the link,
    // later ones find none.
    let mut cases = Cases::new(
        alice,
        sg::UnlinkSignalFromProjectRequest {
            signal_id: linked_id.clone(),
            project_id: project_id.clone(),
        },
    );
    cases
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .ids("signal_id", &linked_id, |m, id| m.signal_id = id)
        .ids("project_id", &project_id, |m, id| m.project_id = id)
        .refused("no such link", |m| m.signal_id = sfx.target.id.clone())
        .refused("a project of another workspace", |m| {
            m.project_id = sfx.other_project.id.clone();
        })
        .refused("project_id: a signal id", |m| {
            m.project_id = linked_id.clone()
        });
    sweep_unary!(
        sweep,
        SIGNALS,
        "UnlinkSignalFromProject",
        client,
        unlink_signal_from_project,
        cases.into_cases()
    );

    // LinkSignalToPersona.
    let mut cases = Cases::new(
        alice,
        sg::LinkSignalToPersonaRequest {
            signal_id: linked_id.clone(),
            persona_id: PERSONA_2.to_owned(),
            link_reason: "Said so".to_owned(),
            confidence: Some(0.9),
        },
    );
    cases.ids("signal_id", &linked_id, |m, id| m.signal_id = id);
    texts_by(&mut cases, "persona_id", Rule::Required(200), |m, t| {
        m.persona_id = t
    });
    texts_by(&mut cases, "link_reason", Rule::Bounded(2000), |m, t| {
        m.link_reason = t
    });
    for (label, confidence, refuse) in hostile_confidences() {
        cases.expect(refuse, format!("confidence: {label}"), |m| {
            m.confidence = confidence
        });
    }
    cases
        .refused("persona_id: 500 characters", |m| {
            m.persona_id = "p".repeat(500)
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .refused_as(
            Who::User(BOB),
            "a signal of a workspace Bob is not in",
            |m| m.signal_id = sfx.other_signal.id.clone(),
        )
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "LinkSignalToPersona",
        client,
        link_signal_to_persona,
        cases.into_cases()
    );

    // UnlinkSignalFromPersona.
    let mut cases = Cases::new(
        alice,
        sg::UnlinkSignalFromPersonaRequest {
            signal_id: linked_id.clone(),
            persona_id: PERSONA_2.to_owned(),
        },
    );
    cases
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .ids("signal_id", &linked_id, |m, id| m.signal_id = id);
    texts_by(&mut cases, "persona_id", Rule::Required(200), |m, t| {
        m.persona_id = t
    });
    cases.refused("no such link", |m| m.persona_id = "sweep-nobody".to_owned());
    sweep_unary!(
        sweep,
        SIGNALS,
        "UnlinkSignalFromPersona",
        client,
        unlink_signal_from_persona,
        cases.into_cases()
    );

    // ListSignalLinks.
    let signal_id = sfx.signal.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::ListSignalLinksRequest {
            signal_id: signal_id.clone(),
        },
    );
    cases
        .ids("signal_id", &signal_id, |m, id| m.signal_id = id)
        .refused("a project id", |m| m.signal_id = sfx.project.id.clone())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListSignalLinks",
        client,
        list_signal_links,
        cases.into_cases()
    );

    // ListProjectSignals.
    let listed_project = sfx.project.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::ListProjectSignalsRequest {
            project_id: listed_project.clone(),
            ..Default::default()
        },
    );
    cases.ids("project_id", &listed_project, |m, id| m.project_id = id);
    pages_of(
        &mut cases,
        "ListProjectSignals",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    let project_signals_token = token_of(sfx, "ListProjectSignals");
    cases
        .refused(
            "page_token: ListProjectSignals token of another project",
            |m| {
                m.project_id = sfx.spare_project.id.clone();
                m.page_token = project_signals_token;
            },
        )
        .refused("a signal id", |m| m.project_id = signal_id.clone())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .refused_as(
            Who::User(BOB),
            "a project of a workspace Bob is not in",
            |m| m.project_id = sfx.other_project.id.clone(),
        )
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListProjectSignals",
        client,
        list_project_signals,
        cases.into_cases()
    );

    // ListPersonaSignals.
    let workspace_id = sfx.workspace.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::ListPersonaSignalsRequest {
            workspace_id: workspace_id.clone(),
            persona_id: PERSONA.to_owned(),
            ..Default::default()
        },
    );
    cases.ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id);
    texts_by(
        &mut cases,
        "persona_id",
        Rule::Lookup { required: true },
        |m, t| m.persona_id = t,
    );
    pages_of(
        &mut cases,
        "ListPersonaSignals",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    let persona_token = token_of(sfx, "ListPersonaSignals");
    cases
        .refused(
            "page_token: ListPersonaSignals token of another persona",
            |m| {
                m.persona_id = PERSONA_2.to_owned();
                m.page_token = persona_token.clone();
            },
        )
        .refused(
            "page_token: ListPersonaSignals token of another workspace",
            |m| {
                m.workspace_id = sfx.ingest.id.clone();
                m.page_token = persona_token.clone();
            },
        )
        .refused("persona_id: empty", |m| m.persona_id.clear())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListPersonaSignals",
        client,
        list_persona_signals,
        cases.into_cases()
    );
}
