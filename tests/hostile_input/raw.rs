//! Raw bodies: bytes that are not the protobuf the RPC expects, sent
//! through a codec that passes them as they are.

use super::*;

/// A codec that sends bytes as they are and takes any answer as bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// How an RPC streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Unary,
    ClientStream,
    ServerStream,
}

/// Every RPC of every service, with its path and shape.
const ALL_RPCS: &[(&str, &str, &str, Shape)] = &[
    (
        REGISTRY,
        "CreateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "GetSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListSkills",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "UpdateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "DeleteSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "CreateSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "UploadSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::ClientStream,
    ),
    (
        REGISTRY,
        "GetSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListSkillVersions",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ReadSkillVersionContent",
        "atelier.registry.v1.SkillRegistry",
        Shape::ServerStream,
    ),
    (
        REGISTRY,
        "PublishSkillVersion",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "RateSkill",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "ListRatings",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "RecordUsage",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        REGISTRY,
        "BatchRecordUsage",
        "atelier.registry.v1.SkillRegistry",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "CreateWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListWorkshops",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "DeleteWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ShareWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetSharedWorkshop",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "AddMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "RemoveMember",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListMembers",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListStepDefinitions",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetWorkshopStep",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListWorkshopSteps",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "UpdateWorkshopStep",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListSessions",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "EndSession",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "CreateBuildPack",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "GetBuildPack",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ListBuildPacks",
        "atelier.workshop.v1.Workshop",
        Shape::Unary,
    ),
    (
        WORKSHOP,
        "ReadBuildPackContent",
        "atelier.workshop.v1.Workshop",
        Shape::ServerStream,
    ),
    (
        OUTBOX,
        "GetOutboxStats",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
    (
        OUTBOX,
        "ListDeadEvents",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
    (
        OUTBOX,
        "RetryDeadEvents",
        "atelier.admin.v1.Outbox",
        Shape::Unary,
    ),
];

/// Malformed protobuf bodies, by name.
fn malformed_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let mut long_varint = vec![0x08];
    long_varint.extend([0xff; 10]);
    long_varint.push(0x01);
    vec![
        ("truncated varint", vec![0x10, 0xff]),
        ("length prefix past the end", vec![0x0a, 0x7f, b'a', b'b']),
        ("wrong wire type for field 1", vec![0x0d, 1, 2, 3, 4]),
        ("field 1 not UTF-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ("field number 0", vec![0x00, 0x01]),
        ("11-byte varint", long_varint),
        ("end group without a start", vec![0x0c]),
    ]
}

/// The bytes of a Struct nested `levels` deep (`{"n": {"n": … {}}}`),
/// built from the inside out without recursion.
fn deep_struct_bytes(levels: usize) -> Vec<u8> {
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..levels {
        // Value { struct_value (5): inner }
        let mut value_bytes = vec![0x2a];
        prost::encoding::encode_varint(inner.len() as u64, &mut value_bytes);
        value_bytes.extend_from_slice(&inner);
        // map entry { key (1): "n", value (2): value }
        let mut entry = vec![0x0a, 0x01, b'n', 0x12];
        prost::encoding::encode_varint(value_bytes.len() as u64, &mut entry);
        entry.extend_from_slice(&value_bytes);
        // Struct { fields (1): entry }
        let mut object_bytes = vec![0x0a];
        prost::encoding::encode_varint(entry.len() as u64, &mut object_bytes);
        object_bytes.extend_from_slice(&entry);
        inner = object_bytes;
    }
    inner
}

/// Sends `body` to `path` as one message (of a stream, for streaming
/// RPCs), with Alice as the user.
async fn raw_call(app: &TestApp, path: &str, shape: Shape, body: Vec<u8>) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("sweep: channel not ready: {e}")))?;
    let path = http::uri::PathAndQuery::try_from(path)
        .map_err(|e| Status::invalid_argument(format!("sweep: bad path: {e}")))?;
    let who = Who::User(ALICE);
    match shape {
        Shape::Unary => grpc
            .unary::<Vec<u8>, Vec<u8>, RawCodec>(request(who, body), path, RawCodec)
            .await
            .map(drop),
        Shape::ClientStream => grpc
            .client_streaming::<_, Vec<u8>, Vec<u8>, RawCodec>(
                request(who, tokio_stream::iter(vec![body])),
                path,
                RawCodec,
            )
            .await
            .map(drop),
        Shape::ServerStream => {
            let mut stream = grpc
                .server_streaming::<Vec<u8>, Vec<u8>, RawCodec>(request(who, body), path, RawCodec)
                .await?
                .into_inner();
            while stream.message().await?.is_some() {}
            Ok(())
        }
    }
}

pub(super) async fn sweep_raw(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let app = sweep.app;
    // Every malformed body on one RPC of each shape and service; the first
    // two on every RPC.
    let thorough = [
        "GetSkill",
        "UploadSkillVersion",
        "ReadBuildPackContent",
        "RetryDeadEvents",
    ];
    for &(service, rpc, package, shape) in ALL_RPCS {
        let path = format!("/{package}/{rpc}");
        let bodies = malformed_bodies();
        let take = if thorough.contains(&rpc) {
            bodies.len()
        } else {
            2
        };
        for (label, body) in bodies.into_iter().take(take) {
            let result = settle(raw_call(app, &path, shape, body)).await;
            let case = format!("raw body: {label}");
            sweep.check(service, rpc, &case, true, result).await;
        }
    }
    // A step output nested far past protobuf's recursion limit.
    let path = "/atelier.workshop.v1.Workshop/UpdateWorkshopStep";
    for levels in [200, 100_000] {
        let mut body = ws::UpdateWorkshopStepRequest {
            workshop_id: fx.workshop.id.clone(),
            step_id: "ideate".to_owned(),
            ..Default::default()
        }
        .encode_to_vec();
        let output = deep_struct_bytes(levels);
        body.push(0x22); // field 4, length-delimited
        prost::encoding::encode_varint(output.len() as u64, &mut body);
        body.extend_from_slice(&output);
        let result = settle(raw_call(app, path, Shape::Unary, body)).await;
        sweep
            .check(
                WORKSHOP,
                "UpdateWorkshopStep",
                &format!("raw body: output Struct nested {levels} levels"),
                true,
                result,
            )
            .await;
    }
    // An unknown field and an empty body reach our code: they are requests.
    for &(service, rpc, package, shape) in ALL_RPCS {
        let path = format!("/{package}/{rpc}");
        let unknown = vec![0xf8, 0x06, 0x01]; // field 111, varint 1
        let result = settle(raw_call(app, &path, shape, unknown)).await;
        sweep
            .check(
                service,
                rpc,
                "raw body: an unknown field only",
                false,
                result,
            )
            .await;
    }
}
