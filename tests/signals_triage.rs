//! Signals through gRPC on a real PostgreSQL: idempotent ingestion,
//! embeddings, the triage status machine, links both ways, project counts
//! kept by the outbox worker, listing filters and cascades.

use atelier::proto::signals::{
    AddWorkspaceMemberRequest, BatchCreateSignalsRequest, CreateProjectRequest,
    CreateSignalRequest, CreateWorkspaceRequest, DeleteProjectRequest, DeleteSignalRequest,
    GetProjectRequest, GetSignalRequest, LinkSignalToPersonaRequest, LinkSignalToProjectRequest,
    ListPersonaSignalsRequest, ListProjectSignalsRequest, ListSignalLinksRequest,
    ListSignalsRequest, Project, Severity, Signal, SignalInput, SignalOrder, SignalStatus, Source,
    UnlinkSignalFromPersonaRequest, UnlinkSignalFromProjectRequest, UpdateSignalRequest, Workspace,
};
use tonic::Code;

use crate::common::{TestApp, as_user, count, reason, violated_fields};

const OWNER: &str = "ada";

async fn workspace(app: &TestApp, name: &str) -> Workspace {
    app.signals()
        .create_workspace(as_user(
            OWNER,
            CreateWorkspaceRequest {
                name: name.to_owned(),
            },
        ))
        .await
        .expect("workspace")
        .into_inner()
        .workspace
        .expect("workspace")
}

async fn project(app: &TestApp, w: &Workspace, name: &str) -> Project {
    app.signals()
        .create_project(as_user(
            OWNER,
            CreateProjectRequest {
                workspace_id: w.id.clone(),
                name: name.to_owned(),
                description: String::new(),
            },
        ))
        .await
        .expect("project")
        .into_inner()
        .project
        .expect("project")
}

fn input(verbatim: &str, source_ref: &str) -> SignalInput {
    SignalInput {
        verbatim: verbatim.to_owned(),
        source: Source::Webhook.into(),
        source_ref: source_ref.to_owned(),
        ..Default::default()
    }
}

