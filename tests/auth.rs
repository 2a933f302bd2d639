//! Caller authentication and routing of every service.

use atelier::proto::registry::GetSkillRequest;
use atelier::proto::registry::get_skill_request::Selector;
use atelier::proto::workshop::ListStepDefinitionsRequest;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;

use crate::common::{TestApp, TestAppOptions, reason};

fn get_skill() -> GetSkillRequest {
    GetSkillRequest {
        selector: Some(Selector::Slug("some-skill".to_owned())),
    }
}

fn with_bearer<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_without_a_valid_token_are_unauthenticated_when_tokens_are_configured() {
    let app = TestApp::start_with(TestAppOptions {
        auth_tokens: vec!["web:correct-horse".to_owned()],
        ..TestAppOptions::default()
    })
    .await;

    let missing = app
        .registry()
        .get_skill(get_skill())
        .await
        .expect_err("rejected");
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(reason(&missing), "TOKEN_REQUIRED");
    assert!(
        missing.message().contains("authorization"),
        "{}",
        missing.message()
    );

    let wrong = app
        .workshop()
        .list_step_definitions(with_bearer("battery-staple", ListStepDefinitionsRequest {}))
        .await
        .expect_err("rejected");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(reason(&wrong), "TOKEN_INVALID");

    // The right token passes authentication and reaches the service.
    let accepted = app
        .registry()
        .get_skill(with_bearer("correct-horse", get_skill()))
        .await;
    assert!(passed_authentication(&accepted), "{accepted:?}");

    // Probes need no token.
    let health = app
        .health()
        .check(HealthCheckRequest::default())
        .await
        .expect("health answers without a token");
    assert_eq!(health.into_inner().status, 1, "SERVING");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_tokens_every_caller_is_accepted_and_routed() {
    let app = TestApp::start().await;
    let registry = app.registry().get_skill(get_skill()).await;
    assert!(passed_authentication(&registry), "{registry:?}");
    let workshop = app
        .workshop()
        .list_step_definitions(ListStepDefinitionsRequest {})
        .await;
    assert!(passed_authentication(&workshop), "{workshop:?}");
}

/// Whether a call got past the authenticator to its service: any answer
/// but UNAUTHENTICATED (and never INTERNAL).
fn passed_authentication<T>(result: &Result<T, tonic::Status>) -> bool {
    match result {
        Ok(_) => true,
        Err(status) => !matches!(status.code(), Code::Unauthenticated | Code::Internal),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_rpc_needs_a_token_with_the_admin_scope() {
    use atelier::proto::admin::outbox_client::OutboxClient;
    use atelier::proto::admin::{
        GetOutboxStatsRequest, ListDeadEventsRequest, RetryDeadEventsRequest,
    };
    let app = TestApp::start_with(TestAppOptions {
        auth_tokens: vec![
            "svc:product-secret".to_owned(),
            "ops:operator-secret:admin".to_owned(),
            "both:all-secret:rpc+admin".to_owned(),
        ],
        ..TestAppOptions::default()
    })
    .await;
    let outbox = OutboxClient::new(app.channel.clone());
    // Each admin RPC, as a given token calls it.
    async fn admin_calls(
        outbox: &OutboxClient<tonic::transport::Channel>,
        token: &str,
    ) -> Vec<Result<(), tonic::Status>> {
        let mut client = outbox.clone();
        vec![
            client
                .get_outbox_stats(with_bearer(token, GetOutboxStatsRequest {}))
                .await
                .map(drop),
            client
                .list_dead_events(with_bearer(token, ListDeadEventsRequest::default()))
                .await
                .map(drop),
            client
                .retry_dead_events(with_bearer(
                    token,
                    RetryDeadEventsRequest {
                        all: true,
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ]
    }
    for answer in admin_calls(&outbox, "product-secret").await {
        let status = answer.expect_err("an rpc-only token calls no admin RPC");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        assert_eq!(reason(&status), "SCOPE_MISSING");
        assert!(status.message().contains("`admin` scope"), "{status:?}");
        assert!(
            !status.message().contains("product-secret"),
            "no secret in errors"
        );
    }
    for token in ["operator-secret", "all-secret"] {
        for answer in admin_calls(&outbox, token).await {
            answer.unwrap_or_else(|status| panic!("{token}: {status:?}"));
        }
    }
    // An admin-only token does not act for users on the product services.
    let status = app
        .registry()
        .get_skill(with_bearer("operator-secret", get_skill()))
        .await
        .expect_err("admin-only on SkillRegistry");
    assert_eq!(
        (status.code(), reason(&status)),
        (Code::PermissionDenied, "SCOPE_MISSING".to_owned())
    );
    let status = app
        .registry()
        .get_skill(with_bearer("all-secret", get_skill()))
        .await
        .expect_err("no such skill");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "rpc+admin passes: {status:?}"
    );
}
