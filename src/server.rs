//! The gRPC server, assembled in one place: the connection limits, TLS,
//! the layers (CORS and gRPC-Web for browsers, RPC log, transport errors,
//! load shedding, deadlines), the authenticating interceptor, the three
//! atelier services, health and reflection; served until shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

use crate::admin::OutboxService;
use crate::auth::{Authenticator, Scope};
use crate::config::{CorsOrigins, Traffic, Transport};
use crate::deadline::DeadlineLayer;
use crate::load_shed::LoadShedLayer;
use crate::proto::admin::outbox_server::OutboxServer;
use crate::proto::registry::skill_registry_server::SkillRegistryServer;
use crate::proto::signals::signals_server::SignalsServer;
use crate::proto::workshop::workshop_server::WorkshopServer;
use crate::registry::RegistryService;
use crate::rpc_log::RpcLogLayer;
use crate::shutdown::Shutdown;
use crate::signals::SignalsService;
use crate::state::AppState;
use crate::workshop::WorkshopService;
use crate::{health, proto};

/// How the gRPC server behaves, beyond what it serves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Authenticates callers of the atelier services.
    pub auth: Authenticator,
    /// How often health probes the database.
    pub health_interval: Duration,
    /// How long in-flight RPCs may finish after shutdown fires.
    pub shutdown_grace: Duration,
    /// How many connections the server holds, and for how long.
    pub connections: crate::connections::ConnectionLimits,
    /// Message size, load shedding, keepalive, connection age, drain.
    pub traffic: Traffic,
    /// TLS and the origins browsers may call from.
    pub transport: Transport,
}