async fn signal(app: &TestApp, w: &Workspace, input: SignalInput) -> Result<Signal, tonic::Status> {
    app.signals()
        .create_signal(as_user(
            OWNER,
            CreateSignalRequest {
                workspace_id: w.id.clone(),
                signal: Some(input),
            },
        ))
        .await
        .map(|r| r.into_inner().signal.expect("signal"))
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

async fn set_status(
    app: &TestApp,
    s: &Signal,
    status: SignalStatus,
) -> Result<Signal, tonic::Status> {
    app.signals()
        .update_signal(as_user(
            OWNER,
            UpdateSignalRequest {
                signal: Some(Signal {
                    id: s.id.clone(),
                    status: status.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["status"]),
            },
        ))
        .await
        .map(|r| r.into_inner().signal.expect("signal"))
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_retries_of_one_webhook_delivery_store_one_signal() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Ingest").await;
    let retries = (0..20).map(|_| {
        let mut client = app.signals();
        let request = CreateSignalRequest {
            workspace_id: w.id.clone(),
            signal: Some(input("The export button does nothing", "delivery-42")),
        };
        tokio::spawn(async move { client.create_signal(as_user(OWNER, request)).await })
    });
    let mut ids = Vec::new();
    for retry in retries {
        let answer = retry.await.expect("task").expect("every retry answers OK");
        ids.push(answer.into_inner().signal.expect("signal").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry got the first signal: {ids:?}");
    let stored = count(
        &app,
        &format!(
            "SELECT count(*) AS count FROM signals WHERE workspace_id = '{}'",
            w.id
        ),
    )
    .await;
    assert_eq!(stored, 1);
    // The same reference from another source is another signal.
    let other = signal(
        &app,
        &w,
        SignalInput {
            source: Source::Slack.into(),
            ..input("Same words, other tool", "delivery-42")
        },
    )
    .await
    .expect("other source");
    assert_ne!(other.id, ids[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn embeddings_keep_the_workspaces_dimension_and_stamp_the_processing_time() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Vectors").await;
    let plain = signal(&app, &w, input("no vector", ""))
        .await
        .expect("plain");
    assert!(plain.process_time.is_none());
    let first = signal(
        &app,
        &w,
        SignalInput {
            embedding: vec![0.1, 0.2, 0.3],
            ..input("first vector", "")
        },
    )
    .await
    .expect("first embedding");
    assert_eq!(first.embedding_dimension, 3);
    assert!(first.process_time.is_some());
    let wrong = signal(
        &app,
        &w,
        SignalInput {
            embedding: vec![0.1; 4],
            ..input("wrong size", "")
        },
    )
    .await
    .expect_err("another dimension");
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&wrong), ["signal.embedding"]);
    assert!(
        wrong.message().contains('4') && wrong.message().contains('3'),
        "{}",
        wrong.message()
    );
    let updated = app
        .signals()
        .update_signal(as_user(
            OWNER,
            UpdateSignalRequest {
                signal: Some(Signal {
                    id: plain.id.clone(),
                    embedding: vec![1.0, 0.0, 0.0],
                    ..Default::default()
                }),
                update_mask: mask(&["embedding"]),
            },
        ))
        .await
        .expect("an embedding of the right size")
        .into_inner()
        .signal
        .expect("signal");
    assert_eq!(updated.embedding, [1.0, 0.0, 0.0]);
    assert!(updated.process_time.is_some());
    let bad = signal(
        &app,
        &w,
        SignalInput {
            embedding: vec![f32::NAN, 0.0, 0.0],
            ..input("nan", "")
        },
    )
    .await
    .expect_err("NaN");
    assert_eq!(violated_fields(&bad), ["signal.embedding"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn status_follows_the_triage_and_the_links() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Triage").await;
    let p = project(&app, &w, "Exports").await;
    let s = signal(&app, &w, input("Export fails", ""))
        .await
        .expect("signal");
    assert_eq!(s.status, i32::from(SignalStatus::New));

    let skip = set_status(&app, &s, SignalStatus::Linked)
        .await
        .expect_err("new → linked");
    assert_eq!(
        (skip.code(), reason(&skip).as_str()),
        (Code::FailedPrecondition, "INVALID_STATUS_TRANSITION")
    );
    let again = set_status(&app, &s, SignalStatus::New)
        .await
        .expect("same status: no-op");
    assert_eq!(again.status, i32::from(SignalStatus::New));

    let mut c = app.signals();
    let linked = c
        .link_signal_to_project(as_user(
            OWNER,
            LinkSignalToProjectRequest {
                signal_id: s.id.clone(),
                project_id: p.id.clone(),
                link_reason: "same button".to_owned(),
                confidence: Some(0.8),
            },
        ))
        .await
        .expect("link")
        .into_inner();
    assert_eq!(
        linked.signal.expect("signal").status,
        i32::from(SignalStatus::Linked)
    );
    assert_eq!(linked.link.expect("link").confidence, Some(0.8));
    c.link_signal_to_persona(as_user(
        OWNER,
        LinkSignalToPersonaRequest {
            signal_id: s.id.clone(),
            persona_id: "finance-admin".to_owned(),
            link_reason: String::new(),
            confidence: None,
        },
    ))
    .await
    .expect("persona link");
    let still = c
        .unlink_signal_from_project(as_user(
            OWNER,
            UnlinkSignalFromProjectRequest {
                signal_id: s.id.clone(),
                project_id: p.id.clone(),
            },
        ))
        .await
        .expect("unlink project")
        .into_inner()
        .signal
        .expect("signal");
    assert_eq!(
        still.status,
        i32::from(SignalStatus::Linked),
        "a persona link is left"
    );
    let reviewed = c
        .unlink_signal_from_persona(as_user(
            OWNER,
            UnlinkSignalFromPersonaRequest {
                signal_id: s.id.clone(),
                persona_id: "finance-admin".to_owned(),
            },
        ))
        .await
        .expect("unlink persona")
        .into_inner()
        .signal
        .expect("signal");
    assert_eq!(
        reviewed.status,
        i32::from(SignalStatus::Reviewed),
        "the last link went"
    );
    let missing = c
        .unlink_signal_from_persona(as_user(
            OWNER,
            UnlinkSignalFromPersonaRequest {
                signal_id: s.id.clone(),
                persona_id: "finance-admin".to_owned(),
            },
        ))
        .await
        .expect_err("no such link");
    assert_eq!(missing.code(), Code::NotFound);

    let archived = set_status(&app, &s, SignalStatus::Archived)
        .await
        .expect("archive");
    assert_eq!(archived.status, i32::from(SignalStatus::Archived));
    let back = set_status(&app, &s, SignalStatus::Reviewed)
        .await
        .expect("unarchive");
    assert_eq!(back.status, i32::from(SignalStatus::Reviewed));
}

#[tokio::test(flavor = "multi_thread")]
async fn links_list_both_ways_and_a_project_of_another_workspace_is_refused() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Links").await;
    let elsewhere = workspace(&app, "Elsewhere").await;
    let p = project(&app, &w, "Billing").await;
    let foreign = project(&app, &elsewhere, "Billing").await;
    let a = signal(&app, &w, input("Invoices are wrong", "a"))
        .await
        .expect("a");
    let b = signal(&app, &w, input("Invoice PDF is blank", "b"))
        .await
        .expect("b");
    let mut c = app.signals();
    for (s, persona) in [(&a, "accountant"), (&b, "accountant")] {
        c.link_signal_to_project(as_user(
            OWNER,
            LinkSignalToProjectRequest {
                signal_id: s.id.clone(),
                project_id: p.id.clone(),
                link_reason: String::new(),
                confidence: None,
            },
        ))
        .await
        .expect("link");
        c.link_signal_to_persona(as_user(
            OWNER,
            LinkSignalToPersonaRequest {
                signal_id: s.id.clone(),
                persona_id: persona.to_owned(),
                link_reason: String::new(),
                confidence: None,
            },
        ))
        .await
        .expect("persona");
    }
    let cross = c
        .link_signal_to_project(as_user(
            OWNER,
            LinkSignalToProjectRequest {
                signal_id: a.id.clone(),
                project_id: foreign.id.clone(),
                link_reason: String::new(),
                confidence: None,
            },
        ))
        .await
        .expect_err("another workspace's project");
    assert_eq!(
        (cross.code(), reason(&cross).as_str()),
        (Code::InvalidArgument, "CROSS_WORKSPACE_LINK")
    );
    assert_eq!(violated_fields(&cross), ["project_id"]);
    let out_of_range = c
        .link_signal_to_project(as_user(
            OWNER,
            LinkSignalToProjectRequest {
                signal_id: a.id.clone(),
                project_id: p.id.clone(),
                link_reason: String::new(),
                confidence: Some(1.5),
            },
        ))
        .await
        .expect_err("confidence above 1");
    assert_eq!(violated_fields(&out_of_range), ["confidence"]);

    let links = c
        .list_signal_links(as_user(
            OWNER,
            ListSignalLinksRequest {
                signal_id: a.id.clone(),
            },
        ))
        .await
        .expect("links")
        .into_inner();
    assert_eq!(links.project_links.len(), 1);
    assert_eq!(links.persona_links[0].persona_id, "accountant");

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_project_signals(as_user(
                OWNER,
                ListProjectSignalsRequest {
                    project_id: p.id.clone(),
                    page_size: 1,
                    page_token: token,
                },
            ))
            .await
            .expect("project signals")
            .into_inner();
        seen.extend(
            page.signals
                .into_iter()
                .map(|l| l.signal.expect("signal").id),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        seen,
        [b.id.clone(), a.id.clone()],
        "most recently linked first"
    );
    let persona = c
        .list_persona_signals(as_user(
            OWNER,
            ListPersonaSignalsRequest {
                workspace_id: w.id.clone(),
                persona_id: "accountant".to_owned(),
                page_size: 0,
                page_token: String::new(),
            },
        ))
        .await
        .expect("persona signals")
        .into_inner()
        .signals;
    assert_eq!(persona.len(), 2);

    // Deleting the project takes its links, not the signals.
    c.delete_project(as_user(
        OWNER,
        DeleteProjectRequest {
            id: p.id.clone(),
            etag: String::new(),
        },
    ))
    .await
    .expect("delete project");
    let left = count(
        &app,
        &format!(
            "SELECT count(*) AS count FROM signal_projects WHERE workspace_id = '{}'",
            w.id
        ),
    )
    .await;
    assert_eq!(left, 0);
    c.get_signal(as_user(OWNER, GetSignalRequest { id: a.id.clone() }))
        .await
        .expect("the signal stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn project_counts_are_exact_after_a_thousand_concurrent_changes_and_four_workers() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Counts").await;
    let mut projects = Vec::new();
    for name in ["p0", "p1", "p2", "p3"] {
        projects.push(project(&app, &w, name).await.id);
    }
    let severities = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    let batch = app
        .signals()
        .batch_create_signals(as_user(
            OWNER,
            BatchCreateSignalsRequest {
                workspace_id: w.id.clone(),
                signals: (0..40)
                    .map(|i| SignalInput {
                        severity: severities[i % 4].into(),
                        ..input(&format!("signal {i}"), &format!("ref-{i}"))
                    })
                    .collect(),
            },
        ))
        .await
        .expect("batch")
        .into_inner()
        .signals;
    let signal_ids: Vec<String> = batch.into_iter().map(|s| s.id).collect();

    // 16 clients, 1,000 changes in all: link, unlink, change severity.
    let clients = (0..16_u64).map(|client| {
        let mut c = app.signals();
        let projects = projects.clone();
        let signal_ids = signal_ids.clone();
        tokio::spawn(async move {
            let mut seed = client
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let mut next = |n: usize| {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                usize::try_from(seed >> 33).unwrap_or(0) % n
            };
            for _ in 0..63 {
                let signal_id = signal_ids[next(signal_ids.len())].clone();
                let project_id = projects[next(projects.len())].clone();
                let outcome = match next(3) {
                    0 => c
                        .link_signal_to_project(as_user(
                            OWNER,
                            LinkSignalToProjectRequest {
                                signal_id,
                                project_id,
                                link_reason: String::new(),
                                confidence: None,
                            },
                        ))
                        .await
                        .map(drop),
                    1 => c
                        .unlink_signal_from_project(as_user(
                            OWNER,
                            UnlinkSignalFromProjectRequest {
                                signal_id,
                                project_id,
                            },
                        ))
                        .await
                        .map(drop),
                    _ => c
                        .update_signal(as_user(
                            OWNER,
                            UpdateSignalRequest {
                                signal: Some(Signal {
                                    id: signal_id,
                                    severity: severities[next(4)].into(),
                                    ..Default::default()
                                }),
                                update_mask: mask(&["severity"]),
                            },
                        ))
                        .await
                        .map(drop),
                };
                match outcome {
                    Ok(()) => {}
                    // Unlinking a pair that is not linked.
                    Err(status) if status.code() == Code::NotFound => {}
                    // Two changes of one signal met; the client retries later.
                    Err(status) if status.code() == Code::Aborted => {}
                    Err(status) => panic!("unexpected {status:?}"),
                }
            }
        })
    });
    let clients: Vec<_> = clients.collect();
    let draining = async {
        while !clients.iter().all(|c| c.is_finished()) {
            app.drain_outbox(4).await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    draining.await;
    for client in clients {
        client.await.expect("client");
    }
    app.drain_outbox(4).await;

    let mut conn = app.db().await;
    let links =
        crate::common::count_on(&mut conn, "SELECT count(*) AS count FROM signal_projects").await;
    assert!(links > 10, "the load left links to count: {links}");
    assert_counts_exact(&app, &projects).await;
    let pending = crate::common::count_on(&mut conn, "SELECT count(*) AS count FROM outbox").await;
    assert_eq!(pending, 0, "every recount applied");

    // The last change of a project is a linked signal's severity, then its
    // deletion: each must reach the counts by itself.
    let linked: Vec<Linked> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT l.signal_id::text AS id, s.severity FROM signal_projects l \
             JOIN signals s ON s.id = l.signal_id LIMIT 1",
        ),
        &mut conn,
    )
    .await
    .expect("a linked signal");
    let linked = &linked[0];
    let other = if linked.severity == "low" {
        Severity::Critical
    } else {
        Severity::Low
    };
    let mut c = app.signals();
    c.update_signal(as_user(
        OWNER,
        UpdateSignalRequest {
            signal: Some(Signal {
                id: linked.id.clone(),
                severity: other.into(),
                ..Default::default()
            }),
            update_mask: mask(&["severity"]),
        },
    ))
    .await
    .expect("severity");
    app.drain_outbox(4).await;
    assert_counts_exact(&app, &projects).await;
    c.delete_signal(as_user(
        OWNER,
        DeleteSignalRequest {
            id: linked.id.clone(),
            etag: String::new(),
        },
    ))
    .await
    .expect("delete");
    app.drain_outbox(4).await;
    assert_counts_exact(&app, &projects).await;
}

/// Every project's counts equal a count of its links, in all and per
/// severity.
async fn assert_counts_exact(app: &TestApp, projects: &[String]) {
    let mut c = app.signals();
    let mut conn = app.db().await;
    for id in projects {
        let got = c
            .get_project(as_user(OWNER, GetProjectRequest { id: id.clone() }))
            .await
            .expect("project")
            .into_inner()
            .project
            .expect("project");
        let counted = [
            got.signal_count,
            got.critical_count,
            got.high_count,
            got.medium_count,
            got.low_count,
        ];
        for (severity, got) in [
            None,
            Some("critical"),
            Some("high"),
            Some("medium"),
            Some("low"),
        ]
        .into_iter()
        .zip(counted)
        {
            let sql = format!(
                "SELECT count(*) AS count FROM signal_projects l JOIN signals s ON s.id = l.signal_id \
                 WHERE l.project_id = '{id}' {}",
                severity.map_or(String::new(), |s| format!("AND s.severity = '{s}'"))
            );
            let want = crate::common::count_on(&mut conn, &sql).await;
            assert_eq!(got, want, "project {id}, severity {severity:?}");
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Linked {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    severity: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn list_signals_filters_searches_and_pages_and_viewers_cannot_write() {
    let app = TestApp::start().await;
    let w = workspace(&app, "Listing").await;
    app.signals()
        .add_workspace_member(as_user(
            OWNER,
            AddWorkspaceMemberRequest {
                request_id: String::new(),
                workspace_id: w.id.clone(),
                user_id: "vic".to_owned(),
                role: "viewer".to_owned(),
            },
        ))
        .await
        .expect("viewer");
    let mut made = Vec::new();
    for (i, text) in [
        "checkout crashes on pay",
        "slow search results",
        "checkout coupon ignored",
    ]
    .iter()
    .enumerate()
    {
        let s = signal(
            &app,
            &w,
            SignalInput {
                severity: if i == 1 {
                    Severity::Low
                } else {
                    Severity::High
                }
                .into(),
                source: if i == 2 {
                    Source::Email
                } else {
                    Source::Webhook
                }
                .into(),
                ..input(text, "")
            },
        )
        .await
        .expect("signal");
        made.push(s.id);
    }
    let mut c = app.signals();
    let list = |req: ListSignalsRequest| {
        let mut c = app.signals();
        async move {
            c.list_signals(as_user("vic", req))
                .await
                .map(|r| r.into_inner())
        }
    };
    let base = ListSignalsRequest {
        workspace_id: w.id.clone(),
        ..Default::default()
    };
    let all = list(ListSignalsRequest {
        page_size: 2,
        ..base.clone()
    })
    .await
    .expect("page 1");
    assert_eq!(all.signals.len(), 2);
    let rest = list(ListSignalsRequest {
        page_size: 2,
        page_token: all.next_page_token.clone(),
        ..base.clone()
    })
    .await
    .expect("page 2");
    let mut ids: Vec<String> = all
        .signals
        .iter()
        .chain(&rest.signals)
        .map(|s| s.id.clone())
        .collect();
    assert!(rest.next_page_token.is_empty());
    ids.reverse();
    assert_eq!(ids, made, "newest first, each once");

    let high = list(ListSignalsRequest {
        severity: Severity::High.into(),
        ..base.clone()
    })
    .await
    .expect("by severity");
    assert_eq!(high.signals.len(), 2);
    let email = list(ListSignalsRequest {
        source: Source::Email.into(),
        ..base.clone()
    })
    .await
    .expect("by source");
    assert_eq!(email.signals.len(), 1);
    let searched = list(ListSignalsRequest {
        query: "checkout -coupon".to_owned(),
        order: SignalOrder::Relevance.into(),
        ..base.clone()
    })
    .await
    .expect("search");
    assert_eq!(searched.signals.len(), 1);
    assert_eq!(searched.signals[0].id, made[0]);
    let no_query = list(ListSignalsRequest {
        order: SignalOrder::Relevance.into(),
        ..base.clone()
    })
    .await
    .expect_err("relevance needs a query");
    assert_eq!(violated_fields(&no_query), ["order"]);
    let foreign_token = list(ListSignalsRequest {
        page_token: all.next_page_token.clone(),
        severity: Severity::Low.into(),
        ..base.clone()
    })
    .await
    .expect_err("a token of another query");
    assert_eq!(violated_fields(&foreign_token), ["page_token"]);

    let viewer = c
        .create_signal(as_user(
            "vic",
            CreateSignalRequest {
                workspace_id: w.id.clone(),
                signal: Some(input("from a viewer", "")),
            },
        ))
        .await
        .expect_err("viewers read only");
    assert_eq!(viewer.code(), Code::PermissionDenied);
    let stranger = c
        .get_signal(as_user(
            "eve",
            GetSignalRequest {
                id: made[0].clone(),
            },
        ))
        .await
        .expect_err("not a member");
    assert_eq!(stranger.code(), Code::NotFound);

    let bad = c
        .create_signal(as_user(
            OWNER,
            CreateSignalRequest {
                workspace_id: w.id.clone(),
                signal: Some(SignalInput {
                    verbatim: String::new(),
                    source: 0,
                    severity: 42,
                    user_segment: "s".repeat(201),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("bad input");
    assert_eq!(
        violated_fields(&bad),
        [
            "signal.verbatim",
            "signal.severity",
            "signal.user_segment",
            "signal.source"
        ]
    );
    let batch = c
        .batch_create_signals(as_user(
            OWNER,
            BatchCreateSignalsRequest {
                workspace_id: w.id.clone(),
                signals: vec![input("fine", ""), input("", "")],
            },
        ))
        .await
        .expect_err("one bad entry");
    assert_eq!(violated_fields(&batch), ["signals[1].verbatim"]);
    let stored = count(
        &app,
        &format!(
            "SELECT count(*) AS count FROM signals WHERE workspace_id = '{}'",
            w.id
        ),
    )
    .await;
    assert_eq!(stored, 3, "a refused batch stores nothing");
}
