//! Server reflection in both versions: v1 (buf curl, grpcui) and v1alpha
//! (grpcurl 1.8.x asks only that one).

use prost::Message as _;
use tokio_stream::StreamExt as _;
use tonic_reflection::pb::{v1, v1alpha};

use crate::common::TestApp;

const EXPECTED: [&str; 4] = [
    "atelier.registry.v1.SkillRegistry",
    "atelier.workshop.v1.Workshop",
    "atelier.signals.v1.Signals",
    "grpc.health.v1.Health",
];

#[tokio::test(flavor = "multi_thread")]
async fn reflection_v1_lists_and_describes_both_services() {
    use v1::server_reflection_client::ServerReflectionClient;
    use v1::server_reflection_request::MessageRequest;
    use v1::server_reflection_response::MessageResponse;

    let app = TestApp::start().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("atelier.registry.v1.SkillRegistry".to_owned()),
        MessageRequest::FileContainingSymbol("atelier.workshop.v1.Workshop".to_owned()),
    ]
    .map(|message| v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(message),
    });
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection answers")
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) = responses
        .next()
        .await
        .expect("a response")
        .expect("ok")
        .message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in EXPECTED {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for service in ["SkillRegistry", "Workshop"] {
        let Some(MessageResponse::FileDescriptorResponse(files)) = responses
            .next()
            .await
            .expect("a response")
            .expect("ok")
            .message_response
        else {
            panic!("expected descriptors");
        };
        let described = files.file_descriptor_proto.iter().any(|bytes| {
            prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .is_ok_and(|file| file.service.iter().any(|s| s.name() == service))
        });
        assert!(described, "{service} not described");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_v1alpha_lists_both_services() {
    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;

    let app = TestApp::start().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = responses
        .next()
        .await
        .expect("a response")
        .expect("ok")
        .message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in EXPECTED {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reflection_describes_the_error_details_so_grpcurl_can_decode_them() {
    use v1alpha::server_reflection_client::ServerReflectionClient;
    use v1alpha::server_reflection_request::MessageRequest;
    use v1alpha::server_reflection_response::MessageResponse;

    let app = TestApp::start().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    for symbol in ["google.rpc.ErrorInfo", "google.rpc.BadRequest"] {
        let request = v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(symbol.to_owned())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection answers")
            .into_inner();
        let response = responses
            .next()
            .await
            .expect("a response")
            .expect("ok")
            .message_response;
        let Some(MessageResponse::FileDescriptorResponse(files)) = response else {
            panic!("{symbol} is not described: {response:?}");
        };
        let name = symbol.trim_start_matches("google.rpc.");
        let described = files.file_descriptor_proto.iter().any(|bytes| {
            prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .is_ok_and(|file| file.message_type.iter().any(|m| m.name() == name))
        });
        assert!(described, "{symbol}");
    }
}
