//! The gRPC server, assembled in one place: the connection limits, the
//! layers (RPC log, transport errors), the authenticating interceptor, the
//! three atelier services, health and reflection; served until shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::admin::OutboxService;
use crate::auth::Authenticator;
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

    let registry = SkillRegistryServer::with_interceptor(
        RegistryService {
            state: state.clone(),
        },
        options.auth.clone(),
    );
    let workshop = WorkshopServer::with_interceptor(
        WorkshopService {
            state: state.clone(),
        },
        options.auth.clone(),
    );
    let signals = SignalsServer::with_interceptor(
        SignalsService {
            state: state.clone(),
        },
        options.auth.clone(),
    );
    let outbox_admin =
        OutboxServer::with_interceptor(OutboxService { state }, options.auth.clone());

    tracing::info!(address = %local_addr, "serving gRPC");
    let router = tonic::transport::Server::builder()
        .layer(RpcLogLayer)
        .layer(crate::transport_errors::TransportErrorsLayer)
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
    let serving = router.serve_with_incoming_shutdown(incoming, shutdown.clone().wait_owned());
    tokio::pin!(serving);
    let grace_over = async {
        shutdown.wait().await;
        tokio::time::sleep(options.shutdown_grace).await;
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

fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}
