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
