//! The Signals cases that read signals: GetSignal and ListSignals.

use super::*;

pub(super) async fn sweep_signal_reads(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let workspace_id = sfx.workspace.id.clone();
    let signal_id = sfx.signal.id.clone();

    // GetSignal.
    let mut cases = Cases::new(
        alice,
        sg::GetSignalRequest {
            id: signal_id.clone(),
        },
    );
    cases
        .ids("id", &signal_id, |m, id| m.id = id)
        .refused("a project id", |m| m.id = sfx.project.id.clone())
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .refused_as(
            Who::User(BOB),
            "a signal of a workspace Bob is not in",
            |m| m.id = sfx.other_signal.id.clone(),
        )
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "GetSignal",
        client,
        get_signal,
        cases.into_cases()
    );

    // ListSignals: ids, enums, pages, filters, time ranges and queries.
    let mut cases = Cases::new(
        alice,
        sg::ListSignalsRequest {
            workspace_id: workspace_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("workspace_id", &workspace_id, |m, id| m.workspace_id = id)
        .enums("status", |m, n| m.status = n)
        .enums("source", |m, n| m.source = n)
        .enums("severity", |m, n| m.severity = n)
        .enums("order", |m, n| m.order = n);
    optional_ids(&mut cases, "project_id", &sfx.project.id, |m, id| {
        m.project_id = id
    });
    texts_by(
        &mut cases,
        "persona_id",
        Rule::Lookup { required: false },
        |m, t| m.persona_id = t,
    );
    pages_of(
        &mut cases,
        "ListSignals",
        &sfx.tokens,
        |m, s| m.page_size = s,
        |m, t| m.page_token = t,
    );
    for (label, time, refuse) in hostile_times() {
        let before = time;
        cases
            .expect(refuse, format!("create_time_after: {label}"), |m| {
                m.create_time_after = Some(time);
            })
            .expect(refuse, format!("create_time_before: {label}"), |m| {
                m.create_time_before = Some(before);
            });
    }
    let at = |seconds: i64| Some(prost_types::Timestamp { seconds, nanos: 0 });
    cases
        .case("create time range inverted", |m| {
            m.create_time_after = at(1_900_000_000);
            m.create_time_before = at(1_600_000_000);
        })
        .case("create time range empty (after = before)", |m| {
            m.create_time_after = at(1_700_000_000);
            m.create_time_before = at(1_700_000_000);
        })
        .case("create time range from year 9999 to year 1", |m| {
            m.create_time_after = at(253_402_300_799);
            m.create_time_before = at(-62_135_596_800);
        })
        .case("create time range of all time", |m| {
            m.create_time_after = at(-62_135_596_800);
            m.create_time_before = at(253_402_300_799);
        });
    for (label, query) in hostile_queries() {
        let refuse = Rule::Lookup { required: false }.refuses(&query);
        let blank = query.trim().is_empty();
        let relevance = query.clone();
        cases
            .expect(refuse, format!("query: {label}"), |m| m.query = query)
            .expect(
                refuse || blank,
                format!("query by RELEVANCE: {label}"),
                |m| {
                    m.order = sg::SignalOrder::Relevance.into();
                    m.query = relevance;
                },
            );
    }
    let signals_token = token_of(sfx, "ListSignals");
    let relevance_token = token_of(sfx, "ListSignals by relevance");
    cases
        .refused("order: RELEVANCE without a query", |m| {
            m.order = sg::SignalOrder::Relevance.into();
        })
        .case("every filter at once", |m| {
            m.status = sg::SignalStatus::Linked.into();
            m.source = sg::Source::Paste.into();
            m.severity = sg::Severity::Low.into();
            m.project_id = sfx.project.id.clone();
            m.persona_id = PERSONA.to_owned();
            m.create_time_after = at(0);
            m.create_time_before = at(253_402_300_799);
            m.query = "sweep".to_owned();
            m.order = sg::SignalOrder::Relevance.into();
        })
        .case("project_id: a project of another workspace", |m| {
            m.project_id = sfx.other_project.id.clone();
        })
        .case("project_id: a signal id", |m| {
            m.project_id = signal_id.clone()
        })
        .case(
            "page_token: ListSignals by relevance token, same query",
            |m| {
                m.query = "sweep signal".to_owned();
                m.order = sg::SignalOrder::Relevance.into();
                m.page_token = relevance_token.clone();
            },
        )
        .refused("page_token: ListSignals token with a status", |m| {
            m.status = sg::SignalStatus::Linked.into();
            m.page_token = signals_token.clone();
        })
        .refused("page_token: ListSignals token with a query", |m| {
            m.query = "sweep".to_owned();
            m.page_token = signals_token.clone();
        })
        .refused("page_token: ListSignals token with a time filter", |m| {
            m.create_time_after = at(0);
            m.page_token = signals_token.clone();
        })
        .refused(
            "page_token: ListSignals token with create_time_before at the epoch",
            |m| {
                m.create_time_before = at(0);
                m.page_token = signals_token.clone();
            },
        )
        .refused("page_token: ListSignals token with a project", |m| {
            m.project_id = sfx.project.id.clone();
            m.page_token = signals_token.clone();
        })
        .refused("page_token: ListSignals token of another workspace", |m| {
            m.workspace_id = sfx.ingest.id.clone();
            m.page_token = signals_token.clone();
        })
        .refused(
            "page_token: ListSignals by relevance token, another query",
            |m| {
                m.query = "sweep".to_owned();
                m.order = sg::SignalOrder::Relevance.into();
                m.page_token = relevance_token.clone();
            },
        )
        .refused(
            "page_token: ListSignals by relevance token, newest order",
            |m| {
                m.query = "sweep signal".to_owned();
                m.page_token = relevance_token.clone();
            },
        )
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(VIEWER), "as a viewer".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "ListSignals",
        client,
        list_signals,
        cases.into_cases()
    );
}
