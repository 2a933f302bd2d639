//! GetStepContext: one read gives the tool driving a step its definition
//! and prompt template, the step, and every earlier step's output in order.

use atelier::proto::workshop::{
    CreateWorkshopRequest, GetStepContextRequest, StepStatus, UpdateWorkshopStepRequest,
};
use prost_types::value::Kind;
use tonic::Code;

use crate::common::{TestApp, as_user, reason, violated_fields};

fn text_output(text: &str) -> prost_types::Struct {
    prost_types::Struct {
        fields: [(
            "summary".to_owned(),
            prost_types::Value {
                kind: Some(Kind::StringValue(text.to_owned())),
            },
        )]
        .into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_context_of_a_step_is_its_definition_and_every_earlier_output_in_order() {
    let app = TestApp::start().await;
    let mut workshop = app.workshop();
    let w = workshop
        .create_workshop(as_user(
            "ada",
            CreateWorkshopRequest {
                title: "Context".to_owned(),
                original_idea: "Each step builds on the last".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("workshop")
        .into_inner()
        .workshop
        .expect("workshop");
    // empathize completed with an output, define skipped, prototype (after
    // ideate) written too: it must not show up in ideate's context.
    for (step_id, status, skip, output) in [
        (
            "empathize",
            StepStatus::Complete,
            false,
            Some("users are busy"),
        ),
        ("define", StepStatus::Unspecified, true, None),
        (
            "prototype",
            StepStatus::InProgress,
            false,
            Some("a later step"),
        ),
        ("ideate", StepStatus::InProgress, false, Some("draft ideas")),
    ] {
        workshop
            .update_workshop_step(as_user(
                "ada",
                UpdateWorkshopStepRequest {
                    workshop_id: w.id.clone(),
                    step_id: step_id.to_owned(),
                    status: status.into(),
                    skip,
                    confirm_skip: skip,
                    output: output.map(text_output),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|e| panic!("{step_id}: {e:?}"));
    }
    let context = |step_id: &str, user: &str| {
        let mut client = app.workshop();
        let request = GetStepContextRequest {
            workshop_id: w.id.clone(),
            step_id: step_id.to_owned(),
        };
        let user = user.to_owned();
        async move { client.get_step_context(as_user(&user, request)).await }
    };

    let ideate = context("ideate", "ada")
        .await
        .expect("context")
        .into_inner();
    let definition = ideate.definition.expect("definition");
    assert_eq!((definition.id.as_str(), definition.position), ("ideate", 3));
    assert!(!definition.prompt_template.is_empty());
    let step = ideate.step.expect("step");
    assert_eq!(step.output, Some(text_output("draft ideas")));
    assert!(
        !step.etag.is_empty(),
        "the etag to write the result back with"
    );
    let prior: Vec<(&str, bool, Option<prost_types::Struct>)> = ideate
        .prior_steps
        .iter()
        .map(|s| (s.step_id.as_str(), s.skipped, s.output.clone()))
        .collect();
    assert_eq!(
        prior,
        [
            ("empathize", false, Some(text_output("users are busy"))),
            ("define", true, None),
        ]
    );
    assert_eq!(
        (ideate.title.as_str(), ideate.original_idea.as_str()),
        ("Context", "Each step builds on the last")
    );

    let first = context("empathize", "ada")
        .await
        .expect("first")
        .into_inner();
    assert!(
        first.prior_steps.is_empty(),
        "the first step has no context"
    );
    let last = context("pack", "ada").await.expect("last").into_inner();
    let positions: Vec<i32> = last.prior_steps.iter().map(|s| s.position).collect();
    assert_eq!(positions, (1..=9).collect::<Vec<_>>());

    let unknown = context("zzz", "ada").await.expect_err("no such step");
    assert_eq!(
        (unknown.code(), reason(&unknown)),
        (Code::NotFound, "STEP_NOT_FOUND".to_owned())
    );
    let malformed = context("Ideate!", "ada").await.expect_err("malformed");
    assert_eq!(violated_fields(&malformed), ["step_id"]);
    // A private workshop hides itself from a non-member, as GetWorkshopStep.
    let stranger = context("ideate", "mallory").await.expect_err("stranger");
    assert_eq!(
        (stranger.code(), reason(&stranger)),
        (Code::NotFound, "WORKSHOP_NOT_FOUND".to_owned())
    );
}
