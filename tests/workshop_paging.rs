//! Keyset paging of the Workshop's member, session and build-pack lists:
//! every row once, in the documented order, across pages of one or two
//! rows; and a signed token whose time is impossible is INVALID_ARGUMENT
//! on every list (the position's time is checked while decoding, in one
//! place, for all of them).

use atelier::proto::workshop::{
    AddMemberRequest, BuildPackFormat, CreateBuildPackRequest, CreateWorkshopRequest,
    ListBuildPacksRequest, ListMembersRequest, ListSessionsRequest, ListWorkshopsRequest,
    StepStatus, UpdateWorkshopStepRequest,
};
use tonic::Code;

use crate::common::{TestApp, as_user, violated_fields};

const OWNER: &str = "owner";
const EDITORS: [&str; 4] = ["ed-1", "ed-2", "ed-3", "ed-4"];

/// Pages through a list with `fetch(page_token) -> (ids, next_page_token)`.
async fn all_pages<F, Fut>(mut fetch: F) -> Vec<String>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = (Vec<String>, String)>,
{
    let mut ids = Vec::new();
    let mut token = String::new();
    for _ in 0..20 {
        let (page, next) = fetch(token).await;
        assert!(page.len() <= 2, "a page larger than asked: {page:?}");
        ids.extend(page);
        if next.is_empty() {
            return ids;
        }
        token = next;
    }
    panic!("paging did not end: {ids:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn members_sessions_and_build_packs_page_in_order_and_refuse_a_forged_time() {
    let app = TestApp::start().await;
    let w = app
        .workshop()
        .create_workshop(as_user(
            OWNER,
            CreateWorkshopRequest {
                request_id: String::new(),
                title: "Paging".to_owned(),
                original_idea: "Every row once".to_owned(),
                org_id: String::new(),
                template_id: String::new(),
            },
        ))
        .await
        .expect("create")
        .into_inner()
        .workshop
        .expect("workshop");

    // Members join one after another; each editor's first step change
    // starts a session of theirs; three packs are made in turn.
    let mut pack_ids = Vec::new();
    for editor in EDITORS {
        app.workshop()
            .add_member(as_user(
                OWNER,
                AddMemberRequest {
                    request_id: String::new(),
                    workshop_id: w.id.clone(),
                    user_id: editor.to_owned(),
                    role: "editor".to_owned(),
                },
            ))
            .await
            .expect("add member");
        app.workshop()
            .update_workshop_step(as_user(
                editor,
                UpdateWorkshopStepRequest {
                    etag: String::new(),
                    workshop_id: w.id.clone(),
                    step_id: "empathize".to_owned(),
                    status: StepStatus::InProgress.into(),
                    output: None,
                    skip: false,
                    confirm_skip: false,
                },
            ))
            .await
            .expect("step change");
    }
    for _ in 0..3 {
        let pack = app
            .workshop()
            .create_build_pack(as_user(
                OWNER,
                CreateBuildPackRequest {
                    request_id: String::new(),
                    workshop_id: w.id.clone(),
                    format: BuildPackFormat::Json.into(),
                },
            ))
            .await
            .expect("pack")
            .into_inner()
            .build_pack
            .expect("pack");
        pack_ids.push(pack.id);
    }

    let members = all_pages(|page_token| {
        let mut client = app.workshop();
        let workshop_id = w.id.clone();
        async move {
            let page = client
                .list_members(as_user(
                    OWNER,
                    ListMembersRequest {
                        workshop_id,
                        page_size: 2,
                        page_token,
                    },
                ))
                .await
                .expect("members")
                .into_inner();
            let ids = page.members.into_iter().map(|m| m.user_id).collect();
            (ids, page.next_page_token)
        }
    })
    .await;
    let mut joined = vec![OWNER.to_owned()];
    joined.extend(EDITORS.map(str::to_owned));
    assert_eq!(members, joined, "members: oldest first, each once");

    let sessions = all_pages(|page_token| {
        let mut client = app.workshop();
        let workshop_id = w.id.clone();
        async move {
            let page = client
                .list_sessions(as_user(
                    OWNER,
                    ListSessionsRequest {
                        workshop_id,
                        page_size: 1,
                        page_token,
                    },
                ))
                .await
                .expect("sessions")
                .into_inner();
            let users = page.sessions.into_iter().map(|s| s.user_id).collect();
            (users, page.next_page_token)
        }
    })
    .await;
    let newest_first: Vec<String> = EDITORS.iter().rev().map(|e| (*e).to_owned()).collect();
    assert_eq!(sessions, newest_first, "sessions: newest first, each once");

    let packs = all_pages(|page_token| {
        let mut client = app.workshop();
        let workshop_id = w.id.clone();
        async move {
            let page = client
                .list_build_packs(as_user(
                    OWNER,
                    ListBuildPacksRequest {
                        workshop_id,
                        page_size: 2,
                        page_token,
                    },
                ))
                .await
                .expect("packs")
                .into_inner();
            let ids = page.build_packs.into_iter().map(|p| p.id).collect();
            (ids, page.next_page_token)
        }
    })
    .await;
    pack_ids.reverse();
    assert_eq!(packs, pack_ids, "build packs: newest first, each once");

    // Tokens signed with the server's own key for each list's own query,
    // so only the time can be wrong: 0 (1970) is a possible time, and
    // those tokens must be accepted — otherwise the refusals below would
    // prove nothing.
    let tokens = app.page_tokens();
    for micros in [0, i64::MAX, i64::MIN, 253_402_300_800_000_000] {
        let forged = |query: &[&str], tie: &str| {
            tokens.encode(
                &atelier::pagination::fingerprint(query),
                &(micros, tie.to_owned()),
            )
        };
        let nil = uuid::Uuid::nil().to_string();
        let mut c = app.workshop();
        let refusals = [
            c.list_members(as_user(
                OWNER,
                ListMembersRequest {
                    workshop_id: w.id.clone(),
                    page_size: 2,
                    page_token: forged(&["members", &w.id], "someone"),
                },
            ))
            .await
            .map(drop),
            c.list_sessions(as_user(
                OWNER,
                ListSessionsRequest {
                    workshop_id: w.id.clone(),
                    page_size: 2,
                    page_token: forged(&["sessions", &w.id], &nil),
                },
            ))
            .await
            .map(drop),
            c.list_build_packs(as_user(
                OWNER,
                ListBuildPacksRequest {
                    workshop_id: w.id.clone(),
                    page_size: 2,
                    page_token: forged(&["build_packs", &w.id], &nil),
                },
            ))
            .await
            .map(drop),
            c.list_workshops(as_user(
                OWNER,
                ListWorkshopsRequest {
                    page_size: 2,
                    page_token: forged(&["workshops", OWNER, "", ""], &nil),
                    status: 0,
                    role: String::new(),
                },
            ))
            .await
            .map(drop),
        ];
        for (list, refusal) in ["members", "sessions", "build packs", "workshops"]
            .iter()
            .zip(refusals)
        {
            if micros == 0 {
                refusal.unwrap_or_else(|e| panic!("{list}: a possible time refused: {e:?}"));
                continue;
            }
            let status = refusal.expect_err("an impossible time");
            assert_eq!(status.code(), Code::InvalidArgument, "{list} {micros}");
            assert_eq!(violated_fields(&status), ["page_token"], "{list}");
        }
    }
}
