//! End-to-end scenario against a running Atelier server, with the Rust
//! client (the same one the Python and TypeScript examples run):
//!
//!     cargo run -p atelier-proto --example scenario -- HOST:PORT
//!
//! Registry: create a skill, add a SKILL.md version, publish it, record a
//! use and wait until the worker counts it. Workshop: create a workshop,
//! complete its first step with an output, ask for a Markdown build pack,
//! wait until it is rendered, download it and check it holds the output.
//! Errors: a CreateSkill with an empty name, decoded into its reason and
//! field. Names are unique per run; exits non-zero on the first mismatch.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atelier_proto::errors::ErrorDetails;
use atelier_proto::registry::skill_registry_client::SkillRegistryClient;
use atelier_proto::registry::{
    CreateSkillRequest, CreateSkillVersionRequest, GetSkillRequest, PublishSkillVersionRequest,
    RecordUsageRequest, SkillCategory, get_skill_request, record_usage_request,
};
use atelier_proto::workshop::workshop_client::WorkshopClient;
use atelier_proto::workshop::{
    BuildPackFormat, BuildPackStatus, CreateBuildPackRequest, CreateWorkshopRequest,
    GetBuildPackRequest, ReadBuildPackContentRequest, StepStatus, UpdateWorkshopStepRequest,
};
use prost_types::value::Kind;
use sha2::{Digest as _, Sha256};
use tonic::Request;
use tonic::transport::Channel;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How long the asynchronous worker may take.
const WORKER_TIMEOUT: Duration = Duration::from_secs(30);

fn ensure(ok: bool, what: impl Into<String>) -> Result<()> {
    if ok { Ok(()) } else { Err(what.into().into()) }
}

/// `message` as a call by `user`.
fn as_user<T>(user: &str, message: T) -> Result<Request<T>> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("x-user-id", user.parse()?);
    request.set_timeout(Duration::from_secs(10));
    Ok(request)
}

