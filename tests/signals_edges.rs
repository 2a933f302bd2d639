//! Signals at their edges, each found by probing the running service from
//! outside: the status machine and the links agree (LINKED means "has
//! links", also after a project is deleted), a retried status change keeps
//! the etag, a non-member learns nothing of another workspace's projects,
//! ids and JSON objects are bounded as the proto says, a query of dashes
//! cannot be ranked, a page of large signals fits a client's 4 MiB limit,
//! and overlapping batches do not deadlock.

use atelier::proto::signals::{
    BatchCreateSignalsRequest, CreateProjectRequest, CreateSignalRequest, CreateWorkspaceRequest,
    DeleteProjectRequest, LinkSignalToPersonaRequest, LinkSignalToProjectRequest,
    ListSignalsRequest, Project, Signal, SignalInput, SignalOrder, SignalStatus, Source,
    UpdateSignalRequest, Workspace,
};
use prost::Message as _;
use prost_types::value::Kind;
use tonic::Code;

use crate::common::{TestApp, as_user, reason, violated_fields};

const OWNER: &str = "ada";

async fn workspace(app: &TestApp, owner: &str, name: &str) -> Workspace {
    app.signals()
        .create_workspace(as_user(
            owner,
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

async fn project(app: &TestApp, owner: &str, w: &Workspace, name: &str) -> Project {
    app.signals()
        .create_project(as_user(
            owner,
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

fn input(verbatim: &str) -> SignalInput {
    SignalInput {
        verbatim: verbatim.to_owned(),
        source: Source::Paste.into(),
        ..Default::default()
    }
}

async fn create(
    app: &TestApp,
    owner: &str,
    w: &Workspace,
    input: SignalInput,
) -> Result<Signal, tonic::Status> {
    app.signals()
        .create_signal(as_user(
            owner,
            CreateSignalRequest {
                workspace_id: w.id.clone(),
                signal: Some(input),
            },
        ))
        .await
        .map(|r| r.into_inner().signal.expect("signal"))
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
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".to_owned()],
                }),
            },
        ))
        .await
        .map(|r| r.into_inner().signal.expect("signal"))
}

async fn link(app: &TestApp, user: &str, s: &Signal, p: &Project) -> Result<Signal, tonic::Status> {
    app.signals()
        .link_signal_to_project(as_user(
            user,
            LinkSignalToProjectRequest {
                signal_id: s.id.clone(),
                project_id: p.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .map(|r| r.into_inner().signal.expect("signal"))
}

async fn get(app: &TestApp, s: &Signal) -> Signal {
    app.signals()
        .get_signal(as_user(
            OWNER,
            atelier::proto::signals::GetSignalRequest { id: s.id.clone() },
        ))
        .await
        .expect("get")
        .into_inner()
        .signal
        .expect("signal")
}

#[tokio::test(flavor = "multi_thread")]
async fn linked_means_has_links_whatever_moves_the_status() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Edges").await;
    let only = project(&app, OWNER, &w, "Only").await;
    let first = project(&app, OWNER, &w, "First").await;
    let second = project(&app, OWNER, &w, "Second").await;

    // A reviewed signal without links cannot be made LINKED by hand.
    let lone = create(&app, OWNER, &w, input("No links"))
        .await
        .expect("signal");
    let lone = set_status(&app, &lone, SignalStatus::Reviewed)
        .await
        .expect("reviewed");
    let refused = set_status(&app, &lone, SignalStatus::Linked)
        .await
        .expect_err("no links");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "SIGNAL_HAS_NO_LINKS");
    assert_eq!(get(&app, &lone).await.status, SignalStatus::Reviewed as i32);

    // Deleting a signal's only project leaves it REVIEWED; a signal with a
    // second project stays LINKED.
    let orphan = create(&app, OWNER, &w, input("Loses its project"))
        .await
        .expect("signal");
    let orphan = link(&app, OWNER, &orphan, &only).await.expect("link");
    assert_eq!(orphan.status, SignalStatus::Linked as i32);
    let kept = create(&app, OWNER, &w, input("Keeps a project"))
        .await
        .expect("signal");
    link(&app, OWNER, &kept, &only).await.expect("link");
    let kept = link(&app, OWNER, &kept, &first).await.expect("link");
    let persona = create(&app, OWNER, &w, input("Keeps a persona"))
        .await
        .expect("signal");
    link(&app, OWNER, &persona, &only).await.expect("link");
    app.signals()
        .link_signal_to_persona(as_user(
            OWNER,
            LinkSignalToPersonaRequest {
                signal_id: persona.id.clone(),
                persona_id: "night-nurse".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("persona link");
    app.signals()
        .delete_project(as_user(
            OWNER,
            DeleteProjectRequest {
                id: only.id.clone(),
                etag: String::new(),
            },
        ))
        .await
        .expect("delete project");
    let orphan_now = get(&app, &orphan).await;
    assert_eq!(
        orphan_now.status,
        SignalStatus::Reviewed as i32,
        "no link left"
    );
    assert_ne!(
        orphan_now.etag, orphan.etag,
        "the status change moved the etag"
    );
    assert_eq!(get(&app, &kept).await.status, SignalStatus::Linked as i32);
    assert_eq!(
        get(&app, &persona).await.status,
        SignalStatus::Linked as i32
    );

    // Brought back from ARCHIVED, a signal with links is LINKED again, one
    // without is REVIEWED.
    let archived = set_status(&app, &kept, SignalStatus::Archived)
        .await
        .expect("archive");
    let linked = link(&app, OWNER, &archived, &second)
        .await
        .expect("link while archived");
    assert_eq!(
        linked.status,
        SignalStatus::Archived as i32,
        "linking keeps ARCHIVED"
    );
    let back = set_status(&app, &linked, SignalStatus::Reviewed)
        .await
        .expect("unarchive");
    assert_eq!(back.status, SignalStatus::Linked as i32);
    let archived = set_status(&app, &orphan_now, SignalStatus::Archived)
        .await
        .expect("archive");
    let back = set_status(&app, &archived, SignalStatus::Reviewed)
        .await
        .expect("unarchive");
    assert_eq!(back.status, SignalStatus::Reviewed as i32);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_current_status_again_changes_nothing_not_even_the_etag() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Retries").await;
    let s = create(&app, OWNER, &w, input("Retried triage"))
        .await
        .expect("signal");
    for status in [
        SignalStatus::New,
        SignalStatus::Reviewed,
        SignalStatus::Archived,
    ] {
        let current = if status == SignalStatus::New {
            s.clone()
        } else {
            set_status(&app, &s, status).await.expect("move")
        };
        let again = set_status(&app, &current, status).await.expect("again");
        assert_eq!(again.status, status as i32);
        assert_eq!(again.etag, current.etag, "{status:?} again kept the etag");
        assert_eq!(again.update_time, current.update_time);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_member_learns_nothing_of_a_project_in_another_workspace() {
    let app = TestApp::start().await;
    let ada = workspace(&app, OWNER, "Ada's").await;
    let secret = project(&app, OWNER, &ada, "Secret").await;
    let eve = workspace(&app, "eve", "Eve's").await;
    let hers = create(&app, "eve", &eve, input("Eve's signal"))
        .await
        .expect("signal");

    let error = link(&app, "eve", &hers, &secret)
        .await
        .expect_err("foreign project");
    assert_eq!(error.code(), Code::NotFound, "{error:?}");
    assert_eq!(violated_fields(&error), Vec::<String>::new());
    let unknown = Project {
        id: uuid::Uuid::now_v7().to_string(),
        ..secret.clone()
    };
    let for_unknown = link(&app, "eve", &hers, &unknown)
        .await
        .expect_err("unknown project");
    assert_eq!(
        (error.code(), reason(&error)),
        (for_unknown.code(), reason(&for_unknown)),
        "an existing foreign project looks like one that does not exist"
    );

    // A member of both workspaces is told what is wrong.
    let mine = create(
        &app,
        OWNER,
        &workspace(&app, OWNER, "Ada's other").await,
        input("x"),
    )
    .await
    .expect("signal");
    let error = link(&app, OWNER, &mine, &secret)
        .await
        .expect_err("cross-workspace");
    assert_eq!(reason(&error), "CROSS_WORKSPACE_LINK");
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_and_json_objects_are_bounded_as_the_proto_says() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Bounds").await;

    // Inbox item and persona ids: up to 200 characters.
    let ok = create(
        &app,
        OWNER,
        &w,
        SignalInput {
            inbox_item_id: "i".repeat(200),
            ..input("At the limit")
        },
    )
    .await
    .expect("200 characters");
    let error = create(
        &app,
        OWNER,
        &w,
        SignalInput {
            inbox_item_id: "i".repeat(201),
            ..input("Over the limit")
        },
    )
    .await
    .expect_err("201 characters");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&error), ["signal.inbox_item_id"]);
    let error = app
        .signals()
        .batch_create_signals(as_user(
            OWNER,
            BatchCreateSignalsRequest {
                workspace_id: w.id.clone(),
                signals: vec![
                    input("fine"),
                    SignalInput {
                        inbox_item_id: "i".repeat(201),
                        ..input("Over the limit")
                    },
                ],
            },
        ))
        .await
        .expect_err("201 characters in a batch");
    assert_eq!(violated_fields(&error), ["signals[1].inbox_item_id"]);
    for (persona, accepted) in [("p".repeat(200), true), ("p".repeat(201), false)] {
        let linked = app
            .signals()
            .link_signal_to_persona(as_user(
                OWNER,
                LinkSignalToPersonaRequest {
                    signal_id: ok.id.clone(),
                    persona_id: persona,
                    ..Default::default()
                },
            ))
            .await;
        match linked {
            Ok(_) => assert!(accepted),
            Err(error) => {
                assert!(!accepted, "{error:?}");
                assert_eq!(error.code(), Code::InvalidArgument);
                assert_eq!(violated_fields(&error), ["persona_id"]);
            }
        }
    }

    // JSON objects: up to 64 KiB.
    let object = |bytes: usize| prost_types::Struct {
        fields: [(
            "blob".to_owned(),
            prost_types::Value {
                kind: Some(Kind::StringValue("x".repeat(bytes))),
            },
        )]
        .into(),
    };
    create(
        &app,
        OWNER,
        &w,
        SignalInput {
            source_metadata: Some(object(60 * 1024)),
            ai_classification: Some(object(60 * 1024)),
            ..input("Large but fine")
        },
    )
    .await
    .expect("60 KiB objects");
    let error = create(
        &app,
        OWNER,
        &w,
        SignalInput {
            source_metadata: Some(object(65 * 1024)),
            ai_classification: Some(object(3 * 1024 * 1024)),
            ..input("Too large")
        },
    )
    .await
    .expect_err("too large");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&error),
        ["signal.source_metadata", "signal.ai_classification"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_of_dashes_cannot_be_ranked_and_matches_everything_newest_first() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Dashes").await;
    create(&app, OWNER, &w, input("A signal"))
        .await
        .expect("signal");
    for query in ["-", "--", "- -", "-- --"] {
        let list = |order: SignalOrder| ListSignalsRequest {
            workspace_id: w.id.clone(),
            query: query.to_owned(),
            order: order.into(),
            ..Default::default()
        };
        let error = app
            .signals()
            .list_signals(as_user(OWNER, list(SignalOrder::Relevance)))
            .await
            .expect_err("nothing to rank by");
        assert_eq!(error.code(), Code::InvalidArgument, "{query:?}: {error:?}");
        assert_eq!(violated_fields(&error), ["order"]);
        let newest = app
            .signals()
            .list_signals(as_user(OWNER, list(SignalOrder::Newest)))
            .await
            .expect("newest")
            .into_inner();
        assert_eq!(newest.signals.len(), 1, "{query:?} searches for nothing");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_large_signals_fits_a_default_client_and_the_pages_hold_every_signal_once() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Large").await;
    // 40 signals of about 120 KB each (20,000 three-byte characters twice):
    // 4.8 MB in all, more than one 4 MiB message.
    let words = "€".repeat(20_000);
    let mut created = Vec::new();
    for batch in 0..4 {
        let signals = (0..10)
            .map(|i| SignalInput {
                interpretation: words.clone(),
                source_ref: format!("large-{batch}-{i}"),
                source: Source::Upload.into(),
                ..input(&words)
            })
            .collect();
        let stored = app
            .signals()
            .batch_create_signals(as_user(
                OWNER,
                BatchCreateSignalsRequest {
                    workspace_id: w.id.clone(),
                    signals,
                },
            ))
            .await
            .expect("batch")
            .into_inner()
            .signals;
        created.extend(stored.into_iter().map(|s| s.id));
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        // The test client keeps tonic's default 4 MiB receive limit.
        let page = app
            .signals()
            .list_signals(as_user(
                OWNER,
                ListSignalsRequest {
                    workspace_id: w.id.clone(),
                    page_size: 500,
                    page_token: token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("a page within the client's limit")
            .into_inner();
        assert!(page.encoded_len() < 4 * 1024 * 1024);
        pages += 1;
        seen.extend(page.signals.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(pages >= 2, "40 large signals do not fit one page");
    let mut expected = created.clone();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every signal once, over {pages} pages");
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_batches_in_opposite_orders_both_succeed() {
    let app = TestApp::start().await;
    let w = workspace(&app, OWNER, "Overlap").await;
    let entries: Vec<SignalInput> = (0..200)
        .map(|i| SignalInput {
            source: Source::Webhook.into(),
            source_ref: format!("delivery-{i:03}"),
            ..input(&format!("Delivery {i}"))
        })
        .collect();
    let mut calls = Vec::new();
    for round in 0..6 {
        let mut signals = entries.clone();
        if round % 2 == 1 {
            signals.reverse();
        }
        let mut client = app.signals();
        let workspace_id = w.id.clone();
        calls.push(tokio::spawn(async move {
            client
                .batch_create_signals(as_user(
                    OWNER,
                    BatchCreateSignalsRequest {
                        workspace_id,
                        signals,
                    },
                ))
                .await
                .map(|r| r.into_inner().signals)
        }));
    }
    let mut ids: Option<Vec<String>> = None;
    for call in calls {
        let stored = call.await.expect("task").expect("no deadlock, no ABORTED");
        let mut these: Vec<String> = stored.into_iter().map(|s| s.id).collect();
        these.sort();
        match &ids {
            None => ids = Some(these),
            Some(first) => assert_eq!(first, &these, "every batch answers the same signals"),
        }
    }
    assert_eq!(ids.map(|i| i.len()), Some(200));
}