/// Serves the atelier services, health and reflection on `listener` until
/// `shutdown` fires and in-flight RPCs finish (or the grace period ends).
///
/// `database_url` is probed for health on a connection of its own.
pub async fn serve_grpc(
    listener: TcpListener,
    state: AppState,
    database_url: String,
    options: ServerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let local_addr: SocketAddr = listener.local_addr()?;
    if options.auth.is_open() {
        tracing::warn!(
            "NO AUTH TOKENS CONFIGURED: every caller is accepted. Fine for local development; \
             set ATELIER_AUTH_TOKENS before exposing this server."
        );
    } else {
        tracing::info!(tokens = ?options.auth.describe(), "bearer tokens and their scopes");
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let health_task = tokio::spawn(health::watch_database(
        health_reporter,
        database_url,
        options.health_interval,
        shutdown.clone(),
    ));

    // Both reflection versions: grpcurl 1.8 still asks v1alpha.
    let reflection_v1 = reflection_builder().build_v1()?;
    let reflection_v1alpha = reflection_builder().build_v1alpha()?;

    let max_message = options.traffic.max_message_bytes;
    let registry = InterceptedService::new(
        SkillRegistryServer::new(RegistryService {
            state: state.clone(),
        })
        .max_decoding_message_size(max_message),
        options.auth.clone(),
    );
    let workshop = InterceptedService::new(
        WorkshopServer::new(WorkshopService {
            state: state.clone(),
        })
        .max_decoding_message_size(max_message),
        options.auth.clone(),
    );
    let signals = InterceptedService::new(
        SignalsServer::new(SignalsService {
            state: state.clone(),
        })
        .max_decoding_message_size(max_message),
        options.auth.clone(),
    );
    // Operators' service: only tokens with the `admin` scope.
    let outbox_admin = InterceptedService::new(
        OutboxServer::new(OutboxService { state }).max_decoding_message_size(max_message),
        options.auth.requiring(Scope::Admin),
    );

    let traffic = options.traffic;
    let mut builder = tonic::transport::Server::builder()
        // gRPC-Web from browsers may come over HTTP/1.1.
        .accept_http1(true)
        .http2_keepalive_interval(Some(traffic.keepalive_interval))
        .http2_keepalive_timeout(Some(traffic.keepalive_timeout));
    if let Some(tls) = &options.transport.tls {
        builder = builder
            .tls_config(tls.server_config())
            .context("the TLS certificate or key (--tls-cert, --tls-key) is not valid")?;
    }
    tracing::info!(
        address = %local_addr,
        tls = if options.transport.tls.as_ref().is_some_and(|t| t.is_mutual()) {
            "mutual"
        } else if options.transport.tls.is_some() {
            "on"
        } else {
            "off"
        },
        cors = ?options.transport.cors,
        "serving gRPC and gRPC-Web"
    );
    // No `max_connection_age_grace`: with one, tonic 0.14 sleeps age +
    // grace and then drops the connection without ever sending a GOAWAY
    // (its `connection_timeout_future`), cutting the RPCs in flight. Without
    // it, the age sends a GOAWAY and the connection's RPCs finish first.
    if let Some(age) = traffic.max_connection_age {
        builder = builder.max_connection_age(age);
    }
    // Outermost first: CORS answers browsers' preflights before anything
    // else sees them; gRPC-Web is turned into gRPC before the log and the
    // rest see the call.
    let router = builder
        .layer(tower::util::option_layer(cors_layer(
            &options.transport.cors,
        )))
        .layer(tonic_web::GrpcWebLayer::new())
        .layer(RpcLogLayer)
        .layer(crate::transport_errors::TransportErrorsLayer)
        .layer(LoadShedLayer::new(traffic.max_concurrent_rpcs))
        .layer(DeadlineLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(registry)
        .add_service(workshop)
        .add_service(signals)
        .add_service(outbox_admin);
    // TCP_NODELAY: without it small responses wait for delayed ACKs
    // (~40 ms per round trip on Linux).
    let incoming = crate::connections::limit(
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(Duration::from_secs(60))),
        options.connections,
    );
    // On shutdown health turns NOT_SERVING at once (the health task); the
    // server keeps taking calls for the drain delay, so load balancers that
    // poll health move traffic away before connections are refused.
    let drained = {
        let shutdown = shutdown.clone();
        async move {
            shutdown.wait().await;
            if !traffic.drain_delay.is_zero() {
                tracing::info!(
                    drain_delay_secs = traffic.drain_delay.as_secs(),
                    "health is NOT_SERVING; draining before refusing new calls"
                );
                tokio::time::sleep(traffic.drain_delay).await;
            }
        }
    };
    let serving = router.serve_with_incoming_shutdown(incoming, drained);
    tokio::pin!(serving);
    let grace_over = async {
        shutdown.wait().await;
        tokio::time::sleep(traffic.drain_delay + options.shutdown_grace).await;
    };
    let result = tokio::select! {
        result = &mut serving => result.context("the gRPC server failed"),
        () = grace_over => {
            tracing::warn!(grace_secs = options.shutdown_grace.as_secs(), "grace period over; dropping the RPCs still running");
            Ok(())
        }
    };
    shutdown.trigger();
    let _ = health_task.await;
    tracing::info!("gRPC server stopped");
    result
}

/// The CORS rules for gRPC-Web calls from browser pages of `origins`
/// (none: no layer, so browsers refuse cross-origin answers).
fn cors_layer(origins: &CorsOrigins) -> Option<tower_http::cors::CorsLayer> {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
    use tower_http::cors::{AllowOrigin, CorsLayer};

    let allow_origin = match origins {
        CorsOrigins::None => return None,
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::Listed(origins) => AllowOrigin::list(origins.clone()),
    };
    // What a gRPC-Web client sends (tonic-web's defaults plus our metadata)
    // and what it must be able to read back (the status and its details).
    let allowed_headers = [
        CONTENT_TYPE,
        AUTHORIZATION,
        HeaderName::from_static("x-grpc-web"),
        HeaderName::from_static("x-user-agent"),
        HeaderName::from_static("grpc-timeout"),
        HeaderName::from_static(crate::auth::USER_HEADER),
        HeaderName::from_static(crate::auth::PLAN_HEADER),
        HeaderName::from_static(crate::telemetry::trace_context::TRACEPARENT),
        HeaderName::from_static("tracestate"),
    ];
    let exposed_headers = [
        HeaderName::from_static("grpc-status"),
        HeaderName::from_static("grpc-message"),
        HeaderName::from_static("grpc-status-details-bin"),
    ];
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([http::Method::POST])
            .allow_headers(allowed_headers)
            .expose_headers(exposed_headers)
            .max_age(Duration::from_secs(24 * 3600)),
    )
}

fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}