/// Asks `fetch` until `done` holds or the worker timeout passes.
async fn poll<T: std::fmt::Debug, F: Future<Output = Result<T>>>(
    what: &str,
    mut fetch: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> Result<T> {
    let started = Instant::now();
    loop {
        let value = fetch().await?;
        if done(&value) {
            return Ok(value);
        }
        if started.elapsed() > WORKER_TIMEOUT {
            return Err(
                format!("{what}: not there after {WORKER_TIMEOUT:?} (last: {value:?})").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn registry_part(channel: Channel, user: &str, run: &str) -> Result<()> {
    let mut registry = SkillRegistryClient::new(channel);
    let slug = format!("rust-scenario-{run}");
    let skill = registry
        .create_skill(as_user(
            user,
            CreateSkillRequest {
                slug: slug.clone(),
                name: "Scenario skill".to_owned(),
                description: "Created by clients/rust/examples/scenario.rs".to_owned(),
                category: SkillCategory::Prompt.into(),
                request_id: format!("create-{run}"),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner()
        .skill
        .ok_or("CreateSkill returned no skill")?;
    let content = format!(
        "---\nname: Scenario skill\ndescription: Says hello\nlicense: MIT\n---\n# Hello\nRun {run}.\n"
    );
    let created = registry
        .create_skill_version(as_user(
            user,
            CreateSkillVersionRequest {
                skill_id: skill.id.clone(),
                content: content.clone().into_bytes(),
                content_type: "text/markdown".to_owned(),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    let version = created.version.ok_or("no version")?;
    ensure(
        version.version == 1,
        format!("first version is 1, got {}", version.version),
    )?;
    let sha256: String = Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ensure(
        version.sha256 == sha256,
        "the version's SHA-256 is its content's",
    )?;
    let published = registry
        .publish_skill_version(as_user(
            user,
            PublishSkillVersionRequest {
                skill_id: skill.id.clone(),
                version: 1,
                etag: String::new(),
            },
        )?)
        .await?
        .into_inner()
        .skill
        .ok_or("no skill")?;
    ensure(
        published.published_version == Some(1),
        "version 1 is published",
    )?;
    registry
        .record_usage(as_user(
            user,
            RecordUsageRequest {
                skill: Some(record_usage_request::Skill::SkillSlug(slug.clone())),
                version: Some(1),
                tool_name: "scenario.rs".to_owned(),
                request_id: format!("use-{run}"),
            },
        )?)
        .await?;
    let counted = poll(
        "GetSkill total_uses == 1",
        || {
            let mut registry = registry.clone();
            let id = skill.id.clone();
            async move {
                let found = registry
                    .get_skill(as_user(
                        user,
                        GetSkillRequest {
                            selector: Some(get_skill_request::Selector::Id(id)),
                        },
                    )?)
                    .await?;
                Ok(found.into_inner().skill.ok_or("no skill")?.total_uses)
            }
        },
        |uses| *uses >= 1,
    )
    .await?;
    ensure(
        counted == 1,
        format!("total_uses is exactly 1, got {counted}"),
    )?;
    println!("registry: skill {slug} v1 published, total_uses={counted}");
    Ok(())
}

async fn workshop_part(channel: Channel, user: &str, run: &str) -> Result<()> {
    let mut workshops = WorkshopClient::new(channel);
    let workshop = workshops
        .create_workshop(as_user(
            user,
            CreateWorkshopRequest {
                title: format!("Scenario {run}"),
                original_idea: "Nurses lose an hour a shift to paper charts".to_owned(),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner()
        .workshop
        .ok_or("no workshop")?;
    let persona = format!("Night-shift nurse {run}");
    let output = prost_types::Struct {
        fields: [(
            "persona".to_owned(),
            prost_types::Value {
                kind: Some(Kind::StringValue(persona.clone())),
            },
        )]
        .into(),
    };
    let updated = workshops
        .update_workshop_step(as_user(
            user,
            UpdateWorkshopStepRequest {
                workshop_id: workshop.id.clone(),
                step_id: workshop.current_step_id.clone(),
                status: StepStatus::Complete.into(),
                output: Some(output),
                ..Default::default()
            },
        )?)
        .await?
        .into_inner();
    let info = updated.workshop.ok_or("no workshop")?;
    ensure(
        info.current_step_id == "define",
        "the current step moves on to define",
    )?;
    let pack = workshops
        .create_build_pack(as_user(
            user,
            CreateBuildPackRequest {
                workshop_id: workshop.id.clone(),
                format: BuildPackFormat::Markdown.into(),
                // A retry of this call with the same key gets this pack
                // back instead of rendering another.
                request_id: "scenario-pack".to_owned(),
            },
        )?)
        .await?
        .into_inner()
        .build_pack
        .ok_or("no build pack")?;
    let ready = poll(
        "build pack rendered",
        || {
            let mut workshops = workshops.clone();
            let id = pack.id.clone();
            async move {
                let found = workshops
                    .get_build_pack(as_user(user, GetBuildPackRequest { id })?)
                    .await?;
                Ok(found.into_inner().build_pack.ok_or("no build pack")?)
            }
        },
        |p| p.status != BuildPackStatus::Pending as i32,
    )
    .await?;
    ensure(
        ready.status == BuildPackStatus::Ready as i32,
        format!("the pack is READY, not {:?}", ready.failure_reason),
    )?;
    let mut stream = workshops
        .read_build_pack_content(as_user(
            user,
            ReadBuildPackContentRequest {
                id: pack.id.clone(),
            },
        )?)
        .await?
        .into_inner();
    let mut body = Vec::new();
    while let Some(message) = stream.message().await? {
        // The first message carries the pack's metadata and may carry the
        // first bytes too.
        body.extend_from_slice(&message.chunk);
    }
    let text = String::from_utf8(body)?;
    ensure(text.contains(&persona), "the pack holds the step's output")?;
    println!(
        "workshop: step complete, {}-byte Markdown pack holds its output",
        text.len()
    );
    Ok(())
}

async fn error_part(channel: Channel, user: &str, run: &str) -> Result<()> {
    let mut registry = SkillRegistryClient::new(channel);
    let status = registry
        .create_skill(as_user(
            user,
            CreateSkillRequest {
                slug: format!("rust-bad-{run}"),
                name: String::new(),
                description: "no name".to_owned(),
                category: SkillCategory::Prompt.into(),
                ..Default::default()
            },
        )?)
        .await
        .err()
        .ok_or("CreateSkill without a name succeeded")?;
    let details = ErrorDetails::of(&status);
    ensure(
        status.code() == tonic::Code::InvalidArgument,
        "INVALID_ARGUMENT",
    )?;
    ensure(
        details.domain == "atelier",
        format!("domain {:?}", details.domain),
    )?;
    ensure(
        details.fields() == ["name"],
        format!("fields {:?}", details.fields()),
    )?;
    println!(
        "error: {:?} reason={} field={} ({})",
        status.code(),
        details.reason,
        details.violations[0].0,
        details.violations[0].1
    );
    Ok(())
}

/// A channel to `address` once its health check says SERVING (a server
/// just started may still be starting its database), for up to 90 s.
async fn serving_channel(address: &str) -> Result<Channel> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let endpoint = Channel::from_shared(format!("http://{address}"))?;
    let started = Instant::now();
    loop {
        if let Ok(channel) = endpoint.connect().await {
            let check = HealthClient::new(channel.clone())
                .check(HealthCheckRequest::default())
                .await;
            if check.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return Ok(channel);
            }
        }
        if started.elapsed() > Duration::from_secs(90) {
            return Err(format!("{address} is not SERVING after 90 s").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let address = std::env::args().nth(1).ok_or("usage: scenario HOST:PORT")?;
    let channel = serving_channel(&address).await?;
    let run = format!(
        "{:x}",
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() % 0xffff_ffff
    );
    let user = format!("rust-scenario-{run}");
    registry_part(channel.clone(), &user, &run).await?;
    workshop_part(channel.clone(), &user, &run).await?;
    error_part(channel, &user, &run).await?;
    println!("rust scenario: ok");
    Ok(())
}
